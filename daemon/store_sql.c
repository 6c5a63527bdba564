/*
 * store_sql: the SQL text of the store, and nothing else: the statements
 * prepared at every connect, the forms of their array parameters, what
 * SETUP and LOAD read, and the read-only queries.  store_sql.h names them,
 * with the statement names and parameter counts; the files of the store
 * family that send them (store.c, store_load.c, store_query.c) say when.
 */
#include "store_sql.h"

/* Unix milliseconds to timestamptz, exactly. */
#define STORE_SQL_MS(n)	"timestamptz 'epoch' + $" #n "::bigint * " \
			"interval '1 millisecond'"
/*
 * timestamptz to Unix milliseconds (truncated to the millisecond, so the
 * cast is exact whether extract() returns numeric or double precision);
 * NULL stays NULL.
 */
#define STORE_SQL_TO_MS(col) "(extract(epoch FROM date_trunc(" \
			"'milliseconds', " col ")) * 1000)::bigint"

/*
 * The rows of a whole transaction go in one statement per table: each
 * column is an array parameter (pgarray.h) and unnest() turns them back
 * into rows, in order.  $1 is the instance where the table has one.
 */
const char store_sql_msg[] =
    "INSERT INTO nwd.messages (id, kind, subject, sender, agency, marking, "
    "priority, legal_basis, created_at, policy_version, instance, body, "
    "key_id, body_sha256) "
    "SELECT u.id, u.kind, u.subject, u.sender, u.agency, u.marking, "
    "u.priority, u.legal_basis, timestamptz 'epoch' + u.created * "
    "interval '1 millisecond', u.pv, $1, u.body, u.key_id, sha256(u.body) "
    "FROM unnest($2::uuid[], $3::smallint[], $4::text[], $5::text[], "
    "$6::text[], $7::smallint[], $8::smallint[], $9::smallint[], "
    "$10::bigint[], $11::text[], $12::bytea[], $13::text[]) "
    "WITH ORDINALITY AS u(id, kind, subject, sender, agency, marking, "
    "priority, legal_basis, created, pv, body, key_id, n) ORDER BY u.n";

/*
 * The arrays' forms, in parameter order after $1: binary where PostgreSQL
 * has a binary form we can write (no parsing on its side), a text literal
 * for the uuid arrays (the ids stay in the form the chain hashes).
 */
const enum pgarray_type store_sql_msg_types[STORE_MSG_NPARAMS - 1] = {
	PGARRAY_LITERAL, PGARRAY_INT2, PGARRAY_TEXT, PGARRAY_TEXT,
	PGARRAY_TEXT, PGARRAY_INT2, PGARRAY_INT2, PGARRAY_INT2, PGARRAY_INT8,
	PGARRAY_TEXT, PGARRAY_BYTEA, PGARRAY_TEXT,
};

/*
 * The audit rows go through nwd.audit_append() (010_anchored_chain.sql),
 * which writes them only for the session holding the instance's lock.
 */
const char store_sql_event[] =
    "SELECT nwd.audit_append($1, $2::bigint[], $3::text[], $4::text[], "
    "$5::uuid[], $6::text[], $7::smallint[], $8::text[], $9::text[], "
    "$10::text[], $11::text[], $12::text[], $13::text[], $14::text[], "
    "$15::text[], $16::bigint[], $17::bytea[], $18::bytea[], $19::text[], "
    "$20::bytea[])";

const enum pgarray_type store_sql_event_types[STORE_EVENT_NPARAMS - 1] = {
	PGARRAY_INT8, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_LITERAL,
	PGARRAY_TEXT, PGARRAY_INT2, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT,
	PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT,
	PGARRAY_INT8, PGARRAY_BYTEA, PGARRAY_BYTEA, PGARRAY_TEXT,
	PGARRAY_BYTEA,
};

/* from_at and until_at: a NULL parameter (0 ms) stores NULL. */
const char store_sql_alloc[] =
    "INSERT INTO nwd.allocations (message_id, subject, team, worker, "
    "from_at, until_at, instance) "
    "VALUES ($1::uuid, $2, $3, $4, " STORE_SQL_MS(5) ", " STORE_SQL_MS(6)
    ", $7)";

/*
 * $5 true keeps the filters of a subscription that exists and is not
 * deleted (the duty desk's queue, made sure of before it is used).
 */
