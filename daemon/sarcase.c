/*
 * sarcase: subject-access requests as cases.  See sarcase.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "calendar.h"
#include "chain.h"
#include "clock.h"
#include "config.h"
#include "decide.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "sarcase.h"
#include "seal.h"
#include "server.h"
#include "session.h"
#include "store.h"
#include "trail.h"

#define SARCASE_ROLE		"auditor"	/* who may work on cases */
#define SARCASE_REF_MAX		64		/* bytes of a reference */
#define SARCASE_TEXT_MAX	1000		/* requested_by, how, reason */
#define SARCASE_EXTEND_MONTHS	3		/* due at most this long after
						   receipt, extended */
#define SARCASE_TAG		"sar_case:"	/* rule of every row */

/* A request waiting for the store.  Strings owned. */
struct job {
	struct server		*srv;		/* borrowed */
	sarcase_answer_fn	*cb;		/* the answer goes here, once */
	sarcase_gone_fn		*gone;		/* may be NULL */
	void			*cb_arg;
	int			 op;		/* Nwd__V1__SarCaseRequest__Op */
	char			*actor;		/* the asking auditor */
	char			*sname;		/* its session's name, peer */
	char			*peer;
	char			*reference;
	char			*subject;	/* OPEN; else read from the
						   case */
	char			*requested_by;	/* OPEN */
	char			*text;		/* how, or the extension's
						   reason */
	int64_t			 received_ms;	/* OPEN */
	int64_t			 until_ms;	/* EXTEND: end of that day */
	uint8_t			*report;	/* RELEASE: the report as
						   given; wiped when freed */
	size_t			 report_len;
	uint8_t			*shown;		/* SHOW: the report, opened;
						   wiped when freed */
	size_t			 shown_len;
	uint8_t			*info;		/* SHOW: the case, a packed
						   SarCase */
	size_t			 infolen;
	char			 tag[sizeof(SARCASE_TAG) + SARCASE_REF_MAX];
};

static void
wipe_free(uint8_t *p, size_t len)
{
	if (p == NULL)
		return;
	explicit_bzero(p, len);
	free(p);
}

static void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	free(j->actor);
	free(j->sname);
	free(j->peer);
	free(j->reference);
	free(j->subject);
	free(j->requested_by);
	free(j->text);
	wipe_free(j->report, j->report_len);
	wipe_free(j->shown, j->shown_len);
	free(j->info);
	free(j);
}

static const char *
op_name(int op)
{
	switch (op) {
	case NWD__V1__SAR_CASE_REQUEST__OP__OPEN:
		return "open";
	case NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY:
		return "check-identity";
	case NWD__V1__SAR_CASE_REQUEST__OP__EXTEND:
		return "extend";
	case NWD__V1__SAR_CASE_REQUEST__OP__APPROVE:
		return "approve";
	case NWD__V1__SAR_CASE_REQUEST__OP__RELEASE:
		return "release";
	case NWD__V1__SAR_CASE_REQUEST__OP__SHOW:
		return "show";
	case NWD__V1__SAR_CASE_REQUEST__OP__LIST:
		return "list";
	default:
		return NULL;
	}
}

