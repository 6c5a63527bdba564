/*
 * Unit tests for daemon/deliver.c (fan-out) and daemon/subs.c (a session's
 * subscriptions), linked with the session index and the frame code only;
 * the session layer below fan-out is stubbed here (session_send_bytes,
 * session_delivery_add), so that what fan-out sends is captured as bytes
 * and decoded with protobuf-c's own decoder.
 *
 * - Fan-out reaches every ACTIVE session of the recipient whose
 *   subscriptions want the kind and subject, and no other: not another
 *   principal's, not a closing one, not one subscribed to something else;
 *   a durable subscription is preferred when several match.
 * - The Deliver carries the envelope's bytes unchanged, the withheld paths,
 *   the rule and the policy version, on the matching subscription's id,
 *   with a delivery id recorded for the ack (and the durable name).
 * - A session cut off by its send does not stop the others; more sessions
 *   than fan-out's stack snapshot are all reached; a frame over max_frame
 *   is not sent.
 * - subs: matching by kind bit and subject list, removal, durable names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "decide.h"
#include "deliver.h"
#include "durable.h"
#include "frame.h"
#include "identity.h"
#include "metrics.h"
#include "server.h"
#include "sessidx.h"
#include "store.h"
#include "session.h"
#include "subs.h"

/* ------------------------------------------------------------------------
 * The session layer, stubbed: what fan-out sends is kept here.
 */

#define MAX_SENT	128

struct sent {
	struct session	*s;
	uint8_t		*frame;		/* owned */
	size_t		 len;
};

static struct sent	 sent[MAX_SENT];
static size_t		 nsent;
static struct session	*cut_off;	/* its send fails, as a slow one's */
static char		 last_durable[65];

int
session_send_bytes(struct session *s, const uint8_t *frame, size_t len)
{
	if (s == cut_off) {
		s->state = SESSION_CLOSING;
		return -1;
	}
	assert_true(nsent < MAX_SENT);
	sent[nsent].s = s;
	sent[nsent].frame = malloc(len);
	assert_non_null(sent[nsent].frame);
	memcpy(sent[nsent].frame, frame, len);
	sent[nsent].len = len;
	nsent++;
	return 0;
}

uint64_t
session_delivery_add(struct session *s, const char *message_id,
    const char *durable)
{
	snprintf(last_durable, sizeof(last_durable), "%s",
	    durable != NULL ? durable : "");
	return ++s->next_delivery_id;
}

/* The session that has sent the message already (deliver_fanout_once). */
static struct session	*sent_before;

int
session_delivery_sent_before(const struct session *s, const char *message_id)
{
	(void)message_id;
	return s == sent_before;
}

void
session_delivery_sent(struct session *s, uint64_t delivery_id)
{
	(void)s;
	(void)delivery_id;
}

const char *
session_name(const struct session *s)
{
	return s != NULL ? s->name : "-";
}

const char *
session_who(const struct session *s)
{
	return s != NULL && s->principal != NULL ? s->principal->id : "-";
}

/* log_subjects = no is the log module's: nothing to scope here. */
size_t
session_log_scope(const struct session *s)
{
	(void)s;
	return 0;
}

void
log_subjects_release(size_t mark)
{
	(void)mark;
}

void
log_warnx(const char *fmt, ...)
{
}

void
log_debug(const char *fmt, ...)
{
}

void
metrics_delivery(void)
{
}

/* ------------------------------------------------------------------------
 * Fixtures
 */

static struct config	 cfg;
static struct server	 srv;
static struct sessidx	*idx;

static int
setup(void **state)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.max_frame = 1 << 20;
	memset(&srv, 0, sizeof(srv));
	srv.cfg = &cfg;
	idx = sessidx_new();
	nsent = 0;
	cut_off = NULL;
	return idx != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	size_t i;

	for (i = 0; i < nsent; i++)
		free(sent[i].frame);
	nsent = 0;
	sessidx_free(idx);
	return 0;
}

static struct principal	 principals[2] = {
	{ .id = (char *)"hubsys-norwich" },
	{ .id = (char *)"hubsys-dereham" },
};

static struct session *
session(uint64_t id, struct principal *p, enum session_state st)
{
	struct session *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->srv = &srv;
	s->id = id;
	snprintf(s->name, sizeof(s->name), "s%llu", (unsigned long long)id);
	s->principal = p;
	s->state = st;
	assert_int_equal(sessidx_add(idx, id, s), 0);
	assert_int_equal(sessidx_set_principal(idx, id, p->id), 0);
	return s;
}

