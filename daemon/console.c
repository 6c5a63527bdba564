/*
 * console: the listener, who may come in, the routes and the audit rows of
 * the auditor's console (console.h).
 *
 * A request is answered in up to two steps on the store's connection: the
 * rows the page needs (the queries an AuditQuery uses, store.h), then the
 * page's own console_view row; the page is sent only once that row has
 * committed.  If the browser goes away meanwhile the answer is dropped
 * (the connection's close callback clears the request).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "anchor.h"
#include "audit.h"
#include "chain.h"
#include "clock.h"
#include "config.h"
#include "console.h"
#include "console_int.h"
#include "envelope.h"
#include "identity.h"
#include "log.h"
#include "policy.h"
#include "server.h"
#include "store.h"
#include "tls.h"
#include "trail.h"
#include "utf8.h"

#define CONSOLE_TIMEOUT_SECS	30
#define CONSOLE_MAX_HEADERS	8192
#define CONSOLE_MAX_BODY	4096
#define CONSOLE_ROWS		1000	/* rows a page reads at most */
#define CONSOLE_COOKIE		"nwd_console"
#define CONSOLE_LABELS_BYTES	(1 << 20)	/* the labels file at most */


static void
closed_cb(struct evhttp_connection *evcon, void *arg)
{
	struct console_job *j = arg;

	(void)evcon;
	j->req = NULL;
	j->evcon = NULL;
	if (j->gone != NULL)
		j->gone(j);	/* a reply in progress: it frees j */
}

void
console_job_free(struct console_job *j)
{
	if (j == NULL)
		return;
	if (j->evcon != NULL)
		evhttp_connection_set_closecb(j->evcon, NULL, NULL);
	chtml_free(&j->out);
	free(j);
}

static void
hex(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", in[i]);
}

/* The CSRF token of (principal, cookie): HMAC-SHA256 under the key. */
static void
csrf_token(const struct console *c, const char *actor, const char *cookie,
    char out[65])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;
	char		msg[256];

	snprintf(msg, sizeof(msg), "%s\n%s", actor, cookie);
	HMAC(EVP_sha256(), c->key, sizeof(c->key), (unsigned char *)msg,
	    strlen(msg), md, &mdlen);
	hex(md, mdlen > 32 ? 32 : mdlen, out);
}

/* The browser's console cookie (64 hex digits), or "" if none. */
static void
cookie_of(struct evhttp_request *req, char out[65])
{
	const char	*h, *p;
	size_t		 i;

	out[0] = '\0';
	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");
	if (h == NULL || (p = strstr(h, CONSOLE_COOKIE "=")) == NULL)
		return;
	p += strlen(CONSOLE_COOKIE "=");
	for (i = 0; i < 64; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' &&
		    p[i] <= 'f')))
			return;
	memcpy(out, p, 64);
	out[64] = '\0';
}

static int
role_allowed(const char *roles, const char *role)
{
	size_t		 n = strlen(role);
	const char	*p = roles;

	while (p != NULL && *p != '\0') {
		while (*p == ' ' || *p == ',')
			p++;
		if (strncmp(p, role, n) == 0 && (p[n] == '\0' || p[n] == ',' ||
		    p[n] == ' '))
			return 1;
		p = strchr(p, ',');
	}
	return 0;
}

void
console_headers(struct console_job *j)
{
	struct evkeyvalq	*h;
	char			 cookie[160], disp[200];

	if (j->req == NULL)
		return;
	h = evhttp_request_get_output_headers(j->req);
	evhttp_add_header(h, "Content-Type", j->type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Security-Policy", j->csp != NULL ?
	    j->csp : "default-src 'self'; form-action 'self'; "
	    "frame-ancestors 'none'; base-uri 'none'");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Strict-Transport-Security", "max-age=31536000");
	if (j->filename[0] != '\0' || j->format == CONSOLE_CSV) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"",
		    j->filename[0] != '\0' ? j->filename : "nwd-audit.csv");
		evhttp_add_header(h, "Content-Disposition", disp);
	}
	if (j->cookie[0] == '\0' && j->csrf[0] != '\0') {
		snprintf(cookie, sizeof(cookie), CONSOLE_COOKIE "=%s; Path=/; "
		    "Secure; HttpOnly; SameSite=Strict", j->csrf);
		evhttp_add_header(h, "Set-Cookie", cookie);
	}
	if (j->code == 303)
		evhttp_add_header(h, "Location", j->location[0] != '\0' ?
		    j->location : "/reviews");
}

