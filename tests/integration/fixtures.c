/*
 * fixtures: messages and client steps the integration tests share
 * (fixtures.h).
 */
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixtures.h"
#include "harness.h"

/* ---- messages ----------------------------------------------------------- */

void
fixture_allocation_init(struct fixture_allocation *m, const char *subject,
    const char *team, int64_t until_ms)
{
	nwd__v1__envelope__init(&m->env);
	nwd__v1__header__init(&m->h);
	nwd__v1__subject_ref__init(&m->s);
	nwd__v1__allocation__init(&m->a);
	m->s.local_id = (char *)subject;
	m->h.kind = NWD__V1__KIND__ALLOCATION;
	m->h.subject = &m->s;
	m->h.marking = NWD__V1__MARKING__OFFICIAL;
	m->a.team = (char *)team;
	m->a.until_unix_ms = until_ms;
	m->env.header = &m->h;
	m->env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
	m->env.allocation = &m->a;
}

void
fixture_alert_init(struct fixture_alert *a, const char *subject,
    Nwd__V1__RiskAlert__Category category, const char *summary)
{
	nwd__v1__envelope__init(&a->env);
	nwd__v1__header__init(&a->h);
	nwd__v1__subject_ref__init(&a->s);
	nwd__v1__risk_alert__init(&a->r);
	a->s.local_id = (char *)subject;
	a->h.kind = NWD__V1__KIND__RISK_ALERT;
	a->h.subject = &a->s;
	a->h.marking = NWD__V1__MARKING__OFFICIAL;
	a->h.priority = NWD__V1__PRIORITY__HIGH;
	a->r.category = category;
	a->r.level = NWD__V1__RISK_ALERT__LEVEL__HIGH;
	a->r.summary = (char *)summary;
	a->env.header = &a->h;
	a->env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	a->env.risk_alert = &a->r;
}

/* ---- one client step each ----------------------------------------------- */

void
fixture_publish_as(const char *who, Nwd__V1__Envelope *env, char *mid,
    size_t midlen)
{
	struct nwd_client	*c = harness_connect_as(who);
	Nwd__V1__PublishAck	*ack = NULL;
	char			 err[512];

	if (nwd_publish(c, env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("publish as %s: %s", who, err);
	if (mid != NULL)
		snprintf(mid, midlen, "%s", ack->message_id);
	nwd_publish_ack_free(ack);
	nwd_close(c);
}

void
fixture_allocate(const char *subject, const char *team, int64_t until_ms)
{
	struct nwd_client		*c = harness_connect_as("case-system");
	struct fixture_allocation	 m;
	Nwd__V1__PublishAck		*ack = NULL;
	char				 err[512];

	fixture_allocation_init(&m, subject, team, until_ms);
	if (nwd_publish(c, &m.env, &ack, err, sizeof(err)) != NWD_OK)
		fail_msg("allocate %s to %s: %s", subject, team, err);
	nwd_publish_ack_free(ack);
	nwd_close(c);
}

enum nwd_status
fixture_publish_kind(struct nwd_client *c, Nwd__V1__Kind kind,
    const char *subject, const char *summary, char mid[40], char *err,
    size_t errlen)
{
	Nwd__V1__Envelope	 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	 r = NWD__V1__RISK_ALERT__INIT;
	Nwd__V1__Allocation	 a = NWD__V1__ALLOCATION__INIT;
	Nwd__V1__PublishAck	*ack = NULL;
	enum nwd_status		 st;

	s.local_id = (char *)subject;
	h.kind = kind;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL;
	env.header = &h;
	if (kind == NWD__V1__KIND__ALLOCATION) {
		a.team = "hub:norwich";
		env.body_case = NWD__V1__ENVELOPE__BODY_ALLOCATION;
		env.allocation = &a;
	} else {
		r.category = NWD__V1__RISK_ALERT__CATEGORY__GOING_MISSING;
		r.level = NWD__V1__RISK_ALERT__LEVEL__MEDIUM;
		r.summary = (char *)summary;
		env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
		env.risk_alert = &r;
	}
	st = nwd_publish(c, &env, &ack, err, errlen);
	if (st == NWD_OK)
		snprintf(mid, 40, "%s", ack->message_id);
	nwd_publish_ack_free(ack);
	return st;
}

struct nwd_client *
fixture_subscribe_as(const char *who, Nwd__V1__Kind kind, const char *subject,
    const char *durable)
{
	struct nwd_client	*c = harness_connect_as(who);
	const char		*subjects[1] = { subject };
	uint64_t		 id = 0;
	char			 err[512];

	if (nwd_subscribe(c, &kind, 1, subjects, subject != NULL ? 1 : 0,
	    durable, &id, err, sizeof(err)) != NWD_OK)
		fail_msg("subscribe as %s: %s", who, err);
	if (durable != NULL && id == 0)
		fail_msg("durable subscription %s of %s has no id", durable,
		    who);
	return c;
}

Nwd__V1__Deliver *
fixture_receive(struct nwd_client *c, const char *mid, int timeout_ms)
{
	Nwd__V1__Deliver	*dl = NULL;
	char			 err[512];

	if (nwd_next_delivery(c, timeout_ms, &dl, err, sizeof(err)) !=
	    NWD_OK)
		fail_msg("%s does not receive %s: %s", nwd_principal(c)->id,
		    mid, err);
	assert_string_equal(dl->envelope->header->message_id, mid);
	return dl;
}

void
fixture_nothing_more(struct nwd_client *c)
{
	Nwd__V1__Deliver	*dl = NULL;
	char			 err[256];

	assert_int_equal(nwd_ping(c, err, sizeof(err)), NWD_OK);
	assert_int_equal(nwd_next_delivery(c, 0, &dl, err, sizeof(err)),
	    NWD_ERR_TIMEOUT);
	assert_null(dl);
}

void
fixture_route_of(const char *mid, const char *recipient, char *out,
    size_t outlen)
{
	harness_sql_text("nwd_auditor", out, outlen, "SELECT coalesce("
	    "string_agg(coalesce(route, 'NULL'), ' '), '') FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'deliver' "
	    "AND recipient = '%s'", mid, recipient);
}

/* ---- a publishing child ------------------------------------------------- */

/* The child of fixture_load_start(); never returns. */
static void
load_run(int port, const char *subject, const char *summary,
    const char *path, int max, int backoff)
{
	struct nwd_client	*c = NULL;
	struct nwd_opts		 o = harness_client("plo-ana");
	enum nwd_status		 st;
	char			 mid[40], err[256], stop[2048], srv[32];
	FILE			*fp = fopen(path, "w");
	int			 i;

	snprintf(stop, sizeof(stop), "%s.stop", path);
	if (port != 0) {
		snprintf(srv, sizeof(srv), "127.0.0.1:%d", port);
		o.server = srv;
	}
	o.timeout_ms = 2000;
	if (fp == NULL)
		_exit(2);
	setvbuf(fp, NULL, _IOLBF, 0);
	/* Only acknowledged publishes count towards the cap. */
	for (i = 0; i < max;) {
		if (access(stop, F_OK) == 0)
			break;
		if (c == NULL &&
		    (c = nwd_connect(&o, &st, err, sizeof(err))) == NULL) {
			/* The daemon is away: wait for it. */
			poll(NULL, 0, 50);
			continue;
		}
		st = fixture_publish_kind(c, NWD__V1__KIND__RISK_ALERT,
		    subject, summary, mid, err, sizeof(err));
		if (st == NWD_OK) {
			fprintf(fp, "%s\n", mid);
			i++;
		} else if (backoff && st == NWD_ERR_UNAVAILABLE) {
			/* The database is away: try again shortly. */
			poll(NULL, 0, 5);
		} else {
			nwd_close(c);
			c = NULL;
		}
	}
	nwd_close(c);
	fclose(fp);
	_exit(0);
}

pid_t
fixture_load_start(int port, const char *subject, const char *summary,
    const char *path, int max, int backoff)
{
	pid_t pid;

	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0)
		load_run(port, subject, summary, path, max, backoff);
	return pid;
}

/* ---- files of lines that children write --------------------------------- */

size_t
fixture_count_lines(const char *path)
{
	FILE	*fp = fopen(path, "r");
	char	 line[128];
	size_t	 n = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		n++;
	fclose(fp);
	return n;
}

void
fixture_wait_lines(const char *path, size_t n, int timeout_ms)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 20) {
		if (fixture_count_lines(path) >= n)
			return;
		poll(NULL, 0, 20);
	}
	fail_msg("%s has %zu lines, not %zu", path, fixture_count_lines(path),
	    n);
}

