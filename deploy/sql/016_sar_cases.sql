-- 016: a subject-access request is a case (issue 19).
--
-- 1. nwd.sar_cases: one row per subject-access request, opened by an
--    auditor: its reference (unique), the young person it is about, who
--    asked (free text: the young person, a parent, a solicitor, ...), when
--    it was received, and the date it is due: one calendar month after
--    receipt, computed by nwdd in Europe/London (the same day of the next
--    month, or that month's last day if it has no such day: received 31
--    January, due 28 or 29 February), held as the end of that local day.
--    Then, each step by an auditor and each an audit row naming the case
--    (rule "sar_case:REFERENCE"): the identity of the requester checked
--    (when, by whom, how); the due date extended once (to when, why); the
--    release approved by an auditor who is not the one who opened the case
--    (four eyes; checked by nwdd and here); the report released (when, by
--    whom), its bytes sealed as message bodies are (daemon/seal.c, format
--    2, key id in report_key_id) with additional data of the case's own
--    ("sar-case:" and the reference in hex, the subject, kind -1), and the
--    SHA-256 of the report as given.
-- 2. The state only moves forward: open -> identity_checked -> approved
--    -> released; nwd.sar_case_step() refuses (NW006) a step whose state
--    is no longer the one nwdd read, so that two auditors racing cannot
--    both take it.
-- 3. New audit actions: sar_case_opened, sar_identity_checked,
--    sar_extended, sar_approved, sar_released, sar_case_refused,
--    sar_case_query.  The action list is re-stated whole, as 015 left it.

CREATE TABLE nwd.sar_cases (
	id			bigserial PRIMARY KEY,
	reference		text NOT NULL UNIQUE
				CHECK (reference ~ '^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$'),
	subject			text NOT NULL,
	requested_by		text NOT NULL CHECK (requested_by <> ''),
	received_at		timestamptz NOT NULL,
	opened_at		timestamptz NOT NULL,
	opened_by		text NOT NULL,
	due_at			timestamptz NOT NULL CHECK (due_at > received_at),
	identity_checked_at	timestamptz,
	identity_checked_by	text,
	identity_checked_how	text,
	extended_to		timestamptz,
	extension_reason	text,
	extended_at		timestamptz,
	extended_by		text,
	approved_at		timestamptz,
	approved_by		text,
	released_at		timestamptz,
	released_by		text,
	report			bytea,
	report_key_id		text,
	report_sha256		bytea CHECK (report_sha256 IS NULL OR
				    octet_length(report_sha256) = 32),
	report_bytes		bigint,
	state			text NOT NULL DEFAULT 'open'
				CHECK (state IN ('open', 'identity_checked',
				    'approved', 'released')),
	instance		text NOT NULL,
	updated_at		timestamptz NOT NULL DEFAULT now(),
	CHECK ((identity_checked_at IS NULL) = (state = 'open')),
	CHECK ((identity_checked_at IS NULL) = (identity_checked_by IS NULL)
	    AND (identity_checked_at IS NULL) =
	    (identity_checked_how IS NULL)),
	CHECK ((approved_at IS NULL) = (state IN ('open',
	    'identity_checked'))),
	CHECK ((approved_at IS NULL) = (approved_by IS NULL)),
	CHECK (approved_by IS NULL OR approved_by <> opened_by),
	CHECK ((released_at IS NULL) = (state <> 'released')),
	CHECK ((released_at IS NULL) = (released_by IS NULL) AND
	    (released_at IS NULL) = (report IS NULL) AND
	    (released_at IS NULL) = (report_key_id IS NULL) AND
	    (released_at IS NULL) = (report_sha256 IS NULL)),
	CHECK ((extended_to IS NULL) = (extension_reason IS NULL) AND
	    (extended_to IS NULL) = (extended_at IS NULL) AND
	    (extended_to IS NULL) = (extended_by IS NULL)),
	CHECK (extended_to IS NULL OR extended_to > due_at)
);
CREATE INDEX sar_cases_open_idx ON nwd.sar_cases
	((coalesce(extended_to, due_at))) WHERE state <> 'released';
