-- 005_fast_chain_link: the chain-link check once per statement, not per row.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- 003 checked each new audit row's link with a PL/pgSQL trigger FOR EACH
-- ROW.  The daemon now writes a whole transaction's audit rows with one
-- INSERT, and the per-row trigger cost more than the insert itself.  The
-- same rule is kept, checked after each statement over all the rows it
-- inserted (a transition table): every row with seq > 1 must follow the row
-- seq - 1 of its instance, which must be there (inserted earlier or by the
-- same statement) and whose hash must be its prev_hash.  No gap, no fork;
-- the refusal keeps its SQLSTATE NW001 and its wording.
--
-- Also: the index that answers "what did principal P receive" (nwd audit
-- query --principal, nwd sar) without scanning the trail.

DROP TRIGGER audit_events_link ON nwd.audit_events;
DROP FUNCTION nwd.audit_events_link();

CREATE FUNCTION nwd.audit_events_link() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	bad	record;
BEGIN
	SELECT n.instance, n.seq INTO bad
	    FROM new_rows n
	    WHERE n.seq > 1 AND NOT EXISTS (SELECT 1 FROM nwd.audit_events e
		WHERE e.instance = n.instance AND e.seq = n.seq - 1 AND
		e.hash = n.prev_hash)
	    ORDER BY n.instance, n.seq
	    LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'nwd.audit_events: row % of instance % does not follow row %', bad.seq, bad.instance, bad.seq - 1
		    USING ERRCODE = 'NW001';
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION nwd.audit_events_link() FROM PUBLIC;

CREATE TRIGGER audit_events_link
	AFTER INSERT ON nwd.audit_events
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION nwd.audit_events_link();

CREATE INDEX audit_events_recipient_idx ON nwd.audit_events (recipient);