char **
fixture_read_lines(const char *path, size_t *n)
{
	FILE	*fp = fopen(path, "r");
	char	 line[128], **v;
	size_t	 cap = 1024;

	*n = 0;
	v = calloc(cap, sizeof(*v));
	assert_non_null(v);
	if (fp == NULL)
		return v;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (*n == cap) {
			cap *= 2;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[(*n)++] = strdup(line);
	}
	fclose(fp);
	return v;
}

void
fixture_free_lines(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
fixture_stop_child(pid_t pid, const char *path)
{
	char	 stop[2048];
	FILE	*fp;
	int	 status;

	snprintf(stop, sizeof(stop), "%s.stop", path);
	fp = fopen(stop, "w");
	assert_non_null(fp);
	fclose(fp);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- what the database holds afterwards --------------------------------- */

size_t
fixture_check_published_once(const char *path)
{
	char	**v, *list, *p;
	size_t	  n, i;
	int	  rows;

	if (access(path, R_OK) != 0)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	v = fixture_read_lines(path, &n);
	if (n > 0) {
		list = malloc(n * 40 + 1);
		assert_non_null(list);
		for (i = 0, p = list; i < n; i++)
			p += sprintf(p, "%s%s", i > 0 ? "," : "", v[i]);
		rows = harness_sql_int("postgres", "SELECT count(*) FROM "
		    "unnest('{%s}'::uuid[]) m(id) WHERE (SELECT count(*) "
		    "FROM nwd.audit_events a WHERE a.message_id = m.id AND "
		    "a.action = 'publish') <> 1", list);
		free(list);
		if (rows != 0)
			fail_msg("%d acknowledged messages of %s have not "
			    "exactly one publish row", rows, path);
	}
	fixture_free_lines(v, n);
	return n;
}

void
fixture_verify_chains(const char *instance, ...)
{
	char		 cmd[2048], out[16384], want[128];
	const char	*name;
	FILE		*p;
	size_t		 n;
	va_list		 ap;
	int		 status;

	snprintf(cmd, sizeof(cmd), "NWD_AUDIT_DB='host=127.0.0.1 port=%s "
	    "dbname=nwd user=nwd_auditor' %s/client/nwd audit verify "
	    "--pubkey %s 2>&1", harness_pg_port(), getenv("NWD_BUILDDIR"),
	    harness_pki("audit-signing.pub"));
	fflush(NULL);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	status = pclose(p);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("nwd audit verify failed: %s", out);
	va_start(ap, instance);
	for (name = instance; name != NULL; name = va_arg(ap, const char *)) {
		snprintf(want, sizeof(want), "instance %s: intact", name);
		if (strstr(out, want) == NULL) {
			va_end(ap);
			fail_msg("nwd audit verify: no \"%s\" in %s", want,
			    out);
		}
	}
	va_end(ap);
}