const char store_sql_sub[] =
    "INSERT INTO nwd.subscriptions AS s (principal, name, kinds, subjects) "
    "VALUES ($1, $2, $3::bigint, $4::text[]) "
    "ON CONFLICT (principal, name) DO UPDATE SET "
    "kinds = CASE WHEN $5::bool AND s.deleted_at IS NULL THEN s.kinds "
    "ELSE EXCLUDED.kinds END, "
    "subjects = CASE WHEN $5::bool AND s.deleted_at IS NULL THEN s.subjects "
    "ELSE EXCLUDED.subjects END, "
    "updated_at = CASE WHEN $5::bool AND s.deleted_at IS NULL THEN "
    "s.updated_at ELSE now() END, deleted_at = NULL";

/* The listed pending deliveries of a subscription are withdrawn; with $4
 * true, the subscription is marked deleted too. */
const char store_sql_sub_delete[] =
    "WITH w AS (UPDATE nwd.deliveries SET state = 'withdrawn', "
    "changed_at = now() WHERE principal = $1 AND subscription = $2 AND "
    "state = 'pending' AND message_id = ANY ($3::uuid[])) "
    "UPDATE nwd.subscriptions SET deleted_at = now() "
    "WHERE principal = $1 AND name = $2 AND $4::bool";

/* Queuing a message twice for one subscription leaves the first row. */
const char store_sql_deliv[] =
    "INSERT INTO nwd.deliveries (message_id, principal, subscription) "
    "SELECT u.message_id, u.principal, u.subscription "
    "FROM unnest($1::uuid[], $2::text[], $3::text[]) "
    "WITH ORDINALITY AS u(message_id, principal, subscription, n) "
    "ORDER BY u.n "
    "ON CONFLICT (message_id, principal, subscription) DO NOTHING";

const enum pgarray_type store_sql_deliv_types[STORE_DELIV_NPARAMS] = {
	PGARRAY_LITERAL, PGARRAY_TEXT, PGARRAY_TEXT,
};

/*
 * Retention: bodies removed in the transaction that holds the audit rows
 * of their purge, so a purge is never without its record, nor a record
 * without its purge.
 */
const char store_sql_purge[] =
    "UPDATE nwd.messages SET body = NULL, purged_at = now() "
    "WHERE id = ANY($1::uuid[]) AND body IS NOT NULL";

/*
 * The changes of state of a whole transaction, in one statement.  A
 * delivery changed twice in it gets its last state, as one UPDATE after
 * another would leave it (an UPDATE ... FROM that joins a row twice
 * takes either).
 */
const char store_sql_dstate[] =
    "UPDATE nwd.deliveries AS d SET state = u.state, changed_at = now() "
    "FROM (SELECT DISTINCT ON (message_id, principal, subscription) "
    "message_id, principal, subscription, state "
    "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) "
    "WITH ORDINALITY AS v(message_id, principal, subscription, state, n) "
    "ORDER BY message_id, principal, subscription, n DESC) AS u "
    "WHERE d.message_id = u.message_id AND d.principal = u.principal AND "
    "d.subscription = u.subscription";

const enum pgarray_type store_sql_dstate_types[STORE_DSTATE_NPARAMS] = {
	PGARRAY_LITERAL, PGARRAY_TEXT, PGARRAY_TEXT, PGARRAY_TEXT,
};

const char store_sql_mark[] =
    "INSERT INTO nwd.instances (instance, mark) VALUES ($1, $2::uuid) "
    "ON CONFLICT (instance) DO UPDATE SET mark = EXCLUDED.mark, "
    "updated_at = now()";

const char store_sql_ckpt[] =
    "SELECT nwd.checkpoint_append($1, $2::bigint, $3::bytea, $4::bigint, "
    "$5, $6::bytea)";

/* nwdd --accept-restore: its one audit row and its checkpoint. */
const char store_sql_restore_row[] =
    "SELECT nwd.audit_append($1, ARRAY[$2::bigint], ARRAY[$3::text], "
    "ARRAY[$4::text], ARRAY[$5::uuid], ARRAY[$6::text], "
    "ARRAY[$7::smallint], ARRAY[$8::text], ARRAY[$9::text], "
    "ARRAY[$10::text], ARRAY[$11::text], ARRAY[$12::text], "
    "ARRAY[$13::text], ARRAY[$14::text], ARRAY[$15::text], "
    "ARRAY[$16::bigint], ARRAY[$17::bytea], ARRAY[$18::bytea], "
    "ARRAY[$19::text], ARRAY[$20::bytea])";

/* SETUP's reads; store_setup() sends them in the order of STORE_SETUP_*. */

const char store_sql_lock[] =
    "SELECT pg_try_advisory_lock(hashtext('nwd-instance:' || $1))";