/* A reference: a letter or digit, then letters, digits, ". _ / -". */
static int
reference_ok(const char *r)
{
	size_t i, n = strlen(r);

	if (n == 0 || n > SARCASE_REF_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)r[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (i > 0 && (c == '.' || c == '_' || c == '/' || c == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* Text with something other than blanks in it, at most the limit. */
static int
text_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n > SARCASE_TEXT_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' &&
		    s[i] != '\r')
			return 1;
	return 0;
}

static int64_t
num(const struct store_result *r, size_t row, int col)
{
	const char	*v = store_result_value(r, row, col);
	char		*end;
	long long	 n;

	if (v == NULL || *v == '\0')
		return 0;
	n = strtoll(v, &end, 10);
	return *end == '\0' ? n : 0;
}

static const char *
col(const struct store_result *r, size_t row, int c)
{
	const char *v = store_result_value(r, row, c);

	return v != NULL ? v : "";
}

/* "2027-02-28", the local date of ms. */
static void
local_date(int64_t ms, char *out, size_t outlen)
{
	struct calendar_tm tm;

	calendar_local(ms, &tm);
	snprintf(out, outlen, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
}

/*
 * The additional data a case's report is sealed with: the reference in
 * hex after "sar-case:" (seal.c folds the id to lower case, so hex keeps
 * two references that differ only in case apart, and no message id, a
 * UUID, looks like it), the subject, and kind -1, which no message has.
 */
static void
report_aad(struct seal_aad *aad, char *id, size_t idlen,
    const char *reference, const char *subject)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i, off;

	off = (size_t)snprintf(id, idlen, "sar-case:");
	for (i = 0; reference[i] != '\0' && off + 2 < idlen; i++) {
		id[off++] = hex[(unsigned char)reference[i] >> 4];
		id[off++] = hex[(unsigned char)reference[i] & 0xf];
	}
	id[off] = '\0';
	aad->message_id = id;
	aad->subject = subject;
	aad->kind = -1;
}

/* ------------------------------------------------------------------------
 * Rows, refusals and answers
 */

static struct trail_origin
job_origin(const struct job *j)
{
	struct trail_origin o = { j->sname, j->peer[0] != '\0' ? j->peer :
	    NULL };

	return o;
}

/* A row of action by actor about a case (tag may be NULL: no case),
 * subject (NULL or unsound: not recorded), for reason. */
static struct audit_event *
row(const struct trail_origin *o, enum audit_action a, const char *actor,
    const char *subject, const char *tag, const char *reason)
{
	struct audit_event *ev;

	if ((ev = trail_event(o, a, actor)) == NULL)
		return NULL;
	if ((subject != NULL && envelope_subject_ok(subject) &&
	    audit_event_set(ev, AUDIT_F_SUBJECT, subject) == -1) ||
	    (tag != NULL && tag[0] != '\0' &&
	    audit_event_set(ev, AUDIT_F_RULE, tag) == -1) ||
	    (reason != NULL && audit_event_set(ev, AUDIT_F_REASON,
	    reason) == -1)) {
		audit_event_free(ev);
		return NULL;
	}
	return ev;
}

/* Refuses a request of who before any job: the row, then the error. */
static void
refuse(struct server *srv, const struct sarcase_asker *who,
    sarcase_answer_fn *cb, void *arg, Nwd__V1__ErrorCode code,
    const char *tag, const char *what, const char *why)
{
	struct trail_origin	o = { who->origin, who->peer };
	char			msg[600];

	log_info("principal=%s event=sar_case_refused op=%s reason=\"%s\"",
	    who->actor, what, why);
	trail_detached(srv->store, row(&o, AUDIT_SAR_CASE_REFUSED,
	    who->actor, NULL, tag, why));
	snprintf(msg, sizeof(msg), "sar-case %s refused: %s", what, why);
	cb(NULL, code, msg, arg);
}

/* 1 if whoever asked j has gone (the job is then dropped). */
static int
job_gone(const struct job *j)
{
	return j->gone != NULL && j->gone(j->cb_arg);
}

/* Answers j with an error. */
static void
job_error(struct job *j, Nwd__V1__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
job_error(struct job *j, Nwd__V1__ErrorCode code, const char *fmt, ...)
{
	va_list	ap;
	char	msg[2600];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	j->cb(NULL, code, msg, j->cb_arg);
}

/* The same for a job, whose session may have gone meanwhile; frees j. */
static void
refuse_job(struct job *j, Nwd__V1__ErrorCode code, const char *why)
{
	struct trail_origin	 o = job_origin(j);

	job_error(j, code, "sar-case %s refused: %s", op_name(j->op), why);
	log_info("principal=%s event=sar_case_refused op=%s case=%s "
	    "reason=\"%s\"", j->actor, op_name(j->op), j->reference != NULL ?
	    j->reference : "-", why);
	trail_detached(j->srv->store, row(&o, AUDIT_SAR_CASE_REFUSED,
	    j->actor, j->subject, j->tag, why));
	job_free(j);
}

/* An error that is not a refusal (the store, memory); frees j. */
static void
fail_job(struct job *j, Nwd__V1__ErrorCode code, const char *why)
{
	job_error(j, code, "sar-case %s: %s", op_name(j->op), why);
	job_free(j);
}

/* Fills c from row i of r (strings borrowed from r); now judges overdue. */
static void
case_of_row(Nwd__V1__SarCase *c, const struct store_result *r, size_t i,
    int64_t now)
{
	int64_t due;

	nwd__v1__sar_case__init(c);
	c->reference = (char *)col(r, i, 0);
	c->subject = (char *)col(r, i, 1);
	c->requested_by = (char *)col(r, i, 2);
	c->received_unix_ms = num(r, i, 3);
	c->opened_by = (char *)col(r, i, 4);
	c->opened_unix_ms = num(r, i, 5);
	c->due_unix_ms = num(r, i, 6);
	c->identity_checked_unix_ms = num(r, i, 7);
	c->identity_checked_by = (char *)col(r, i, 8);
	c->identity_checked_how = (char *)col(r, i, 9);
	c->extended_to_unix_ms = num(r, i, 10);
	c->extension_reason = (char *)col(r, i, 11);
	c->extended_by = (char *)col(r, i, 12);
	c->approved_unix_ms = num(r, i, 13);
	c->approved_by = (char *)col(r, i, 14);
	c->released_unix_ms = num(r, i, 15);
	c->released_by = (char *)col(r, i, 16);
	c->report_sha256 = (char *)col(r, i, 17);
	c->report_bytes = (uint64_t)num(r, i, 18);
	c->state = (char *)col(r, i, 19);
	due = c->extended_to_unix_ms != 0 ? c->extended_to_unix_ms :
	    c->due_unix_ms;
	c->overdue = strcmp(c->state, "released") != 0 && now > due;
}

/* The bytes one answer may hold: a frame, less room around it. */
static size_t
budget(const struct server *srv)
{
	uint32_t max = srv->cfg->max_frame;

	return max > 2 * DECIDE_FRAME_HEADROOM ? max - 2 *
	    DECIDE_FRAME_HEADROOM : 65536;
}

/* Answers with the cases of r (as many as fit a frame) and a report. */
static void
answer(struct job *j, const struct store_result *r, const uint8_t *report,
    size_t report_len)
{
	Nwd__V1__SarCaseResult	 res = NWD__V1__SAR_CASE_RESULT__INIT;
	Nwd__V1__SarCase	*v = NULL, **pv = NULL;
	size_t			 i, n = store_result_nrows(r), size = report_len;
	int64_t			 now = clock_wall_ms();

	if (n > 0 && ((v = calloc(n, sizeof(*v))) == NULL ||
	    (pv = calloc(n, sizeof(*pv))) == NULL)) {
		free(v);
		job_error(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		case_of_row(&v[i], r, i, now);
		size += nwd__v1__sar_case__get_packed_size(&v[i]) + 8;
		if (size > budget(j->srv) && i > 0) {
			res.omitted = (uint32_t)(n - i);
			break;
		}
		pv[i] = &v[i];
		res.n_cases = i + 1;
	}
	res.cases = pv;
	if (report != NULL) {
		res.report.data = (uint8_t *)report;
		res.report.len = report_len;
	}
	j->cb(&res, 0, NULL, j->cb_arg);
	free(pv);
	free(v);
}

/* ------------------------------------------------------------------------
 * Steps
 */

/* The case as it is now, after a step committed: the answer. */
static void
after_read(int ok, const struct store_result *r, void *arg)
{
	struct job	*j = arg;

	if (ok && store_result_nrows(r) == 1)
		answer(j, r, NULL, 0);
	else
		job_error(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "sar-case "
		    "%s: done, but the case could not be read back",
		    op_name(j->op));
	job_free(j);
}

static void
step_done(enum store_outcome outcome, void *arg)
{
	struct job	*j = arg;

	if (outcome != STORE_COMMITTED) {
		/* Another auditor took the step first (NW006, or the
		 * reference's uniqueness), or the store went away: nothing
		 * changed. */
		if (outcome == STORE_FAILED)
			refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT,
			    j->op == NWD__V1__SAR_CASE_REQUEST__OP__OPEN ?
			    "a case with this reference was opened meanwhile" :
			    "the case was changed meanwhile; show it and try "
			    "again");
		else
			fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE,
			    "the audit store did not commit it; nothing was "
			    "changed");
		return;
	}
	log_info("principal=%s event=sar_case_%s case=%s", j->actor,
	    op_name(j->op), j->reference);
	if (store_query_sar_case(j->srv->store, j->reference, after_read,
	    j) == -1) {
		job_error(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "sar-case "
		    "%s: done, but the case could not be read back",
		    op_name(j->op));
		job_free(j);
	}
}

/* Submits the batch holding the change and its row ev; takes both. */
static void
submit(struct job *j, struct store_batch *b, struct audit_event *ev)
{
	if (ev == NULL || store_batch_add_event(b, ev) == -1) {
		store_batch_free(b);
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	if (store_submit(j->srv->store, b, step_done, j) == -1) {
		store_batch_free(b);
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
		    "store is unavailable; nothing was changed");
	}
}

static void
do_open(struct job *j, const struct store_result *r)
{
	struct trail_origin	 o = job_origin(j);
	struct store_sar_case	 c;
	struct store_batch	*b;
	char			 why[2400], rec[16], due[16];
	int64_t			 due_ms;

	if (store_result_nrows(r) > 0) {
		snprintf(why, sizeof(why), "a case with reference %s exists "
		    "already (about %s, opened by %s)", j->reference,
		    col(r, 0, 1), col(r, 0, 4));
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT, why);
		return;
	}
	if (calendar_add_months(j->received_ms, 1, &due_ms) == -1) {
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
		    "the date received is out of range");
		return;
	}
	memset(&c, 0, sizeof(c));
	c.reference = j->reference;
	c.subject = j->subject;
	c.requested_by = j->requested_by;
	c.received_ms = j->received_ms;
	c.opened_ms = clock_wall_ms();
	c.opened_by = j->actor;
	c.due_ms = due_ms;
	c.instance = j->srv->cfg->instance;
	local_date(j->received_ms, rec, sizeof(rec));
	local_date(due_ms, due, sizeof(due));
	snprintf(why, sizeof(why), "subject-access case %s opened: requested "
	    "by %s, received %s, due %s", j->reference, j->requested_by, rec,
	    due);
	if ((b = store_batch_new()) == NULL ||
	    store_batch_add_sar_case(b, &c) == -1) {
		store_batch_free(b);
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	submit(j, b, row(&o, AUDIT_SAR_CASE_OPENED, j->actor, j->subject,
	    j->tag, why));
}

/* A step from the state the case is in (r, row 0) to to. */
static void
do_step(struct job *j, const struct store_result *r, const char *to,
    enum audit_action a, const char *why, const uint8_t *sealed,
    size_t sealed_len, const uint8_t *sha256)
{
	struct trail_origin	 o = job_origin(j);
	struct store_sar_step	 st;
	struct store_batch	*b;

	memset(&st, 0, sizeof(st));
	st.reference = j->reference;
	st.from = col(r, 0, 19);
	st.to = to;
	st.by = j->actor;
	st.at_ms = clock_wall_ms();
	st.text = j->text;
	st.until_ms = j->until_ms;
	st.report = sealed;
	st.report_len = sealed_len;
	st.key_id = sealed != NULL ? sealer_row_key_id(j->srv->sealer) : NULL;
	st.sha256 = sha256;
	if ((b = store_batch_new()) == NULL ||
	    store_batch_sar_case_step(b, &st) == -1) {
		store_batch_free(b);
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	submit(j, b, row(&o, a, j->actor, j->subject, j->tag, why));
}

static void
do_check_identity(struct job *j, const struct store_result *r)
{
	char why[2400], at[16];

	if (strcmp(col(r, 0, 19), "open") != 0) {
		local_date(num(r, 0, 7), at, sizeof(at));
		snprintf(why, sizeof(why), "the identity of the requester of "
		    "%s was checked already, on %s, by %s", j->reference, at,
		    col(r, 0, 8));
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT, why);
		return;
	}
	snprintf(why, sizeof(why), "identity of the requester of %s (%s) "
	    "checked: %s", j->reference, col(r, 0, 2), j->text);
	do_step(j, r, "identity_checked", AUDIT_SAR_IDENTITY_CHECKED, why,
	    NULL, 0, NULL);
}

static void
do_extend(struct job *j, const struct store_result *r)
{
	char	 why[2400], a[16], b[16];
	int64_t	 due = num(r, 0, 6), most;

	if (strcmp(col(r, 0, 19), "released") == 0) {
		snprintf(why, sizeof(why), "%s was released already",
		    j->reference);
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT, why);
		return;
	}
	if (num(r, 0, 10) != 0) {
		local_date(num(r, 0, 10), a, sizeof(a));
		snprintf(why, sizeof(why), "%s was extended already, to %s, "
		    "by %s: a case is extended once", j->reference, a,
		    col(r, 0, 12));
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT, why);
		return;
	}
	if (calendar_add_months(num(r, 0, 3), SARCASE_EXTEND_MONTHS,
	    &most) == -1)
		most = due;
	if (j->until_ms <= due || j->until_ms > most) {
		local_date(due, a, sizeof(a));
		local_date(most, b, sizeof(b));
		snprintf(why, sizeof(why), "the new due date must be after %s "
		    "(due now) and no later than %s (%d months after "
		    "receipt)", a, b, SARCASE_EXTEND_MONTHS);
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE,
		    why);
		return;
	}
	local_date(due, a, sizeof(a));
	local_date(j->until_ms, b, sizeof(b));
	snprintf(why, sizeof(why), "%s extended from %s to %s: %s",
	    j->reference, a, b, j->text);
	do_step(j, r, "extended", AUDIT_SAR_EXTENDED, why, NULL, 0, NULL);
}

