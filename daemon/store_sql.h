/*
 * store_sql: the SQL text of the store (private to the store family): the
 * statements it prepares at connect, with their names, parameter counts
 * and the forms of their array parameters; what SETUP and LOAD read; and
 * the read-only queries.  store_sql.c holds the text; this header only
 * names it.
 */
#ifndef NWD_STORE_SQL_H
#define NWD_STORE_SQL_H

#include "pgarray.h"

/* The prepared statements, by name; store_setup() prepares each. */
#define STORE_STMT_MSG		"nwd_insert_message"
#define STORE_STMT_EVENT	"nwd_insert_event"
#define STORE_STMT_ALLOC	"nwd_insert_allocation"
#define STORE_STMT_SUB		"nwd_upsert_subscription"
#define STORE_STMT_SUBDEL	"nwd_delete_subscription"
#define STORE_STMT_DELIV	"nwd_insert_delivery"
#define STORE_STMT_DSTATE	"nwd_delivery_state"
#define STORE_STMT_MARK		"nwd_mark"
#define STORE_STMT_PURGE	"nwd_purge_bodies"
#define STORE_STMT_CKPT		"nwd_insert_checkpoint"

/* The types of the columns a query may return (see store_query_check()). */
#define STORE_OID_BYTEA		17
#define STORE_OID_TEXT		25

/*
 * The statements of the write path, each with its parameter count.  The
 * rows of a whole transaction go in one statement per table where the
 * statement takes arrays; the type tables give the arrays' forms, in
 * parameter order after the instance ($1) where the statement has one.
 */
extern const char		 store_sql_msg[];
#define STORE_MSG_NPARAMS	13
extern const enum pgarray_type	 store_sql_msg_types[STORE_MSG_NPARAMS - 1];

extern const char		 store_sql_event[];
#define STORE_EVENT_NPARAMS	20
extern const enum pgarray_type	 store_sql_event_types[STORE_EVENT_NPARAMS - 1];

extern const char		 store_sql_alloc[];
#define STORE_ALLOC_NPARAMS	7

extern const char		 store_sql_sub[];
#define STORE_SUB_NPARAMS	5
extern const char		 store_sql_sub_delete[];
#define STORE_SUBDEL_NPARAMS	4

extern const char		 store_sql_deliv[];
#define STORE_DELIV_NPARAMS	3
extern const enum pgarray_type	 store_sql_deliv_types[STORE_DELIV_NPARAMS];

extern const char		 store_sql_purge[];
#define STORE_PURGE_NPARAMS	1

extern const char		 store_sql_dstate[];
#define STORE_DSTATE_NPARAMS	4
extern const enum pgarray_type	 store_sql_dstate_types[STORE_DSTATE_NPARAMS];

extern const char		 store_sql_mark[];
#define STORE_MARK_NPARAMS	2

extern const char		 store_sql_ckpt[];
#define STORE_CKPT_NPARAMS	6

/* nwdd --accept-restore's row: the parameters of store_sql_event, each
 * a single value rather than an array. */
extern const char		 store_sql_restore_row[];

/* SETUP's reads; each takes the instance as $1 (doubt_row also a seq). */
extern const char		 store_sql_lock[];
/*
 * SETUP's lock: takes it and, if taken, records this daemon as its
 * holder (017_instance_holders.sql); $2 host, $3 pid, $4 the daemon's
 * start (ms since the epoch).  One row: whether the lock was taken, then,
 * if not, the recorded holder's host, pid and start (UTC, ISO 8601), NULL
 * if none is recorded.
 */
extern const char		 store_sql_lock_hold[];
#define STORE_LOCK_HOLD_NPARAMS	4
extern const char		 store_sql_head[];
extern const char		 store_sql_last_ckpt[];
extern const char		 store_sql_doubt_row[];
extern const char		 store_sql_doubt_mark[];
extern const char		 store_sql_doubt_none[];

/* LOAD's reads, without parameters. */
extern const char		 store_sql_load_allocs[];
/* The columns of store_sql_load_allocs. */
enum {
	STORE_LOAD_A_SUBJECT, STORE_LOAD_A_TEAM, STORE_LOAD_A_WORKER,
	STORE_LOAD_A_FROM, STORE_LOAD_A_UNTIL, STORE_LOAD_A_MESSAGE_ID,
	STORE_LOAD_A_HAS_MESSAGE,
	STORE_LOAD_A_M0,	/* kind ... body_sha256: chain.h's fields */
	STORE_LOAD_A_PUBLISHED = STORE_LOAD_A_M0 + 12,
	STORE_LOAD_A_MESSAGE_HASH, STORE_LOAD_A_BODY, STORE_LOAD_A_ID,
	STORE_LOAD_A_NCOLS
};
extern const char		 store_sql_load_subs[];

/* The read-only queries (store_query.c). */
extern const char		 store_sql_pending[];
extern const char		 store_sql_pending_ids[];
extern const char		 store_sql_durables[];
extern const char		 store_sql_deadline_insert[];
extern const char		 store_sql_deadline_met[];
extern const char		 store_sql_deadline_escalated[];
extern const char		 store_sql_deadlines_unmet[];
extern const char		 store_sql_consent_insert[];
extern const char		 store_sql_consents[];
extern const char		 store_sql_consent_recipients[];
extern const char		 store_sql_correction_insert[];
extern const char		 store_sql_correction_told[];
extern const char		 store_sql_superseded[];
extern const char		 store_sql_reach_many[];
extern const char		 store_sql_corrections_untold[];
extern const char		 store_sql_grant_insert[];
extern const char		 store_sql_grant_end[];
extern const char		 store_sql_grant_review[];
extern const char		 store_sql_grants[];
extern const char		 store_sql_chain[];
extern const char		 store_sql_grant_rows[];
extern const char		 store_sql_deadlines_list[];
extern const char		 store_sql_messages[];
extern const char		 store_sql_expired[];
extern const char		 store_sql_sar_case_insert[];
extern const char		 store_sql_sar_case_step[];
extern const char		 store_sql_sar_case[];
extern const char		 store_sql_sar_cases_open[];
extern const char		 store_sql_cluster_changes[];
extern const char		 store_sql_cluster_messages[];
extern const char		 store_sql_cluster_heartbeat[];
extern const char		 store_sql_cluster_notify[];
extern const char		 store_sql_cluster_head[];
extern const char		 store_sql_cluster_since[];
extern const char		 store_sql_cluster_live_set[];
extern const char		 store_sql_cluster_live_clear[];
extern const char		 store_sql_cluster_live_get[];
extern const char		 store_sql_cluster_message[];
extern const char		 store_sql_marker[];
/*
 * The audit query's head, to which store_query_audit() appends its
 * filters; its length with the NUL is at most STORE_SQL_AUDIT_COLUMNS_MAX
 * (checked where it is defined).
 */
#define STORE_SQL_AUDIT_COLUMNS_MAX 512
extern const char		 store_sql_audit_columns[];

#endif
