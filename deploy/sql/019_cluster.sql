-- 019: several nwdd instances on one database (issue 20).
--
-- 1. cluster_head and cluster_changes: the change sequence.  Every
--    transaction that changes what a decision reads (an allocation, a
--    durable subscription, a consent record, a grant of break-glass, a
--    session's live subscriptions: see 3) takes the next numbers from the
--    one row of cluster_head, writes one cluster_changes row per change
--    (what changed and an id, never a body), and announces the last
--    number with NOTIFY nwd_cluster, all in the transaction that writes
--    the change.  The row lock on cluster_head is held until the commit,
--    so the numbers commit in order: an instance that has applied every
--    change up to N and reads nothing above N in cluster_changes decides
--    with the database's state.  ('deadline' is allowed for what, but
--    deadlines are announced without a number: decisions do not read
--    them.)
-- 2. cluster_members: each instance's heartbeat and policy version, so
--    that an instance knows its live peers and whether they decide with
--    the same policy.
-- 3. cluster_live: the subscriptions each instance's live sessions hold
--    (principal, kinds, subjects; no session details), so that a publish
--    on one instance records a recipient whose session is on another as
--    reached live, and that instance delivers it.  A change of them is a
--    change of the sequence too (what 'live'), so that a publish after a
--    SubscribeAck on another instance sees the subscription.
--
-- cluster_changes rows older than ten minutes are removed by the
-- heartbeats; an instance that finds a gap after what it applied reads
-- everything again.

CREATE TABLE nwd.cluster_head (
	one	boolean PRIMARY KEY DEFAULT true CHECK (one),
	seq	bigint NOT NULL DEFAULT 0
);
INSERT INTO nwd.cluster_head (one, seq) VALUES (true, 0);

CREATE TABLE nwd.cluster_changes (
	seq		bigint PRIMARY KEY,
	instance	text NOT NULL,
	what		text NOT NULL CHECK (what IN ('allocation',
			    'subscription', 'deadline', 'grant', 'consent',
			    'live')),
	ref		text NOT NULL,
	at		timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE nwd.cluster_members (
	instance	text PRIMARY KEY,
	policy_version	text NOT NULL,
	started_at	timestamptz NOT NULL DEFAULT now(),
	seen_at		timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE nwd.cluster_live (
	instance	text NOT NULL,
	principal	text NOT NULL,
	kinds		bigint NOT NULL,
	subjects	text NOT NULL	-- newline-separated; "" every subject
);
CREATE INDEX cluster_live_idx ON nwd.cluster_live (instance, principal);

GRANT SELECT, UPDATE (seq) ON nwd.cluster_head TO nwd_daemon;
GRANT SELECT, INSERT, DELETE ON nwd.cluster_changes TO nwd_daemon;
GRANT SELECT, INSERT, UPDATE (policy_version, started_at, seen_at)
	ON nwd.cluster_members TO nwd_daemon;
GRANT SELECT, INSERT, DELETE ON nwd.cluster_live TO nwd_daemon;
GRANT SELECT ON nwd.cluster_changes, nwd.cluster_members TO nwd_auditor;
