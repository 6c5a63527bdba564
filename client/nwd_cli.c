/*
 * nwd: the command-line client of the nwd broker, built on libnwd.
 *
 * Results go to stdout as JSON, one line each; errors go to stderr as
 * "nwd: <what>: <why>".  Message bodies are read from a file or stdin and
 * printed only to stdout.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "audit.h"
#include "envelope.h"
#include "cli.h"
#include "compose.h"
#include "connopts.h"
#include "explain.h"
#include "frame.h"
#include "nwd.h"
#include "pbjson.h"
#include "status.h"
#include "verify.h"

enum opt {
	OPT_VERSION = CONNOPTS_END, OPT_SUBJECT, OPT_NHS, OPT_MARKING,
	OPT_PRIORITY, OPT_BASIS, OPT_JUSTIFICATION, OPT_SHARE_WITH,
	OPT_SUPERSEDES, OPT_CLAIM_SENDER, OPT_KIND, OPT_DURABLE, OPT_COUNT,
	OPT_NO_ACK, OPT_JSON,
};
#define BIT(o)		(1u << ((o) - CONNOPTS_SERVER))
#define GLOBAL_OPTS	CONNOPTS_MASK
#define PUSH_OPTS	(BIT(OPT_SUBJECT) | BIT(OPT_NHS) | BIT(OPT_MARKING) | \
			    BIT(OPT_PRIORITY) | BIT(OPT_BASIS) | \
			    BIT(OPT_JUSTIFICATION) | BIT(OPT_SHARE_WITH) | \
			    BIT(OPT_SUPERSEDES) | BIT(OPT_CLAIM_SENDER))
#define SUB_OPTS	(BIT(OPT_KIND) | BIT(OPT_SUBJECT) | BIT(OPT_DURABLE) | \
			    BIT(OPT_COUNT) | BIT(OPT_NO_ACK))

static const struct option long_options[] = {
	CONNOPTS_OPTIONS,
	{ "help",		no_argument,	   NULL, 'h' },
	{ "version",		no_argument,	   NULL, OPT_VERSION },
	{ "subject",		required_argument, NULL, OPT_SUBJECT },
	{ "nhs-number",		required_argument, NULL, OPT_NHS },
	{ "marking",		required_argument, NULL, OPT_MARKING },
	{ "priority",		required_argument, NULL, OPT_PRIORITY },
	{ "basis",		required_argument, NULL, OPT_BASIS },
	{ "justification",	required_argument, NULL, OPT_JUSTIFICATION },
	{ "share-with",		required_argument, NULL, OPT_SHARE_WITH },
	{ "supersedes",		required_argument, NULL, OPT_SUPERSEDES },
	{ "claim-sender",	required_argument, NULL, OPT_CLAIM_SENDER },
	{ "kind",		required_argument, NULL, OPT_KIND },
	{ "durable",		required_argument, NULL, OPT_DURABLE },
	{ "count",		required_argument, NULL, OPT_COUNT },
	{ "no-ack",		no_argument,	   NULL, OPT_NO_ACK },
	{ "json",		no_argument,	   NULL, OPT_JSON },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asked for.  Strings point into argv unless noted. */
struct cli {
	const char	*cmd;
	unsigned	 given;		/* BIT() of each option seen */
	struct cli_strv	 args;		/* operands after the command */
	struct connopts	 conn;
	struct cli_strv	 subjects;
	struct cli_strv	 kinds;
	struct cli_strv	 share_with;	/* strings owned (split copies) */
	const char	*nhs, *marking, *priority, *basis, *justification;
	const char	*supersedes, *claim_sender, *durable;
	long		 count;
	int		 no_ack;
	int		 json;
};

struct command {
	const char	*name;
	unsigned	 opts;		/* options beyond the global ones */
	size_t		 min_args, max_args;
	int		(*run)(struct cli *);
	const char	*synopsis;
	const char	*help;
};

static int	cmd_whoami(struct cli *);
static int	cmd_push(struct cli *);
static int	cmd_sub(struct cli *);
static int	cmd_ping(struct cli *);
static int	cmd_status(struct cli *);

