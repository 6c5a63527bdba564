/*
 * G16: what nwd says about a delivery is true.  Against a real nwdd and
 * PostgreSQL, with real certificates:
 *
 *  - a recipient counts as reached only if a live session took the message
 *    or a durable subscription holds it: PublishAck's recipients and
 *    not_reachable, and each deliver row's route, agree with what the
 *    recipients' own clients receive (a live subscriber now, a durable
 *    one when it comes back, and nothing for one with neither);
 *  - a message that reaches no one goes to the duty desk, into its own
 *    queue, even when the policy allows others (a revoked keyworker named
 *    on an URGENT alert: before, "recipients 1, duty_desk false" and
 *    nobody got it);
 *  - a live send that does not happen after the commit (the session ended
 *    between the decision and the send) is a deliver_lost row, and the
 *    PublishAck does not count that recipient;
 *  - a publish that reaches no one, not even the duty desk, is refused
 *    with every decision as a row naming its rule, and the publisher is
 *    told the rules (finding 7 of the delivery issue);
 *  - every Ack and Unsubscribe is answered, echoing its request id
 *    (finding 8).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "fixtures.h"
#include "harness.h"
#include "nwd.h"

#define WAIT_MS		15000

static struct harness_daemon *daemon_main;

/* The ack's counts agree with the rows' routes. */
static void
ack_agrees_with_rows(const Nwd__V1__PublishAck *ack)
{
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'deliver' "
	    "AND route IN ('live', 'queued', 'live,queued') AND recipient NOT "
	    "IN (SELECT recipient FROM nwd.audit_events WHERE message_id = "
	    "'%s' AND action = 'deliver_lost' AND reason LIKE "
	    "'%%not delivered%%')", ack->message_id, ack->message_id),
	    ack->recipients);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND ((action = "
	    "'deliver' AND route = 'unreachable') OR (action = 'deliver_lost' "
	    "AND reason LIKE '%%not delivered%%'))", ack->message_id),
	    ack->not_reachable);
}

static int
group_setup(void **state)
{
	daemon_main = harness_daemon_start("log_level = debug");
	return daemon_main != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
	return harness_daemon_stop(daemon_main) == 0 ? 0 : -1;
}

/*
 * A RiskAlert on YP-701, allocated to hub:norwich, sw:north and
 * camhs:central: hubsys-norwich is connected (live), sw-ben holds a
 * durable subscription and is away (queued), camhs-cara and the hub's
 * keyworkers (keyworker-kim, and revoked-rob and exp-eve, whose
 * certificates are unusable) have neither (unreachable).  The ack counts
 * two reached and four not; each receives exactly what its row says.
 */
static void
test_reached_means_received(void **state)
{
	struct nwd_client	*hub, *ben, *cara, *plo;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d;
	struct fixture_alert	 a;
	char			 err[512], route[64], mid[40];

	fixture_allocate("YP-701", "hub:norwich", 0);
	fixture_allocate("YP-701", "sw:north", 0);
	fixture_allocate("YP-701", "camhs:central", 0);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-701", "ben-701");
	nwd_close(ben);
	hub = fixture_subscribe_as("hubsys-norwich", NWD__V1__KIND__RISK_ALERT,
	    "YP-701", NULL);

	plo = harness_connect_as("plo-ana");
	fixture_alert_init(&a, "YP-701",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "reached means received");
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	nwd_close(plo);
	snprintf(mid, sizeof(mid), "%s", ack->message_id);
	assert_int_equal(ack->recipients, 2);
	assert_int_equal(ack->not_reachable, 4);
	assert_false(ack->duty_desk);
	fixture_route_of(mid, "hubsys-norwich", route, sizeof(route));
	assert_string_equal(route, "live");
	fixture_route_of(mid, "sw-ben", route, sizeof(route));
	assert_string_equal(route, "queued");
	fixture_route_of(mid, "camhs-cara", route, sizeof(route));
	assert_string_equal(route, "unreachable");
	fixture_route_of(mid, "keyworker-kim", route, sizeof(route));
	assert_string_equal(route, "unreachable");
	fixture_route_of(mid, "revoked-rob", route, sizeof(route));
	assert_string_equal(route, "unreachable");
	ack_agrees_with_rows(ack);

	/* Each client receives what its row says. */
	d = fixture_receive(hub, mid, WAIT_MS);
	nwd_deliver_free(d);
	fixture_nothing_more(hub);
	nwd_close(hub);
	ben = fixture_subscribe_as("sw-ben", NWD__V1__KIND__RISK_ALERT,
	    "YP-701", "ben-701");
	d = fixture_receive(ben, mid, WAIT_MS);
	nwd_deliver_free(d);
	fixture_nothing_more(ben);
	nwd_close(ben);
	cara = fixture_subscribe_as("camhs-cara", NWD__V1__KIND__RISK_ALERT,
	    "YP-701", NULL);
	fixture_nothing_more(cara);
	nwd_close(cara);
	nwd_publish_ack_free(ack);
}