static void
do_approve(struct job *j, const struct store_result *r)
{
	const char	*state = col(r, 0, 19);
	char		 why[2400], at[16];

	if (strcmp(state, "open") == 0) {
		snprintf(why, sizeof(why), "the identity of the requester of "
		    "%s has not been checked (nwd sar-case check-identity %s "
		    "--how TEXT)", j->reference, j->reference);
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, why);
		return;
	}
	if (strcmp(state, "identity_checked") != 0) {
		local_date(num(r, 0, 13), at, sizeof(at));
		snprintf(why, sizeof(why), "the release of %s was approved "
		    "already, on %s, by %s", j->reference, at, col(r, 0, 14));
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT, why);
		return;
	}
	if (strcmp(col(r, 0, 4), j->actor) == 0) {
		snprintf(why, sizeof(why), "%s opened %s: the release is "
		    "approved by another auditor (four eyes)", j->actor,
		    j->reference);
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, why);
		return;
	}
	snprintf(why, sizeof(why), "release of %s approved (opened by %s, "
	    "identity checked by %s)", j->reference, col(r, 0, 4),
	    col(r, 0, 8));
	do_step(j, r, "approved", AUDIT_SAR_APPROVED, why, NULL, 0, NULL);
}

static void
do_release(struct job *j, const struct store_result *r)
{
	const char	*state = col(r, 0, 19);
	struct seal_aad	 aad;
	char		 why[2400], id[16 + 2 * SARCASE_REF_MAX], at[16];
	char		 hex[CHAIN_HEX_LEN];
	uint8_t		*sealed, sha[CHAIN_HASH_LEN];
	size_t		 sealed_len = 0;

	if (strcmp(state, "released") == 0) {
		local_date(num(r, 0, 15), at, sizeof(at));
		snprintf(why, sizeof(why), "%s was released already, on %s, by "
		    "%s (report sha256 %s)", j->reference, at, col(r, 0, 16),
		    col(r, 0, 17));
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_CONFLICT, why);
		return;
	}
	if (strcmp(state, "approved") != 0) {
		snprintf(why, sizeof(why), "the release of %s has not been "
		    "approved (nwd sar-case approve %s, by an auditor who did "
		    "not open it)", j->reference, j->reference);
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN, why);
		return;
	}
	if (chain_sha256_hex(j->report, j->report_len, hex) == -1 ||
	    chain_unhex(hex, sha, sizeof(sha)) == -1) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "the report could not be hashed");
		return;
	}
	report_aad(&aad, id, sizeof(id), j->reference, j->subject);
	if ((sealed = seal_body(j->srv->sealer, &aad, j->report,
	    j->report_len, &sealed_len)) == NULL) {
		log_warnx("principal=%s case=%s event=sar_case_release "
		    "reason=\"the report could not be sealed\"", j->actor,
		    j->reference);
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "the report could not be sealed");
		return;
	}
	snprintf(why, sizeof(why), "%s released: a report of %zu bytes, "
	    "sha256 %s (approved by %s)", j->reference, j->report_len, hex,
	    col(r, 0, 14));
	do_step(j, r, "released", AUDIT_SAR_RELEASED, why, sealed, sealed_len,
	    sha);
	free(sealed);
}

