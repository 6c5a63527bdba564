/*
 * cmd_sarcase: "nwd sar-case", a subject-access request as a case
 * (SarCaseRequest in nwd.proto; auditors only): open it, check the
 * requester's identity, extend its due date, approve its release (an
 * auditor who did not open it), release it with the report given (the
 * file "nwd sar --release" produced, stored sealed by the broker), show
 * it (--report-out FILE writes the report as it was released), list the
 * open ones.  Every step and every refusal is audited by the broker.
 *
 * Dates in and out are Europe/London local time, whatever TZ says (the
 * calendar module's rules): --received and --to take YYYY-MM-DD (or
 * "YYYY-MM-DD HH:MM"); JSON gives each time as local text beside its
 * _unix_ms.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json.h>

#include "calendar.h"
#include "chain.h"
#include "cli.h"
#include "commands.h"
#include "connopts.h"
#include "nwd.h"
#include "pbjson.h"

#define REPORT_MAX	(64 * 1024 * 1024)	/* bytes of --report FILE */

struct sc_opts {
	const char	*subject;
	const char	*reference;
	const char	*requested_by;
	int64_t		 received_ms;
	const char	*how;
	int64_t		 to_ms;
	const char	*reason;
	const char	*report;
	const char	*report_out;
	int		 json;
	struct connopts	 conn;
};

/* "YYYY-MM-DD" or "YYYY-MM-DD HH:MM" (or with a T), Europe/London. */
static int
parse_date(const char *v, void *field)
{
	int	y, m, d, hh = 0, mm = 0, n = 0;
	int64_t	ms;

	if (sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
		return -1;
	if (v[n] != '\0') {
		int k = 0;

		if ((v[n] != ' ' && v[n] != 'T') || sscanf(v + n + 1,
		    "%2d:%2d%n", &hh, &mm, &k) != 2 || k != 5 ||
		    v[n + 1 + k] != '\0')
			return -1;
	}
	if (calendar_utc(y, m, d, hh, mm, &ms) == -1)
		return -1;
	*(int64_t *)field = ms;
	return 0;
}

#define OPT_JSON							\
	{ .name = "json", .type = ARGS_FLAG,				\
	  .off = offsetof(struct sc_opts, json),			\
	  .help = "the case as one JSON object (SarCase of\n"		\
	    "nwd.proto, with local times beside each _unix_ms)" }
#define OPT_CONN							\
	{ .type = ARGS_INCLUDE_UNLISTED, .table = connopts_opts,	\
	  .off = offsetof(struct sc_opts, conn) }

static const struct args_opt open_opts[] = {
	{ .name = "subject", .type = ARGS_STRING, .arg = "ID",
	  .off = offsetof(struct sc_opts, subject),
	  .help = "the young person the request is about" },
	{ .name = "reference", .type = ARGS_STRING, .arg = "REF",
	  .off = offsetof(struct sc_opts, reference),
	  .help = "the case's reference (letters, digits, . _ / -)" },
	{ .name = "requested-by", .type = ARGS_STRING, .arg = "TEXT",
	  .off = offsetof(struct sc_opts, requested_by),
	  .help = "who asked: the young person, a parent, a\nsolicitor..." },
	{ .name = "received", .type = ARGS_VALUE, .arg = "DATE",
	  .off = offsetof(struct sc_opts, received_ms),
	  .convert = parse_date,
	  .bad = "is not a date YYYY-MM-DD (or YYYY-MM-DD HH:MM)",
	  .help = "when it was received, local time (default: now)" },
	OPT_JSON,
	OPT_CONN,
	{ .type = ARGS_END },
};

static const struct args_opt check_opts[] = {
	{ .name = "how", .type = ARGS_STRING, .arg = "TEXT",
	  .off = offsetof(struct sc_opts, how),
	  .help = "how the requester's identity was checked" },
	OPT_JSON,
	OPT_CONN,
	{ .type = ARGS_END },
};

static const struct args_opt extend_opts[] = {
	{ .name = "to", .type = ARGS_VALUE, .arg = "DATE",
	  .off = offsetof(struct sc_opts, to_ms), .convert = parse_date,
	  .bad = "is not a date YYYY-MM-DD",
	  .help = "the new due date (local; the end of that day)" },
	{ .name = "reason", .type = ARGS_STRING, .arg = "TEXT",
	  .off = offsetof(struct sc_opts, reason),
	  .help = "why more time is needed" },
	OPT_JSON,
	OPT_CONN,
	{ .type = ARGS_END },
};

static const struct args_opt plain_opts[] = {
	OPT_JSON,
	OPT_CONN,
	{ .type = ARGS_END },
};

static const struct args_opt release_opts[] = {
	{ .name = "report", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct sc_opts, report),
	  .help = "the report given to the requester (stored\nsealed)" },
	OPT_JSON,
	OPT_CONN,
	{ .type = ARGS_END },
};