static void
session_drop(struct session *s)
{
	subs_clear(&s->subs);
	free(s);
}

/* Subscribes s to kind (0: every kind) about subject (NULL: any). */
static uint64_t
subscribe(struct session *s, int kind, const char *subject,
    const char *durable)
{
	char	**subjects = NULL;
	size_t	  n = 0;

	if (subject != NULL) {
		subjects = calloc(1, sizeof(char *));
		assert_non_null(subjects);
		subjects[n++] = strdup(subject);
	}
	return subs_add(&s->subs, kind == 0 ? ~1u : 1u << kind, subjects, n,
	    durable);
}

/* A packed envelope to deliver: a risk alert about YP-001. */
static uint8_t *
packed_alert(size_t *lenp, const char *summary)
{
	Nwd__V1__Envelope	env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header		h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef	subj = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__RiskAlert	ra = NWD__V1__RISK_ALERT__INIT;
	uint8_t			*buf;

	subj.local_id = (char *)"YP-001";
	h.message_id = (char *)"0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
	h.kind = NWD__V1__KIND__RISK_ALERT;
	h.subject = &subj;
	h.sender = (char *)"plo-ana";
	ra.summary = (char *)summary;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_RISK_ALERT;
	env.risk_alert = &ra;
	*lenp = nwd__v1__envelope__get_packed_size(&env);
	buf = malloc(*lenp);
	assert_non_null(buf);
	nwd__v1__envelope__pack(&env, buf);
	return buf;
}

static struct deliver_msg
alert_msg(const uint8_t *bytes, size_t len)
{
	struct deliver_msg m;

	memset(&m, 0, sizeof(m));
	m.message_id = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
	m.kind = NWD__V1__KIND__RISK_ALERT;
	m.subject = "YP-001";
	m.bytes = bytes;
	m.len = len;
	m.withheld = "location,third_parties";
	m.rule = "hub-alerts";
	m.policy_version = "sha256:0011223344556677";
	return m;
}

/* Decodes sent frame i and checks it is m on subscription sub. */
static void
check_sent(size_t i, const struct session *s, uint64_t sub,
    const struct deliver_msg *m)
{
	Nwd__V1__Frame	*f;
	uint8_t		*repacked;
	size_t		 n;
	char		 err[128];

	assert_true(i < nsent);
	assert_ptr_equal(sent[i].s, s);
	assert_int_equal(frame_peek_length(sent[i].frame),
	    sent[i].len - FRAME_HEADER_LEN);
	f = frame_decode(sent[i].frame + FRAME_HEADER_LEN,
	    sent[i].len - FRAME_HEADER_LEN, 1 << 22, err, sizeof(err));
	assert_non_null(f);
	assert_int_equal(f->msg_case, NWD__V1__FRAME__MSG_DELIVER);
	assert_int_equal(f->deliver->subscription_id, sub);
	assert_int_equal(f->deliver->delivery_id, s->next_delivery_id);
	assert_string_equal(f->deliver->rule, m->rule);
	assert_string_equal(f->deliver->policy_version, m->policy_version);
	assert_int_equal(f->deliver->n_fields_withheld, 2);
	assert_string_equal(f->deliver->fields_withheld[0], "location");
	assert_string_equal(f->deliver->fields_withheld[1], "third_parties");
	/* The envelope is the bytes it was given, not a re-encoding. */
	assert_non_null(f->deliver->envelope);
	n = nwd__v1__envelope__get_packed_size(f->deliver->envelope);
	assert_int_equal(n, m->len);
	repacked = malloc(n);
	assert_non_null(repacked);
	nwd__v1__envelope__pack(f->deliver->envelope, repacked);
	assert_memory_equal(repacked, m->bytes, n);
	free(repacked);
	frame_free(f);
}

/* ------------------------------------------------------------------------
 * Tests
 */

