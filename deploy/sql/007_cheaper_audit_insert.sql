-- 007_cheaper_audit_insert: less work per audit row for PostgreSQL.
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.  Rebuilding the
-- index on "at" reads the whole table once and holds off writers while it
-- does (a BRIN build is one sequential scan: seconds for millions of rows).
--
-- Measured (BENCHMARKS.md, session 5): the daemon's INSERT of a
-- transaction's audit rows spends most of PostgreSQL's time in index
-- insertion and in the chain-link trigger.
--
-- 1. The chain-link check (005) looked up row seq - 1 in the index for
--    every new row, though all but the first row of a statement follow a
--    row of the same statement.  Now the rows of the statement are checked
--    against each other (lag() over the transition table, in seq order per
--    instance) and only the first row of each instance is looked up.  The
--    rule is the same: every row with seq > 1 follows the row seq - 1 of
--    its instance, whose hash is its prev_hash; no gap, no fork; NW001 and
--    its wording are kept.
--
--    The function also plans with enable_seqscan off.  PL/pgSQL keeps a
--    statement's plan for the life of the connection; planned while the
--    table was nearly empty (a new database), the lookup was a scan of the
--    whole table, so each insert grew slower with the table until
--    autovacuum's ANALYZE made PostgreSQL plan again (the slow first
--    seconds of a new world in BENCHMARKS.md, session 4).  The lookup is
--    always one probe of audit_events_instance_seq_key.
--
-- 2. The index on "at" (nwd audit query --from/--until) becomes a BRIN
--    index.  Rows are only ever appended (triggers refuse UPDATE and
--    DELETE) and "at" is the time the daemon wrote them, so it follows the
--    physical order and a BRIN index of a few pages answers a time range;
--    it costs next to nothing per insert, where the btree cost a descent
--    per row.

CREATE OR REPLACE FUNCTION nwd.audit_events_link() RETURNS trigger
LANGUAGE plpgsql
SET enable_seqscan = off
AS $$
DECLARE
	bad	record;
BEGIN
	SELECT n.instance, n.seq INTO bad
	    FROM (SELECT r.instance, r.seq, r.prev_hash,
		    lag(r.seq) OVER w AS lseq, lag(r.hash) OVER w AS lhash
		FROM new_rows r
		WINDOW w AS (PARTITION BY r.instance ORDER BY r.seq)) n
	    WHERE n.seq > 1 AND CASE
		WHEN n.lseq IS NOT NULL THEN
		    n.lseq <> n.seq - 1 OR n.lhash <> n.prev_hash
		ELSE NOT EXISTS (SELECT 1 FROM nwd.audit_events e
		    WHERE e.instance = n.instance AND e.seq = n.seq - 1 AND
		    e.hash = n.prev_hash)
		END
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

DROP INDEX nwd.audit_events_at_idx;
CREATE INDEX audit_events_at_idx ON nwd.audit_events USING brin (at);