/*
 * revoked-rob (whose certificate is revoked: he can never connect) named
 * on an URGENT alert about a child allocated to nobody: the policy allows
 * him, nothing can reach him, so the duty desk gets it, in its queue.
 */
static void
test_unreachable_named_goes_to_duty_desk(void **state)
{
	struct nwd_client	*plo, *duty;
	Nwd__V1__PublishAck	*ack = NULL;
	Nwd__V1__Deliver	*d;
	struct fixture_alert	 a;
	char			*named[1] = { "revoked-rob" };
	char			 err[512], route[64], mid[40];

	plo = harness_connect_as("plo-ana");
	fixture_alert_init(&a, "YP-702",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "for a revoked keyworker");
	a.h.priority = NWD__V1__PRIORITY__URGENT;
	a.h.share_with = named;
	a.h.n_share_with = 1;
	assert_int_equal(nwd_publish(plo, &a.env, &ack, err, sizeof(err)),
	    NWD_OK);
	nwd_close(plo);
	snprintf(mid, sizeof(mid), "%s", ack->message_id);
	assert_int_equal(ack->recipients, 1);
	assert_int_equal(ack->not_reachable, 1);
	assert_true(ack->duty_desk);
	fixture_route_of(mid, "revoked-rob", route, sizeof(route));
	assert_string_equal(route, "unreachable");
	fixture_route_of(mid, "duty-mash", route, sizeof(route));
	assert_string_equal(route, "queued");
	ack_agrees_with_rows(ack);
	/* The duty desk's own queue holds it until it comes. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.deliveries WHERE message_id = '%s' AND principal = "
	    "'duty-mash' AND subscription = 'duty' AND state = 'pending'",
	    mid), 1);
	duty = harness_connect_as("duty-mash");
	if (nwd_subscribe(duty, NULL, 0, NULL, 0, "duty", NULL, err,
	    sizeof(err)) != NWD_OK)
		fail_msg("duty desk subscribe: %s", err);
	/* Its queue holds what else reached no one (allocations of teams
	 * that were away), in order; this one among them. */
	for (;;) {
		d = NULL;
		if (nwd_next_delivery(duty, WAIT_MS, &d, err, sizeof(err)) !=
		    NWD_OK)
			fail_msg("the duty desk does not receive %s: %s", mid,
			    err);
		assert_int_equal(nwd_ack(duty, d->delivery_id,
		    d->envelope->header->message_id, err, sizeof(err)),
		    NWD_OK);
		if (strcmp(d->envelope->header->message_id, mid) == 0)
			break;
		nwd_deliver_free(d);
	}
	assert_int_equal(d->envelope->header->priority,
	    NWD__V1__PRIORITY__URGENT);
	nwd_deliver_free(d);
	nwd_close(duty);
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.deliveries WHERE message_id = '%s' AND principal = "
	    "'duty-mash' AND state = 'acked'", mid);
	nwd_publish_ack_free(ack);
}

/*
 * The session of a live recipient ends between the decision (it was
 * connected: route live) and the send (after the commit, held back by a
 * lock on the audit table): a deliver_lost row says so, and the ack does
 * not count the recipient.
 */
static void
test_session_gone_between_decision_and_send(void **state)
{
	struct harness_lock	*lock;
	struct harness_tls	*plo;
	struct nwd_client	*hub;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *in = NULL;
	Nwd__V1__Publish	 p = NWD__V1__PUBLISH__INIT;
	struct fixture_alert	 a;
	size_t			 mark;
	char			 route[64], mid[40], err[512];

	fixture_allocate("YP-703", "hub:dereham", 0);
	hub = fixture_subscribe_as("hubsys-dereham", NWD__V1__KIND__RISK_ALERT,
	    "YP-703", NULL);
	plo = harness_tls_connect(harness_daemon_port(daemon_main), "plo-ana",
	    NULL, err, sizeof(err));
	if (plo == NULL)
		fail_msg("connect as plo-ana: %s", err);
	assert_int_equal(harness_tls_hello(plo, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_WELCOME);
	frame_free(in);
	in = NULL;

	lock = harness_lock_table("nwd.audit_events");
	mark = harness_log_mark(daemon_main);
	fixture_alert_init(&a, "YP-703",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "decided live, sent to nobody");
	p.envelope = &a.env;
	f.request_id = 7;
	f.msg_case = NWD__V1__FRAME__MSG_PUBLISH;
	f.publish = &p;
	assert_int_equal(harness_tls_send_frame(plo, &f), 0);
	/* Decided, its rows waiting for the lock: the hub goes away. */
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "event=publish_queued", WAIT_MS));
	mark = harness_log_mark(daemon_main);
	nwd_close(hub);
	assert_true(harness_wait_log_after(daemon_main, mark,
	    "principal=hubsys-dereham peer=", WAIT_MS));
	harness_unlock_table(lock);

	assert_int_equal(harness_tls_read_frame(plo, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_PUBLISH_ACK);
	assert_int_equal(in->request_id, 7);
	snprintf(mid, sizeof(mid), "%s", in->publish_ack->message_id);
	assert_int_equal(in->publish_ack->recipients, 0);
	assert_int_equal(in->publish_ack->not_reachable, 1);
	fixture_route_of(mid, "hubsys-dereham", route, sizeof(route));
	assert_string_equal(route, "live");
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_lost' AND recipient = 'hubsys-dereham' AND reason LIKE "
	    "'%%session ended%%not delivered%%'", mid);
	ack_agrees_with_rows(in->publish_ack);
	frame_free(in);
	harness_tls_close(plo);
}