/* SHOW: the row is committed, the answer follows. */
static void
show_done(enum store_outcome outcome, void *arg)
{
	struct job		*j = arg;
	Nwd__V1__SarCaseResult	 res = NWD__V1__SAR_CASE_RESULT__INIT;
	Nwd__V1__SarCase	*c = NULL;

	if (outcome != STORE_COMMITTED) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the "
		    "access could not be audited, so the case is not shown");
		return;
	}
	if ((c = nwd__v1__sar_case__unpack(NULL, j->infolen, j->info)) ==
	    NULL) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	c->overdue = strcmp(c->state, "released") != 0 && clock_wall_ms() >
	    (c->extended_to_unix_ms != 0 ? c->extended_to_unix_ms :
	    c->due_unix_ms);
	res.cases = &c;
	res.n_cases = 1;
	if (j->shown != NULL) {
		res.report.data = j->shown;
		res.report.len = j->shown_len;
	}
	j->cb(&res, 0, NULL, j->cb_arg);
	nwd__v1__sar_case__free_unpacked(c, NULL);
	job_free(j);
}

static void
do_show(struct job *j, const struct store_result *r)
{
	struct trail_origin	 o = job_origin(j);
	struct store_batch	*b;
	struct seal_aad		 aad;
	Nwd__V1__SarCase	 c;
	char			 why[400], err[256];
	char			 id[16 + 2 * SARCASE_REF_MAX];
	const uint8_t		*sealed;

	case_of_row(&c, r, 0, clock_wall_ms());
	j->infolen = nwd__v1__sar_case__get_packed_size(&c);
	if ((j->info = malloc(j->infolen > 0 ? j->infolen : 1)) == NULL) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	nwd__v1__sar_case__pack(&c, j->info);
	sealed = (const uint8_t *)store_result_value(r, 0, 20);
	if (sealed != NULL) {
		report_aad(&aad, id, sizeof(id), j->reference, j->subject);
		if ((j->shown = open_body(j->srv->sealer, col(r, 0, 21), &aad,
		    sealed, store_result_length(r, 0, 20), &j->shown_len, err,
		    sizeof(err))) == NULL) {
			log_warnx("principal=%s case=%s event=sar_case_show "
			    "reason=\"the stored report cannot be opened: "
			    "%s\"", j->actor, j->reference, err);
			fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
			    "the stored report cannot be opened (see the "
			    "daemon's log)");
			return;
		}
		snprintf(why, sizeof(why), "%s shown (%s) with its released "
		    "report, %zu bytes, sha256 %s", j->reference, c.state,
		    j->shown_len, c.report_sha256);
	} else
		snprintf(why, sizeof(why), "%s shown (%s)", j->reference,
		    c.state);
	if ((b = store_batch_new()) == NULL) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	{
		struct audit_event *ev = row(&o, AUDIT_SAR_CASE_QUERY,
		    j->actor, j->subject, j->tag, why);

		if (ev == NULL || store_batch_add_event(b, ev) == -1) {
			store_batch_free(b);
			fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
			    "out of memory");
			return;
		}
	}
	if (store_submit(j->srv->store, b, show_done, j) == -1) {
		store_batch_free(b);
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the audit "
		    "store is unavailable");
	}
}