void
console_send_page(struct console_job *j)
{
	if (j->req == NULL)
		return;
	if (!chtml_ok(&j->out)) {
		j->code = 500;
		chtml_free(&j->out);
		chtml_raw(&j->out, "out of memory\n");
	}
	console_headers(j);
	if (j->out.p != NULL)
		evbuffer_add(evhttp_request_get_output_buffer(j->req),
		    j->out.p, j->out.len);
	evhttp_send_reply(j->req, j->code, j->code == 200 ? "OK" :
	    j->code == 303 ? "See Other" : j->code == 400 ? "Bad Request" :
	    j->code == 403 ? "Forbidden" : j->code == 404 ? "Not Found" :
	    j->code == 409 ? "Conflict" :
	    j->code == 503 ? "Service Unavailable" : "Error", NULL);
	j->req = NULL;
}

/* The page's row has committed (or not): send it, or say why not. */
static void
audited(enum store_outcome outcome, void *arg)
{
	struct console_job *j = arg;

	if (j->then != NULL) {
		j->then(j, outcome == STORE_COMMITTED);
		return;
	}
	if (outcome != STORE_COMMITTED) {
		chtml_free(&j->out);
		j->code = 503;
		j->type = "text/plain; charset=utf-8";
		chtml_raw(&j->out, "The audit trail cannot record this view "
		    "right now, so it is not shown. Try again later.\n");
	}
	console_send_page(j);
	console_job_free(j);
}

void
console_audit_and_send(struct console_job *j, struct store_batch *batch)
{
	struct trail_origin	 o = { "console", j->peer };
	struct audit_event	*ev;

	if (batch == NULL && (batch = store_batch_new()) == NULL)
		goto unavailable;
	if ((ev = trail_event(&o, AUDIT_CONSOLE_VIEW, j->actor)) == NULL ||
	    audit_event_set(ev, AUDIT_F_REASON, j->reason) == -1 ||
	    (j->subject[0] != '\0' && audit_event_set(ev, AUDIT_F_SUBJECT,
	    j->subject) == -1) ||
	    (j->message_id[0] != '\0' && audit_event_set(ev,
	    AUDIT_F_MESSAGE_ID, j->message_id) == -1)) {
		audit_event_free(ev);
		goto unavailable;
	}
	if (store_batch_add_event(batch, ev) == -1 ||
	    store_submit(j->c->srv->store, batch, audited, j) == -1)
		goto unavailable;
	return;
unavailable:
	store_batch_free(batch);
	audited(STORE_UNAVAILABLE, j);
}

void
console_plain(struct console_job *j, int code, const char *title,
    const char *why)
{
	j->then = NULL;
	j->filename[0] = '\0';
	j->csp = NULL;
	chtml_free(&j->out);
	j->code = code;
	j->type = "text/html; charset=utf-8";
	j->format = CONSOLE_HTML;
	console_page_head(&j->out, title, j->actor[0] != '\0' &&
	    j->role[0] != '\0' ? j->actor : NULL, j->role);
	console_page_error(&j->out, title, why);
	console_page_foot(&j->out);
	if (code == 400 || code == 403)
		snprintf(j->reason + strlen(j->reason), sizeof(j->reason) -
		    strlen(j->reason), "; refused: %s", why);
	console_audit_and_send(j, NULL);
}

/* What this daemon knows of its own chain, for the chain page; the
 * strings point into head_hex and state_hex or into the store. */
static void
chain_state(struct console *c, struct console_chain *cs,
    char head_hex[CHAIN_HEX_LEN], char state_hex[CHAIN_HEX_LEN])
{
	const struct anchor_state	*st;
	uint8_t				 h[CHAIN_HASH_LEN];

	memset(cs, 0, sizeof(*cs));
	cs->instance = c->srv->cfg->instance;
	cs->head_seq = store_chain_head(c->srv->store);
	store_chain_head_hash(c->srv->store, h);
	chain_hex(h, head_hex);
	cs->head_hash = head_hex;
	cs->refusal = store_refusal(c->srv->store);
	if (c->srv->anchor != NULL && (st = anchor_state(c->srv->anchor)) !=
	    NULL && st->present) {
		cs->state_file = anchor_state_path(c->srv->anchor);
		cs->state_seq = st->committed.seq;
		chain_hex(st->committed.hash, state_hex);
		cs->state_hash = state_hex;
	}
}

/*
 * The address of the page after r's n rows (a keyset cursor: the last
 * row's id, and the time the first page was read), the same filter and
 * page size, into u.
 */
