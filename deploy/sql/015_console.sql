-- 015: the auditor's console (issue 19).
--
-- Every page the console serves, every export, and every refusal (a
-- principal whose role may not use it, a forged CSRF token) is an audit
-- row with the new action console_view; a refusal's reason starts with
-- "refused:".  The action list is re-stated whole, as 014 left it, with
-- console_view added.

ALTER TABLE nwd.audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_action_check
	CHECK (action IN (
		'connect', 'auth_refused', 'publish', 'publish_refused',
		'deliver', 'deliver_refused', 'ack', 'subscribe',
		'audit_query', 'policy_loaded', 'purge', 'protocol_error',
		'disconnect', 'tls_loaded', 'tls_reload_refused',
		'deliver_lost', 'deliver_withdrawn', 'durable_deleted',
		'principals_loaded', 'principal_changed', 'reload_refused',
		'restore_accepted', 'deadline_set', 'deadline_met',
		'deadline_breached', 'escalated', 'breakglass_granted',
		'breakglass_refused', 'breakglass_ended', 'review_closed',
		'review_refused', 'review_query', 'console_view'));
