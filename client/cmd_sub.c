/*
 * cmd_sub: "nwd sub", a subscription: each delivery printed as one JSON
 * line, then acknowledged.
 */

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <json.h>

#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "envelope.h"
#include "nwd.h"
#include "pbjson.h"

struct sub {
	struct cli_strv	 kinds;
	struct cli_strv	 subjects;
	const char	*durable;
	long		 count;		/* 0: for ever */
	int		 no_ack;
	struct connopts	 conn;
};

/* A number of deliveries, 0 or more. */
static int
parse_count(const char *s, void *field)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (s[0] == '\0' || *end != '\0' || errno != 0 || n < 0)
		return -1;
	*(long *)field = n;
	return 0;
}

static const struct args_opt sub_opts[] = {
	{ .name = "kind", .type = ARGS_LIST, .arg = "K",
	  .off = offsetof(struct sub, kinds),
	  .help = "only this kind; repeatable (default: every kind)" },
	{ .name = "subject", .type = ARGS_LIST, .arg = "ID",
	  .off = offsetof(struct sub, subjects),
	  .help = "only this subject; repeatable (default: every one)" },
	{ .name = "durable", .type = ARGS_STRING, .arg = "NAME",
	  .off = offsetof(struct sub, durable),
	  .help = "a durable subscription: missed messages come on\n"
	    "reconnect, unacknowledged ones again" },
	{ .name = "count", .type = ARGS_VALUE, .arg = "N",
	  .off = offsetof(struct sub, count), .convert = parse_count,
	  .bad = "is not a number of deliveries",
	  .help = "exit 0 after N deliveries (0 = never)" },
	{ .name = "timeout", .type = ARGS_DOC, .arg = "SECONDS",
	  .help = "exit 6 after SECONDS without a delivery\n"
	    "(without it, wait for ever)" },
	{ .name = "no-ack", .type = ARGS_FLAG,
	  .off = offsetof(struct sub, no_ack),
	  .help = "do not acknowledge deliveries" },
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,
	  .off = offsetof(struct sub, conn) },
	{ .type = ARGS_END },
};

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
sub_run(struct args *a)
{
	const struct sub	*o = a->opts;
	struct nwd_client	*c;
	Nwd__V1__Kind		*kinds = NULL;
	Nwd__V1__Deliver	*d;
	enum nwd_status		 st;
	json_object		*j;
	uint64_t		 sub_id;
	char			 err[512];
	long			 n = 0;
	size_t			 i;
	int			 code, r;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_sub.synopsis);
	if (o->kinds.n > 0 &&
	    (kinds = calloc(o->kinds.n, sizeof(*kinds))) == NULL) {
		cli_say("sub", "out of memory");
		return CLI_EXIT_PROTOCOL;
	}
	for (i = 0; i < o->kinds.n; i++) {
		if (envelope_kind_from_name(o->kinds.v[i], &kinds[i]) == -1) {
			free(kinds);
			return args_usage(a, "--kind", "unknown kind \"%s\" "
			    "(one of %s)", o->kinds.v[i], cli_kinds());
		}
	}
	if ((c = connopts_connect(&o->conn, a, &code)) == NULL) {
		free(kinds);
		return code;
	}
	st = nwd_subscribe(c, kinds, o->kinds.n,
	    (const char *const *)o->subjects.v, o->subjects.n,
	    o->durable, &sub_id, err, sizeof(err));
	free(kinds);
	if (st != NWD_OK) {
		cli_say("sub", "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	fprintf(stderr, "nwd: subscribed id=%" PRIu64 "\n", sub_id);

	code = 0;
	while (o->count == 0 || n < o->count) {
		/* --timeout: also how long to wait for a delivery. */
		st = nwd_next_delivery(c, o->conn.timeout_ms != 0 ?
		    o->conn.timeout_ms : -1, &d, err, sizeof(err));
		if (st == NWD_ERR_TIMEOUT) {
			cli_say("sub", "no delivery in %g second%s",
			    o->conn.timeout_ms / 1000.0,
			    o->conn.timeout_ms == 1000 ? "" : "s");
			code = CLI_EXIT_TIMEOUT;
			break;
		}
		if (st != NWD_OK) {
			cli_say("sub", "%s", err);
			code = cli_exit_status(c, st);
			break;
		}
		j = delivery_json(d);
		r = cli_print_json(j);
		json_object_put(j);
		if (r == 0 && !o->no_ack) {
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

const struct cmd cmd_sub = {
	.name = "sub",
	.run = sub_run,
	.opts = sub_opts,
	.optsize = sizeof(struct sub),
	.family = CMD_FAMILY_NWD,
	.see = "nwd --help",
	.synopsis = "sub [--kind K]... [--subject ID]... [options]",
	.help = "Subscribes and prints each delivery as one JSON line, then "
	    "acknowledges it.\nPrints \"nwd: subscribed id=N\" to stderr once "
	    "the broker has accepted the\nsubscription.\n\nOptions:\n",
	.more = "\nLine fields: delivery_id, message_id, sender, agency, kind, "
	    "subject,\nmarking, priority, created_unix_ms, fields_withheld, "
	    "rule, policy_version,\nbody (and nhs_number, legal_basis, "
	    "justification, supersedes when set).\n",
	.width = 20,
};