/* The case of j->reference, read: what the request asked. */
static void
case_read(int ok, const struct store_result *r, void *arg)
{
	struct job	*j = arg;
	char		 why[200];

	if (job_gone(j)) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the asker "
		    "has gone; nothing was done");
		return;
	}
	if (!ok) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the case "
		    "could not be read: the audit store is unavailable");
		return;
	}
	if (j->op == NWD__V1__SAR_CASE_REQUEST__OP__OPEN) {
		do_open(j, r);
		return;
	}
	if (store_result_nrows(r) == 0) {
		snprintf(why, sizeof(why), "no subject-access case %s",
		    j->reference);
		refuse_job(j, NWD__V1__ERROR_CODE__ERROR_NOT_FOUND, why);
		return;
	}
	if ((j->subject = strdup(col(r, 0, 1))) == NULL) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_INTERNAL,
		    "out of memory");
		return;
	}
	switch (j->op) {
	case NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY:
		do_check_identity(j, r);
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__EXTEND:
		do_extend(j, r);
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__APPROVE:
		do_approve(j, r);
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__RELEASE:
		do_release(j, r);
		break;
	default:
		do_show(j, r);
		break;
	}
}

/* LIST: the open cases, and the row saying they were listed. */
static void
list_read(int ok, const struct store_result *r, void *arg)
{
	struct job		*j = arg;
	struct trail_origin	 o = job_origin(j);
	char			 why[200];
	size_t			 i, n, overdue = 0;
	int64_t			 now = clock_wall_ms(), due;

	if (!ok) {
		fail_job(j, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, "the cases "
		    "could not be read: the audit store is unavailable");
		return;
	}
	n = store_result_nrows(r);
	for (i = 0; i < n; i++) {
		due = num(r, i, 10) != 0 ? num(r, i, 10) : num(r, i, 6);
		overdue += now > due;
	}
	snprintf(why, sizeof(why), "subject-access cases listed: %zu open, "
	    "%zu overdue", n, overdue);
	trail_detached(j->srv->store, row(&o, AUDIT_SAR_CASE_QUERY, j->actor,
	    NULL, NULL, why));
	answer(j, r, NULL, 0);
	job_free(j);
}