static const struct command commands[] = {
	{ "whoami", 0, 0, 0, cmd_whoami, "whoami",
	    "Connects and prints, as one JSON line, the principal the broker "
	    "maps our\ncertificate to (id, role, agency, teams, clearance) "
	    "with the broker's\ninstance and policy version.\n" },
	{ "push", PUSH_OPTS, 1, 2, cmd_push,
	    "push KIND --subject ID [options] [FILE|-]",
	    "Publishes one message of KIND whose body is the JSON object in "
	    "FILE, or on\nstdin if FILE is '-' or absent.  Body fields are "
	    "the .proto names; enums\nare given by name or number.  The "
	    "envelope is checked locally before it is\nsent.  Prints "
	    "{\"message_id\", \"recipients\", \"duty_desk\", "
	    "\"policy_version\"}.\n\n"
	    "Options:\n"
	    "  --subject ID          the young person's local identifier "
	    "(required)\n"
	    "  --nhs-number N        their NHS number\n"
	    "  --marking M           OFFICIAL (default) or "
	    "OFFICIAL-SENSITIVE\n"
	    "  --priority P          ROUTINE (default), HIGH or URGENT\n"
	    "  --basis B             consent, safeguarding, legal_obligation,\n"
	    "                        public_task or vital_interests\n"
	    "  --justification TEXT  why sharing is necessary\n"
	    "  --share-with A,B      named recipients (principals or teams); "
	    "repeatable\n"
	    "  --supersedes UUID     the message this one corrects\n\n"
	    "KIND is one of: %s.\n" },
	{ "sub", SUB_OPTS, 0, 0, cmd_sub,
	    "sub [--kind K]... [--subject ID]... [options]",
	    "Subscribes and prints each delivery as one JSON line, then "
	    "acknowledges it.\nPrints \"nwd: subscribed id=N\" to stderr once "
	    "the broker has accepted the\nsubscription.\n\n"
	    "Options:\n"
	    "  --kind K              only this kind; repeatable (default: "
	    "every kind)\n"
	    "  --subject ID          only this subject; repeatable (default: "
	    "every one)\n"
	    "  --durable NAME        a durable subscription: missed messages "
	    "come on\n"
	    "                        reconnect, unacknowledged ones again\n"
	    "  --count N             exit 0 after N deliveries (0 = never)\n"
	    "  --timeout SECONDS     exit 6 after SECONDS without a delivery\n"
	    "                        (without it, wait for ever)\n"
	    "  --no-ack              do not acknowledge deliveries\n\n"
	    "Line fields: delivery_id, message_id, sender, agency, kind, "
	    "subject,\nmarking, priority, created_unix_ms, fields_withheld, "
	    "rule, policy_version,\nbody (and nhs_number, legal_basis, "
	    "justification, supersedes when set).\n" },
	{ "ping", 0, 0, 0, cmd_ping, "ping",
	    "Sends a Ping and prints {\"instance\", \"rtt_ms\"} when the Pong "
	    "arrives.\n" },
	{ "status", BIT(OPT_JSON), 1, 1, cmd_status, status_synopsis,
	    status_help },
	/* Parses its own options: main() hands it the command line. */
	{ "policy", 0, 0, 0, NULL, explain_policy_synopsis,
	    explain_policy_help },
	{ "audit", 0, 0, 0, NULL, audit_verify_synopsis, audit_verify_help },
	/* "nwd audit query" and "nwd sar" parse their own (client/audit.c). */
	{ "audit query", 0, 0, 0, NULL, audit_query_synopsis,
	    audit_query_help },
	{ "sar", 0, 0, 0, NULL, audit_sar_synopsis, audit_sar_help },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int
usage_error(const char *what, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
usage_error(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(what, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see 'nwd --help')\n");
	return CLI_EXIT_USAGE;
}

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: nwd [global options] COMMAND [options] [ARGS]\n\n"
	    "Client of the nwd information-sharing broker.\n\nCommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  nwd %s\n", commands[i].synopsis);
	fprintf(f, "  nwd help [COMMAND]\n\n"
	    "Global options, before or after the command:\n%s"
	    "  -h, --help            this help; 'nwd help COMMAND' for one "
	    "command\n"
	    "  --version             print the version\n\n"
	    "Exit status:\n"
	    "  0  success\n"
	    "  1  refused by the broker (ERROR_FORBIDDEN, "
	    "ERROR_INVALID_ENVELOPE,\n"
	    "     ERROR_LIMIT, ERROR_NOT_FOUND)\n"
	    "  2  invalid input or usage: bad options, bad JSON, an envelope "
	    "that fails\n"
	    "     local validation, unreadable certificate or key\n"
	    "  3  unreachable: name resolution, connect or TLS handshake "
	    "failed, or the\n"
	    "     broker refused our certificate\n"
	    "  4  unavailable: the broker's audit store is down, the broker "
	    "is shutting\n"
	    "     down, or it ended the session\n"
	    "  5  protocol or internal error\n"
	    "  6  timeout\n", connopts_help);
}

