-- 006_tls_reload: the audit actions of a TLS reload (SIGHUP).
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- tls_loaded          the server certificate, the client CA and the CRL were
--                     read again and now serve new handshakes; the reason
--                     names the certificate's fingerprint and expiry, the
--                     CA count and the CRL's next update
-- tls_reload_refused  the files were broken; the old ones keep serving and
--                     the reason says what was wrong
--
-- A session closed because the new CRL or CA no longer accepts its client
-- certificate is the existing 'disconnect' action, with the reason.

ALTER TABLE nwd.audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_action_check
	CHECK (action IN (
		'connect', 'auth_refused', 'publish', 'publish_refused',
		'deliver', 'deliver_refused', 'ack', 'subscribe',
		'audit_query', 'policy_loaded', 'purge', 'protocol_error',
		'disconnect', 'tls_loaded', 'tls_reload_refused'));