static void
next_page(const struct console_job *j, const struct store_result *r,
    size_t n, struct chtml *u)
{
	static const char *const keys[] = {
		"subject", "principal", "action", "from", "until"
	};
	const char	*vals[] = {
		j->subject, j->principal, j->action, j->from, j->until
	};
	const char	*last = store_result_value(r, n - 1, 0);
	size_t		 k;

	if (j->route == R_SUBJECT) {
		chtml_raw(u, "/subject?id=");
		chtml_url(u, j->subject);
		chtml_raw(u, "&");
	} else
		chtml_raw(u, j->route == R_SEARCH ? "/search?" : j->route ==
		    R_REFUSALS ? "/refusals?" : "/escalations?");
	for (k = 0; j->route != R_SUBJECT &&
	    k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (vals[k][0] == '\0')
			continue;
		chtml_rawf(u, "%s=", keys[k]);
		chtml_url(u, vals[k]);
		chtml_raw(u, "&");
	}
	if (j->format == CONSOLE_CSV)
		chtml_raw(u, "format=csv&");
	else if (j->format == CONSOLE_JSON)
		chtml_raw(u, "format=json&");
	if (j->limit != CONSOLE_ROWS)
		chtml_rawf(u, "limit=%u&", j->limit);
	chtml_raw(u, "after=");
	chtml_url(u, last != NULL ? last : "0");
	chtml_rawf(u, "&pin=%" PRId64, j->pin);
}

static void
rows_cb(int ok, const struct store_result *r, void *arg)
{
	struct console_job		*j = arg;
	struct chtml			 next;
	const char			*nextp;
	const struct console_labels	*l;
	struct console_chain		 cs;
	size_t				 n;
	char				 title[160];
	char				 head_hex[CHAIN_HEX_LEN];
	char				 state_hex[CHAIN_HEX_LEN];

	if (!ok) {
		console_plain(j, 503, "Unavailable",
		    "The audit trail could not be "
		    "read; try again later.");
		return;
	}
	n = store_result_nrows(r);
	j->code = 200;
	l = j->c->labels;
	switch (j->route) {
	case R_SEARCH:
	case R_REFUSALS:
	case R_ESCALATIONS:
		chtml_init(&next);
		if (n > 0 && n >= j->limit)
			next_page(j, r, n, &next);
		nextp = next.len > 0 && chtml_ok(&next) ? next.p : NULL;
		if (j->format == CONSOLE_CSV)
			j->type = "text/csv; charset=utf-8";
		else if (j->format == CONSOLE_JSON)
			j->type = "application/json";
		if (j->format != CONSOLE_HTML) {
			console_page_rows(&j->out, r, j->format, nextp, l);
			chtml_free(&next);
			break;
		}
		console_page_head(&j->out, j->route == R_SEARCH ? "Search the "
		    "audit trail" : j->route == R_REFUSALS ? "Refusals" :
		    "Escalations", j->actor, j->role);
		if (j->route == R_SEARCH)
			console_page_form(&j->out, &j->q);
		else
			console_page_filter(&j->out, j->route == R_REFUSALS ?
			    "/refusals" : "/escalations", &j->q);
		console_page_charts(&j->out, r, l);
		console_page_rows(&j->out, r, CONSOLE_HTML, nextp, l);
		console_page_foot(&j->out);
		chtml_free(&next);
		break;
	case R_SUBJECT:
		chtml_init(&next);
		if (n > 0 && n >= j->limit)
			next_page(j, r, n, &next);
		snprintf(title, sizeof(title), "Timeline of %s", j->subject);
		console_page_head(&j->out, title, j->actor, j->role);
		console_page_charts(&j->out, r, l);
		console_page_timeline(&j->out, j->subject, r, next.len > 0 &&
		    chtml_ok(&next) ? next.p : NULL, l);
		console_page_foot(&j->out);
		chtml_free(&next);
		break;
	case R_MESSAGE:
		snprintf(title, sizeof(title), "Message %s", j->message_id);
		console_page_head(&j->out, title, j->actor, j->role);
		console_page_message(&j->out, j->message_id, r, l);
		console_page_foot(&j->out);
		break;
	case R_REVIEWS:
		console_page_head(&j->out, "Break-glass reviews", j->actor,
		    j->role);
		console_page_reviews(&j->out, r, j->csrf);
		console_page_foot(&j->out);
		break;
	case R_OVERDUE:
		console_page_head(&j->out, "Overdue deadlines", j->actor,
		    j->role);
		console_page_overdue(&j->out, r, clock_wall_ms(), l);
		console_page_foot(&j->out);
		break;
	case R_CHAIN:
		chain_state(j->c, &cs, head_hex, state_hex);
		console_page_head(&j->out, "The audit chain", j->actor,
		    j->role);
		console_page_chain(&j->out, r, &cs);
		console_page_foot(&j->out);
		break;
	default:
		break;
	}
	snprintf(j->reason + strlen(j->reason), sizeof(j->reason) -
	    strlen(j->reason), "; %zu rows", n);
	console_audit_and_send(j, NULL);
}