const char store_sql_lock_hold[] =
    "WITH l AS (SELECT pg_try_advisory_lock(hashtext('nwd-instance:' || "
    "$1)) AS ok), "
    "w AS (INSERT INTO nwd.instance_holders (instance, host, pid, "
    "started_at, backend_pid, locked_at) "
    "SELECT $1, $2, $3::integer, to_timestamp($4::bigint / 1000.0), "
    "pg_backend_pid(), now() FROM l WHERE l.ok "
    "ON CONFLICT (instance) DO UPDATE SET host = EXCLUDED.host, "
    "pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, "
    "backend_pid = EXCLUDED.backend_pid, locked_at = EXCLUDED.locked_at "
    "RETURNING 1) "
    "SELECT l.ok, h.host, h.pid, to_char(h.started_at AT TIME ZONE 'UTC', "
    "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
    "FROM l LEFT JOIN nwd.instance_holders h "
    "ON h.instance = $1 AND NOT l.ok";
const char store_sql_head[] =
    "SELECT seq, encode(hash, 'hex') FROM nwd.audit_events "
    "WHERE instance = $1 ORDER BY seq DESC LIMIT 1";
const char store_sql_last_ckpt[] =
    "SELECT coalesce(max(seq), 0) FROM nwd.checkpoints WHERE instance = $1";
const char store_sql_doubt_row[] =
    "SELECT encode(hash, 'hex') FROM nwd.audit_events "
    "WHERE instance = $1 AND seq = $2::bigint";
const char store_sql_doubt_mark[] =
    "SELECT mark::text FROM nwd.instances WHERE instance = $1";
const char store_sql_doubt_none[] = "SELECT NULL WHERE $1::text IS NULL";

/*
 * Every allocation, oldest first, with what vouches for it: its message
 * row (the columns chain_message_hash() reads; the sealed body, as hex,
 * only where no message hash vouches for it) and the message hash of its
 * publish row (NULL for one written before 010; no row at all: never
 * published).  Columns as STORE_LOAD_A_*.
 */
const char store_sql_load_allocs[] =
    "SELECT a.subject, a.team, a.worker, " STORE_SQL_TO_MS("a.from_at") ", "
    STORE_SQL_TO_MS("a.until_at") ", a.message_id::text, m.id IS NOT NULL, "
    "m.kind::text, m.subject, m.sender, m.agency, m.marking::text, "
    "m.priority::text, m.legal_basis::text, "
    STORE_SQL_TO_MS("m.created_at") "::text, m.policy_version, m.instance, "
    "m.key_id, encode(m.body_sha256, 'hex'), p.id IS NOT NULL, "
    "encode(p.message_hash, 'hex'), "
    "CASE WHEN p.message_hash IS NULL THEN encode(m.body, 'hex') END, "
    "a.id::text "
    "FROM nwd.allocations a LEFT JOIN nwd.messages m ON m.id = a.message_id "
    "LEFT JOIN LATERAL (SELECT e.id, e.message_hash FROM nwd.audit_events e "
    "WHERE e.message_id = a.message_id AND e.action = 'publish' "
    "ORDER BY e.id LIMIT 1) p ON true "
    "ORDER BY a.id";

/* Every subscription, one row per subject (one with NULL for none). */
const char store_sql_load_subs[] =
    "SELECT s.principal, s.name, s.kinds, u.subject "
    "FROM nwd.subscriptions s LEFT JOIN LATERAL "
    "unnest(s.subjects) WITH ORDINALITY AS u(subject, n) ON true "
    "WHERE s.deleted_at IS NULL "
    "ORDER BY s.principal, s.name, u.n";

/*
 * Queries return text and bytea columns only, in binary format: a text
 * value is its bytes, a bytea value its bytes, no unescaping.
 */
#define STORE_MSG_COLUMNS "m.id::text, m.kind::text, m.subject, m.sender, " \
    "m.agency, m.marking::text, m.priority::text, m.legal_basis::text, " \
    STORE_SQL_TO_MS("m.created_at") "::text, m.body, m.key_id, " \
    "m.policy_version"

/*
 * A page of a durable queue: the running sum of the sealed bodies' sizes
 * is computed in delivery order as the rows stream (no more rows are read
 * than LIMIT), and the page ends at the row that would pass the byte cap.
 */
const char store_sql_pending[] =
    "SELECT c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, did::text "
    "FROM (SELECT d.id AS did, m.id::text AS c0, m.kind::text AS c1, "
    "m.subject AS c2, m.sender AS c3, m.agency AS c4, "
    "m.marking::text AS c5, m.priority::text AS c6, "
    "m.legal_basis::text AS c7, "
    STORE_SQL_TO_MS("m.created_at") "::text AS c8, m.body AS c9, "
    "m.key_id AS c10, m.policy_version AS c11, "
    "coalesce(octet_length(m.body), 0) AS blen, "
    "sum(coalesce(octet_length(m.body), 0)) OVER (ORDER BY d.id) AS run "
    "FROM nwd.deliveries d JOIN nwd.messages m ON m.id = d.message_id "
    "WHERE d.principal = $1 AND d.subscription = $2 AND "
    "d.state = 'pending' AND d.id > $3::bigint "
    "ORDER BY d.id LIMIT $4::bigint) q "
    "WHERE q.run - q.blen < $5::bigint ORDER BY q.did";

