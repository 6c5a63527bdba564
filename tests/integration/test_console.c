/*
 * Integration tests for the auditor's console (daemon/console.c), issue 19.
 *
 * - Over HTTPS with the auditor's client certificate: the search page,
 *   YP-001's timeline, a message page, the CSV and JSON exports; the
 *   strict headers (CSP, X-Frame-Options).
 * - A non-auditor's certificate gets the 403 page; a malformed date a 400
 *   page that says why; markup in a search value is text, never markup;
 *   a forged CSRF token is refused and nothing changes.
 * - The remaining pages (issue 19, second slice): the agreement as a
 *   matrix of kinds x roles with its rules, deadlines and break-glass
 *   rules; refusals and escalations filtered by principal and time (and
 *   their exports); the unmet deadlines; the chain's heads and
 *   checkpoints; the charts of the timeline and the search as inline
 *   SVG; labels from deploy/labels.conf; the NHS number note.
 * - Every view and refusal is a console_view audit row (SQL).
 * - In a real browser (Debian's chromium, headless) with the auditor's
 *   certificate in an NSS database and selected by a content setting of
 *   the profile: the search page, the timeline, a message page and the
 *   CSV export; screenshots kept under NWD_TEST_TMP (path printed).
 *   Skipped, saying so, when chromium or certutil is not installed.
 * - The SAR pages over HTTPS: a request opened, its identity checked,
 *   refused to its opener and approved by a second auditor (four eyes),
 *   the report viewed, released and downloaded as stored; refusals.
 * - The console driven for real through the DevTools protocol
 *   (tests/browser/console_walk.py and cdp.py, python3 only): typing,
 *   clicking, a CSV download, the SAR flow in two auditors' browsers,
 *   print to PDF, screenshots; each view's console_view row.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "harness.h"
#include "nwd.h"

/* deploy/principals.conf has one auditor; four eyes want a second. */
#define EVE_PRINCIPAL	"auditor-eve     auditor-eve     auditor           " \
	"governance    -                         OFFICIAL_SENSITIVE\n"

static struct harness_daemon	*daemon_c;
static int			 console_port;
static char			 mid[40];

struct reply {
	int	 status;
	char	*text;		/* owned; headers and body */
	char	*body;		/* into text */
};

static void
reply_free(struct reply *r)
{
	free(r->text);
	memset(r, 0, sizeof(*r));
}

/* A chunked body (RFC 9112 7.1), decoded in place. */
static void
unchunk(char *body)
{
	char		*in = body, *out = body, *end;
	unsigned long	 n;

	for (;;) {
		n = strtoul(in, &end, 16);
		if (end == in || (end = strstr(end, "\r\n")) == NULL)
			fail_msg("a malformed chunk");
		in = end + 2;
		if (n == 0)
			break;
		memmove(out, in, n);
		out += n;
		in += n + 2;		/* the data, then CRLF */
	}
	*out = '\0';
}

/* One HTTPS request as PKI client who (NULL: none); the whole answer. */
static int
https(const char *who, const char *method, const char *path,
    const char *extra, const char *body, struct reply *r)
{
	SSL_CTX			*ctx;
	SSL			*ssl = NULL;
	struct sockaddr_in	 sa;
	char			 req[4096], crt[512], key[512], buf[16384];
	size_t			 len = 0, cap = 0;
	int			 fd = -1, n, rc = -1;

	memset(r, 0, sizeof(*r));
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_load_verify_locations(ctx, harness_pki("ca.crt"), NULL);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (who != NULL) {
		snprintf(crt, sizeof(crt), "%s", harness_pki("clients/x.crt"));
		snprintf(crt, sizeof(crt), "clients/%s.crt", who);
		snprintf(crt, sizeof(crt), "%s", harness_pki(crt));
		snprintf(key, sizeof(key), "clients/%s.key", who);
		snprintf(key, sizeof(key), "%s", harness_pki(key));
		if (SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM) !=
		    1 || SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM) != 1)
			goto done;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)console_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1)
		goto done;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, "localhost");
	SSL_set1_host(ssl, "localhost");
	if (SSL_connect(ssl) != 1)
		goto done;
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: localhost\r\n"
	    "Connection: close\r\n%s", method, path, extra != NULL ? extra :
	    "");
	if (body != NULL)
		n += snprintf(req + n, sizeof(req) - n, "Content-Type: "
		    "application/x-www-form-urlencoded\r\nContent-Length: "
		    "%zu\r\n\r\n%s", strlen(body), body);
	else
		n += snprintf(req + n, sizeof(req) - n, "\r\n");
	if (SSL_write(ssl, req, n) != n)
		goto done;
	while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			r->text = realloc(r->text, cap);
		}
		memcpy(r->text + len, buf, n);
		len += n;
		r->text[len] = '\0';
	}
	if (r->text == NULL || sscanf(r->text, "HTTP/1.1 %d", &r->status) !=
	    1)
		goto done;
	r->body = strstr(r->text, "\r\n\r\n");
	r->body = r->body != NULL ? r->body + 4 : r->text + len;
	if (strstr(r->text, "Transfer-Encoding: chunked\r\n") != NULL &&
	    strstr(r->text, "Transfer-Encoding: chunked\r\n") < r->body)
		unchunk(r->body);
	rc = 0;
done:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd != -1)
		close(fd);
	return rc;
}

static void
get(const char *who, const char *path, int status, struct reply *r)
{
	if (https(who, "GET", path, NULL, NULL, r) == -1)
		fail_msg("GET %s as %s: no answer", path, who);
	if (r->status != status)
		fail_msg("GET %s as %s: %d, not %d:\n%s", path, who, r->status,
		    status, r->text);
}

static void
has(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("no \"%s\" in:\n%s", needle, hay);
}

static void
lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("\"%s\" in:\n%s", needle, hay);
}

static int
views(const char *actor, const char *like)
{
	return harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'console_view' AND actor = '%s' "
	    "AND reason LIKE '%s'", actor, like);
}

static void
publish_alert(void)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 ra = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__PublishAck	*ack = NULL;
	struct nwd_client	*c = harness_connect_as("plo-ana");
	char			 err[512];

	s.local_id = "YP-001";
	h.kind = NWD__V1__KIND__RISK_ALERT;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	h.priority = NWD__V1__PRIORITY__HIGH;
	ra.category = NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION;
	ra.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	ra.summary = "<script>alert(1)</script> seen at the station";
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	env.risk_alert = &ra;
	if (nwd_publish(c, &env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("publish: %s", err);
	snprintf(mid, sizeof(mid), "%s", ack->message_id);
	nwd_publish_ack_free(ack);
	nwd_close(c);
}

static int
group_setup(void **state)
{
	const char	*src = getenv("NWD_SRCDIR"), *principals;
	char		 extra[4096];

	(void)state;
	if (src == NULL || *src == '\0')
		src = NWD_SRCDIR;
	if (harness_pki_client("auditor-eve") == -1 ||
	    (principals = harness_principals_with(EVE_PRINCIPAL)) == NULL) {
		fprintf(stderr, "test_console: cannot make auditor-eve\n");
		return -1;
	}
	console_port = harness_free_port();
	snprintf(extra, sizeof(extra), "console_listen = 127.0.0.1:%d\n"
	    "labels = %s/deploy/labels.conf\nsar_labels = %s/deploy/"
	    "sar-labels.conf\nprincipals = %s\n", console_port, src, src,
	    principals);
	if ((daemon_c = harness_daemon_start(extra)) == NULL)
		return -1;
	publish_alert();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	return harness_daemon_stop(daemon_c) == 0 ? 0 : -1;
}

static void
test_pages(void **state)
{
	struct reply	r;
	char		path[256];

	(void)state;
	get("auditor-dan", "/", 200, &r);
	has(r.text, "Content-Security-Policy: default-src 'self'");
	has(r.text, "X-Frame-Options: DENY");
	has(r.body, "Search the audit trail");
	has(r.body, "auditor-dan");
	lacks(r.body, "<script");
	lacks(r.body, "style=");
	reply_free(&r);

	get("auditor-dan", "/search?subject=YP-001&action=publish", 200, &r);
	has(r.body, mid);
	has(r.body, "plo-ana");
	reply_free(&r);

	get("auditor-dan", "/subject?id=YP-001", 200, &r);
	has(r.body, "Timeline of YP-001");
	has(r.body, "published by plo-ana");
	/* YP-001 is allocated to nobody here: the duty desk has it. */
	has(r.body, "shared with duty-mash (queued)");
	has(r.body, "not shared with hubsys-norwich</span>");
	has(r.body, mid);
	reply_free(&r);

	snprintf(path, sizeof(path), "/message?id=%s", mid);
	get("auditor-dan", path, 200, &r);
	has(r.body, "<dt>Kind</dt><dd>risk alert</dd>");
	has(r.body, "<tr><td>duty-mash</td><td>queued</td>");
	has(r.body, "not yet");
	has(r.body, "<tr class=\"refused\"><td>hubsys-norwich</td>");
	reply_free(&r);

	get("auditor-dan", "/search?subject=YP-001&format=csv", 200, &r);
	has(r.text, "Content-Type: text/csv");
	has(r.body, "at,id,instance,seq,at_unix_ms,actor,action");
	has(r.body, "publish");
	reply_free(&r);

	get("auditor-dan", "/search?subject=YP-001&format=json", 200, &r);
	has(r.body, "{\"rows\":[");
	has(r.body, mid);
	reply_free(&r);

	get("auditor-dan", "/console.css", 200, &r);
	has(r.text, "text/css");
	reply_free(&r);

	assert_true(views("auditor-dan", "GET  path=/%") >= 1);
	assert_int_equal(views("auditor-dan", "%path=/subject subject=YP-001;"
	    "%"), 1);
	assert_int_equal(views("auditor-dan", "%path=/search%format=csv%"), 1);
	assert_int_equal(views("auditor-dan", "%path=/message%"), 1);
}

static void
test_refusals(void **state)
{
	struct reply	r;

	(void)state;
	get("sw-ben", "/subject?id=YP-001", 403, &r);
	has(r.body, "role social_worker may not use it");
	lacks(r.body, "YP-001");
	reply_free(&r);
	assert_int_equal(views("sw-ben", "%refused:%"), 1);

	get("auditor-dan", "/search?subject=YP-001&from=07/12/2026", 400, &r);
	has(r.body, "is not a date");
	reply_free(&r);

	get("auditor-dan", "/search?from=2026-02-30", 400, &r);
	has(r.body, "is not a day or time that exists");
	reply_free(&r);

	/* Markup in a value is text. */
	get("auditor-dan", "/subject?id=%3Cb%3Ebold%3C%2Fb%3E", 200, &r);
	has(r.body, "&lt;b&gt;bold&lt;/b&gt;");
	lacks(r.body, "<b>bold");
	reply_free(&r);

	/* A forged token: refused, audited, nothing closed. */
	if (https("auditor-dan", "POST", "/review/close", "Cookie: "
	    "nwd_console=0000000000000000000000000000000000000000000000000000"
	    "000000000000\r\n", "csrf=forged&grant=00000000-0000-4000-8000-"
	    "000000000001&outcome=justified&note=x", &r) == -1)
		fail_msg("POST: no answer");
	assert_int_equal(r.status, 403);
	has(r.body, "CSRF token");
	reply_free(&r);
	assert_int_equal(views("auditor-dan", "POST %refused:%CSRF%"), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.audit_events WHERE action = 'review_closed'"), 0);
}

static void
test_agreement(void **state)
{
	struct reply	r;

	(void)state;
	get("auditor-dan", "/agreement", 200, &r);
	has(r.body, "The information-sharing agreement");
	has(r.body, "Example county No Wrong Door hub");
	/* The matrix: labelled roles and kinds; a deny wins; a duty rule
	 * is conditional; a kind no rule lets a role receive is "no". */
	has(r.body, "<table id=\"deliver\" class=\"matrix\">");
	has(r.body, "<th>police liaison officer</th>");
	has(r.body, "<th>mental health (CAMHS) update</th>");
	has(r.body, "<td class=\"no\">never <small><a href=\"#rule-"
	    "no-camhs-to-police\">no-camhs-to-police</a>");
	has(r.body, "<td class=\"yes\">yes <small><a href=\"#rule-"
	    "police-missing\">");
	has(r.body, "<td class=\"if\">if <small><a href=\"#rule-"
	    "police-alerts\">");
	/* Every rule with its conditions and fields. */
	has(r.body, "<tr id=\"rule-intelligence-summary\">");
	has(r.body, "only when the recipient is allocated");
	has(r.body, "summary, sanitised, occurred_unix_ms");
	has(r.body, "marked at most OFFICIAL_SENSITIVE");
	has(r.body, "<td>social_worker</td><td>children&#39;s social care"
	    "</td>");
	/* Deadlines and break-glass in words. */
	has(r.body, "<b>return-interview</b>: missing_episode whose status "
	    "is FOUND");
	has(r.body, "within 72 hours of found_unix_ms");
	has(r.body, "<b>duty-emergency</b>: duty, social_worker may claim "
	    "emergency access");
	has(r.body, "for at most 24 hours");
	lacks(r.body, "<script");
	lacks(r.body, "style=");
	reply_free(&r);
	assert_int_equal(views("auditor-dan", "GET  path=/agreement policy="
	    "sha256:%"), 1);

	get("sw-ben", "/agreement", 403, &r);
	lacks(r.body, "no-camhs-to-police");
	reply_free(&r);
}

static void
test_lists(void **state)
{
	struct reply	r;

	(void)state;
	/* YP-001's alert was refused to hubsys-norwich. */
	get("auditor-dan", "/refusals", 200, &r);
	has(r.body, "<h1>Refusals</h1>");
	has(r.body, "hubsys-norwich");
	has(r.body, "deliver_refused");
	lacks(r.body, "<td>publish</td>");
	lacks(r.body, "<td>deliver</td>");
	has(r.body, "<td>risk alert</td>");
	reply_free(&r);

	get("auditor-dan", "/refusals?principal=hubsys-norwich&format=csv",
	    200, &r);
	has(r.text, "Content-Type: text/csv");
	has(r.body, ",deliver_refused,");
	lacks(r.body, ",deliver,");
	lacks(r.body, ",publish,");
	reply_free(&r);

	get("auditor-dan", "/refusals?principal=nobody-here", 200, &r);
	has(r.body, "<p id=\"count\">0 rows.");
	reply_free(&r);
	get("auditor-dan", "/refusals?from=2001-01-01&until=2001-02-01", 200,
	    &r);
	has(r.body, "<p id=\"count\">0 rows.");
	reply_free(&r);
	get("auditor-dan", "/refusals?from=yesterday", 400, &r);
	has(r.body, "is not a date");
	reply_free(&r);
	get("auditor-dan", "/refusals?principal=%3Cb%3Ex%3C%2Fb%3E", 200, &r);
	has(r.body, "&lt;b&gt;x&lt;/b&gt;");
	lacks(r.body, "<b>x</b>");
	reply_free(&r);

	/* No deadline has passed: no escalation yet. */
	get("auditor-dan", "/escalations", 200, &r);
	has(r.body, "<h1>Escalations</h1>");
	has(r.body, "<p id=\"count\">0 rows.");
	reply_free(&r);
	get("auditor-dan", "/escalations?format=json", 200, &r);
	has(r.body, "{\"rows\":[]");
	reply_free(&r);

	/* The HIGH alert's hour to be acknowledged runs. */
	get("auditor-dan", "/overdue", 200, &r);
	has(r.body, "<h1>Overdue deadlines</h1>");
	has(r.body, "1 deadline not yet met, 0 of them overdue.");
	has(r.body, "high-alert-ack");
	has(r.body, "<td>due in ");
	has(r.body, mid);
	has(r.body, "<td>risk alert</td>");
	reply_free(&r);

	get("auditor-dan", "/chain", 200, &r);
	has(r.body, "<h1>The audit chain</h1>");
	has(r.body, "<span class=\"ok\" id=\"match\">matches</span>");
	lacks(r.body, "differs");
	reply_free(&r);

	assert_int_equal(views("auditor-dan", "%path=/refusals%"), 6);
	assert_int_equal(views("auditor-dan", "%path=/refusals principal="
	    "hubsys-norwich format=csv;%"), 1);
	assert_int_equal(views("auditor-dan", "%path=/refusals from="
	    "yesterday; refused:%"), 1);
	assert_int_equal(views("auditor-dan", "%path=/escalations%"), 2);
	assert_int_equal(views("auditor-dan", "%path=/overdue; 1 rows"), 1);
	assert_int_equal(views("auditor-dan", "%path=/chain; %"), 1);
}

static void
test_charts_labels(void **state)
{
	struct reply	r;

	(void)state;
	get("auditor-dan", "/subject?id=YP-001", 200, &r);
	has(r.body, "<svg id=\"per-kind\" xmlns=\"http://www.w3.org/2000/svg\"");
	has(r.body, "<svg id=\"per-week\"");
	/* One message, drawn full width, labelled. */
	has(r.body, ">risk alert</text><rect x=\"200\" y=\"2\" width=\"320\"");
	has(r.body, "<h2>risk alert <a href=\"/message?id=");
	lacks(r.body, "style=");
	lacks(r.body, "<script");
	reply_free(&r);

	get("auditor-dan", "/search?subject=YP-001", 200, &r);
	has(r.body, "<svg id=\"per-week\"");
	reply_free(&r);
	/* No rows, no charts. */
	get("auditor-dan", "/search?subject=YP-404", 200, &r);
	lacks(r.body, "<svg");
	reply_free(&r);

	get("auditor-dan", "/", 200, &r);
	has(r.body, "the NHS number is held only inside sealed messages");
	reply_free(&r);
}

/*
 * Tables page with a keyset cursor: each page links to the next (the
 * last row's id, and the time the first page was read, so the pages end
 * though each view adds a row about YP-001); together they are every row
 * the trail held then, once.
 */
/*
 * Follows the next-page links from path (as auditor-dan) to the end;
 * the rows the pages held in all (the count after "<p id=\"count\">",
 * skipping "N messages, " on a timeline), and the pin in *pin.
 */
static int
all_pages(const char *first, const char *prefix, long long *pin)
{
	struct reply	 r;
	char		 path[1024], *p, *q, *w, *c;
	int		 rows = 0, pages = 0, n, m;

	*pin = 0;
	snprintf(path, sizeof(path), "%s", first);
	for (;;) {
		get("auditor-dan", path, 200, &r);
		c = strstr(r.body, "<p id=\"count\">");
		if (c == NULL)
			fail_msg("no count in:\n%s", r.body);
		c += 14;
		if (sscanf(c, "%d message%*[s], %d row", &m, &n) != 2 &&
		    sscanf(c, "%d message, %d row", &m, &n) != 2 &&
		    sscanf(c, "%d", &n) != 1)
			fail_msg("no count in:\n%s", c);
		rows += n;
		pages++;
		if ((p = strstr(r.body, "<a id=\"next\" href=\"")) == NULL) {
			reply_free(&r);
			break;
		}
		p += strlen("<a id=\"next\" href=\"");
		q = strchr(p, '"');
		assert_non_null(q);
		/* The attribute's &amp; back to &. */
		for (w = path; p < q && w < path + sizeof(path) - 1; ) {
			if (strncmp(p, "&amp;", 5) == 0) {
				*w++ = '&';
				p += 5;
			} else
				*w++ = *p++;
		}
		*w = '\0';
		has(path, prefix);
		if (*pin == 0)
			assert_int_equal(sscanf(strstr(path, "&pin=") + 5,
			    "%lld", pin), 1);
		reply_free(&r);
		if (pages > 100)
			fail_msg("the pages do not end");
	}
	assert_true(pages >= 2);
	return rows;
}

static void
test_paging(void **state)
{
	struct reply	 r;
	long long	 pin;
	int		 rows;

	(void)state;
	rows = all_pages("/search?subject=YP-001&limit=2",
	    "/search?subject=YP-001&limit=2&after=", &pin);
	assert_int_equal(rows, harness_sql_int("nwd_auditor", "SELECT "
	    "count(*) FROM nwd.audit_events WHERE subject = 'YP-001' AND at < "
	    "timestamptz 'epoch' + %lld * interval '1 millisecond'", pin));
	/* The timeline pages alike. */
	rows = all_pages("/subject?id=YP-001&limit=3",
	    "/subject?id=YP-001&limit=3&after=", &pin);
	assert_int_equal(rows, harness_sql_int("nwd_auditor", "SELECT "
	    "count(*) FROM nwd.audit_events WHERE subject = 'YP-001' AND at < "
	    "timestamptz 'epoch' + %lld * interval '1 millisecond'", pin));
	get("auditor-dan", "/subject?id=YP-001&limit=x", 400, &r);
	reply_free(&r);

	/* JSON says where the next page is. */
	get("auditor-dan", "/search?subject=YP-001&limit=1&format=json", 200,
	    &r);
	has(r.body, "\"more\":true,\"next\":\"/search?subject=YP-001&format="
	    "json&limit=1&after=");
	reply_free(&r);
	/* Bad cursors and sizes. */
	get("auditor-dan", "/search?subject=YP-001&limit=0", 400, &r);
	has(r.body, "from 1 to 1000");
	reply_free(&r);
	get("auditor-dan", "/search?subject=YP-001&limit=5000", 400, &r);
	reply_free(&r);
	get("auditor-dan", "/search?subject=YP-001&after=x&pin=1", 400, &r);
	has(r.body, "is malformed");
	reply_free(&r);
	get("auditor-dan", "/refusals?after=1", 400, &r);
	reply_free(&r);
}

/* ------------------------------------------------------------------------
 * The SAR pages
 */

/* A browser of who's: its console cookie and the forms' CSRF token. */
struct browser {
	const char	*who;
	char		 cookie[65];
	char		 csrf[65];
};

static void
copy_hex(const char *from, const char *after, char out[65])
{
	const char *p = strstr(from, after);

	if (p == NULL)
		fail_msg("no \"%s\" in:\n%s", after, from);
	p += strlen(after);
	if (strspn(p, "0123456789abcdef") < 64)
		fail_msg("not 64 hex digits after \"%s\"", after);
	memcpy(out, p, 64);
	out[64] = '\0';
}

static void
browser_open(struct browser *b, const char *who)
{
	struct reply	r;
	char		hdr[200];

	memset(b, 0, sizeof(*b));
	b->who = who;
	get(who, "/sar", 200, &r);
	copy_hex(r.text, "Set-Cookie: nwd_console=", b->cookie);
	reply_free(&r);
	snprintf(hdr, sizeof(hdr), "Cookie: nwd_console=%s\r\n", b->cookie);
	if (https(who, "GET", "/sar", hdr, NULL, &r) == -1 || r.status != 200)
		fail_msg("GET /sar with the cookie: %d", r.status);
	copy_hex(r.body, "name=\"csrf\" value=\"", b->csrf);
	reply_free(&r);
}

/* POSTs the form "csrf=TOKEN&" fields to path; the answer's status. */
static int
post_form(const struct browser *b, const char *path, const char *fields,
    struct reply *r)
{
	char hdr[200], body[2048];

	snprintf(hdr, sizeof(hdr), "Cookie: nwd_console=%s\r\n", b->cookie);
	snprintf(body, sizeof(body), "csrf=%s&%s", b->csrf, fields);
	if (https(b->who, "POST", path, hdr, body, r) == -1)
		fail_msg("POST %s as %s: no answer", path, b->who);
	return r->status;
}

static void
expect_post(const struct browser *b, const char *path, const char *fields,
    int status, const char *needle)
{
	struct reply r;

	if (post_form(b, path, fields, &r) != status)
		fail_msg("POST %s %s as %s: %d, not %d:\n%s", path, fields,
		    b->who, r.status, status, r.text);
	if (needle != NULL)
		has(r.text, needle);
	reply_free(&r);
}

static void
test_sar(void **state)
{
	struct browser	dan, eve;
	struct reply	r;
	char		sha[80], hex[80];

	(void)state;
	browser_open(&dan, "auditor-dan");
	browser_open(&eve, "auditor-eve");

	/* Open a request for YP-001; it is listed, due a month on. */
	expect_post(&dan, "/sar/open", "ref=SAR-C1&subject=YP-001&"
	    "requested_by=Jo+Bloggs+%28the+young+person%29&received=", 303,
	    "Location: /sar/case?ref=SAR-C1");
	get("auditor-dan", "/sar", 200, &r);
	has(r.body, "<a href=\"/sar/case?ref=SAR-C1\">SAR-C1</a>");
	has(r.body, "Jo Bloggs (the young person)");
	has(r.body, "opened: the requester&#39;s identity is to be checked");
	reply_free(&r);
	/* The same reference twice: refused, as nwd sar-case refuses it. */
	expect_post(&dan, "/sar/open", "ref=SAR-C1&subject=YP-001&"
	    "requested_by=x&received=", 409, "exists already");
	/* Bad input: a date that does not exist, markup in a field. */
	expect_post(&dan, "/sar/open", "ref=SAR-C2&subject=YP-001&"
	    "requested_by=x&received=2027-02-30", 400, "is not a day");
	expect_post(&dan, "/sar/open", "ref=%3Cb%3E&subject=YP-001&"
	    "requested_by=x&received=", 400, "a case reference is required");
	expect_post(&dan, "/sar/open", "ref=SAR-C3&subject=YP-001&"
	    "requested_by=%3Cb%3Ebold%3C%2Fb%3E&received=2099-01-01", 400,
	    "cannot be in the future");
	/* G20: a byte that is not UTF-8 is refused with its reason, in a
	 * row of its own, and opens nothing. */
	expect_post(&dan, "/sar/open", "ref=SAR-C4&subject=YP-001&"
	    "requested_by=Jo%FF%FEBloggs&received=", 400,
	    "holds control characters");
	assert_int_equal(views("auditor-dan", "POST %path=/sar/open%refused:%"
	    "requested_by%"), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) "
	    "FROM nwd.sar_cases WHERE reference = 'SAR-C4'"), 0);

	/* The case page offers the identity check; approval waits. */
	get("auditor-dan", "/sar/case?ref=SAR-C1", 200, &r);
	has(r.body, "<h1>Subject-access request SAR-C1</h1>");
	has(r.body, "<form class=\"step\" id=\"check-identity\"");
	lacks(r.body, "id=\"approve\"");
	lacks(r.body, "id=\"released\"");
	reply_free(&r);
	expect_post(&dan, "/sar/step", "ref=SAR-C1&op=approve", 403,
	    "has not been checked");
	expect_post(&dan, "/sar/step", "ref=SAR-C1&op=check-identity&"
	    "how=passport+seen+in+person", 303, "Location: /sar/case?ref="
	    "SAR-C1");

	/* Four eyes: the auditor who opened it may not approve it. */
	expect_post(&dan, "/sar/step", "ref=SAR-C1&op=approve", 403,
	    "four eyes");
	/* A forged token changes nothing. */
	{
		struct browser forged = eve;

		memset(forged.csrf, '0', 64);
		expect_post(&forged, "/sar/step", "ref=SAR-C1&op=approve", 403,
		    "CSRF token");
	}
	/* Release before approval: refused by sarcase.c. */
	expect_post(&dan, "/sar/step", "ref=SAR-C1&op=release", 403,
	    "has not been approved");
	expect_post(&eve, "/sar/step", "ref=SAR-C1&op=approve", 303, NULL);
	get("auditor-eve", "/sar/case?ref=SAR-C1", 200, &r);
	has(r.body, "approved: ready to release");
	has(r.body, "<form class=\"step\" id=\"release\"");
	reply_free(&r);

	/* The report as it would be released: the release version. */
	get("auditor-dan", "/sar/view?ref=SAR-C1", 200, &r);
	has(r.text, "Content-Security-Policy: default-src 'none'; style-src "
	    "'unsafe-inline'");
	has(r.body, "<h1>Information held about you</h1>");
	has(r.body, "<tr><th>Reference</th><td>SAR-C1</td></tr>");
	has(r.body, "<tr><th>Requested by</th><td>Jo Bloggs (the young "
	    "person)</td></tr>");
	has(r.body, "<nav>\n<h2>Contents</h2>\n<ul class=\"toc\">");
	has(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;");
	lacks(r.body, "<script");
	lacks(r.body, "plo-ana");
	reply_free(&r);

	/* Released through the form: stored sealed, shown as given. */
	expect_post(&dan, "/sar/step", "ref=SAR-C1&op=release", 303,
	    "Location: /sar/case?ref=SAR-C1");
	expect_post(&dan, "/sar/step", "ref=SAR-C1&op=release", 409,
	    "released already");
	get("auditor-eve", "/sar/case?ref=SAR-C1", 200, &r);
	has(r.body, "<td id=\"state\">released</td>");
	has(r.body, "<a id=\"released\" href=\"/sar/report?ref=SAR-C1\">");
	lacks(r.body, "<form class=\"step\"");
	reply_free(&r);
	get("auditor-eve", "/sar/report?ref=SAR-C1", 200, &r);
	has(r.text, "Content-Disposition: attachment; filename=\"sar-SAR-C1."
	    "html\"");
	has(r.body, "<h1>Information held about you</h1>");
	has(r.body, "<tr><th>Reference</th><td>SAR-C1</td></tr>");
	has(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;");
	lacks(r.body, "plo-ana");
	/* What is shown is what was stored: its hash is the case's. */
	harness_sql_text("nwd_auditor", sha, sizeof(sha), "SELECT "
	    "encode(report_sha256, 'hex') FROM nwd.sar_cases WHERE reference = "
	    "'SAR-C1'");
	{
		const char	*e = r.body + strlen(r.body);
		char		 cmd[1400];
		FILE		*fp;
		char		 path[600];

		snprintf(path, sizeof(path), "%s/sar-C1.html",
		    getenv("NWD_TEST_TMP"));
		if ((fp = fopen(path, "w")) == NULL)
			fail_msg("%s", path);
		fwrite(r.body, 1, (size_t)(e - r.body), fp);
		fclose(fp);
		snprintf(cmd, sizeof(cmd), "sha256sum '%s' | cut -c1-64 > "
		    "'%s.sha'", path, path);
		assert_int_equal(harness_sh("%s", cmd), 0);
		snprintf(cmd, sizeof(cmd), "%s.sha", path);
		fp = fopen(cmd, "r");
		assert_non_null(fp);
		assert_non_null(fgets(hex, sizeof(hex), fp));
		fclose(fp);
		hex[strcspn(hex, "\n")] = '\0';
	}
	sha[strcspn(sha, "\n ")] = '\0';
	assert_string_equal(hex, sha);
	reply_free(&r);

	/* Every step is sarcase.c's row; every view the console's. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE rule = 'sar_case:SAR-C1' AND action IN "
	    "('sar_case_opened', 'sar_identity_checked', 'sar_approved', "
	    "'sar_released')"), 4);
	assert_true(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE rule = 'sar_case:SAR-C1' AND action = "
	    "'sar_case_refused' AND actor = 'auditor-dan' AND reason LIKE "
	    "'%%four eyes%%'") == 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'audit_query' AND actor = "
	    "'auditor-dan' AND session = 'console' AND subject = 'YP-001'") >=
	    2, 1);
	assert_int_equal(views("auditor-dan", "POST %path=/sar/step ref=SAR-C1 "
	    "op=release subject=YP-001; now released"), 1);
	assert_int_equal(views("auditor-dan", "GET %path=/sar/view ref=SAR-C1 "
	    "subject=YP-001"), 1);
	assert_int_equal(views("auditor-eve", "GET %path=/sar/report ref="
	    "SAR-C1 subject=YP-001; the released report, %"), 1);
	assert_true(views("auditor-dan", "GET %path=/sar;%cases") >= 2);

	/* Not for a non-auditor. */
	get("sw-ben", "/sar", 403, &r);
	lacks(r.body, "SAR-C1");
	reply_free(&r);
	get("auditor-dan", "/sar/case?ref=NOPE-1", 404, &r);
	has(r.body, "no subject-access case NOPE-1");
	reply_free(&r);
	get("auditor-dan", "/sar/report?ref=NOPE-1", 404, &r);
	reply_free(&r);
}

/* chromium --dump-dom of path into out (and a screenshot as name.png). */
static void
browse(const char *home, const char *path, const char *name, char *out,
    size_t outlen)
{
	char	cmd[2048], file[512];
	FILE	*fp;
	size_t	n;

	snprintf(file, sizeof(file), "%s/%s.html", home, name);
	snprintf(cmd, sizeof(cmd), "HOME=%s timeout 60 chromium --headless "
	    "--no-sandbox --disable-gpu --no-first-run "
	    "--user-data-dir=%s/profile --dump-dom "
	    "'https://localhost:%d%s' >%s 2>%s.log", home, home, console_port,
	    path, file, file);
	if (harness_sh("%s", cmd) != 0)
		fail_msg("%s failed (log %s.log)", cmd, file);
	harness_sh("HOME=%s timeout 60 chromium --headless --no-sandbox "
	    "--disable-gpu "
	    "--no-first-run --user-data-dir=%s/profile "
	    "--screenshot=%s/%s.png --window-size=1280,900 "
	    "'https://localhost:%d%s' >/dev/null 2>&1", home, home, home,
	    name, console_port, path);
	if ((fp = fopen(file, "r")) == NULL)
		fail_msg("%s: %s", file, strerror(errno));
	n = fread(out, 1, outlen - 1, fp);
	out[n] = '\0';
	fclose(fp);
}

static void
test_browser(void **state)
{
	const char	*tmp = getenv("NWD_TEST_TMP");
	char		 home[512], dom[65536], path[1024];
	char		 ca[512], crt[512], key[512];
	FILE		*fp;

	(void)state;
	if (harness_sh("command -v chromium >/dev/null && command -v certutil "
	    ">/dev/null && command -v pk12util >/dev/null") != 0) {
		print_message("test_console: chromium, certutil or pk12util "
		    "is not installed (apt-get install chromium "
		    "libnss3-tools): the browser test is skipped\n");
		skip();
	}
	snprintf(home, sizeof(home), "%s/browser", tmp);
	snprintf(ca, sizeof(ca), "%s", harness_pki("ca.crt"));
	snprintf(crt, sizeof(crt), "%s", harness_pki("clients/auditor-dan.crt"));
	snprintf(key, sizeof(key), "%s", harness_pki("clients/auditor-dan.key"));
	/* The auditor's certificate and the CA in the profile's NSS db. */
	if (harness_sh("set -e; mkdir -p %s/.pki/nssdb %s/profile/Default; "
	    "certutil -N -d sql:%s/.pki/nssdb --empty-password; "
	    "certutil -A -n nwd-ca -t C,, -i %s -d sql:%s/.pki/nssdb; "
	    "openssl pkcs12 -export -in %s -inkey %s -out %s/auditor.p12 "
	    "-passout pass: -name auditor-dan; "
	    "pk12util -i %s/auditor.p12 -d sql:%s/.pki/nssdb -W '' "
	    ">/dev/null", home, home, home, ca, home, crt, key, home, home,
	    home) != 0)
		fail_msg("could not make the NSS database in %s", home);
	/* The certificate chosen without asking, for this origin only. */
	snprintf(path, sizeof(path), "%s/profile/Default/Preferences", home);
	if ((fp = fopen(path, "w")) == NULL)
		fail_msg("%s: %s", path, strerror(errno));
	fprintf(fp, "{\"profile\":{\"content_settings\":{\"exceptions\":"
	    "{\"auto_select_certificate\":{\"https://localhost:%d,*\":"
	    "{\"setting\":{\"filters\":[{\"ISSUER\":{\"CN\":\"nwd demo CA\"}}]"
	    "}}}}}}}\n", console_port);
	fclose(fp);

	browse(home, "/", "search", dom, sizeof(dom));
	has(dom, "Search the audit trail");
	has(dom, "auditor-dan");
	browse(home, "/subject?id=YP-001", "timeline", dom, sizeof(dom));
	has(dom, "published by plo-ana");
	snprintf(path, sizeof(path), "/message?id=%s", mid);
	browse(home, path, "message", dom, sizeof(dom));
	has(dom, "hubsys-norwich");
	browse(home, "/agreement", "agreement", dom, sizeof(dom));
	has(dom, "police liaison officer");
	has(dom, "no-camhs-to-police");
	browse(home, "/refusals", "refusals", dom, sizeof(dom));
	has(dom, "hubsys-norwich");
	browse(home, "/overdue", "overdue", dom, sizeof(dom));
	has(dom, "high-alert-ack");
	browse(home, "/chain", "chain", dom, sizeof(dom));
	has(dom, "matches");
	browse(home, "/subject?id=%3Cb%3Ex%3C%2Fb%3E", "markup", dom,
	    sizeof(dom));
	has(dom, "&lt;b&gt;x&lt;/b&gt;");
	print_message("test_console: screenshots in %s\n", home);
	assert_true(views("auditor-dan", "%path=/subject subject=YP-001;%") >=
	    2);
}

/* console_view rows of actor like like, after row id since. */
static int
views_since(const char *actor, const char *like, int since)
{
	return harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE action = 'console_view' AND actor = '%s' "
	    "AND reason LIKE '%s' AND id > %d", actor, like, since);
}

/*
 * The console driven for real in headless chromium through the DevTools
 * protocol (tests/browser/console_walk.py, python3's standard library
 * only): typing, clicking, a CSV download, a request opened, checked,
 * refused to its opener and approved by a second auditor in her own
 * browser, the report read, printed and released, the released report
 * downloaded, a non-auditor refused.  Every view is a console_view row.
 */
static void
test_browser_walk(void **state)
{
	const char	*tmp = getenv("NWD_TEST_TMP");
	const char	*src = getenv("NWD_SRCDIR");
	char		 out[1024], pki[1024], *slash;
	int		 since;

	(void)state;
	if (harness_sh("command -v chromium >/dev/null && command -v python3 "
	    ">/dev/null && command -v certutil >/dev/null && command -v "
	    "pk12util >/dev/null") != 0) {
		print_message("test_console: chromium, python3, certutil or "
		    "pk12util is not installed (apt-get install chromium "
		    "python3 libnss3-tools): the DevTools walk is skipped\n");
		skip();
	}
	if (src == NULL || *src == '\0')
		src = NWD_SRCDIR;
	snprintf(out, sizeof(out), "%s/browser-walk", tmp);
	snprintf(pki, sizeof(pki), "%s", harness_pki("ca.crt"));
	if ((slash = strrchr(pki, '/')) != NULL)
		*slash = '\0';
	since = harness_sql_int("nwd_auditor", "SELECT coalesce(max(id), 0) "
	    "FROM nwd.audit_events");
	if (harness_sh("timeout 300 python3 %s/tests/browser/console_walk.py "
	    "--origin https://localhost:%d --pki %s --out %s --message-id %s",
	    src, console_port, pki, out, mid) != 0)
		fail_msg("the walk failed (above; chromium's log in "
		    "%s/home-*/chromium.log)", out);
	print_message("test_console: screenshots and downloads of the walk "
	    "in %s\n", out);

	/* Each page it saw is on record, and each step. */
	assert_int_equal(views_since("auditor-dan", "GET  path=/", since),
	    1);
	assert_int_equal(views_since("auditor-dan", "GET  path=/search "
	    "subject=YP-001; %", since), 2);
	assert_int_equal(views_since("auditor-dan", "GET  path=/search "
	    "subject=YP-001 format=csv; %", since), 1);
	assert_int_equal(views_since("auditor-dan", "GET  path=/subject "
	    "subject=YP-001; %", since), 1);
	assert_int_equal(views_since("auditor-dan", "GET  path=/message%",
	    since), 1);
	assert_int_equal(views_since("auditor-dan", "POST  path=/sar/open "
	    "ref=SAR-B1 subject=YP-001; now open", since), 1);
	assert_int_equal(views_since("auditor-dan", "POST  path=/sar/step "
	    "ref=SAR-B1 op=check-identity%now identity_checked", since), 1);
	assert_int_equal(views_since("auditor-dan", "POST  path=/sar/step "
	    "ref=SAR-B1 op=approve%refused:%four eyes%", since), 1);
	assert_int_equal(views_since("auditor-eve", "POST  path=/sar/step "
	    "ref=SAR-B1 op=approve%now approved", since), 1);
	assert_int_equal(views_since("auditor-dan", "GET  path=/sar/view "
	    "ref=SAR-B1 subject=YP-001", since), 1);
	assert_int_equal(views_since("auditor-dan", "POST  path=/sar/step "
	    "ref=SAR-B1 op=release%now released", since), 1);
	assert_int_equal(views_since("auditor-dan", "GET  path=/sar/report "
	    "ref=SAR-B1 subject=YP-001; the released report, %", since), 1);
	assert_int_equal(views_since("sw-ben", "GET  path=/sar; refused:%",
	    since), 1);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE rule = 'sar_case:SAR-B1' AND action IN "
	    "('sar_case_opened', 'sar_identity_checked', 'sar_approved', "
	    "'sar_released') AND id > %d", since), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_agreement),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_charts_labels),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_sar),
		cmocka_unit_test(test_browser),
		cmocka_unit_test(test_browser_walk),
	};

	return cmocka_run_group_tests_name("console", tests, group_setup,
	    group_teardown);
}
