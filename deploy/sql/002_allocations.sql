-- 002_allocations: who is allocated to which young person.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- Every Allocation message the broker accepts adds a row here, in the same
-- transaction as its message row; at each connect every daemon reads the
-- whole table back (ordered by id) to rebuild its in-memory index.  The
-- table is append-only: an allocation is ended by a NEW row for the same
-- subject, team and worker with until_at set, never by changing a row.
-- from_at NULL means "since always", until_at NULL means open-ended.

CREATE TABLE nwd.allocations (
	id		bigserial PRIMARY KEY,
	message_id	uuid NOT NULL REFERENCES nwd.messages (id),
	subject		text NOT NULL,
	team		text NOT NULL DEFAULT '',
	worker		text NOT NULL DEFAULT '',
	from_at		timestamptz,
	until_at	timestamptz,
	instance	text NOT NULL,
	recorded_at	timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT allocations_who_check CHECK (team <> '' OR worker <> ''),
	-- Every daemon reads these back as Unix milliseconds at connect: an
	-- infinite time would make every connect fail.
	CONSTRAINT allocations_finite_check CHECK (
		(from_at IS NULL OR isfinite(from_at)) AND
		(until_at IS NULL OR isfinite(until_at)))
);

CREATE INDEX allocations_subject_idx ON nwd.allocations (subject);

-- As for the audit trail: UPDATE, DELETE and TRUNCATE raise, for the owner
-- too (who can still drop the triggers on purpose).
CREATE FUNCTION nwd.allocations_refuse() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'nwd.allocations is append-only: % refused', TG_OP
	    USING ERRCODE = 'insufficient_privilege';
END
$$;
REVOKE ALL ON FUNCTION nwd.allocations_refuse() FROM PUBLIC;

CREATE TRIGGER allocations_no_change
	BEFORE UPDATE OR DELETE ON nwd.allocations
	FOR EACH ROW EXECUTE FUNCTION nwd.allocations_refuse();
CREATE TRIGGER allocations_no_truncate
	BEFORE TRUNCATE ON nwd.allocations
	FOR EACH STATEMENT EXECUTE FUNCTION nwd.allocations_refuse();

-- Privileges: the daemon inserts and reads, the auditor reads.
REVOKE ALL ON nwd.allocations FROM PUBLIC;
REVOKE ALL ON SEQUENCE nwd.allocations_id_seq FROM PUBLIC;

GRANT SELECT, INSERT ON nwd.allocations TO nwd_daemon;
GRANT USAGE ON SEQUENCE nwd.allocations_id_seq TO nwd_daemon;
GRANT SELECT ON nwd.allocations TO nwd_auditor;