static const struct args_opt show_opts[] = {
	{ .name = "report-out", .type = ARGS_STRING, .arg = "FILE",
	  .off = offsetof(struct sc_opts, report_out),
	  .help = "write the released report to FILE (made new,\nmode 0600)" },
	OPT_JSON,
	OPT_CONN,
	{ .type = ARGS_END },
};

/* "2027-02-28", the local date of ms; "-" for 0. */
static const char *
date_text(int64_t ms, char *out, size_t outlen)
{
	struct calendar_tm tm;

	if (ms == 0) {
		snprintf(out, outlen, "-");
		return out;
	}
	calendar_local(ms, &tm);
	snprintf(out, outlen, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
	return out;
}

/* "2027-02-28 16:00:00 GMT"; "-" for 0. */
static const char *
time_text(int64_t ms, char *out, size_t outlen)
{
	if (ms == 0)
		snprintf(out, outlen, "-");
	else
		calendar_format(ms, out, outlen);
	return out;
}

static void
print_case(const Nwd__V1__SarCase *c)
{
	char a[64], b[64], x[1100], y[1100];

	printf("%s  %s  %s%s\n", cli_clean(c->reference, x, sizeof(x)),
	    cli_clean(c->subject, y, sizeof(y)), c->state,
	    c->overdue ? "  OVERDUE" : "");
	printf("  requested by  %s\n", cli_clean(c->requested_by, x,
	    sizeof(x)));
	printf("  received      %s\n", date_text(c->received_unix_ms, a,
	    sizeof(a)));
	printf("  due           %s\n", date_text(c->due_unix_ms, a,
	    sizeof(a)));
	if (c->extended_to_unix_ms != 0)
		printf("  extended to   %s by %s: %s\n",
		    date_text(c->extended_to_unix_ms, a, sizeof(a)),
		    cli_clean(c->extended_by, y, sizeof(y)),
		    cli_clean(c->extension_reason, x, sizeof(x)));
	printf("  opened        %s by %s\n", time_text(c->opened_unix_ms, a,
	    sizeof(a)), cli_clean(c->opened_by, y, sizeof(y)));
	if (c->identity_checked_unix_ms != 0)
		printf("  identity      checked %s by %s: %s\n",
		    time_text(c->identity_checked_unix_ms, a, sizeof(a)),
		    cli_clean(c->identity_checked_by, y, sizeof(y)),
		    cli_clean(c->identity_checked_how, x, sizeof(x)));
	if (c->approved_unix_ms != 0)
		printf("  approved      %s by %s\n", time_text(
		    c->approved_unix_ms, a, sizeof(a)),
		    cli_clean(c->approved_by, y, sizeof(y)));
	if (c->released_unix_ms != 0)
		printf("  released      %s by %s: report of %" PRIu64 " bytes, "
		    "sha256 %s\n", time_text(c->released_unix_ms, b,
		    sizeof(b)), cli_clean(c->released_by, y, sizeof(y)),
		    c->report_bytes, c->report_sha256);
}

static void
json_time(json_object *o, const char *key, int64_t ms, int date_only)
{
	char t[64];

	if (ms == 0)
		return;
	cli_json_string(o, key, date_only ? date_text(ms, t, sizeof(t)) :
	    time_text(ms, t, sizeof(t)));
}

static int
case_json(const Nwd__V1__SarCase *c)
{
	json_object	*o = pbjson_to_object(&c->base, 0);
	int		 rc;

	if (o == NULL)
		return CLI_EXIT_PROTOCOL;
	json_time(o, "received", c->received_unix_ms, 1);
	json_time(o, "due", c->due_unix_ms, 1);
	json_time(o, "extended_to", c->extended_to_unix_ms, 1);
	json_time(o, "opened", c->opened_unix_ms, 0);
	json_time(o, "identity_checked", c->identity_checked_unix_ms, 0);
	json_time(o, "approved", c->approved_unix_ms, 0);
	json_time(o, "released", c->released_unix_ms, 0);
	rc = cli_json_line(o) == -1 ? CLI_EXIT_PROTOCOL : 0;
	json_object_put(o);
	return rc;
}

/* Reads path whole into *buf (caller frees); 0, or an exit status. */
static int
read_report(const char *path, uint8_t **buf, size_t *len)
{
	struct stat	 st;
	uint8_t		*p = NULL;
	size_t		 off = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		cli_say("sar-case release", "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return CLI_EXIT_USAGE;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > REPORT_MAX) {
		cli_say("sar-case release", "%s: %s", path, !S_ISREG(
		    st.st_mode) ? "not a regular file" : st.st_size <= 0 ?
		    "the report is empty" : "the report is too large");
		close(fd);
		return CLI_EXIT_USAGE;
	}
	if ((p = malloc((size_t)st.st_size)) == NULL) {
		cli_say("sar-case release", "out of memory");
		close(fd);
		return CLI_EXIT_USAGE;
	}
	while (off < (size_t)st.st_size && (n = read(fd, p + off,
	    (size_t)st.st_size - off)) > 0)
		off += (size_t)n;
	close(fd);
	if (off != (size_t)st.st_size) {
		cli_say("sar-case release", "%s: cannot read it whole", path);
		free(p);
		return CLI_EXIT_USAGE;
	}
	*buf = p;
	*len = off;
	return 0;
}

/* Writes the report to path, a new file of mode 0600; 0 or -1 (said). */
static int
write_report(const char *path, const uint8_t *p, size_t len)
{
	size_t	off = 0;
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		cli_say("sar-case show", "%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < len && (n = write(fd, p + off, len - off)) > 0)
		off += (size_t)n;
	if (off != len || close(fd) == -1) {
		cli_say("sar-case show", "%s: cannot write the report", path);
		unlink(path);
		return -1;
	}
	return 0;
}

/* Sends q and prints the answer; what names the command in messages. */
static int
request(struct args *a, Nwd__V1__SarCaseRequest *q, const char *what)
{
	const struct sc_opts	*o = a->opts;
	Nwd__V1__SarCaseResult	*r = NULL;
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[1024], hex[CHAIN_HEX_LEN];
	size_t			 i;
	int			 code = 0;

	if ((c = connopts_connect(&o->conn, a, &code)) == NULL)
		return code;
	if ((st = nwd_sar_case(c, q, &r, err, sizeof(err))) != NWD_OK) {
		cli_say(what, "%s", err);
		code = cli_exit_status(c, st);
		goto out;
	}
	if (q->op == NWD__V1__SAR_CASE_REQUEST__OP__SHOW &&
	    r->report.len > 0) {
		/* What comes back is what was released: its hash says so. */
		if (r->n_cases != 1 || chain_sha256_hex(r->report.data,
		    r->report.len, hex) == -1 ||
		    strcmp(hex, r->cases[0]->report_sha256) != 0) {
			cli_say(what, "the report received does not match the "
			    "hash recorded at its release");
			code = CLI_EXIT_PROTOCOL;
			goto out;
		}
		if (o->report_out != NULL && write_report(o->report_out,
		    r->report.data, r->report.len) == -1) {
			code = CLI_EXIT_USAGE;
			goto out;
		}
	} else if (o->report_out != NULL)
		cli_say(what, "%s has no released report; %s not written",
		    q->reference, o->report_out);
	for (i = 0; i < r->n_cases && code == 0; i++)
		if (o->json)
			code = case_json(r->cases[i]);
		else
			print_case(r->cases[i]);
	if (!o->json && r->n_cases == 0)
		printf("(none)\n");
	if (r->omitted > 0)
		cli_say(what, "%" PRIu32 " more cases did not fit in one "
		    "answer", r->omitted);
	if (cli_flush() == -1)
		code = CLI_EXIT_PROTOCOL;
out:
	nwd_sar_case_result_free(r);
	nwd_close(c);
	return code;
}

/* The one argument, REF, of a step. */
static int
one_ref(struct args *a, const struct cmd *cmd, Nwd__V1__SarCaseRequest *q,
    int op)
{
	if (a->argc != 1)
		return args_usage(a, a->name, "usage: nwd %s", cmd->synopsis);
	q->op = op;
	q->reference = a->argv[0];
	return 0;
}

static int
open_run(struct args *a)
{
	const struct sc_opts	*o = a->opts;
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_sarcase_open.synopsis);
	if (o->subject == NULL || o->reference == NULL ||
	    o->requested_by == NULL)
		return args_usage(a, a->name, "--subject, --reference and "
		    "--requested-by are required");
	/* The broker judges the rest, and audits a refusal. */
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__OPEN;
	q.subject = (char *)o->subject;
	q.reference = (char *)o->reference;
	q.requested_by = (char *)o->requested_by;
	q.received_unix_ms = o->received_ms;
	return request(a, &q, "sar-case open");
}

static int
check_run(struct args *a)
{
	const struct sc_opts	*o = a->opts;
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;
	int			 rc;

	if ((rc = one_ref(a, &cmd_sarcase_check, &q,
	    NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY)) != 0)
		return rc;
	q.how = (char *)(o->how != NULL ? o->how : "");
	return request(a, &q, "sar-case check-identity");
}

static int
extend_run(struct args *a)
{
	const struct sc_opts	*o = a->opts;
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;
	int			 rc;

	if ((rc = one_ref(a, &cmd_sarcase_extend, &q,
	    NWD__V1__SAR_CASE_REQUEST__OP__EXTEND)) != 0)
		return rc;
	q.extended_to_unix_ms = o->to_ms;
	q.reason = (char *)(o->reason != NULL ? o->reason : "");
	return request(a, &q, "sar-case extend");
}

static int
approve_run(struct args *a)
{
	Nwd__V1__SarCaseRequest	q = NWD__V1__SAR_CASE_REQUEST__INIT;
	int			rc;

	if ((rc = one_ref(a, &cmd_sarcase_approve, &q,
	    NWD__V1__SAR_CASE_REQUEST__OP__APPROVE)) != 0)
		return rc;
	return request(a, &q, "sar-case approve");
}

static int
release_run(struct args *a)
{
	const struct sc_opts	*o = a->opts;
	Nwd__V1__SarCaseRequest	 q = NWD__V1__SAR_CASE_REQUEST__INIT;
	uint8_t			*buf = NULL;
	size_t			 len = 0;
	int			 rc;

	if ((rc = one_ref(a, &cmd_sarcase_release, &q,
	    NWD__V1__SAR_CASE_REQUEST__OP__RELEASE)) != 0)
		return rc;
	if (o->report == NULL)
		return args_usage(a, a->name, "--report FILE is required");
	if ((rc = read_report(o->report, &buf, &len)) != 0)
		return rc;
	q.report.data = buf;
	q.report.len = len;
	rc = request(a, &q, "sar-case release");
	explicit_bzero(buf, len);
	free(buf);
	return rc;
}

static int
show_run(struct args *a)
{
	Nwd__V1__SarCaseRequest	q = NWD__V1__SAR_CASE_REQUEST__INIT;
	int			rc;

	if ((rc = one_ref(a, &cmd_sarcase_show, &q,
	    NWD__V1__SAR_CASE_REQUEST__OP__SHOW)) != 0)
		return rc;
	return request(a, &q, "sar-case show");
}

static int
list_run(struct args *a)
{
	Nwd__V1__SarCaseRequest	q = NWD__V1__SAR_CASE_REQUEST__INIT;

	if (a->argc != 0)
		return args_usage(a, a->name, "usage: nwd %s",
		    cmd_sarcase_list.synopsis);
	q.op = NWD__V1__SAR_CASE_REQUEST__OP__LIST;
	return request(a, &q, "sar-case list");
}

const struct cmd cmd_sarcase = {
	.name = "sar-case",
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case",
	.help = "A subject-access request as a case, for auditors: 'nwd "
	    "sar-case open' records\nit (due one calendar month after "
	    "receipt), 'check-identity' the check of\nthe requester's "
	    "identity, 'extend' a later due date and why, 'approve' the\n"
	    "release (by an auditor who did not open the case), 'release' "
	    "the report\ngiven (stored sealed), 'show' a case and its report, "
	    "'list' the open cases,\nthe soonest due first.  Dates are local "
	    "time (Europe/London).  Every step\nis audited.\n",
};

const struct cmd cmd_sarcase_open = {
	.name = "sar-case open",
	.run = open_run,
	.opts = open_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case open",
	.synopsis = "sar-case open --subject ID --reference REF --requested-by "
	    "TEXT [--received DATE] [--json]",
	.help = "Opens a subject-access case: its reference, the young person, "
	    "who asked and\nwhen it was received.  It is due one calendar "
	    "month after receipt: the same\nday of the next month, or that "
	    "month's last day (31 January: 28 or 29\nFebruary).\n\nOptions:\n",
	.width = 22,
};

const struct cmd cmd_sarcase_check = {
	.name = "sar-case check-identity",
	.run = check_run,
	.opts = check_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case check-identity",
	.synopsis = "sar-case check-identity REF --how TEXT [--json]",
	.help = "Records that the requester's identity was checked, and "
	    "how.\n\nOptions:\n",
	.width = 22,
};

const struct cmd cmd_sarcase_extend = {
	.name = "sar-case extend",
	.run = extend_run,
	.opts = extend_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case extend",
	.synopsis = "sar-case extend REF --to DATE --reason TEXT [--json]",
	.help = "Extends the due date, once, with the reason: to a date after "
	    "it and no later\nthan three months after receipt.\n\nOptions:\n",
	.width = 22,
};

const struct cmd cmd_sarcase_approve = {
	.name = "sar-case approve",
	.run = approve_run,
	.opts = plain_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case approve",
	.synopsis = "sar-case approve REF [--json]",
	.help = "Approves the release, once the identity is checked: by an "
	    "auditor who did\nnot open the case (four eyes).\n\nOptions:\n",
	.width = 22,
};

const struct cmd cmd_sarcase_release = {
	.name = "sar-case release",
	.run = release_run,
	.opts = release_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case release",
	.synopsis = "sar-case release REF --report FILE [--json]",
	.help = "Releases an approved case with the report given to the "
	    "requester (e.g. what\n'nwd sar --release' produced).  The broker "
	    "stores it sealed and records its\nSHA-256, shown here.\n\n"
	    "Options:\n",
	.width = 22,
};

const struct cmd cmd_sarcase_show = {
	.name = "sar-case show",
	.run = show_run,
	.opts = show_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case show",
	.synopsis = "sar-case show REF [--report-out FILE] [--json]",
	.help = "Shows a case, each step with who took it and when.  Once "
	    "released, the report\nas it was given comes too, checked against "
	    "its recorded SHA-256;\n--report-out writes it to a new file.  "
	    "Showing is audited.\n\nOptions:\n",
	.width = 22,
};

const struct cmd cmd_sarcase_list = {
	.name = "sar-case list",
	.run = list_run,
	.opts = plain_opts,
	.optsize = sizeof(struct sc_opts),
	.family = CMD_FAMILY_NWD,
	.see = "nwd help sar-case list",
	.synopsis = "sar-case list [--json]",
	.help = "Lists the cases not yet released, the soonest due (or "
	    "extended to) first;\noverdue ones are marked.\n\nOptions:\n",
	.width = 22,
};
