-- 011: statutory clocks (issue 17).
--
-- 1. nwd.deadlines: one row per deadline a published message set under a
--    policy deadline rule, written in the publish's own transaction, so it
--    survives restarts.  state goes open -> breached (escalated at least
--    once, still unmet) -> met; met is final.  escalations counts the
--    Escalation messages sent; next_at is when the next is due (due_at for
--    the first).
-- 2. nwd.deadline_escalated() advances a deadline by exactly one
--    escalation: it refuses (NW004) unless the row still has the count the
--    daemon expects, so that a breach is acted on once, and only once,
--    whatever restarts in between.
-- 3. New audit actions: deadline_set, deadline_met, deadline_breached,
--    escalated.

CREATE TABLE nwd.deadlines (
	id		bigserial PRIMARY KEY,
	message_id	uuid NOT NULL REFERENCES nwd.messages (id),
	subject		text NOT NULL,
	kind		smallint NOT NULL,
	rule		text NOT NULL,
	policy_version	text,
	start_at	timestamptz NOT NULL,
	due_at		timestamptz NOT NULL,
	every_ms	bigint NOT NULL DEFAULT 0 CHECK (every_ms >= 0),
	by_ack		boolean NOT NULL,
	closing_kinds	integer NOT NULL DEFAULT 0,
	note		text,
	state		text NOT NULL DEFAULT 'open'
			CHECK (state IN ('open', 'breached', 'met')),
	escalations	integer NOT NULL DEFAULT 0 CHECK (escalations >= 0),
	next_at		timestamptz NOT NULL,
	met_at		timestamptz,
	met_by		text,
	met_message	uuid,
	instance	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (message_id, rule)
);
CREATE INDEX deadlines_unmet_idx ON nwd.deadlines (next_at)
	WHERE state <> 'met';
CREATE INDEX deadlines_subject_idx ON nwd.deadlines (subject);

CREATE FUNCTION nwd.deadline_escalated(p_message uuid, p_rule text,
    p_count integer, p_next_ms bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	UPDATE nwd.deadlines SET state = 'breached', escalations = p_count,
	    next_at = timestamptz 'epoch' + p_next_ms * interval '1 millisecond'
	 WHERE message_id = p_message AND rule = p_rule AND state <> 'met'
	   AND escalations = p_count - 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'deadline % of message % is met or was '
		    'escalated already (escalation % refused)', p_rule,
		    p_message, p_count USING ERRCODE = 'NW004';
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
		'deadline_breached', 'escalated'));

REVOKE ALL ON nwd.deadlines FROM PUBLIC;
REVOKE ALL ON SEQUENCE nwd.deadlines_id_seq FROM PUBLIC;
REVOKE ALL ON FUNCTION nwd.deadline_escalated(uuid, text, integer, bigint)
	FROM PUBLIC;
GRANT SELECT, INSERT ON nwd.deadlines TO nwd_daemon;
GRANT UPDATE (state, escalations, next_at, met_at, met_by, met_message)
	ON nwd.deadlines TO nwd_daemon;
GRANT USAGE ON SEQUENCE nwd.deadlines_id_seq TO nwd_daemon;
GRANT EXECUTE ON FUNCTION nwd.deadline_escalated(uuid, text, integer,
	bigint) TO nwd_daemon;
GRANT SELECT ON nwd.deadlines TO nwd_auditor;