/* A query parameter: "" if absent; -1 if too long or not printable. */
int
console_param(const struct evkeyvalq *q, const char *key, char *out,
    size_t outlen)
{
	const char *v = evhttp_find_header(q, key);

	out[0] = '\0';
	if (v == NULL)
		return 0;
	if (strlen(v) >= outlen || !utf8_valid_str(v, NULL) ||
	    utf8_has_control(v))
		return -1;
	snprintf(out, outlen, "%s", v);
	return 0;
}

/* Appends " key=value" to the row's reason, printable ASCII only. */
void
console_describe(struct console_job *j, const char *key, const char *v)
{
	size_t	len = strlen(j->reason), i;

	if (v[0] == '\0' || len + strlen(key) + 3 >= sizeof(j->reason))
		return;
	len += snprintf(j->reason + len, sizeof(j->reason) - len, " %s=", key);
	for (i = 0; v[i] != '\0' && len + 1 < sizeof(j->reason); i++)
		j->reason[len++] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
	j->reason[len] = '\0';
}

/*
 * The page a table shows: limit= rows (1 to 1,000), after= the last row
 * of the page before and pin= the time its first page was read (both or
 * neither).  0; or -1, the 400 page sent and j freed.
 */
static int
cursor(struct console_job *j, const struct evkeyvalq *q)
{
	char	after[24], limit[8], pin[24], *end;

	if (console_param(q, "after", after, sizeof(after)) == -1 ||
	    console_param(q, "limit", limit, sizeof(limit)) == -1 ||
	    console_param(q, "pin", pin, sizeof(pin)) == -1) {
		console_plain(j, 400, "Bad request", "A page's limit, after "
		    "or pin is too long or holds control characters.");
		return -1;
	}
	console_describe(j, "limit", limit);
	console_describe(j, "after", after);
	j->limit = CONSOLE_ROWS;
	if (limit[0] != '\0') {
		errno = 0;
		j->limit = (uint32_t)strtoul(limit, &end, 10);
		if (limit[0] < '1' || limit[0] > '9' || *end != '\0' ||
		    errno != 0 || j->limit > CONSOLE_ROWS) {
			console_plain(j, 400, "Bad request", "The page size "
			    "(limit) is a number of rows from 1 to 1000.");
			return -1;
		}
	}
	if (after[0] != '\0' || pin[0] != '\0') {
		errno = 0;
		j->after = strtoll(after, &end, 10);
		if (after[0] < '0' || after[0] > '9' || *end != '\0' ||
		    errno != 0 || j->after < 0 ||
		    (j->pin = strtoll(pin, &end, 10)) <= 0 || *end != '\0' ||
		    errno != 0) {
			console_plain(j, 400, "Bad request", "The page to "
			    "continue from (after, a row number, and pin, the "
			    "time the first page was read) is malformed.");
			return -1;
		}
	}
	return 0;
}