/* The message ids of a page of a durable queue, with the deliveries' ids. */
const char store_sql_pending_ids[] =
    "SELECT message_id::text, id::text FROM nwd.deliveries "
    "WHERE principal = $1 AND subscription = $2 AND state = 'pending' "
    "AND id > $3::bigint ORDER BY id LIMIT $4::bigint";

/* A principal's durable subscriptions with their queues' depth and age. */
/* Deadlines (011_deadlines.sql). */
const char store_sql_deadline_insert[] =
    "INSERT INTO nwd.deadlines (message_id, subject, kind, rule, "
    "policy_version, start_at, due_at, every_ms, by_ack, closing_kinds, "
    "note, instance, next_at) VALUES ($1::uuid, $2, $3::smallint, $4, $5, "
    STORE_SQL_MS(6) ", " STORE_SQL_MS(7) ", $8::bigint, $9::boolean, "
    "$10::integer, $11, $12, " STORE_SQL_MS(7) ")";
const char store_sql_deadline_met[] =
    "UPDATE nwd.deadlines SET state = 'met', "
    "met_at = " STORE_SQL_MS(3) ", met_by = $4, "
    "met_message = $5::uuid WHERE message_id = $1::uuid AND rule = $2 "
    "AND state <> 'met'";
const char store_sql_deadline_escalated[] =
    "SELECT nwd.deadline_escalated($1::uuid, $2, $3::integer, $4::bigint)";
/* Consent records (012_consents.sql). */
const char store_sql_consent_insert[] =
    "INSERT INTO nwd.consents (message_id, subject, status, kinds, "
    "agencies, purposes, recorded_at, expires_at, withdraws, instance) "
    "VALUES ($1::uuid, $2, $3, $4::smallint[], $5::text[], $6::text[], "
    STORE_SQL_MS(7) ", CASE WHEN $8::bigint = 0 THEN NULL ELSE "
    STORE_SQL_MS(8) " END, NULLIF($9, '')::uuid, $10)";
const char store_sql_consents[] =
    "SELECT message_id::text, subject, status, array_to_string(kinds, ','), "
    "array_to_string(agencies, ','), " STORE_SQL_TO_MS("recorded_at")
    "::text, coalesce(" STORE_SQL_TO_MS("expires_at") "::text, '0'), "
    "coalesce(withdraws::text, '') FROM nwd.consents ORDER BY id";
/* Grants of break-glass (014_breakglass.sql). */
const char store_sql_grant_insert[] =
    "INSERT INTO nwd.grants (id, principal, role, subject, rule, reason, "
    "kinds, from_at, until_at, policy_version, instance) VALUES ($1::uuid, "
    "$2, $3, $4, $5, $6, $7::smallint[], " STORE_SQL_MS(8) ", "
    STORE_SQL_MS(9) ", $10, $11)";
const char store_sql_grant_end[] =
    "UPDATE nwd.grants SET ended_at = " STORE_SQL_MS(3) ", ended_by = $2 "
    "WHERE id = $1::uuid AND ended_at IS NULL";
const char store_sql_grant_review[] =
    "SELECT nwd.grant_review_close($1::uuid, $2, $3, $4, $5::bigint)";
/* The grants, with how many deliver rows each has: $1 one id or NULL,
 * $2 open reviews only (true) or every one, $3 live at this time only
 * (Unix ms) or NULL. */
const char store_sql_grants[] =
    "SELECT g.id::text, g.principal, g.role, g.subject, g.rule, g.reason, "
    "array_to_string(g.kinds, ','), " STORE_SQL_TO_MS("g.from_at") "::text, "
    STORE_SQL_TO_MS("g.until_at") "::text, "
    "coalesce(" STORE_SQL_TO_MS("g.ended_at") "::text, ''), "
    "coalesce(g.ended_by, ''), g.review, coalesce(g.outcome, ''), "
    "coalesce(g.note, ''), coalesce(g.reviewed_by, ''), "
    "coalesce(" STORE_SQL_TO_MS("g.reviewed_at") "::text, ''), "
    "(SELECT count(*) FROM nwd.audit_events e WHERE e.rule LIKE "
    "'%grant=%' AND substring(e.rule from 'grant=([0-9a-f-]{36})') = "
    "g.id::text AND e.action = 'deliver')::text "
    "FROM nwd.grants g WHERE ($1::uuid IS NULL OR g.id = $1::uuid) AND "
    "(NOT $2::boolean OR g.review = 'open') AND ($3::bigint IS NULL OR "
    "(g.ended_at IS NULL AND g.until_at > " STORE_SQL_MS(3) ")) "
    "ORDER BY g.from_at, g.id LIMIT 10001";
