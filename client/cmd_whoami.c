/*
 * cmd_whoami: "nwd whoami", the principal the broker maps our certificate
 * to, with the broker's instance and policy version, as one JSON line.
 */

#include <stddef.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "nwd.h"

struct whoami {
	struct connopts	conn;
};

static const struct args_opt whoami_opts[] = {
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct whoami, conn) },
	{ .type = ARGS_END },
};

static int
whoami_run(struct args *a)
{
	const struct whoami	 *o = a->opts;
	const Nwd__V1__Welcome	 *w;
	const Nwd__V1__Principal *p;
	struct nwd_client	 *c;
	json_object		 *j, *teams;
	size_t			  i;
	int			  code;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_whoami.synopsis);
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	w = nwd_welcome(c);
	p = nwd_principal(c);
	j = json_object_new_object();
	if (p != NULL) {
		cli_json_string(j, "id", p->id);
		cli_json_string(j, "role", p->role);
		cli_json_string(j, "agency", p->agency);
		teams = json_object_new_array();
		for (i = 0; i < p->n_teams; i++)
			json_object_array_add(teams,
			    json_object_new_string(p->teams[i]));
		json_object_object_add(j, "teams", teams);
		cli_json_string(j, "clearance", cli_marking(p->clearance));
	}
	cli_json_string(j, "instance", w->instance);
	cli_json_string(j, "policy_version", w->policy_version);
	code = cli_print_json(j) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(j);
	nwd_close(c);
	return code;
}

const struct cmd cmd_whoami = {
	.name = "whoami",
	.run = whoami_run,
	.opts = whoami_opts,
	.optsize = sizeof(struct whoami),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "whoami",
	.help = "Connects and prints, as one JSON line, the principal the "
	    "broker maps our\ncertificate to (id, role, agency, teams, "
	    "clearance) with the broker's\ninstance and policy version.\n",
};