static void
route_search(struct console_job *j, const struct evkeyvalq *q)
{
	struct store_audit_filter	f;
	enum audit_action		a;
	char				fmt[16], err[200], why[600];
	int64_t				from = 0, until = 0;

	if (console_param(q, "subject", j->subject, sizeof(j->subject)) == -1 ||
	    console_param(q, "principal", j->principal,
	    sizeof(j->principal)) == -1 ||
	    console_param(q, "action", j->action, sizeof(j->action)) == -1 ||
	    console_param(q, "from", j->from, sizeof(j->from)) == -1 ||
	    console_param(q, "until", j->until, sizeof(j->until)) == -1 ||
	    console_param(q, "format", fmt, sizeof(fmt)) == -1) {
		console_plain(j, 400, "Bad search",
		    "A search field is too long "
		    "(at most 128 characters) or holds control characters.");
		return;
	}
	console_describe(j, "subject", j->subject);
	console_describe(j, "principal", j->principal);
	console_describe(j, "action", j->action);
	console_describe(j, "from", j->from);
	console_describe(j, "until", j->until);
	console_describe(j, "format", fmt);
	if (cursor(j, q) == -1)
		return;
	j->q.subject = j->subject;
	j->q.principal = j->principal;
	j->q.action = j->action;
	j->q.from = j->from;
	j->q.until = j->until;
	j->format = strcmp(fmt, "csv") == 0 ? CONSOLE_CSV :
	    strcmp(fmt, "json") == 0 ? CONSOLE_JSON : CONSOLE_HTML;
	if (j->from[0] != '\0' && console_parse_local(j->from, &from, err,
	    sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "\"%s\" (from) %s", j->from, err);
		console_plain(j, 400, "Bad search", why);
		return;
	}
	if (j->until[0] != '\0' && console_parse_local(j->until, &until,
	    err, sizeof(err)) == -1) {
		snprintf(why, sizeof(why), "\"%s\" (until) %s", j->until, err);
		console_plain(j, 400, "Bad search", why);
		return;
	}
	if (from != 0 && until != 0 && from >= until) {
		console_plain(j, 400, "Bad search", "The time range is empty: "
		    "\"from\" must come before \"until\".");
		return;
	}
	if (j->action[0] != '\0' && audit_action_from_name(j->action,
	    &a) == -1) {
		console_plain(j, 400, "Bad search",
		    "No such action (for example "
		    "publish, deliver, deliver_refused, ack, audit_query).");
		return;
	}
	memset(&f, 0, sizeof(f));
	f.subject = j->subject[0] != '\0' ? j->subject : NULL;
	f.principal = j->principal[0] != '\0' ? j->principal : NULL;
	f.action = j->action[0] != '\0' ? j->action : NULL;
	f.from_ms = from;
	/* The trail as the first page saw it: the pages end, though each
	 * view adds a row that may match. */
	f.until_ms = until != 0 ? until : clock_wall_ms() + 1;
	if (j->pin != 0 && j->pin < f.until_ms)
		f.until_ms = j->pin;
	j->pin = f.until_ms;
	f.limit = j->limit;
	f.after_id = j->after;
	if (j->route == R_REFUSALS)
		f.actions = "publish_refused,deliver_refused";
	else if (j->route == R_ESCALATIONS)
		f.actions = "escalated,deadline_breached";
	if (store_query_audit(j->c->srv->store, &f, rows_cb, j) == -1)
		console_plain(j, 503, "Unavailable",
		    "The audit trail is unavailable; "
		    "try again later.");
}

int
console_form(struct console_job *j, struct evhttp_request *req,
    struct evkeyvalq *form)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	char		 body[CONSOLE_MAX_BODY + 1], token[65];
	size_t		 n;

	n = evbuffer_get_length(in);
	if (n > CONSOLE_MAX_BODY)
		n = CONSOLE_MAX_BODY;
	evbuffer_remove(in, body, n);
	body[n] = '\0';
	TAILQ_INIT(form);
	if (evhttp_parse_query_str(body, form) == -1 ||
	    console_param(form, "csrf", token, sizeof(token)) == -1 ||
	    j->cookie[0] == '\0' || strlen(token) != 64 ||
	    CRYPTO_memcmp(token, j->csrf, 64) != 0) {
		evhttp_clear_headers(form);
		console_plain(j, 403, "Refused", "The form was not sent by "
		    "this console (its CSRF token is missing or wrong); "
		    "nothing was changed.");
		return -1;
	}
	return 0;
}

/* POST /review/close: the CSRF token first, then the review closed and
 * its review_closed row committed with the view's row. */