/*
 * Each instance's head and last checkpoint (the console's chain page).
 * The instances are found by a skip scan of the (instance, seq) index,
 * and with nwd.checkpoints, so no query walks the trail.
 */
const char store_sql_chain[] =
    "WITH RECURSIVE t(i) AS (SELECT min(instance) FROM nwd.audit_events "
    "UNION ALL SELECT (SELECT min(instance) FROM nwd.audit_events WHERE "
    "instance > t.i) FROM t WHERE t.i IS NOT NULL), "
    "i(instance) AS (SELECT i FROM t WHERE i IS NOT NULL UNION "
    "SELECT instance FROM nwd.checkpoints) "
    "SELECT i.instance, coalesce(h.seq::text, '0'), "
    "coalesce(encode(h.hash, 'hex'), ''), coalesce(c.seq::text, ''), "
    "coalesce(" STORE_SQL_TO_MS("c.at") "::text, ''), "
    "coalesce(encode(c.hash, 'hex'), ''), coalesce(c.key_id, ''), "
    "CASE WHEN c.seq IS NULL THEN '' WHEN EXISTS (SELECT 1 FROM "
    "nwd.audit_events e WHERE e.instance = i.instance AND e.seq = c.seq "
    "AND e.hash = c.hash) THEN 'true' ELSE 'false' END "
    "FROM i LEFT JOIN LATERAL (SELECT seq, hash FROM nwd.audit_events "
    "WHERE instance = i.instance ORDER BY seq DESC LIMIT 1) h ON true "
    "LEFT JOIN LATERAL (SELECT seq, hash, at, key_id FROM nwd.checkpoints "
    "WHERE instance = i.instance ORDER BY seq DESC LIMIT 1) c ON true "
    "ORDER BY i.instance LIMIT 1000";
/* Who received consent-based shares about a young person. */
const char store_sql_consent_recipients[] =
    "SELECT DISTINCT e.recipient FROM nwd.audit_events e JOIN nwd.messages "
    "m ON m.id = e.message_id WHERE m.subject = $1 AND m.legal_basis = 1 "
    "AND e.action = 'deliver' AND e.recipient IS NOT NULL ORDER BY 1";
/* Who each of many messages reached and who acknowledged it. */
const char store_sql_reach_many[] =
    "SELECT message_id::text, action, CASE WHEN action = 'ack' THEN actor "
    "ELSE recipient END FROM nwd.audit_events WHERE message_id = "
    "ANY($1::uuid[]) AND action IN ('deliver', 'ack') ORDER BY "
    "message_id, id";
/* Every unmet deadline, the soonest first. */
const char store_sql_deadlines_unmet[] =
    "SELECT d.message_id::text, d.subject, d.kind::text, d.rule, "
    STORE_SQL_TO_MS("d.start_at") "::text, " STORE_SQL_TO_MS("d.due_at")
    "::text, d.every_ms::text, d.by_ack::text, d.closing_kinds::text, "
    "d.state, d.escalations::text, " STORE_SQL_TO_MS("d.next_at") "::text, "
    "m.sender, m.priority::text "
    "FROM nwd.deadlines d JOIN nwd.messages m ON m.id = d.message_id "
    "WHERE d.state <> 'met' ORDER BY d.next_at, d.id";
/* Deadlines for nwd overdue: $1 subject or NULL, $2 rule or NULL, $3
 * all states (true) or unmet only, $4 limit. */
const char store_sql_deadlines_list[] =
    "SELECT d.message_id::text, d.subject, d.kind::text, d.rule, "
    STORE_SQL_TO_MS("d.start_at") "::text, " STORE_SQL_TO_MS("d.due_at")
    "::text, d.state, d.escalations::text, "
    "coalesce(" STORE_SQL_TO_MS("d.met_at") "::text, ''), "
    "coalesce(d.met_by, ''), coalesce(d.note, ''), m.sender "
    "FROM nwd.deadlines d JOIN nwd.messages m ON m.id = d.message_id "
    "WHERE ($1::text IS NULL OR d.subject = $1) AND "
    "($2::text IS NULL OR d.rule = $2) AND ($3::boolean OR d.state <> 'met') "
    "ORDER BY d.due_at, d.id LIMIT $4::integer";