/*
 * Handling C named only to the sender's own team (police:plt, where no
 * one else is): nobody may receive it, not even the duty desk.  (A
 * misspelt share_with is refused at publish before anyone is decided.)
 * Every decision is a row of its own naming its rule, under the id the
 * message would have had; the publisher is told the rules, with counts,
 * and not who they refused.
 */
static void
test_refusal_explains_itself(void **state)
{
	struct nwd_client		*plo = harness_connect_as("plo-ana");
	Nwd__V1__Envelope		 env = NWD__V1__ENVELOPE__INIT;
	Nwd__V1__Header			 h = NWD__V1__HEADER__INIT;
	Nwd__V1__SubjectRef		 s = NWD__V1__SUBJECT_REF__INIT;
	Nwd__V1__IntelligenceReport	 ir = NWD__V1__INTELLIGENCE_REPORT__INIT;
	Nwd__V1__Grading		 g = NWD__V1__GRADING__INIT;
	char				*named[1] = { "police:plt" };
	char				 err[1024], mid[40];
	const char			*p;

	fixture_allocate("YP-704", "hub:norwich", 0);
	fixture_allocate("YP-704", "sw:north", 0);
	s.local_id = "YP-704";
	h.kind = NWD__V1__KIND__INTELLIGENCE_REPORT;
	h.subject = &s;
	h.marking = NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	h.legal_basis = NWD__V1__LEGAL_BASIS__SAFEGUARDING;
	h.share_with = named;
	h.n_share_with = 1;
	g.source_evaluation = 2;
	g.assessment = NWD__V1__GRADING__ASSESSMENT__B;
	g.handling_code = NWD__V1__GRADING__HANDLING_CODE__HANDLING_C;
	g.handling_conditions = "not to be disclosed to family";
	ir.sanitised = 1;
	ir.summary = "seen with an older male";
	ir.grading = &g;
	env.header = &h;
	env.body_case = NWD__V1__ENVELOPE__BODY_INTELLIGENCE_REPORT;
	env.intelligence_report = &ir;
	assert_int_equal(nwd_publish(plo, &env, NULL, err, sizeof(err)),
	    NWD_ERR_REFUSED);
	nwd_close(plo);
	/* The rules, counted; no principal named. */
	assert_non_null(strstr(err, "handling-C ("));
	assert_null(strstr(err, "sw-ben"));
	assert_null(strstr(err, "hubsys-norwich"));
	assert_non_null(p = strstr(err, "message id "));
	snprintf(mid, sizeof(mid), "%.36s", p + strlen("message id "));
	harness_wait_sql_int("nwd_auditor", WAIT_MS, 1, "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'publish_refused' AND rule = 'no-dead-letters' AND reason LIKE "
	    "'%%handling-C%%'", mid);
	/* Each refusal is a row naming its rule, the duty desk's too. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused' AND recipient IN ('sw-ben', 'hubsys-norwich', "
	    "'duty-mash') AND rule = 'handling-C'", mid), 3);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = "
	    "'deliver_refused' AND (rule IS NULL OR reason IS NULL)", mid), 0);
	/* Nothing was stored for delivery. */
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.messages WHERE id = '%s'", mid), 0);
}

