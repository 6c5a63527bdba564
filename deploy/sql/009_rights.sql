-- 009_rights: every reload of the principal mapping or the policy, taken or
-- refused, is on the record, and so is what it changed for live sessions.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- principals_loaded   the principal mapping was (re)loaded: the reason
--                     names the file's hash (before -> after) and the
--                     principals added, removed and changed (with what)
-- principal_changed   a live session took its principal's new role,
--                     agency, teams or clearance at a reload (the reason
--                     says what changed); a session whose principal was
--                     removed ends with a 'disconnect' row saying so
-- reload_refused      a reload of the policy or of the principal mapping
--                     was refused (the reason names the file, the line and
--                     why); the old one keeps serving

ALTER TABLE nwd.audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_action_check
	CHECK (action IN (
		'connect', 'auth_refused', 'publish', 'publish_refused',
		'deliver', 'deliver_refused', 'ack', 'subscribe',
		'audit_query', 'policy_loaded', 'purge', 'protocol_error',
		'disconnect', 'tls_loaded', 'tls_reload_refused',
		'deliver_lost', 'deliver_withdrawn', 'durable_deleted',
		'principals_loaded', 'principal_changed', 'reload_refused'));