const char store_sql_durables[] =
    "SELECT s.name, s.kinds::text, array_to_string(s.subjects, ','), "
    STORE_SQL_TO_MS("s.updated_at") "::text, count(d.id)::text, "
    "(" STORE_SQL_TO_MS("min(d.created_at)") ")::text "
    "FROM nwd.subscriptions s LEFT JOIN nwd.deliveries d ON "
    "d.principal = s.principal AND d.subscription = s.name AND "
    "d.state = 'pending' WHERE s.principal = $1 AND s.deleted_at IS NULL "
    "GROUP BY s.name, s.kinds, s.subjects, s.updated_at ORDER BY s.name";

/* Keyset paging: the anchor message first, then those after it. */
const char store_sql_messages[] =
    "SELECT " STORE_MSG_COLUMNS ", (SELECT string_agg(c.how || ' ' || "
    "c.message_id::text || ' ' || " STORE_SQL_TO_MS("c.at") "::text, ',' "
    "ORDER BY c.at, c.message_id) FROM nwd.corrections c "
    "WHERE c.supersedes = m.id) FROM nwd.messages m "
    "WHERE m.subject = $1 AND ($2::uuid IS NULL OR (m.created_at, m.id) >= "
    "(SELECT a.created_at, a.id FROM nwd.messages a "
    "WHERE a.id = $2::uuid AND a.subject = $1)) "
    "ORDER BY m.created_at, m.id LIMIT $3::bigint";

const char store_sql_audit_columns[] =
    "SELECT id::text, instance, seq::text, " STORE_SQL_TO_MS("at") "::text, "
    "actor, action, message_id::text, subject, kind::text, recipient, "
    "array_to_string(fields_shared, ','), "
    "array_to_string(fields_withheld, ','), rule, policy_version, reason, "
    "route FROM nwd.audit_events WHERE true";
/* The audit rows made under a grant (their rule names it). */
const char store_sql_grant_rows[] =
    "SELECT id::text, instance, seq::text, " STORE_SQL_TO_MS("at") "::text, "
    "actor, action, message_id::text, subject, kind::text, recipient, "
    "array_to_string(fields_shared, ','), "
    "array_to_string(fields_withheld, ','), rule, policy_version, reason, "
    "route FROM nwd.audit_events WHERE rule LIKE '%grant=%' AND "
    "substring(rule from 'grant=([0-9a-f-]{36})') = $1 ORDER BY id "
    "LIMIT 10001";
_Static_assert(sizeof(store_sql_audit_columns) <= STORE_SQL_AUDIT_COLUMNS_MAX,
    "store_query_audit() sizes its buffer by STORE_SQL_AUDIT_COLUMNS_MAX");

/* Retention: the oldest messages of a kind whose bodies have expired. */
const char store_sql_expired[] =
    "SELECT id::text, subject FROM nwd.messages WHERE kind = $1::smallint "
    "AND created_at < " STORE_SQL_MS(2) " AND body IS NOT NULL "
    "ORDER BY created_at, id LIMIT $3::bigint";


/* Corrections and retractions (013_corrections.sql). */
const char store_sql_correction_insert[] =
    "INSERT INTO nwd.corrections (message_id, supersedes, root, how, "
    "subject, sender, notice_to, at, instance) VALUES ($1::uuid, $2::uuid, "
    "$3::uuid, $4, $5, $6, $7::text[], " STORE_SQL_MS(8) ", $9)";
const char store_sql_correction_told[] =
    "UPDATE nwd.corrections SET notice_id = $2::uuid WHERE message_id = "
    "$1::uuid AND notice_id IS NULL";
/*
 * What a correction of $1 needs to know: the message, the root of its
 * chain, whether the chain was retracted, and everyone the root and its
 * corrections reached (a deliver row whose route says reached; rows from
 * before routes were recorded count).
 */
const char store_sql_superseded[] =
    "WITH t AS (SELECT m.id, m.sender, coalesce(m.agency, '') AS agency, "
    "m.subject, m.kind, m.body IS NULL AS purged, coalesce(c.root, m.id) "
    "AS root FROM nwd.messages m LEFT JOIN nwd.corrections c ON "
    "c.message_id = m.id WHERE m.id = $1::uuid) "
    "SELECT t.sender, t.agency, t.subject, t.kind::text, "
    "t.purged::text, t.root::text, coalesce((SELECT r.message_id::text "
    "FROM nwd.corrections r WHERE r.root = t.root AND r.how = 'retracted' "
    "LIMIT 1), ''), array_to_string(ARRAY(SELECT DISTINCT e.recipient "
    "FROM nwd.audit_events e WHERE e.message_id IN (SELECT t.root UNION "
    "SELECT r.message_id FROM nwd.corrections r WHERE r.root = t.root) "
    "AND e.action = 'deliver' AND e.recipient IS NOT NULL AND (e.route IS "
    "NULL OR e.route <> 'unreachable') ORDER BY 1), ',') FROM t";
