/*
 * audit: the nwd tool's auditor commands that ask the broker.
 *
 *   nwd audit query   the audit trail, filtered and paged, as a table,
 *                     JSON lines or CSV
 *   nwd sar           a subject-access request answered in one command:
 *                     every message held about a young person (opened for
 *                     the auditor), who got which fields and when, what was
 *                     withheld and why, refusals and receipts, as JSON or
 *                     as a report a data-protection officer can send
 *
 * Both speak to the broker as the auditor's certificate (the broker answers
 * auditors only and audits every page it sends).  "nwd audit verify"
 * (client/verify.c) reads the database instead.
 */
#ifndef NWD_CLIENT_AUDIT_H
#define NWD_CLIENT_AUDIT_H

struct option;

/*
 * 1 if argv (nwd's whole command line) runs "audit query" or "sar",
 * skipping nwd's global options and their values; long_options is nwd's
 * table, to know which options take a value.
 */
int	audit_tool_command(int argc, char **argv,
	    const struct option *long_options);

/* Runs it on nwd's whole command line; returns the exit status. */
int	audit_tool_main(int argc, char **argv);

/* For nwd's command table and "nwd help sar". */
extern const char audit_query_synopsis[];
extern const char audit_query_help[];
extern const char audit_sar_synopsis[];
extern const char audit_sar_help[];

#endif