/* Every request is answered, echoing its request id. */
static void
test_every_request_is_answered(void **state)
{
	struct harness_tls	*hub;
	struct nwd_client	*plo;
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *in = NULL;
	Nwd__V1__Subscribe	 sub = NWD__V1__SUBSCRIBE__INIT;
	Nwd__V1__Ack		 ack = NWD__V1__ACK__INIT;
	Nwd__V1__Unsubscribe	 un = NWD__V1__UNSUBSCRIBE__INIT;
	Nwd__V1__PublishAck	*pack = NULL;
	Nwd__V1__Kind		 k = NWD__V1__KIND__RISK_ALERT;
	char			*subjects[1] = { "YP-705" };
	struct fixture_alert	 a;
	char			 err[512];
	uint64_t		 sub_id, delivery_id;

	fixture_allocate("YP-705", "hub:norwich", 0);
	hub = harness_tls_connect(harness_daemon_port(daemon_main),
	    "hubsys-norwich", NULL, err, sizeof(err));
	if (hub == NULL)
		fail_msg("connect as hubsys-norwich: %s", err);
	assert_int_equal(harness_tls_hello(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_WELCOME);
	frame_free(in);
	in = NULL;
	sub.kinds = &k;
	sub.n_kinds = 1;
	sub.subjects = subjects;
	sub.n_subjects = 1;
	f.request_id = 11;
	f.msg_case = NWD__V1__FRAME__MSG_SUBSCRIBE;
	f.subscribe = &sub;
	assert_int_equal(harness_tls_send_frame(hub, &f), 0);
	assert_int_equal(harness_tls_read_frame(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_SUBSCRIBE_ACK);
	assert_int_equal(in->request_id, 11);
	sub_id = in->subscribe_ack->subscription_id;
	frame_free(in);

	plo = harness_connect_as("plo-ana");
	fixture_alert_init(&a, "YP-705",
	    NWD__V1__RISK_ALERT__CATEGORY__CRIMINAL_EXPLOITATION,
	    "to be acknowledged");
	assert_int_equal(nwd_publish(plo, &a.env, &pack, err, sizeof(err)),
	    NWD_OK);
	nwd_close(plo);
	assert_int_equal(harness_tls_read_frame(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_DELIVER);
	delivery_id = in->deliver->delivery_id;
	frame_free(in);

	/* An Ack: Acked, once the ack row is in the trail. */
	ack.delivery_id = delivery_id;
	ack.message_id = pack->message_id;
	f.request_id = 12;
	f.msg_case = NWD__V1__FRAME__MSG_ACK;
	f.ack = &ack;
	assert_int_equal(harness_tls_send_frame(hub, &f), 0);
	assert_int_equal(harness_tls_read_frame(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_ACKED);
	assert_int_equal(in->request_id, 12);
	assert_int_equal(in->acked->delivery_id, delivery_id);
	assert_string_equal(in->acked->message_id, pack->message_id);
	frame_free(in);
	assert_int_equal(harness_sql_int("nwd_auditor", "SELECT count(*) FROM "
	    "nwd.audit_events WHERE message_id = '%s' AND action = 'ack' AND "
	    "actor = 'hubsys-norwich'", pack->message_id), 1);
	/* The same Ack again: nothing waits for it, said so. */
	f.request_id = 13;
	assert_int_equal(harness_tls_send_frame(hub, &f), 0);
	assert_int_equal(harness_tls_read_frame(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(in->request_id, 13);
	assert_int_equal(in->error->code, NWD__V1__ERROR_CODE__ERROR_NOT_FOUND);
	frame_free(in);

	/* An Unsubscribe: Unsubscribed; then nothing comes on it. */
	un.subscription_id = sub_id;
	f.request_id = 14;
	f.msg_case = NWD__V1__FRAME__MSG_UNSUBSCRIBE;
	f.unsubscribe = &un;
	assert_int_equal(harness_tls_send_frame(hub, &f), 0);
	assert_int_equal(harness_tls_read_frame(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_UNSUBSCRIBED);
	assert_int_equal(in->request_id, 14);
	assert_int_equal(in->unsubscribed->subscription_id, sub_id);
	frame_free(in);
	f.request_id = 15;
	assert_int_equal(harness_tls_send_frame(hub, &f), 0);
	assert_int_equal(harness_tls_read_frame(hub, WAIT_MS, &in), 0);
	assert_int_equal(in->msg_case, NWD__V1__FRAME__MSG_ERROR);
	assert_int_equal(in->request_id, 15);
	frame_free(in);
	harness_tls_close(hub);
	nwd_publish_ack_free(pack);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reached_means_received),
		cmocka_unit_test(test_unreachable_named_goes_to_duty_desk),
		cmocka_unit_test(test_session_gone_between_decision_and_send),
		cmocka_unit_test(test_refusal_explains_itself),
		cmocka_unit_test(test_every_request_is_answered),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests_name("delivery", tests, group_setup,
	    group_teardown);
}