static void
test_fanout_reaches_matching_sessions(void **state)
{
	struct session		*a, *b, *c, *d, *o;
	struct deliver_msg	 m;
	uint8_t			*bytes;
	size_t			 len;
	uint64_t		 sa, sd;

	bytes = packed_alert(&len, "seen with older males");
	m = alert_msg(bytes, len);
	a = session(1, &principals[0], SESSION_ACTIVE);
	sa = subscribe(a, NWD__V1__KIND__RISK_ALERT, NULL, NULL);
	/* Another kind, another subject. */
	b = session(2, &principals[0], SESSION_ACTIVE);
	subscribe(b, NWD__V1__KIND__CAMHS_UPDATE, NULL, NULL);
	subscribe(b, NWD__V1__KIND__RISK_ALERT, "YP-002", NULL);
	/* Closing: a send there would be lost. */
	c = session(3, &principals[0], SESSION_CLOSING);
	subscribe(c, 0, NULL, NULL);
	/* A live and a durable subscription both match: the durable one. */
	d = session(4, &principals[0], SESSION_ACTIVE);
	subscribe(d, 0, NULL, NULL);
	sd = subscribe(d, NWD__V1__KIND__RISK_ALERT, "YP-001", "hq");
	subscribe(d, NWD__V1__KIND__RISK_ALERT, "YP-001", NULL);
	/* Another principal's session, subscribed to everything. */
	o = session(5, &principals[1], SESSION_ACTIVE);
	subscribe(o, 0, NULL, NULL);

	assert_int_equal(deliver_fanout(idx, "hubsys-norwich", &m), 2);
	assert_int_equal(nsent, 2);
	/* sessidx hands sessions out in its own order. */
	if (sent[0].s == a) {
		check_sent(0, a, sa, &m);
		check_sent(1, d, sd, &m);
	} else {
		check_sent(0, d, sd, &m);
		check_sent(1, a, sa, &m);
	}
	assert_int_equal(b->next_delivery_id, 0);
	assert_int_equal(c->next_delivery_id, 0);
	assert_int_equal(o->next_delivery_id, 0);
	/* Nobody of a principal with no session. */
	assert_int_equal(deliver_fanout(idx, "duty-mash", &m), 0);
	assert_int_equal(nsent, 2);
	/* Another instance's message: a session that sent it (its replay
	 * did) is not sent it again; the other is. */
	sent_before = d;
	assert_int_equal(deliver_fanout_once(idx, "hubsys-norwich", &m), 1);
	assert_int_equal(nsent, 3);
	check_sent(2, a, sa, &m);
	/* A live subscription is not looked up: only a replay could have
	 * sent it first, and a's subscription has none. */
	sent_before = a;
	assert_int_equal(deliver_fanout_once(idx, "hubsys-norwich", &m), 2);
	assert_int_equal(nsent, 5);
	sent_before = NULL;
	session_drop(a);
	session_drop(b);
	session_drop(c);
	session_drop(d);
	session_drop(o);
	free(bytes);
}

static void
test_deliver_send_records_durable(void **state)
{
	struct session		*s;
	struct deliver_msg	 m;
	uint8_t			*bytes;
	size_t			 len;
	uint64_t		 sub;

	bytes = packed_alert(&len, "x");
	m = alert_msg(bytes, len);
	s = session(1, &principals[0], SESSION_ACTIVE);
	sub = subscribe(s, 0, NULL, "hq2");
	assert_int_equal(deliver_send(s, sub, &m, "hq2"), 0);
	assert_string_equal(last_durable, "hq2");
	check_sent(0, s, sub, &m);
	assert_int_equal(deliver_send(s, sub, &m, NULL), 0);
	assert_string_equal(last_durable, "");
	check_sent(1, s, sub, &m);
	session_drop(s);
	free(bytes);
}

static void
test_fanout_survives_a_cut_off(void **state)
{
	struct session		*s[40];
	struct deliver_msg	 m;
	uint8_t			*bytes;
	size_t			 len, i, got;

	bytes = packed_alert(&len, "y");
	m = alert_msg(bytes, len);
	/* More than fan-out's stack snapshot of 16 sessions. */
	for (i = 0; i < 40; i++) {
		s[i] = session(i + 1, &principals[0], SESSION_ACTIVE);
		subscribe(s[i], NWD__V1__KIND__RISK_ALERT, "YP-001", NULL);
	}
	cut_off = s[7];
	got = deliver_fanout(idx, "hubsys-norwich", &m);
	assert_int_equal(got, 39);
	assert_int_equal(nsent, 39);
	for (i = 0; i < nsent; i++)
		assert_ptr_not_equal(sent[i].s, cut_off);
	for (i = 0; i < 40; i++)
		session_drop(s[i]);
	free(bytes);
}

static void
test_deliver_frame_too_large(void **state)
{
	struct session		*s;
	struct deliver_msg	 m;
	uint8_t			*bytes;
	size_t			 len;
	char			 big[2048];

	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	bytes = packed_alert(&len, big);
	m = alert_msg(bytes, len);
	cfg.max_frame = 1024;
	s = session(1, &principals[0], SESSION_ACTIVE);
	subscribe(s, 0, NULL, NULL);
	assert_int_equal(deliver_send(s, 1, &m, NULL), -1);
	assert_int_equal(deliver_fanout(idx, "hubsys-norwich", &m), 0);
	assert_int_equal(nsent, 0);
	session_drop(s);
	free(bytes);
}

