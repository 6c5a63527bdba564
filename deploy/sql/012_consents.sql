-- 012: consent that means something (issue 17).
--
-- nwd.consents: one row per ConsentRecord published, in the publish's own
-- transaction: its status (given, refused, withdrawn), its scope (the
-- kinds and agencies it covers: none = every one; its purposes) and its
-- times.  nwdd reads them back whenever it connects and judges every
-- share whose legal basis is consent, and every "when consent" rule,
-- against the young person's current record.  The body of the message
-- (who gave it, the competence assessment) stays sealed in nwd.messages.

CREATE TABLE nwd.consents (
	id		bigserial PRIMARY KEY,
	message_id	uuid NOT NULL UNIQUE REFERENCES nwd.messages (id),
	subject		text NOT NULL,
	status		text NOT NULL
			CHECK (status IN ('given', 'refused', 'withdrawn')),
	kinds		smallint[] NOT NULL DEFAULT '{}',
	agencies	text[] NOT NULL DEFAULT '{}',
	purposes	text[] NOT NULL DEFAULT '{}',
	recorded_at	timestamptz NOT NULL,
	expires_at	timestamptz,
	withdraws	uuid,
	instance	text NOT NULL
);
CREATE INDEX consents_subject_idx ON nwd.consents (subject, id);

REVOKE ALL ON nwd.consents FROM PUBLIC;
REVOKE ALL ON SEQUENCE nwd.consents_id_seq FROM PUBLIC;
GRANT SELECT, INSERT ON nwd.consents TO nwd_daemon;
GRANT USAGE ON SEQUENCE nwd.consents_id_seq TO nwd_daemon;
GRANT SELECT ON nwd.consents TO nwd_auditor;
