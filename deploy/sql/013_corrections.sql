-- 013: corrections and retractions that reach everyone who was told
-- (issue 18; UK GDPR article 19).
--
-- nwd.corrections: one row per correction or retraction, in the publish's
-- own transaction: the message it supersedes, the first message of the
-- chain (root: a correction of a correction keeps the root), how
-- (corrected, retracted), and the principals that the original or an
-- earlier correction reached but that the policy no longer lets receive
-- the correction: they are told by a WithdrawalNotice that nwdd sends
-- after the commit, whose own transaction sets notice_id.  A row whose
-- notice_to is not empty and whose notice_id is NULL is a notice still to
-- be sent: nwdd sends it whenever the store becomes ready.  The message
-- itself (header.supersedes inside the sealed, hashed body) is the
-- tamper-evident record; this table is its index.
--
-- Applied by migrate.c as the owner role inside one transaction.

CREATE TABLE nwd.corrections (
	message_id	uuid PRIMARY KEY REFERENCES nwd.messages (id),
	supersedes	uuid NOT NULL REFERENCES nwd.messages (id),
	root		uuid NOT NULL REFERENCES nwd.messages (id),
	how		text NOT NULL CHECK (how IN ('corrected', 'retracted')),
	subject		text NOT NULL,
	sender		text NOT NULL,
	notice_to	text[] NOT NULL DEFAULT '{}',
	notice_id	uuid,
	at		timestamptz NOT NULL,
	instance	text NOT NULL
);
CREATE INDEX corrections_supersedes_idx ON nwd.corrections (supersedes);
CREATE INDEX corrections_root_idx ON nwd.corrections (root);
CREATE INDEX corrections_untold_idx ON nwd.corrections (at)
	WHERE notice_id IS NULL AND cardinality(notice_to) > 0;

REVOKE ALL ON nwd.corrections FROM PUBLIC;
GRANT SELECT, INSERT ON nwd.corrections TO nwd_daemon;
GRANT UPDATE (notice_id) ON nwd.corrections TO nwd_daemon;
GRANT SELECT ON nwd.corrections TO nwd_auditor;
