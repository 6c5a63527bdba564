-- 003_audit_chain: the tamper-evident trail (daemon/chain.h).
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- Every audit row now belongs to its instance's hash chain: seq (1, 2, ...
-- per instance), prev_hash (the hash of row seq - 1, 32 zero bytes for
-- seq 1) and hash = SHA-256(prev_hash || canonical(row)).  The daemon
-- computes the hashes; the database only refuses rows that cannot be part
-- of a chain (a duplicate seq, a link to a row that is not there).  The
-- signed checkpoints of the chain heads go to nwd.checkpoints.

-- Rows written before the chain existed cannot join one after the fact
-- without a second implementation of the canonical encoding in SQL.  They
-- only ever came from tests, so the migration refuses rather than leave
-- unchained rows that the verifier would have to excuse.
DO $$
BEGIN
	IF EXISTS (SELECT 1 FROM nwd.audit_events) THEN
		RAISE EXCEPTION 'nwd.audit_events already holds rows written without a hash chain; the chain must start with the first row: archive this database and migrate a new one';
	END IF;
END
$$;

ALTER TABLE nwd.audit_events
	ADD COLUMN seq		bigint NOT NULL,
	ADD COLUMN prev_hash	bytea NOT NULL,
	ADD COLUMN hash		bytea NOT NULL,
	ADD CONSTRAINT audit_events_instance_seq_key UNIQUE (instance, seq),
	ADD CONSTRAINT audit_events_chain_check CHECK (
		seq >= 1 AND octet_length(prev_hash) = 32 AND
		octet_length(hash) = 32 AND
		(seq > 1 OR prev_hash = '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)),
	-- The chain hashes "at" as Unix milliseconds: a finer or infinite time
	-- could not be hashed back.
	ADD CONSTRAINT audit_events_at_check CHECK (
		isfinite(at) AND at = date_trunc('milliseconds', at));

-- A row must link to the row before it, which must be there already: no
-- gap, no fork.  (The hash itself is the verifier's business.)
CREATE FUNCTION nwd.audit_events_link() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.seq > 1 AND NOT EXISTS (SELECT 1 FROM nwd.audit_events
	    WHERE instance = NEW.instance AND seq = NEW.seq - 1 AND
	    hash = NEW.prev_hash) THEN
		RAISE EXCEPTION 'nwd.audit_events: row % of instance % does not follow row %', NEW.seq, NEW.instance, NEW.seq - 1
		    USING ERRCODE = 'NW001';
	END IF;
	RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION nwd.audit_events_link() FROM PUBLIC;

CREATE TRIGGER audit_events_link
	BEFORE INSERT ON nwd.audit_events
	FOR EACH ROW EXECUTE FUNCTION nwd.audit_events_link();

-- Append-only tables share one refusal.
CREATE FUNCTION nwd.append_only_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'nwd.% is append-only: % refused', TG_TABLE_NAME, TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION nwd.append_only_refuse() FROM PUBLIC;

-- Signed chain heads: the text chain_checkpoint_text() makes from
-- (instance, seq, hash, at) signed with the key named key_id, which never
-- enters the database.  Append-only, like the trail.
CREATE TABLE nwd.checkpoints (
	instance	text NOT NULL,
	seq		bigint NOT NULL,
	hash		bytea NOT NULL,
	at		timestamptz NOT NULL,
	key_id		text NOT NULL,
	signature	bytea NOT NULL,
	PRIMARY KEY (instance, seq),
	CONSTRAINT checkpoints_shape_check CHECK (
		seq >= 1 AND octet_length(hash) = 32 AND
		octet_length(signature) = 64 AND isfinite(at) AND
		at = date_trunc('milliseconds', at))
);

CREATE TRIGGER checkpoints_no_change
	BEFORE UPDATE OR DELETE ON nwd.checkpoints
	FOR EACH ROW EXECUTE FUNCTION nwd.append_only_refuse();
CREATE TRIGGER checkpoints_no_truncate
	BEFORE TRUNCATE ON nwd.checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION nwd.append_only_refuse();

-- One row per instance: the mark of the last write transaction that held
-- no audit row.  When the connection is lost with such a transaction in
-- flight, the daemon looks for its mark at reconnect (transactions with
-- audit rows are found by their last seq instead).  Not audit data.
CREATE TABLE nwd.instances (
	instance	text PRIMARY KEY,
	mark		uuid NOT NULL,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON nwd.checkpoints, nwd.instances FROM PUBLIC;
GRANT SELECT, INSERT ON nwd.checkpoints TO nwd_daemon;
GRANT SELECT, INSERT, UPDATE (mark, updated_at) ON nwd.instances
	TO nwd_daemon;
GRANT SELECT ON nwd.checkpoints, nwd.instances TO nwd_auditor;