/* Notices not yet sent: the oldest first. */
const char store_sql_corrections_untold[] =
    "SELECT message_id::text, supersedes::text, how, subject, "
    "array_to_string(notice_to, ',') FROM nwd.corrections WHERE notice_id "
    "IS NULL AND cardinality(notice_to) > 0 ORDER BY at, message_id";

/* Subject-access cases (016_sar_cases.sql). */
const char store_sql_sar_case_insert[] =
    "INSERT INTO nwd.sar_cases (reference, subject, requested_by, "
    "received_at, opened_at, opened_by, due_at, instance) VALUES ($1, $2, "
    "$3, " STORE_SQL_MS(4) ", " STORE_SQL_MS(5) ", $6, " STORE_SQL_MS(7)
    ", $8)";
const char store_sql_sar_case_step[] =
    "SELECT nwd.sar_case_step($1, $2, $3, $4, $5::bigint, $6, $7::bytea, "
    "$8, $9::bytea, $10::bigint)";
#define STORE_SQL_SAR_COLUMNS						\
    "SELECT reference, subject, requested_by, "				\
    STORE_SQL_TO_MS("received_at") "::text, opened_by, "		\
    STORE_SQL_TO_MS("opened_at") "::text, "				\
    STORE_SQL_TO_MS("due_at") "::text, "				\
    "coalesce(" STORE_SQL_TO_MS("identity_checked_at") "::text, ''), "	\
    "coalesce(identity_checked_by, ''), "				\
    "coalesce(identity_checked_how, ''), "				\
    "coalesce(" STORE_SQL_TO_MS("extended_to") "::text, ''), "		\
    "coalesce(extension_reason, ''), coalesce(extended_by, ''), "	\
    "coalesce(" STORE_SQL_TO_MS("approved_at") "::text, ''), "		\
    "coalesce(approved_by, ''), "					\
    "coalesce(" STORE_SQL_TO_MS("released_at") "::text, ''), "		\
    "coalesce(released_by, ''), "					\
    "coalesce(encode(report_sha256, 'hex'), ''), "			\
    "coalesce(report_bytes::text, ''), state, "
/* One case by reference, with its sealed report. */
const char store_sql_sar_case[] =
    STORE_SQL_SAR_COLUMNS "report, coalesce(report_key_id, '') "
    "FROM nwd.sar_cases WHERE reference = $1";
/* The cases not yet released, the soonest due (the extension's) first. */
const char store_sql_sar_cases_open[] =
    STORE_SQL_SAR_COLUMNS "NULL::bytea, '' FROM nwd.sar_cases "
    "WHERE state <> 'released' ORDER BY coalesce(extended_to, due_at), "
    "reference LIMIT 10001";

/*
 * The cluster (019_cluster.sql).  The changes of a transaction take the
 * next numbers of the change sequence under cluster_head's row lock, held
 * to the commit, so that the numbers commit in order; their notification
 * carries the last number and how many there were.  $1 the instance,
 * $2 what (text[]), $3 ref (text[]).
 */
const char store_sql_cluster_changes[] =
    "WITH h AS (UPDATE nwd.cluster_head SET seq = seq + "
    "cardinality($2::text[]) RETURNING seq), "
    "c AS (INSERT INTO nwd.cluster_changes (seq, instance, what, ref) "
    "SELECT h.seq - cardinality($2::text[]) + u.n, $1, u.what, u.ref "
    "FROM h, unnest($2::text[], $3::text[]) WITH ORDINALITY "
    "AS u(what, ref, n) RETURNING seq) "
    "SELECT pg_notify('nwd_cluster', 'c ' || $1 || ' ' || max(seq) || ' ' "
    "|| count(*)) FROM c";

/*
 * The messages and deadlines of a transaction, announced: $1 the
 * instance, $2 "m MESSAGE_ID SEEN" or "d MESSAGE_ID" each; notified as
 * "m INSTANCE MESSAGE_ID SEEN", "d INSTANCE MESSAGE_ID".
 */
const char store_sql_cluster_messages[] =
    "SELECT pg_notify('nwd_cluster', split_part(u, ' ', 1) || ' ' || $1 "
    "|| ' ' || substr(u, length(split_part(u, ' ', 1)) + 2)) "
    "FROM unnest($2::text[]) u";