/* ------------------------------------------------------------------------
 * The request
 */

/* Checks what q asks for before anything is read; NULL if sound, else
 * the reason (static or in buf) and *code. */
static const char *
check(const struct server *srv, const Nwd__V1__SarCaseRequest *q,
    int64_t now, Nwd__V1__ErrorCode *code, char *buf, size_t buflen)
{
	*code = NWD__V1__ERROR_CODE__ERROR_INVALID_ENVELOPE;
	if (q->op == NWD__V1__SAR_CASE_REQUEST__OP__LIST)
		return NULL;
	if (!reference_ok(q->reference))
		return "a case reference is required: 1 to 64 letters, "
		    "digits and . _ / -, starting with a letter or digit";
	switch (q->op) {
	case NWD__V1__SAR_CASE_REQUEST__OP__OPEN:
		if (!envelope_subject_ok(q->subject))
			return "the subject is not a young person's "
			    "identifier (--subject ID)";
		if (!text_ok(q->requested_by))
			return "who asked is required (--requested-by TEXT, "
			    "at most 1000 bytes)";
		if (q->received_unix_ms < 0 || q->received_unix_ms > now)
			return "the date received cannot be in the future";
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY:
		if (!text_ok(q->how))
			return "say how the identity was checked (--how TEXT, "
			    "at most 1000 bytes)";
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__EXTEND:
		if (q->extended_to_unix_ms <= 0)
			return "the new due date is required (--to DATE)";
		if (!text_ok(q->reason))
			return "the reason for the extension is required "
			    "(--reason TEXT, at most 1000 bytes)";
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__RELEASE:
		if (q->report.len == 0)
			return "the report given to the requester is required "
			    "(--report FILE, not empty)";
		if (q->report.len > budget(srv)) {
			snprintf(buf, buflen, "the report is %zu bytes; a "
			    "report is stored and shown in one frame, at most "
			    "%zu bytes", q->report.len, budget(srv));
			*code = NWD__V1__ERROR_CODE__ERROR_LIMIT;
			return buf;
		}
		break;
	default:
		break;
	}
	return NULL;
}

