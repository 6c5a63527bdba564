-- 014: break-glass, emergency access with review (issue 18).
--
-- 1. nwd.grants: one row per grant of emergency access, written in the
--    transaction that alerts the auditors (the BreakGlassAlert message and
--    the breakglass_granted audit row): who claimed it, with which role,
--    about which young person, under which breakglass rule, why, for which
--    kinds and until when.  ended_at and ended_by are set when the grantee
--    ends it, or an auditor revokes it, before its expiry.  nwdd reads the
--    live grants back whenever it connects.
-- 2. Every grant enters the review queue: review is open until an auditor
--    closes it, once, with an outcome (justified or unjustified) and a
--    note.  nwd.grant_review_close() refuses (NW005) a review that is
--    closed already, so that it is closed once whatever races.
-- 3. Every deliver row made under a grant names it in its rule
--    ("breakglass:RULE grant=ID"); audit_events_grant_idx finds them for
--    the review.
-- 4. New audit actions: breakglass_granted, breakglass_refused,
--    breakglass_ended, review_closed, review_refused, review_query.

CREATE TABLE nwd.grants (
	id		uuid PRIMARY KEY,
	principal	text NOT NULL,
	role		text NOT NULL,
	subject		text NOT NULL,
	rule		text NOT NULL,
	reason		text NOT NULL CHECK (reason <> ''),
	kinds		smallint[] NOT NULL,
	from_at		timestamptz NOT NULL,
	until_at	timestamptz NOT NULL CHECK (until_at > from_at),
	ended_at	timestamptz,
	ended_by	text,
	review		text NOT NULL DEFAULT 'open'
			CHECK (review IN ('open', 'closed')),
	outcome		text CHECK (outcome IN ('justified', 'unjustified')),
	note		text,
	reviewed_by	text,
	reviewed_at	timestamptz,
	policy_version	text,
	instance	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	CHECK ((review = 'open') = (outcome IS NULL))
);
CREATE INDEX grants_live_idx ON nwd.grants (until_at) WHERE ended_at IS NULL;
CREATE INDEX grants_review_idx ON nwd.grants (from_at) WHERE review = 'open';

CREATE INDEX audit_events_grant_idx ON nwd.audit_events
	((substring(rule from 'grant=([0-9a-f-]{36})')))
	WHERE rule LIKE '%grant=%';

CREATE FUNCTION nwd.grant_review_close(p_id uuid, p_outcome text,
    p_note text, p_by text, p_at_ms bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE nwd.grants SET review = 'closed', outcome = p_outcome,
	    note = p_note, reviewed_by = p_by,
	    reviewed_at = timestamptz 'epoch' + p_at_ms *
	    interval '1 millisecond'
	 WHERE id = p_id AND review = 'open';
	IF NOT FOUND THEN
		RAISE EXCEPTION 'the review of grant % is closed already or '
		    'the grant does not exist', p_id USING ERRCODE = 'NW005';
	END IF;
END;
$$;

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
		'review_refused', 'review_query'));

REVOKE ALL ON nwd.grants FROM PUBLIC;
REVOKE ALL ON FUNCTION nwd.grant_review_close(uuid, text, text, text,
	bigint) FROM PUBLIC;
GRANT SELECT, INSERT ON nwd.grants TO nwd_daemon;
GRANT UPDATE (ended_at, ended_by, review, outcome, note, reviewed_by,
	reviewed_at) ON nwd.grants TO nwd_daemon;
GRANT EXECUTE ON FUNCTION nwd.grant_review_close(uuid, text, text, text,
	bigint) TO nwd_daemon;
GRANT SELECT ON nwd.grants TO nwd_auditor;