static void
route_close(struct console_job *j, struct evhttp_request *req)
{
	struct evkeyvalq	 form;
	struct store_batch	*batch = NULL;
	struct audit_event	*ev = NULL;
	struct trail_origin	 o = { "console", j->peer };
	char			 outcome[16], note[CONSOLE_MAX_VALUE + 1];
	char			 why[300];

	if (console_form(j, req, &form) == -1)
		return;
	if (console_param(&form, "grant", j->grant, sizeof(j->grant)) == -1 ||
	    console_param(&form, "outcome", outcome, sizeof(outcome)) == -1 ||
	    console_param(&form, "note", note, sizeof(note)) == -1 ||
	    !envelope_is_uuid(j->grant) || (strcmp(outcome, "justified") != 0 &&
	    strcmp(outcome, "unjustified") != 0) || note[0] == '\0') {
		evhttp_clear_headers(&form);
		console_plain(j, 400, "Bad request",
		    "Closing a review needs the "
		    "grant, an outcome (justified or unjustified) and a note.");
		return;
	}
	evhttp_clear_headers(&form);
	console_describe(j, "grant", j->grant);
	console_describe(j, "outcome", outcome);
	snprintf(why, sizeof(why), "closed from the console: %s: %s", outcome,
	    note);
	if ((ev = trail_event(&o, AUDIT_REVIEW_CLOSED, j->actor)) != NULL &&
	    (audit_event_set(ev, AUDIT_F_REASON, why) == -1 ||
	    audit_event_set(ev, AUDIT_F_RULE, j->grant) == -1)) {
		audit_event_free(ev);
		ev = NULL;
	}
	if (ev == NULL || (batch = store_batch_new()) == NULL ||
	    store_batch_grant_review(batch, j->grant, outcome, note, j->actor,
	    clock_wall_ms()) == -1) {
		audit_event_free(ev);
		store_batch_free(batch);
		console_plain(j, 503, "Unavailable", "out of memory");
		return;
	}
	/* store_batch_add_event() owns ev whatever it returns. */
	if (store_batch_add_event(batch, ev) == -1) {
		store_batch_free(batch);
		console_plain(j, 503, "Unavailable", "out of memory");
		return;
	}
	j->code = 303;
	j->type = "text/plain; charset=utf-8";
	chtml_raw(&j->out, "Closed.\n");
	console_audit_and_send(j, batch);
}

/*
 * The labels of the file the configuration names now (a reload may name
 * another), read again when its time or size changes.  A file that cannot
 * be read or parsed keeps the labels there were, and says why once.
 */