void
sarcase_run(struct server *srv, const struct sarcase_asker *who,
    const Nwd__V1__SarCaseRequest *q, sarcase_answer_fn *cb,
    sarcase_gone_fn *gone, void *arg)
{
	const char		*what = op_name(q->op), *bad;
	struct job		*j;
	Nwd__V1__ErrorCode	 code;
	char			 why[400], tag[sizeof(SARCASE_TAG) +
				    SARCASE_REF_MAX];
	int64_t			 now = clock_wall_ms();
	int			 rc;

	tag[0] = '\0';
	if (reference_ok(q->reference))
		snprintf(tag, sizeof(tag), SARCASE_TAG "%s", q->reference);
	if (what == NULL) {
		refuse(srv, who, cb, arg, NWD__V1__ERROR_CODE__ERROR_PROTOCOL,
		    tag, "request", "the request names no operation (open, "
		    "check-identity, extend, approve, release, show, list)");
		return;
	}
	if (strcmp(who->role, SARCASE_ROLE) != 0) {
		snprintf(why, sizeof(why), "only auditors work on "
		    "subject-access cases (role %s is not %s)", who->role,
		    SARCASE_ROLE);
		refuse(srv, who, cb, arg, NWD__V1__ERROR_CODE__ERROR_FORBIDDEN,
		    tag, what, why);
		return;
	}
	if ((bad = check(srv, q, now, &code, why, sizeof(why))) != NULL) {
		refuse(srv, who, cb, arg, code, tag, what, bad);
		return;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL)
		goto oom;
	j->srv = srv;
	j->cb = cb;
	j->gone = gone;
	j->cb_arg = arg;
	j->op = q->op;
	snprintf(j->tag, sizeof(j->tag), "%s", tag);
	if ((j->actor = strdup(who->actor)) == NULL ||
	    (j->sname = strdup(who->origin)) == NULL ||
	    (j->peer = strdup(who->peer != NULL ? who->peer : "")) == NULL ||
	    (q->op != NWD__V1__SAR_CASE_REQUEST__OP__LIST &&
	    (j->reference = strdup(q->reference)) == NULL))
		goto oom;
	switch (q->op) {
	case NWD__V1__SAR_CASE_REQUEST__OP__OPEN:
		if ((j->subject = strdup(q->subject)) == NULL ||
		    (j->requested_by = strdup(q->requested_by)) == NULL)
			goto oom;
		j->received_ms = q->received_unix_ms != 0 ?
		    q->received_unix_ms : now;
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__CHECK_IDENTITY:
		if ((j->text = strdup(q->how)) == NULL)
			goto oom;
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__EXTEND:
		if ((j->text = strdup(q->reason)) == NULL)
			goto oom;
		if (calendar_end_of_day(q->extended_to_unix_ms,
		    &j->until_ms) == -1)
			j->until_ms = INT64_MAX;
		break;
	case NWD__V1__SAR_CASE_REQUEST__OP__RELEASE:
		if ((j->report = malloc(q->report.len)) == NULL)
			goto oom;
		memcpy(j->report, q->report.data, q->report.len);
		j->report_len = q->report.len;
		break;
	default:
		break;
	}
	if (q->op == NWD__V1__SAR_CASE_REQUEST__OP__LIST)
		rc = store_query_sar_cases_open(srv->store, list_read, j);
	else
		rc = store_query_sar_case(srv->store, j->reference, case_read,
		    j);
	if (rc == -1) {
		job_free(j);
		snprintf(why, sizeof(why), "sar-case %s: the audit store is "
		    "unavailable", what);
		cb(NULL, NWD__V1__ERROR_CODE__ERROR_UNAVAILABLE, why, arg);
	}
	return;
oom:
	job_free(j);
	cb(NULL, NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory", arg);
}

/* ------------------------------------------------------------------------
 * A session's request
 */

struct reply_to {
	struct server	*srv;		/* borrowed */
	uint64_t	 session_id;
	uint64_t	 request_id;
};

static void
session_answer(const Nwd__V1__SarCaseResult *res, Nwd__V1__ErrorCode code,
    const char *error, void *arg)
{
	struct reply_to	*rt = arg;
	struct session	*s = session_find(rt->srv, rt->session_id);
	Nwd__V1__Frame	 f = NWD__V1__FRAME__INIT;

	if (s != NULL && res != NULL) {
		f.request_id = rt->request_id;
		f.msg_case = NWD__V1__FRAME__MSG_SAR_CASE_RESULT;
		f.sar_case_result = (Nwd__V1__SarCaseResult *)res;
		session_send(s, &f);
	} else if (s != NULL)
		session_send_error(s, rt->request_id, code, "%s", error);
	free(rt);
}

static int
session_gone(void *arg)
{
	struct reply_to *rt = arg;

	return session_find(rt->srv, rt->session_id) == NULL;
}

void
sarcase_handle(struct server *srv, struct session *s, uint64_t request_id,
    const Nwd__V1__SarCaseRequest *q)
{
	struct sarcase_asker	 who;
	struct reply_to		*rt;

	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		session_send_error(s, request_id,
		    NWD__V1__ERROR_CODE__ERROR_INTERNAL, "out of memory");
		return;
	}
	rt->srv = srv;
	rt->session_id = s->id;
	rt->request_id = request_id;
	who.actor = s->principal->id;
	who.role = s->principal->role;
	who.origin = session_name(s);
	who.peer = s->peer;
	sarcase_run(srv, &who, q, session_answer, session_gone, rt);
}
