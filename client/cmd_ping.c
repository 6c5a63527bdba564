/*
 * cmd_ping: "nwd ping", a Ping and the time until its Pong.
 */

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "nwd.h"

struct ping {
	struct connopts	conn;
};

static const struct args_opt ping_opts[] = {
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct ping, conn) },
	{ .type = ARGS_END },
};

static int
ping_run(struct args *a)
{
	const struct ping	*o = a->opts;
	struct nwd_client	*c;
	struct timespec		 t0, t1;
	enum nwd_status		 st;
	json_object		*j;
	char			 err[512], rtt[32];
	double			 ms;
	int			 code;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_ping.synopsis);
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((st = nwd_ping(c, err, sizeof(err))) != NWD_OK) {
		cli_say("ping", "%s", err);
		code = cli_exit_status(c, st);
		nwd_close(c);
		return code;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
	snprintf(rtt, sizeof(rtt), "%.3f", ms);
	j = json_object_new_object();
	cli_json_string(j, "instance", nwd_welcome(c)->instance);
	json_object_object_add(j, "rtt_ms", json_object_new_double_s(ms, rtt));
	code = cli_print_json(j) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(j);
	nwd_close(c);
	return code;
}

const struct cmd cmd_ping = {
	.name = "ping",
	.run = ping_run,
	.opts = ping_opts,
	.optsize = sizeof(struct ping),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "ping",
	.help = "Sends a Ping and prints {\"instance\", \"rtt_ms\"} when the "
	    "Pong arrives.\n",
};