static void
labels_refresh(struct console *c)
{
	const char		*path = c->srv->cfg->labels;
	struct console_labels	*l;
	struct stat		 st;
	FILE			*fp;
	char			*text, err[512];
	size_t			 n;

	if (path == NULL) {
		console_labels_free(c->labels);
		c->labels = NULL;
		free(c->labels_path);
		c->labels_path = NULL;
		return;
	}
	if (stat(path, &st) == -1) {
		if (c->labels_path == NULL || strcmp(c->labels_path, path) != 0 ||
		    c->labels_size != -1)
			log_warnx("console: labels %s: %s; names are shown as "
			    "the policy spells them "
			    "event=console_labels_unreadable", path,
			    strerror(errno));
		free(c->labels_path);
		c->labels_path = strdup(path);
		c->labels_size = -1;
		return;
	}
	if (c->labels_path != NULL && strcmp(c->labels_path, path) == 0 &&
	    st.st_size == c->labels_size && st.st_mtim.tv_sec ==
	    c->labels_mtime.tv_sec && st.st_mtim.tv_nsec ==
	    c->labels_mtime.tv_nsec)
		return;
	free(c->labels_path);
	c->labels_path = strdup(path);
	c->labels_mtime = st.st_mtim;
	c->labels_size = st.st_size;
	if (st.st_size > CONSOLE_LABELS_BYTES) {
		log_warnx("console: labels %s: larger than %d bytes; the "
		    "labels there were are kept event=console_labels_too_large",
		    path, CONSOLE_LABELS_BYTES);
		return;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL)
		return;
	if ((fp = fopen(path, "r")) == NULL) {
		log_warnx("console: labels %s: %s "
		    "event=console_labels_unreadable", path, strerror(errno));
		free(text);
		return;
	}
	n = fread(text, 1, (size_t)st.st_size, fp);
	fclose(fp);
	if ((l = console_labels_parse(text, n, path, err, sizeof(err))) ==
	    NULL)
		log_warnx("console: %s; the labels there were are kept"
		    " event=console_labels_refused", err);
	else {
		console_labels_free(c->labels);
		c->labels = l;
		log_info("event=console_labels_loaded path=%s labels=%zu", path,
		    console_labels_count(l));
	}
	free(text);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	struct console		*c = arg;
	struct server		*srv = c->srv;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*path = uri != NULL ? evhttp_uri_get_path(uri) :
				    NULL;
	const char		*query = uri != NULL ?
				    evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(req);
	const struct principal	*p;
	struct evkeyvalq	 q;
	struct console_job		*j;
	char			 id[256], subj[256], err[256], why[400];
	char			*addr = NULL;
	ev_uint16_t		 port = 0;
	int			 rc;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	j->c = c;
	j->req = req;
	j->evcon = evcon;
	j->type = "text/html; charset=utf-8";
	evhttp_connection_set_closecb(evcon, closed_cb, j);
	evhttp_connection_get_peer(evcon, &addr, &port);
	snprintf(j->peer, sizeof(j->peer), "%s:%u", addr != NULL ? addr : "?",
	    (unsigned)port);
	if (path == NULL)
		path = "/";
	snprintf(j->reason, sizeof(j->reason), "%s ", cmd == EVHTTP_REQ_POST ?
	    "POST" : "GET");
	console_describe(j, "path", path);

	if (strcmp(path, "/console.css") == 0) {
		/* The style sheet names nobody: served without a row. */
		j->code = 200;
		j->type = "text/css; charset=utf-8";
		chtml_raw(&j->out, console_css);
		console_send_page(j);
		console_job_free(j);
		return;
	}
	if (tls_bev_identity(evhttp_connection_get_bufferevent(evcon),
	    srv->cfg->identity_field, id, sizeof(id), subj, sizeof(subj), err,
	    sizeof(err)) == -1 || (p = identity_lookup(srv->ids, id)) ==
	    NULL) {
		snprintf(j->actor, sizeof(j->actor), "cert:%s", subj);
		log_warnx("console: refused %s from %s: no principal"
		    " event=console_refused",
		    j->actor, j->peer);
		console_plain(j, 403, "Refused",
		    "Your certificate does not name a "
		    "principal of this hub.");
		return;
	}
	snprintf(j->actor, sizeof(j->actor), "%s", p->id);
	if (!role_allowed(srv->cfg->console_roles, p->role)) {
		snprintf(why, sizeof(why), "The console is for auditors; "
		    "role %s may not use it.", p->role);
		log_warnx("console: refused %s (role %s) from %s"
		    " event=console_refused", p->id,
		    p->role, j->peer);
		console_plain(j, 403, "Refused", why);
		return;
	}
	snprintf(j->role, sizeof(j->role), "%s", p->role);
	labels_refresh(c);
	cookie_of(req, j->cookie);
	if (j->cookie[0] == '\0') {
		unsigned char rnd[32];

		if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			console_plain(j, 503, "Unavailable", "no randomness");
			return;
		}
		hex(rnd, sizeof(rnd), j->csrf);
		/* The new cookie is the csrf value until it comes back. */
		csrf_token(c, j->actor, j->csrf, j->csrf);
	} else
		csrf_token(c, j->actor, j->cookie, j->csrf);

	if (cmd == EVHTTP_REQ_POST && strcmp(path, "/review/close") == 0) {
		j->route = R_CLOSE;
		route_close(j, req);
		return;
	}
	if (cmd == EVHTTP_REQ_POST && strncmp(path, "/sar/", 5) == 0) {
		console_sar_route(j, path, req, NULL);
		return;
	}
	if (cmd != EVHTTP_REQ_GET) {
		console_plain(j, 400, "Bad request",
		    "Pages are read with GET; only "
		    "forms of this console are sent with POST.");
		return;
	}
	TAILQ_INIT(&q);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		console_plain(j, 400, "Bad request", "The address's query is "
		    "malformed.");
		return;
	}
	rc = 0;
	if (strcmp(path, "/") == 0) {
		j->code = 200;
		console_page_head(&j->out, "Search the audit trail", j->actor,
		    j->role);
		console_page_form(&j->out, NULL);
		console_page_foot(&j->out);
		console_audit_and_send(j, NULL);
	} else if (strcmp(path, "/search") == 0) {
		j->route = R_SEARCH;
		route_search(j, &q);
	} else if (strcmp(path, "/subject") == 0) {
		struct store_audit_filter f;

		j->route = R_SUBJECT;
		if (console_param(&q, "id", j->subject,
		    sizeof(j->subject)) == -1 || j->subject[0] == '\0') {
			console_plain(j, 400, "Bad request",
			    "Which young person? "
			    "Give a local id (at most 64 characters).");
			goto out;
		}
		console_describe(j, "subject", j->subject);
		if (cursor(j, &q) == -1)
			goto out;
		memset(&f, 0, sizeof(f));
		f.subject = j->subject;
		f.until_ms = clock_wall_ms() + 1;
		if (j->pin != 0 && j->pin < f.until_ms)
			f.until_ms = j->pin;
		j->pin = f.until_ms;
		f.after_id = j->after;
		f.limit = j->limit;
		rc = store_query_audit(srv->store, &f, rows_cb, j);
	} else if (strcmp(path, "/message") == 0) {
		struct store_audit_filter f;

		j->route = R_MESSAGE;
		if (console_param(&q, "id", j->message_id,
		    sizeof(j->message_id)) == -1 ||
		    !envelope_is_uuid(j->message_id)) {
			j->message_id[0] = '\0';
			console_plain(j, 400, "Bad request",
			    "A message is named by "
			    "its id, a UUID.");
			goto out;
		}
		memset(&f, 0, sizeof(f));
		f.message_id = j->message_id;
		f.until_ms = clock_wall_ms() + 1;
		f.limit = CONSOLE_ROWS;
		rc = store_query_audit(srv->store, &f, rows_cb, j);
	} else if (strcmp(path, "/refusals") == 0 ||
	    strcmp(path, "/escalations") == 0) {
		j->route = path[1] == 'r' ? R_REFUSALS : R_ESCALATIONS;
		route_search(j, &q);
	} else if (strcmp(path, "/overdue") == 0) {
		j->route = R_OVERDUE;
		rc = store_query_deadlines(srv->store, NULL, NULL, 0,
		    CONSOLE_ROWS, rows_cb, j);
	} else if (strcmp(path, "/chain") == 0) {
		j->route = R_CHAIN;
		rc = store_query_chain(srv->store, rows_cb, j);
	} else if (strcmp(path, "/agreement") == 0) {
		j->route = R_AGREEMENT;
		j->code = 200;
		console_describe(j, "policy", policy_version(srv->policy));
		console_page_head(&j->out, "The information-sharing agreement",
		    j->actor, j->role);
		console_page_agreement(&j->out, srv->policy, c->labels);
		console_page_foot(&j->out);
		console_audit_and_send(j, NULL);
	} else if (strcmp(path, "/sar") == 0 ||
	    strncmp(path, "/sar/", 5) == 0) {
		console_sar_route(j, path, req, &q);
	} else if (strcmp(path, "/reviews") == 0) {
		j->route = R_REVIEWS;
		rc = store_query_grants(srv->store, NULL, 1, 0, rows_cb, j);
	} else
		console_plain(j, 404, "Not found", "There is no such page.");
	if (rc == -1)
		console_plain(j, 503, "Unavailable",
		    "The audit trail is unavailable; "
		    "try again later.");