static int
command_help(const struct command *cmd)
{
	printf("usage: nwd %s\n\n", cmd->synopsis);
	if (strcmp(cmd->name, "push") == 0)
		printf(cmd->help, cli_kinds());
	else
		fputs(cmd->help, stdout);
	fputs(connopts_help_pointer, stdout);
	return 0;
}

static const struct command *
find_command(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static void
cmdline_free(struct cli *cli)
{
	cli_strv_clear(&cli->share_with, 1);
	cli_strv_clear(&cli->subjects, 0);
	cli_strv_clear(&cli->kinds, 0);
	cli_strv_clear(&cli->args, 0);
}

static const char *
opt_name(int o)
{
	const struct option *lo;

	for (lo = long_options; lo->name != NULL; lo++)
		if (lo->val == o)
			return lo->name;
	return "?";
}

/*
 * Parses argv into cli.  Returns -1 to go on, or an exit code (0 after
 * printing help or the version).
 */
static int
parse_args(int argc, char **argv, struct cli *cli)
{
	struct connopts_error	 ce;
	int			 c, r, help = 0;
	size_t			 i;
	char			*end;

	opterr = 0;
	/* '-': operands come back in order as 1, so options may follow. */
	while ((c = getopt_long(argc, argv, "-:h", long_options,
	    NULL)) != -1) {
		if (c >= CONNOPTS_SERVER)
			cli->given |= BIT(c);
		switch (c) {
		case 1:
			if (cli->cmd == NULL)
				cli->cmd = optarg;
			else if (cli_strv_add(&cli->args, optarg) == -1)
				goto nomem;
			break;
		case 'h':
			help = 1;
			break;
		case OPT_VERSION:
			printf("nwd %s (protocol %d)\n", PACKAGE_VERSION,
			    FRAME_PROTOCOL_VERSION);
			return 0;
		case OPT_SUBJECT:
			if (cli_strv_add(&cli->subjects, optarg) == -1)
				goto nomem;
			break;
		case OPT_KIND:
			if (cli_strv_add(&cli->kinds, optarg) == -1)
				goto nomem;
			break;
		case OPT_SHARE_WITH:
			if (cli_strv_split(&cli->share_with, optarg) == -1)
				return usage_error("--share-with", "\"%s\" is "
				    "not a comma-separated list of names",
				    optarg);
			break;
		case OPT_NHS:
			cli->nhs = optarg;
			break;
		case OPT_MARKING:
			cli->marking = optarg;
			break;
		case OPT_PRIORITY:
			cli->priority = optarg;
			break;
		case OPT_BASIS:
			cli->basis = optarg;
			break;
		case OPT_JUSTIFICATION:
			cli->justification = optarg;
			break;
		case OPT_SUPERSEDES:
			cli->supersedes = optarg;
			break;
		case OPT_CLAIM_SENDER:
			cli->claim_sender = optarg;
			break;
		case OPT_DURABLE:
			cli->durable = optarg;
			break;
		case OPT_COUNT:
			errno = 0;
			cli->count = strtol(optarg, &end, 10);
			if (optarg[0] == '\0' || *end != '\0' || errno != 0 ||
			    cli->count < 0)
				return usage_error("--count", "\"%s\" is not a "
				    "number of deliveries", optarg);
			break;
		case OPT_NO_ACK:
			cli->no_ack = 1;
			break;
		case OPT_JSON:
			cli->json = 1;
			break;
		case ':':
			return usage_error(argv[optind - 1], "needs a value");
		default:
			if ((r = connopts_parse(&cli->conn, c, optarg,
			    &ce)) == 1)
				break;
			if (r == -1)
				return usage_error(ce.what, "%s", ce.why);
			return usage_error(argv[optind - 1] != NULL ?
			    argv[optind - 1] : "?", "unknown option");
		}
	}
	for (; optind < argc; optind++)
		if (cli->cmd == NULL)
			cli->cmd = argv[optind];
		else if (cli_strv_add(&cli->args, argv[optind]) == -1)
			goto nomem;

	if (cli->cmd != NULL && strcmp(cli->cmd, "help") == 0) {
		const struct command *cmd;

		if (cli->args.n == 0) {
			usage(stdout);
			return 0;
		}
		if ((cmd = find_command(cli->args.v[0])) == NULL)
			return usage_error("help", "no command \"%s\"",
			    cli->args.v[0]);
		return command_help(cmd);
	}
	if (help) {
		const struct command *cmd;

		if (cli->cmd != NULL && (cmd = find_command(cli->cmd)) != NULL)
			return command_help(cmd);
		usage(stdout);
		return 0;
	}
	if (cli->cmd == NULL) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	for (i = 0; i < NCOMMANDS; i++) {
		const struct command *cmd = &commands[i];
		unsigned extra;
		int o;

		if (strcmp(cmd->name, cli->cmd) != 0)
			continue;
		extra = cli->given & ~(GLOBAL_OPTS | cmd->opts);
		for (o = CONNOPTS_SERVER; extra != 0; o++)
			if (extra & BIT(o))
				return usage_error(cmd->name, "--%s is not an "
				    "option of %s", opt_name(o), cmd->name);
		if (cli->args.n < cmd->min_args || cli->args.n > cmd->max_args)
			return usage_error(cmd->name, "usage: nwd %s",
			    cmd->synopsis);
		return -1;
	}
	return usage_error(cli->cmd, "no such command (commands: whoami, "
	    "push, sub, ping, status, policy, help)");
 nomem:
	cli_say("arguments", "out of memory");
	return CLI_EXIT_PROTOCOL;
}

/* ------------------------------------------------------------------------
 * Talking to the broker
 */

/*
 * Connects with the options and environment.  Returns the client, or NULL
 * with *code set after saying why.
 */
static struct nwd_client *
connect_broker(struct cli *cli, int *code)
{
	struct nwd_opts		 o;
	struct connopts_error	 ce;

	if (connopts_to_nwd_opts(&cli->conn, cli->cmd, &o, &ce) == -1) {
		*code = usage_error(ce.what, "%s", ce.why);
		return NULL;
	}
	return cli_connect(&o, code);
}

static int
cmd_whoami(struct cli *cli)
{
	const Nwd__V1__Welcome	 *w;
	const Nwd__V1__Principal *p;
	struct nwd_client	 *c;
	json_object		 *o, *teams;
	size_t			  i;
	int			  code;

	if ((c = connect_broker(cli, &code)) == NULL)
		return code;
	w = nwd_welcome(c);
	p = nwd_principal(c);
	o = json_object_new_object();
	if (p != NULL) {
		cli_json_string(o, "id", p->id);
		cli_json_string(o, "role", p->role);
		cli_json_string(o, "agency", p->agency);
		teams = json_object_new_array();
		for (i = 0; i < p->n_teams; i++)
			json_object_array_add(teams,
			    json_object_new_string(p->teams[i]));
		json_object_object_add(o, "teams", teams);
		cli_json_string(o, "clearance", cli_marking(p->clearance));
	}
	cli_json_string(o, "instance", w->instance);
	cli_json_string(o, "policy_version", w->policy_version);
	code = cli_print_json(o) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(o);
	nwd_close(c);
	return code;
}

static int
cmd_ping(struct cli *cli)
{
	struct nwd_client	*c;
	struct timespec		 t0, t1;
	enum nwd_status		 st;
	json_object		*o;
	char			 err[512], rtt[32];
	double			 ms;
	int			 code;

	if ((c = connect_broker(cli, &code)) == NULL)
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
	o = json_object_new_object();
	cli_json_string(o, "instance", nwd_welcome(c)->instance);
	json_object_object_add(o, "rtt_ms", json_object_new_double_s(ms, rtt));
	code = cli_print_json(o) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(o);
	nwd_close(c);
	return code;
}

static int
cmd_status(struct cli *cli)
{
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[512];
	int			 code;

	if (!envelope_is_uuid(cli->args.v[0]))
		return usage_error("status", "\"%s\" is not a message id (the "
		    "UUID that push printed)", cli->args.v[0]);
	if ((c = connect_broker(cli, &code)) == NULL)
		return code;
	if ((st = status_show(c, cli->args.v[0], cli->json, err,
	    sizeof(err))) != NWD_OK) {
		cli_say("status", "%s", err);
		code = cli_exit_status(c, st);
	} else
		code = 0;
	nwd_close(c);
	return code;
}

static int
cmd_push(struct cli *cli)
{
	struct compose_msg	 m;
	struct compose_error	 e;
	Nwd__V1__Envelope	*env;
	Nwd__V1__PublishAck	*ack = NULL;
	struct nwd_client	*c = NULL;
	enum nwd_status		 st;
	json_object		*o;
	char			 err[512];
	int			 code = CLI_EXIT_USAGE;

	memset(&m, 0, sizeof(m));
	m.command = "push";
	m.kind = cli->args.v[0];
	m.subjects = cli->subjects;
	m.nhs = cli->nhs;
	m.marking = cli->marking;
	m.priority = cli->priority;
	m.basis = cli->basis;
	m.justification = cli->justification;
	m.supersedes = cli->supersedes;
	m.claim_sender = cli->claim_sender;
	m.share_with = cli->share_with;
	m.body_file = cli->args.n > 1 ? cli->args.v[1] : NULL;
	if ((env = compose_envelope(&m, &e)) == NULL) {
		if (e.usage)
			return usage_error(e.what, "%s", e.why);
		cli_say(e.what, "%s", e.why);
		return CLI_EXIT_USAGE;
	}

	if ((c = connect_broker(cli, &code)) == NULL)
		goto out;
	if ((st = nwd_publish(c, env, &ack, err, sizeof(err))) != NWD_OK) {
		cli_say("push", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	o = json_object_new_object();
	cli_json_string(o, "message_id", ack->message_id);
	json_object_object_add(o, "recipients",
	    json_object_new_int64(ack->recipients));
	json_object_object_add(o, "duty_desk",
	    json_object_new_boolean(ack->duty_desk));
	cli_json_string(o, "policy_version", ack->policy_version);
	code = cli_print_json(o) == 0 ? 0 : CLI_EXIT_PROTOCOL;
	json_object_put(o);
 out:
	nwd_publish_ack_free(ack);
	nwd_close(c);
	compose_free(env);
	return code;
}

/* One delivery as the JSON line that "nwd sub" prints. */
static json_object *
delivery_json(const Nwd__V1__Deliver *d)
{
	const Nwd__V1__Envelope	*e = d->envelope;
	const Nwd__V1__Header	*h = e != NULL ? e->header : NULL;
	const ProtobufCMessage	*body = e != NULL ? envelope_body(e) : NULL;
	json_object		*o, *withheld, *b;
	const char		*kn;

	o = json_object_new_object();
	json_object_object_add(o, "delivery_id",
	    json_object_new_uint64(d->delivery_id));
	cli_json_string(o, "message_id", h != NULL ? h->message_id : NULL);
	cli_json_string(o, "sender", h != NULL ? h->sender : NULL);
	cli_json_string(o, "agency", h != NULL ? h->originating_agency : NULL);
	if (h != NULL && (kn = envelope_kind_name(h->kind)) != NULL)
		cli_json_string(o, "kind", kn);
	else
		json_object_object_add(o, "kind", h != NULL ?
		    json_object_new_int(h->kind) : NULL);
	cli_json_string(o, "subject", h != NULL && h->subject != NULL ?
	    h->subject->local_id : NULL);
	if (h != NULL && h->subject != NULL &&
	    h->subject->nhs_number[0] != '\0')
		cli_json_string(o, "nhs_number", h->subject->nhs_number);
	cli_json_string(o, "marking", h != NULL ? cli_marking(h->marking) :
	    NULL);
	cli_json_string(o, "priority", h != NULL ? cli_priority(h->priority) :
	    NULL);
	if (h != NULL && h->legal_basis !=
	    NWD__V1__LEGAL_BASIS__LEGAL_BASIS_UNSPECIFIED)
		cli_json_string(o, "legal_basis",
		    envelope_legal_basis_name(h->legal_basis));
	if (h != NULL && h->justification[0] != '\0')
		cli_json_string(o, "justification", h->justification);
	if (h != NULL && h->supersedes[0] != '\0')
		cli_json_string(o, "supersedes", h->supersedes);
	json_object_object_add(o, "created_unix_ms",
	    json_object_new_int64(h != NULL ? h->created_unix_ms : 0));
	withheld = cli_json_strings(d->fields_withheld, d->n_fields_withheld);
	json_object_object_add(o, "fields_withheld", withheld);
	cli_json_string(o, "rule", d->rule);
	cli_json_string(o, "policy_version", d->policy_version);
	b = body != NULL ? pbjson_to_object(body, 0) : json_object_new_object();
	json_object_object_add(o, "body", b);
	return o;
}

static int
cmd_sub(struct cli *cli)
{
	struct nwd_client	*c;
	Nwd__V1__Kind		*kinds = NULL;
	Nwd__V1__Deliver	*d;
	enum nwd_status		 st;
	json_object		*o;
	uint64_t		 sub_id;
	char			 err[512];
	long			 n = 0;
	size_t			 i;
	int			 code, r;

	if (cli->kinds.n > 0 &&
	    (kinds = calloc(cli->kinds.n, sizeof(*kinds))) == NULL) {
		cli_say("sub", "out of memory");
		return CLI_EXIT_PROTOCOL;
	}
	for (i = 0; i < cli->kinds.n; i++) {
		if (envelope_kind_from_name(cli->kinds.v[i], &kinds[i]) == -1) {
			free(kinds);
			return usage_error("--kind", "unknown kind \"%s\" (one "
			    "of %s)", cli->kinds.v[i], cli_kinds());
		}
	}
	if ((c = connect_broker(cli, &code)) == NULL) {
		free(kinds);
		return code;
	}
	st = nwd_subscribe(c, kinds, cli->kinds.n,
	    (const char *const *)cli->subjects.v, cli->subjects.n,
	    cli->durable, &sub_id, err, sizeof(err));
	free(kinds);
	if (st != NWD_OK) {
		cli_say("sub", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	fprintf(stderr, "nwd: subscribed id=%" PRIu64 "\n", sub_id);

	code = 0;
	while (cli->count == 0 || n < cli->count) {
		st = nwd_next_delivery(c, cli->conn.timeout_given ?
		    cli->conn.timeout_ms : -1, &d, err, sizeof(err));
		if (st == NWD_ERR_TIMEOUT) {
			cli_say("sub", "no delivery in %g second%s",
			    cli->conn.timeout_ms / 1000.0,
			    cli->conn.timeout_ms == 1000 ? "" : "s");
			code = CLI_EXIT_TIMEOUT;
			break;
		}
		if (st != NWD_OK) {
			cli_say("sub", "%s", err);
			code = cli_exit_status(c, st);
			break;
		}
		o = delivery_json(d);
		r = cli_print_json(o);
		json_object_put(o);
		if (r == 0 && !cli->no_ack) {
			st = nwd_ack(c, d->delivery_id, d->envelope != NULL &&
			    d->envelope->header != NULL ?
			    d->envelope->header->message_id : "", err,
			    sizeof(err));
			if (st != NWD_OK) {
				cli_say("ack", "%s", err);
				code = cli_exit_status(c, st);
			}
		}
		nwd_deliver_free(d);
		if (r == -1) {
			code = CLI_EXIT_PROTOCOL;
			break;
		}
		if (code != 0)
			break;
		n++;
	}
 out:
	nwd_close(c);
	return code;
}

int
main(int argc, char **argv)
{
	struct cli	cli;
	size_t		i;
	int		code;

	/* "nwd policy" parses its own options (client/explain.c). */
	if (explain_is_policy_command(argc, argv, long_options))
		return explain_policy_main(argc, argv);
	/* "nwd audit query" and "nwd sar" ask the broker (client/audit.c). */
	if (audit_tool_command(argc, argv, long_options))
		return audit_tool_main(argc, argv);
	/* "nwd audit verify" parses its own options (client/verify.c). */
	if (argc >= 2 && strcmp(argv[1], "audit") == 0)
		return audit_main(argc - 1, argv + 1);
	memset(&cli, 0, sizeof(cli));
	connopts_init(&cli.conn);
	if ((code = parse_args(argc, argv, &cli)) >= 0) {
		cmdline_free(&cli);
		return code;
	}
	code = CLI_EXIT_USAGE;
	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, cli.cmd) == 0 &&
		    commands[i].run != NULL)
			code = commands[i].run(&cli);
	cmdline_free(&cli);
	return code;
}
