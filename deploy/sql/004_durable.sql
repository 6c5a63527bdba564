-- 004_durable: sealed message bodies, durable subscriptions and their
-- delivery queues.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.

-- The body as the broker sealed it (daemon/seal.h: AES-256-GCM with the
-- message id as additional data; the key never enters the database) and the
-- id of the key.  Retention purges the body and records when; the header
-- row stays for ever.
ALTER TABLE nwd.messages
	ADD COLUMN body		bytea,
	ADD COLUMN key_id	text,
	ADD COLUMN purged_at	timestamptz,
	ADD CONSTRAINT messages_key_check CHECK (body IS NULL OR key_id IS NOT NULL),
	ADD CONSTRAINT messages_purge_check CHECK (purged_at IS NULL OR body IS NULL);

CREATE INDEX messages_subject_idx ON nwd.messages (subject);
CREATE INDEX messages_retention_idx ON nwd.messages (kind, created_at)
	WHERE body IS NOT NULL;
CREATE INDEX messages_purged_at_idx ON nwd.messages (purged_at)
	WHERE purged_at IS NOT NULL;

-- A message is written once; the only change ever made to it is a purge:
-- the body goes (to NULL, for good) and purged_at records when.  Every
-- other UPDATE, every DELETE and TRUNCATE raise, for the owner too (who can
-- still drop the triggers on purpose).  nwd_daemon may UPDATE only those
-- two columns in any case.
CREATE FUNCTION nwd.messages_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'UPDATE' THEN
		RAISE EXCEPTION 'nwd.messages: % refused; a message is only ever purged of its body', TG_OP
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF to_jsonb(NEW) - 'body' - 'purged_at' IS DISTINCT FROM
	    to_jsonb(OLD) - 'body' - 'purged_at' THEN
		RAISE EXCEPTION 'nwd.messages: UPDATE refused; only the body and purged_at change, in a purge'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.body IS NOT NULL AND NEW.body IS DISTINCT FROM OLD.body THEN
		RAISE EXCEPTION 'nwd.messages: UPDATE refused; a body is never replaced, only purged'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF OLD.purged_at IS NOT NULL AND
	    NEW.purged_at IS DISTINCT FROM OLD.purged_at THEN
		RAISE EXCEPTION 'nwd.messages: UPDATE refused; a purge is recorded once'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	IF NEW.body IS NULL AND OLD.body IS NOT NULL AND NEW.purged_at IS NULL THEN
		RAISE EXCEPTION 'nwd.messages: UPDATE refused; a purge records its time'
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION nwd.messages_guard() FROM PUBLIC;

CREATE TRIGGER messages_guard
	BEFORE UPDATE OR DELETE ON nwd.messages
	FOR EACH ROW EXECUTE FUNCTION nwd.messages_guard();
CREATE TRIGGER messages_no_truncate
	BEFORE TRUNCATE ON nwd.messages
	FOR EACH STATEMENT EXECUTE FUNCTION nwd.messages_guard();

-- Durable subscriptions: kinds is a bit per nwd.v1 Kind (0xfffffffe: all);
-- an empty subjects array means every subject.  Re-subscribing under the
-- same name replaces kinds and subjects.
CREATE TABLE nwd.subscriptions (
	principal	text NOT NULL,
	name		text NOT NULL,
	kinds		bigint NOT NULL,
	subjects	text[] NOT NULL DEFAULT '{}',
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (principal, name),
	CONSTRAINT subscriptions_kinds_check CHECK (
		kinds BETWEEN 0 AND 4294967295),
	CONSTRAINT subscriptions_subjects_check CHECK (
		coalesce(array_ndims(subjects), 1) = 1 AND
		array_position(subjects, NULL) IS NULL)
);

-- Each message queued for a durable subscription, until the subscriber
-- acknowledges it or the policy in force at replay refuses it.
CREATE TABLE nwd.deliveries (
	id		bigserial PRIMARY KEY,
	message_id	uuid NOT NULL REFERENCES nwd.messages (id),
	principal	text NOT NULL,
	subscription	text NOT NULL,
	state		text NOT NULL DEFAULT 'pending',
	created_at	timestamptz NOT NULL DEFAULT now(),
	changed_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT deliveries_key UNIQUE (message_id, principal, subscription),
	CONSTRAINT deliveries_subscription_fkey
		FOREIGN KEY (principal, subscription)
		REFERENCES nwd.subscriptions (principal, name),
	CONSTRAINT deliveries_state_check CHECK (
		state IN ('pending', 'acked', 'refused'))
);

CREATE INDEX deliveries_queue_idx
	ON nwd.deliveries (principal, subscription, state, id);

REVOKE ALL ON nwd.subscriptions, nwd.deliveries FROM PUBLIC;
REVOKE ALL ON SEQUENCE nwd.deliveries_id_seq FROM PUBLIC;

GRANT UPDATE (body, purged_at) ON nwd.messages TO nwd_daemon;
GRANT SELECT, INSERT, UPDATE (kinds, subjects, updated_at)
	ON nwd.subscriptions TO nwd_daemon;
GRANT SELECT, INSERT, UPDATE (state, changed_at)
	ON nwd.deliveries TO nwd_daemon;
GRANT USAGE ON SEQUENCE nwd.deliveries_id_seq TO nwd_daemon;
GRANT SELECT ON nwd.subscriptions, nwd.deliveries TO nwd_auditor;
