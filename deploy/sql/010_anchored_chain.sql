-- 010_anchored_chain: a chain that cannot be quietly rewritten (G21).
--
-- Applied by migrate.c as the owner role (nwd_owner) inside one transaction;
-- the file must not contain BEGIN, COMMIT or ROLLBACK.
--
-- 1. Audit rows and checkpoints reach their tables only through two
--    SECURITY DEFINER functions, nwd.audit_append() and
--    nwd.checkpoint_append(), which the daemon's role may execute; its
--    INSERT on nwd.audit_events and nwd.checkpoints is revoked.  Both
--    refuse (SQLSTATE NW002) unless the calling session holds the
--    instance's advisory lock, the one every nwdd takes at connect
--    (pg_try_advisory_lock(hashtext('nwd-instance:' || instance))): a
--    second writer with the daemon's credentials cannot extend the chain
--    of a running instance.  One that writes while its daemon is down is
--    caught by the daemon's state file (daemon/anchor.h) at its next
--    start.  The link check of 007 still runs on every row;
--    checkpoint_append() also refuses (NW003) a checkpoint that names no
--    row of the chain.
-- 2. audit_events.message_hash: on a publish row, the hash of the message
--    as stored (chain.h, chain_message_hash()): its header, the SHA-256 of
--    its sealed body and its allocation rows.  It is part of the row's
--    canonical bytes (an eighteenth field, written only when it is not
--    NULL, so older rows hash as they did), so editing a message row, its
--    body or its allocations is found by nwd audit verify, and an
--    allocation row that no publish row vouches for is refused when the
--    daemon loads the allocations.
-- 3. messages.body_sha256: the SHA-256 of the sealed body, written with
--    it and kept when a purge removes the body (the guard of 004 keeps
--    every other column as written), so a purged message still hashes.
-- 4. A body is removed only in a transaction that also writes the audit
--    row of its purge (a deferred constraint trigger; the retention purge
--    always did so).
-- 5. A new action, restore_accepted: an operator accepted a database
--    whose chain head is not the one the daemon had committed (nwdd
--    --accept-restore); the reason names both heads.
-- 6. An index on allocations(message_id), for the checks above.

ALTER TABLE nwd.audit_events ADD COLUMN message_hash bytea;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_message_hash_check
	CHECK (message_hash IS NULL OR octet_length(message_hash) = 32);

ALTER TABLE nwd.audit_events DROP CONSTRAINT audit_events_action_check;
ALTER TABLE nwd.audit_events ADD CONSTRAINT audit_events_action_check
	CHECK (action IN (
		'connect', 'auth_refused', 'publish', 'publish_refused',
		'deliver', 'deliver_refused', 'ack', 'subscribe',
		'audit_query', 'policy_loaded', 'purge', 'protocol_error',
		'disconnect', 'tls_loaded', 'tls_reload_refused',
		'deliver_lost', 'deliver_withdrawn', 'durable_deleted',
		'principals_loaded', 'principal_changed', 'reload_refused',
		'restore_accepted'));

ALTER TABLE nwd.messages ADD COLUMN body_sha256 bytea;
ALTER TABLE nwd.messages ADD CONSTRAINT messages_body_sha256_check
	CHECK (body_sha256 IS NULL OR octet_length(body_sha256) = 32);

CREATE INDEX allocations_message_id_idx ON nwd.allocations (message_id);

-- 1 if this session holds the advisory lock of instance (the bigint key
-- of pg_try_advisory_lock(hashtext(...)): its high half in classid, its
-- low half in objid, objsubid 1).
CREATE FUNCTION nwd.instance_locked(p_instance text) RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
	SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_locks l
	    WHERE l.locktype = 'advisory' AND l.granted AND
	    l.pid = pg_catalog.pg_backend_pid() AND l.objsubid = 1 AND
	    l.database = (SELECT d.oid FROM pg_catalog.pg_database d
		WHERE d.datname = pg_catalog.current_database()) AND
	    l.classid::bigint = (k.key >> 32) & 4294967295 AND
	    l.objid::bigint = k.key & 4294967295)
	FROM (SELECT pg_catalog.hashtext('nwd-instance:' ||
	    p_instance)::bigint AS key) k
$$;
REVOKE ALL ON FUNCTION nwd.instance_locked(text) FROM PUBLIC;

