-- 008_delivery_states: what nwd says about a delivery is true (G16), and
-- durable subscriptions are managed.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- 1. audit_events.route: how a recipient the policy allows was to be
--    reached, recorded in the decision's own row (deliver):
--      live          a matching session was connected
--      queued        a matching durable subscription holds it
--      live,queued   both
--      unreachable   neither: the policy allows it, nobody took it
--      replay        sent from a durable queue at replay
--    NULL on every other row.  "Reached" means live or queued.  The route
--    is part of the row's canonical bytes for the hash chain (chain.h: a
--    seventeenth field, present only when not NULL, so rows written
--    before this migration hash as they did).
-- 2. New actions:
--      deliver_lost       a live send that did not happen after the
--                         commit: the session ended first, or it was cut
--                         off before the frame was written (the reason
--                         says which, and whether a durable queue still
--                         holds the message)
--      deliver_withdrawn  a pending delivery of a durable subscription
--                         that its principal deleted
--      durable_deleted    a principal deleted a durable subscription
-- 3. A durable subscription is deleted by setting deleted_at; its row
--    stays (the deliveries refer to it), and subscribing under the same
--    name again opens it anew.  nwd.deliveries.state gains 'withdrawn':
--    what was pending when its subscription was deleted.

ALTER TABLE nwd.audit_events ADD COLUMN route text;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_route_check
	CHECK (route IS NULL OR route IN ('live', 'queued', 'live,queued',
	    'unreachable', 'replay'));

ALTER TABLE nwd.audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_action_check
	CHECK (action IN (
		'connect', 'auth_refused', 'publish', 'publish_refused',
		'deliver', 'deliver_refused', 'ack', 'subscribe',
		'audit_query', 'policy_loaded', 'purge', 'protocol_error',
		'disconnect', 'tls_loaded', 'tls_reload_refused',
		'deliver_lost', 'deliver_withdrawn', 'durable_deleted'));

ALTER TABLE nwd.deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE nwd.deliveries ADD CONSTRAINT deliveries_state_check
	CHECK (state IN ('pending', 'acked', 'refused', 'withdrawn'));

ALTER TABLE nwd.subscriptions ADD COLUMN deleted_at timestamptz;
GRANT UPDATE (deleted_at) ON nwd.subscriptions TO nwd_daemon;

-- "How many are pending, since when" for nwd durable list, without
-- reading the queue.
CREATE INDEX deliveries_pending_idx ON nwd.deliveries (principal,
	subscription, id) WHERE state = 'pending';
