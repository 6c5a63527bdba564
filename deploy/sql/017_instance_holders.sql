-- 017: who holds an instance name (issue 20).
--
-- An instance name is held exclusively while its nwdd runs: the daemon's
-- database connection takes the session advisory lock on
-- hashtext('nwd-instance:' || instance) at every connect (since 003) and
-- holds it for the connection's life.  The lock says only that someone
-- holds the name; this table says who, for the message of a second nwdd
-- that is refused: the host and process id of the daemon that took the
-- lock, when that daemon started, and its backend's pid.  The row is
-- written in the same statement that takes the lock, only when the lock
-- was taken, so it names the holder (or, once the holder is gone, the
-- last one).  Not audit data: it is overwritten at every connect.

CREATE TABLE nwd.instance_holders (
	instance	text PRIMARY KEY,
	host		text NOT NULL,
	pid		integer NOT NULL,
	started_at	timestamptz NOT NULL,
	backend_pid	integer NOT NULL,
	locked_at	timestamptz NOT NULL DEFAULT now()
);

REVOKE ALL ON nwd.instance_holders FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE ON nwd.instance_holders TO nwd_daemon;
GRANT SELECT ON nwd.instance_holders TO nwd_auditor;