-- The rows of one transaction of an instance, one array per column (the
-- daemon's statement nwd_insert_event); returns how many were written.
CREATE FUNCTION nwd.audit_append(p_instance text, p_at bigint[],
    p_actor text[], p_action text[], p_message_id uuid[], p_subject text[],
    p_kind smallint[], p_recipient text[], p_shared text[],
    p_withheld text[], p_rule text[], p_policy_version text[],
    p_reason text[], p_peer text[], p_session text[], p_seq bigint[],
    p_prev_hash bytea[], p_hash bytea[], p_route text[],
    p_message_hash bytea[]) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
	n	bigint;
BEGIN
	IF p_instance IS NULL OR NOT nwd.instance_locked(p_instance) THEN
		RAISE EXCEPTION 'nwd.audit_events: this session does not hold the lock of instance %; only the daemon serving an instance extends its chain', p_instance
		    USING ERRCODE = 'NW002';
	END IF;
	INSERT INTO nwd.audit_events (instance, at, actor, action, message_id,
	    subject, kind, recipient, fields_shared, fields_withheld, rule,
	    policy_version, reason, peer, session, seq, prev_hash, hash, route,
	    message_hash)
	SELECT p_instance, timestamptz 'epoch' + u.at *
	    interval '1 millisecond', u.actor, u.action, u.message_id,
	    u.subject, u.kind, u.recipient, string_to_array(u.fs, ','),
	    string_to_array(u.fw, ','), u.rule, u.pv, u.reason, u.peer,
	    u.session, u.seq, u.prev, u.hash, u.route, u.mh
	FROM unnest(p_at, p_actor, p_action, p_message_id, p_subject, p_kind,
	    p_recipient, p_shared, p_withheld, p_rule, p_policy_version,
	    p_reason, p_peer, p_session, p_seq, p_prev_hash, p_hash, p_route,
	    p_message_hash)
	    WITH ORDINALITY AS u(at, actor, action, message_id, subject, kind,
	    recipient, fs, fw, rule, pv, reason, peer, session, seq, prev,
	    hash, route, mh, n)
	ORDER BY u.n;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;
REVOKE ALL ON FUNCTION nwd.audit_append(text, bigint[], text[], text[],
    uuid[], text[], smallint[], text[], text[], text[], text[], text[],
    text[], text[], text[], bigint[], bytea[], bytea[], text[], bytea[])
    FROM PUBLIC;

-- One signed checkpoint of an instance's chain, of a row that is there.
CREATE FUNCTION nwd.checkpoint_append(p_instance text, p_seq bigint,
    p_hash bytea, p_at_ms bigint, p_key_id text, p_signature bytea)
    RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	IF p_instance IS NULL OR NOT nwd.instance_locked(p_instance) THEN
		RAISE EXCEPTION 'nwd.checkpoints: this session does not hold the lock of instance %; only the daemon serving an instance signs its chain', p_instance
		    USING ERRCODE = 'NW002';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM nwd.audit_events WHERE
	    instance = p_instance AND seq = p_seq AND hash = p_hash) THEN
		RAISE EXCEPTION 'nwd.checkpoints: row % of instance % is not there with that hash', p_seq, p_instance
		    USING ERRCODE = 'NW003';
	END IF;
	INSERT INTO nwd.checkpoints (instance, seq, hash, at, key_id,
	    signature)
	VALUES (p_instance, p_seq, p_hash, timestamptz 'epoch' + p_at_ms *
	    interval '1 millisecond', p_key_id, p_signature);
END
$$;
REVOKE ALL ON FUNCTION nwd.checkpoint_append(text, bigint, bytea, bigint,
    text, bytea) FROM PUBLIC;

-- A body removed without the audit row of its purge is refused at commit.
CREATE FUNCTION nwd.messages_purge_audited() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF OLD.body IS NOT NULL AND NEW.body IS NULL AND NOT EXISTS (
	    SELECT 1 FROM nwd.audit_events WHERE message_id = NEW.id AND
	    action = 'purge') THEN
		RAISE EXCEPTION 'nwd.messages: the body of message % was removed without the audit row of its purge', NEW.id
		    USING ERRCODE = 'insufficient_privilege';
	END IF;
	RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION nwd.messages_purge_audited() FROM PUBLIC;

CREATE CONSTRAINT TRIGGER messages_purge_audited
	AFTER UPDATE OF body ON nwd.messages
	DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION nwd.messages_purge_audited();

REVOKE INSERT ON nwd.audit_events, nwd.checkpoints FROM nwd_daemon;
REVOKE USAGE ON SEQUENCE nwd.audit_events_id_seq FROM nwd_daemon;
GRANT EXECUTE ON FUNCTION nwd.audit_append(text, bigint[], text[], text[],
    uuid[], text[], smallint[], text[], text[], text[], text[], text[],
    text[], text[], text[], bigint[], bytea[], bytea[], text[], bytea[])
    TO nwd_daemon;
GRANT EXECUTE ON FUNCTION nwd.checkpoint_append(text, bigint, bytea, bigint,
    text, bytea) TO nwd_daemon;