CREATE INDEX sar_cases_subject_idx ON nwd.sar_cases (subject);

-- Moves case p_ref from state p_from to p_to, setting the columns of that
-- step (the others are left as they are); refuses (NW006) if the case is
-- not in p_from any more.
CREATE FUNCTION nwd.sar_case_step(p_ref text, p_from text, p_to text,
    p_by text, p_at_ms bigint, p_text text, p_report bytea,
    p_key_id text, p_sha256 bytea, p_until_ms bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	at timestamptz := timestamptz 'epoch' + p_at_ms *
	    interval '1 millisecond';
BEGIN
	IF p_to = 'extended' THEN
		UPDATE nwd.sar_cases SET extended_to = timestamptz 'epoch' +
		    p_until_ms * interval '1 millisecond',
		    extension_reason = p_text, extended_at = at,
		    extended_by = p_by, updated_at = now()
		 WHERE reference = p_ref AND state = p_from AND
		    extended_to IS NULL;
	ELSIF p_to = 'identity_checked' THEN
		UPDATE nwd.sar_cases SET state = p_to,
		    identity_checked_at = at, identity_checked_by = p_by,
		    identity_checked_how = p_text, updated_at = now()
		 WHERE reference = p_ref AND state = p_from;
	ELSIF p_to = 'approved' THEN
		UPDATE nwd.sar_cases SET state = p_to, approved_at = at,
		    approved_by = p_by, updated_at = now()
		 WHERE reference = p_ref AND state = p_from;
	ELSIF p_to = 'released' THEN
		UPDATE nwd.sar_cases SET state = p_to, released_at = at,
		    released_by = p_by, report = p_report,
		    report_key_id = p_key_id, report_sha256 = p_sha256,
		    -- the report's own length: less the seal's nonce and tag
		    report_bytes = octet_length(p_report) - 28,
		    updated_at = now()
		 WHERE reference = p_ref AND state = p_from;
	ELSE
		RAISE EXCEPTION 'no step to %', p_to USING ERRCODE = 'NW006';
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'subject-access case % is no longer %', p_ref,
		    p_from USING ERRCODE = 'NW006';
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
		'review_refused', 'review_query', 'console_view',
		'sar_case_opened', 'sar_identity_checked', 'sar_extended',
		'sar_approved', 'sar_released', 'sar_case_refused',
		'sar_case_query'));

REVOKE ALL ON nwd.sar_cases FROM PUBLIC;
REVOKE ALL ON SEQUENCE nwd.sar_cases_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION nwd.sar_case_step(text, text, text, text, bigint,
	text, bytea, text, bytea, bigint) FROM PUBLIC;
GRANT SELECT, INSERT ON nwd.sar_cases TO nwd_daemon;
GRANT USAGE ON SEQUENCE nwd.sar_cases_id_seq TO nwd_daemon;
GRANT UPDATE (identity_checked_at, identity_checked_by,
	identity_checked_how, extended_to, extension_reason, extended_at,
	extended_by, approved_at, approved_by, released_at, released_by,
	report, report_key_id, report_sha256, report_bytes, state, updated_at)
	ON nwd.sar_cases TO nwd_daemon;
GRANT EXECUTE ON FUNCTION nwd.sar_case_step(text, text, text, text, bigint,
	text, bytea, text, bytea, bigint) TO nwd_daemon;
-- The auditor's read-only role sees the cases, never the sealed report
-- (it is opened only through nwdd, which audits the access).
GRANT SELECT (id, reference, subject, requested_by, received_at, opened_at,
	opened_by, due_at, identity_checked_at, identity_checked_by,
	identity_checked_how, extended_to, extension_reason, extended_at,
	extended_by, approved_at, approved_by, released_at, released_by,
	report_sha256, report_bytes, state, instance, updated_at)
	ON nwd.sar_cases TO nwd_auditor;