out:
	evhttp_clear_headers(&q);
}

static struct bufferevent *
bev_cb(struct event_base *base, void *arg)
{
	struct console *c = arg;

	/* The context of now: a reload's certificates and CRL apply. */
	return tls_bev_new(c->srv->tls, base);
}

struct console *
console_new(struct server *srv, char *err, size_t errlen)
{
	struct console	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "console: out of memory");
		return NULL;
	}
	c->srv = srv;
	if (getrandom(c->key, sizeof(c->key), 0) != sizeof(c->key)) {
		snprintf(err, errlen, "console: no randomness: %s",
		    strerror(errno));
		goto bad;
	}
	if ((c->http = evhttp_new(srv->base)) == NULL) {
		snprintf(err, errlen, "console: cannot create the HTTP "
		    "server");
		goto bad;
	}
	evhttp_set_allowed_methods(c->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD);
	evhttp_set_timeout(c->http, CONSOLE_TIMEOUT_SECS);
	evhttp_set_max_headers_size(c->http, CONSOLE_MAX_HEADERS);
	evhttp_set_max_body_size(c->http, CONSOLE_MAX_BODY);
	evhttp_set_bevcb(c->http, bev_cb, c);
	evhttp_set_gencb(c->http, request_cb, c);
	if (evhttp_bind_socket_with_handle(c->http, srv->cfg->console_host,
	    (unsigned short)atoi(srv->cfg->console_port)) == NULL) {
		snprintf(err, errlen, "console_listen %s:%s: cannot listen: "
		    "%s", srv->cfg->console_host, srv->cfg->console_port,
		    strerror(errno));
		goto bad;
	}
	log_info("event=console_listen addr=%s:%s roles=%s",
	    srv->cfg->console_host, srv->cfg->console_port,
	    srv->cfg->console_roles);
	return c;
bad:
	console_free(c);
	return NULL;
}

void
console_free(struct console *c)
{
	if (c == NULL)
		return;
	if (c->http != NULL)
		evhttp_free(c->http);
	explicit_bzero(c->key, sizeof(c->key));
	console_labels_free(c->labels);
	free(c->labels_path);
	free(c);
}
