-- 001_init: the message register and the audit trail.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.  The schema nwd and
-- nwd.schema_migrations exist already (migrate.c creates them).  The roles
-- nwd_daemon and nwd_auditor are created beforehand by the setup script.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nwd_daemon') THEN
		RAISE EXCEPTION 'role nwd_daemon does not exist; create it as superuser before migrating';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nwd_auditor') THEN
		RAISE EXCEPTION 'role nwd_auditor does not exist; create it as superuser before migrating';
	END IF;
	IF current_user IN ('nwd_daemon', 'nwd_auditor') THEN
		RAISE EXCEPTION 'migrations must run as the owner role, not as %', current_user;
	END IF;
END
$$;

CREATE SCHEMA IF NOT EXISTS nwd;
REVOKE ALL ON SCHEMA nwd FROM PUBLIC;

-- The broker's record of each published message.  No body yet: bodies are
-- stored encrypted by a later migration.  kind, marking, priority and
-- legal_basis hold the nwd.v1 enum numbers.
CREATE TABLE nwd.messages (
	id		uuid PRIMARY KEY,
	kind		smallint NOT NULL,
	subject		text NOT NULL,
	sender		text NOT NULL,
	agency		text,
	marking		smallint,
	priority	smallint,
	legal_basis	smallint,
	created_at	timestamptz NOT NULL,
	policy_version	text,
	instance	text NOT NULL,
	stored_at	timestamptz NOT NULL DEFAULT now()
);

-- The audit trail: append-only.  Field lists are paths such as
-- "source_details"; NULL means not applicable, '{}' means none.
CREATE TABLE nwd.audit_events (
	id		bigserial PRIMARY KEY,
	instance	text NOT NULL,
	at		timestamptz NOT NULL,
	actor		text,
	action		text NOT NULL,
	message_id	uuid,
	subject		text,
	kind		smallint,
	recipient	text,
	fields_shared	text[],
	fields_withheld	text[],
	rule		text,
	policy_version	text,
	reason		text,
	peer		text,
	session		text,
	CONSTRAINT audit_events_action_check CHECK (action IN (
		'connect', 'auth_refused', 'publish', 'publish_refused',
		'deliver', 'deliver_refused', 'ack', 'subscribe',
		'audit_query', 'policy_loaded', 'purge', 'protocol_error',
		'disconnect'))
);

CREATE INDEX audit_events_subject_idx ON nwd.audit_events (subject);
CREATE INDEX audit_events_message_id_idx ON nwd.audit_events (message_id);
CREATE INDEX audit_events_actor_idx ON nwd.audit_events (actor);
CREATE INDEX audit_events_at_idx ON nwd.audit_events (at);

-- Nobody, the owner included, alters the trail in passing: UPDATE, DELETE
-- and TRUNCATE raise.  (The owner can still drop the trigger on purpose;
-- tamper evidence proper is the hash chain of a later issue.)
CREATE FUNCTION nwd.audit_events_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'nwd.audit_events is append-only: % refused', TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION nwd.audit_events_refuse() FROM PUBLIC;

CREATE TRIGGER audit_events_no_change
	BEFORE UPDATE OR DELETE ON nwd.audit_events
	FOR EACH ROW EXECUTE FUNCTION nwd.audit_events_refuse();
CREATE TRIGGER audit_events_no_truncate
	BEFORE TRUNCATE ON nwd.audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION nwd.audit_events_refuse();

-- Privileges: the daemon inserts and reads, the auditor reads; only the
-- owner holds anything more.
REVOKE ALL ON nwd.messages, nwd.audit_events FROM PUBLIC;
REVOKE ALL ON SEQUENCE nwd.audit_events_id_seq FROM PUBLIC;

GRANT USAGE ON SCHEMA nwd TO nwd_daemon, nwd_auditor;
GRANT SELECT, INSERT ON nwd.messages, nwd.audit_events TO nwd_daemon;
GRANT USAGE ON SEQUENCE nwd.audit_events_id_seq TO nwd_daemon;
GRANT SELECT ON nwd.messages, nwd.audit_events TO nwd_auditor;
GRANT SELECT ON nwd.schema_migrations TO nwd_daemon, nwd_auditor;