/*
 * The cluster's connection (store_listen.c).  The heartbeat: $1 the
 * instance, $2 its policy version, $3 how young a live one's heartbeat is
 * (ms); the others' rows are read in the statement's snapshot.
 */
const char store_sql_cluster_heartbeat[] =
    "WITH p AS (DELETE FROM nwd.cluster_changes "
    "WHERE at < now() - interval '10 minutes'), "
    "u AS (INSERT INTO nwd.cluster_members (instance, policy_version) "
    "VALUES ($1, $2) ON CONFLICT (instance) DO UPDATE SET "
    "policy_version = EXCLUDED.policy_version, seen_at = now() RETURNING 1) "
    "SELECT instance, policy_version, "
    "(seen_at > now() - $3::bigint * interval '1 millisecond' AND "
    "EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.application_name = "
    "left('nwdd cluster ' || instance, 63)))::text "
    "FROM nwd.cluster_members WHERE instance <> $1 "
    "AND EXISTS (SELECT 1 FROM u) ORDER BY instance";

const char store_sql_cluster_notify[] =
    "SELECT pg_notify('nwd_cluster', $1)::text";

const char store_sql_cluster_head[] =
    "SELECT seq::text FROM nwd.cluster_head";

const char store_sql_cluster_since[] =
    "SELECT greatest((SELECT seq FROM nwd.cluster_head), $1::bigint)::text, "
    "coalesce(max(seq) FILTER (WHERE instance <> $2 AND what <> 'live'), "
    "0)::text, "
    "coalesce(max(seq) FILTER (WHERE instance <> $2 AND what = 'live'), "
    "0)::text, "
    "(coalesce((SELECT min(seq) FROM nwd.cluster_changes), "
    "$1::bigint + 1) > $1::bigint + 1)::text "
    "FROM nwd.cluster_changes WHERE seq > $1::bigint";

/* $1 the instance, $2 the principal, $3 kinds (bigint[]), $4 subjects. */
const char store_sql_cluster_live_set[] =
    "WITH d AS (DELETE FROM nwd.cluster_live WHERE instance = $1 "
    "AND principal = $2 RETURNING 1), "
    "i AS (INSERT INTO nwd.cluster_live (instance, principal, kinds, "
    "subjects) SELECT $1, $2, k, s FROM unnest($3::bigint[], $4::text[]) "
    "AS u(k, s) RETURNING 1), "
    "h AS (UPDATE nwd.cluster_head SET seq = seq + 1 RETURNING seq), "
    "c AS (INSERT INTO nwd.cluster_changes (seq, instance, what, ref) "
    "SELECT seq, $1, 'live', $2 FROM h RETURNING seq) "
    "SELECT pg_notify('nwd_cluster', 's ' || $1 || ' ' || seq || ' ' || "
    "$2)::text, seq::text FROM c";

const char store_sql_cluster_live_clear[] =
    "WITH d AS (DELETE FROM nwd.cluster_live WHERE instance = $1), "
    "h AS (UPDATE nwd.cluster_head SET seq = seq + 1 RETURNING seq), "
    "c AS (INSERT INTO nwd.cluster_changes (seq, instance, what, ref) "
    "SELECT seq, $1, 'live', '*' FROM h RETURNING seq) "
    "SELECT pg_notify('nwd_cluster', 's ' || $1 || ' ' || seq)::text, "
    "seq::text FROM c";

/* $1 the instance (NULL: any), $2 the principal (NULL: any), $3 not it. */
const char store_sql_cluster_live_get[] =
    "SELECT instance, principal, kinds::text, subjects "
    "FROM nwd.cluster_live WHERE ($1::text IS NULL OR instance = $1) "
    "AND ($2::text IS NULL OR principal = $2) "
    "AND ($3::text IS NULL OR instance <> $3) ORDER BY instance, principal";

const char store_sql_cluster_message[] =
    "SELECT m.id::text, m.kind::text, m.subject, m.sender, m.agency, "
    "m.marking::text, m.priority::text, m.legal_basis::text, "
    STORE_SQL_TO_MS("m.created_at") "::text, m.body, m.key_id, "
    "m.policy_version, "
    "(SELECT string_agg(a.recipient || ' ' || a.route, E'\\n' ORDER BY a.id) "
    "FROM nwd.audit_events a WHERE a.message_id = m.id "
    "AND a.action = 'deliver' AND a.route IS NOT NULL "
    "AND a.route <> 'replay') "
    "FROM unnest($1::uuid[]) WITH ORDINALITY AS u(id, n) "
    "JOIN nwd.messages m ON m.id = u.id ORDER BY u.n";

/* Nothing: answers once what was queued before it is done. */
const char store_sql_marker[] = "SELECT ''::text";
