/*
 * cmd_push: "nwd push KIND", one message published: its envelope built
 * from the options and a JSON body (compose.c), checked locally, sent, and
 * the broker's acknowledgement printed as one JSON line: how many it
 * reached, how many were allowed but not reachable, and whether it went to
 * the duty desk.
 */

#include <stddef.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "compose.h"
#include "connopts.h"
#include "nwd.h"

struct push {
	struct compose_msg	msg;
	struct connopts		conn;
};

static const struct args_opt push_opts[] = {
	{ .type = ARGS_INCLUDE, .table = compose_opts,
	  .off = offsetof(struct push, msg) },
	/* For tests of the broker, which must overwrite both: not listed. */
	{ .name = "claim-sender", .type = ARGS_STRING, .arg = "ID[,AGENCY]",
	  .off = offsetof(struct push, msg.claim_sender) },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct push, conn) },
	{ .type = ARGS_END },
};

static int
push_run(struct args *a)
{
	struct push		*o = a->opts;
	struct compose_error	 e;
	Nwd__V1__Envelope	*env;
	Nwd__V1__PublishAck	*ack = NULL;
	struct nwd_client	*c = NULL;
	enum nwd_status		 st;
	json_object		*j;
	char			 err[512];
	int			 code = CLI_EXIT_USAGE;

	if (a->argc < 1 || a->argc > 2)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_push.synopsis);
	o->msg.command = "push";
	o->msg.kind = a->argv[0];
	o->msg.body_file = a->argc > 1 ? a->argv[1] : NULL;
	if ((env = compose_envelope(&o->msg, &e)) == NULL) {
		if (e.usage)
			return args_usage(a, e.what, "%s", e.why);
		cli_say(e.what, "%s", e.why);
		return CLI_EXIT_USAGE;
	}

	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		goto out;
	if ((st = nwd_publish(c, env, &ack, err, sizeof(err))) != NWD_OK) {
		cli_say("push", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	j = json_object_new_object();
	cli_json_string(j, "message_id", ack->message_id);
	json_object_object_add(j, "recipients",
	    json_object_new_int64(ack->recipients));
	json_object_object_add(j, "duty_desk",
	    json_object_new_boolean(ack->duty_desk));
	json_object_object_add(j, "not_reachable",
	    json_object_new_int64(ack->not_reachable));
	cli_json_string(j, "policy_version", ack->policy_version);
	code = cli_print_json(j) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(j);
 out:
	nwd_publish_ack_free(ack);
	nwd_close(c);
	compose_free(env);
	return code;
}

const struct cmd cmd_push = {
	.name = "push",
	.run = push_run,
	.opts = push_opts,
	.optsize = sizeof(struct push),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "push KIND --subject ID [options] [FILE|-]",
	.help = "Publishes one message of KIND whose body is the JSON object "
	    "in FILE, or on\nstdin if FILE is '-' or absent.  Body fields are "
	    "the .proto names; enums\nare given by name or number.  The "
	    "envelope is checked locally before it is\nsent.  Prints "
	    "{\"message_id\", \"recipients\", \"duty_desk\", "
	    "\"not_reachable\",\n\"policy_version\"}: recipients is how "
	    "many principals it reached (a live\nsession of theirs took it, "
	    "or a durable subscription of theirs holds it);\nnot_reachable, "
	    "how many the policy allows that nothing could reach;\nduty_desk, "
	    "whether it went to the duty desk because it reached no one\n"
	    "else.  A message that would reach no one, not even the duty "
	    "desk, is refused\n(exit 1), naming the rules that refused it.\n\n"
	    "Options:\n",
	.width = 20,
	.kinds = 1,
};