/*
 * How a recipient is reached: live when a session would take the message
 * now (a replaying durable subscription holds it back: then it comes
 * with the replay, queued), queued when a durable subscription wants it;
 * the duty pass always queues.
 */
static void
test_route(void **state)
{
	struct durable_registry		*reg;
	struct store_subscription	 sub;
	struct session			*s;
	const char			*subjects[1] = { "YP-001" };
	const int			 ra = NWD__V1__KIND__RISK_ALERT;
	uint64_t			 id;

	assert_non_null(reg = durable_registry_new());
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 0), 0);
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 1), DECIDE_ROUTE_QUEUED);
	s = session(1, &principals[0], SESSION_ACTIVE);
	subscribe(s, ra, "YP-001", NULL);
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 0), DECIDE_ROUTE_LIVE);
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-002", 0), 0);
	memset(&sub, 0, sizeof(sub));
	sub.principal = "hubsys-norwich";
	sub.name = "feed";
	sub.kinds = 1u << ra;
	sub.subjects = subjects;
	sub.nsubjects = 1;
	assert_int_equal(durable_registry_put(reg, &sub), 0);
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 0), DECIDE_ROUTE_LIVE | DECIDE_ROUTE_QUEUED);
	/* Its durable subscription open and replaying: it is held back. */
	id = subscribe(s, ra, "YP-001", "feed");
	subs_set_replaying(&s->subs, id, 1);
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 0), DECIDE_ROUTE_QUEUED);
	/* A closing session reaches nobody. */
	subs_set_replaying(&s->subs, id, 0);
	s->state = SESSION_CLOSING;
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 0), DECIDE_ROUTE_QUEUED);
	assert_int_equal(durable_registry_del(reg, "hubsys-norwich", "feed"),
	    0);
	assert_int_equal(deliver_route(idx, reg, "hubsys-norwich", ra,
	    "YP-001", 0), 0);
	session_drop(s);
	durable_registry_free(reg);
}

static void
test_subs(void **state)
{
	struct subs	 l;
	const char	*durable;
	char		**two;
	uint64_t	 a, b, c;

	memset(&l, 0, sizeof(l));
	assert_int_equal(subs_match(&l, NWD__V1__KIND__RISK_ALERT, "YP-001",
	    &durable), 0);
	assert_null(durable);
	two = calloc(2, sizeof(char *));
	assert_non_null(two);
	two[0] = strdup("YP-001");
	two[1] = strdup("YP-003");
	a = subs_add(&l, 1u << NWD__V1__KIND__RISK_ALERT, two, 2, NULL);
	b = subs_add(&l, ~1u, NULL, 0, "hq");
	c = subs_add(&l, 1u << NWD__V1__KIND__CAMHS_UPDATE, NULL, 0, NULL);
	assert_true(a != 0 && b != 0 && c != 0 && a != b && b != c);
	assert_int_equal(l.n, 3);
	/* Durable preferred. */
	assert_int_equal(subs_match(&l, NWD__V1__KIND__RISK_ALERT, "YP-003",
	    &durable), b);
	assert_string_equal(durable, "hq");
	assert_true(subs_has_durable(&l, "hq"));
	assert_false(subs_has_durable(&l, "hq2"));
	assert_int_equal(subs_remove(&l, b), 0);
	assert_int_equal(subs_remove(&l, b), -1);
	assert_int_equal(subs_match(&l, NWD__V1__KIND__RISK_ALERT, "YP-003",
	    &durable), a);
	assert_null(durable);
	/* Subjects not listed, kinds not wanted, kinds out of range. */
	assert_int_equal(subs_match(&l, NWD__V1__KIND__RISK_ALERT, "YP-002",
	    &durable), 0);
	assert_int_equal(subs_match(&l, NWD__V1__KIND__ALLOCATION, "YP-001",
	    &durable), 0);
	assert_int_equal(subs_match(&l, 40, "YP-001", &durable), 0);
	assert_int_equal(subs_match(&l, NWD__V1__KIND__CAMHS_UPDATE, "YP-9",
	    &durable), c);
	subs_clear(&l);
	assert_int_equal(l.n, 0);
	assert_null(l.head);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_fanout_reaches_matching_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_deliver_send_records_durable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_survives_a_cut_off,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliver_frame_too_large,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_route, setup, teardown),
		cmocka_unit_test(test_subs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
