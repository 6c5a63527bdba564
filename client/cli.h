/*
 * cli: what every nwd command shares.  Messages go to stderr as
 * "nwd: WHAT: message"; results go to stdout, as JSON lines or text made
 * safe for a terminal.
 */
#ifndef NWD_CLI_H
#define NWD_CLI_H

#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <json.h>

#include "nwd.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0.1.0"		/* configure passes the real one */
#endif

/* Exit statuses of every nwd command that talks to the broker (nwd(1),
 * EXIT STATUS). */
#define CLI_EXIT_REFUSED	1	/* the broker refused the request */
#define CLI_EXIT_USAGE		2
#define CLI_EXIT_UNREACHABLE	3	/* no connection, TLS, certificate */
#define CLI_EXIT_UNAVAILABLE	4	/* broker or its audit store away */
#define CLI_EXIT_PROTOCOL	5	/* anything else, output included */
#define CLI_EXIT_TIMEOUT	6

/* Prints "nwd: what: message" and a newline. */
void	cli_say(const char *what, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Prints "nwd: what: message" without the newline, for callers that add
 * their own ending (a pointer to the help, say). */
void	cli_vsay(const char *what, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));

/*
 * The exit status for a library status; c (may be NULL) tells a request the
 * broker judged invalid (refused) from one the tool could not send (usage).
 */
int	cli_exit_status(struct nwd_client *c, enum nwd_status st);

/* Connects with o.  On failure says why, naming the server, and sets
 * *code; returns NULL. */
struct nwd_client *cli_connect(const struct nwd_opts *o, int *code);

/*
 * A growable array of strings.  Whether the strings are owned is the
 * user's to say; the array itself always is.  All zero is empty.
 */
struct cli_strv {
	char	**v;
	size_t	  n;
};

/* Appends s (not copied).  0, or -1 if out of memory. */
int	cli_strv_add(struct cli_strv *sv, char *s);

/* Appends a copy of each name of "a,b".  0, or -1 on an empty name or if
 * out of memory (the names before it stay appended). */
int	cli_strv_split(struct cli_strv *sv, const char *list);

/* Frees the array, and the strings too if owned; sv is empty after. */
void	cli_strv_clear(struct cli_strv *sv, int owned);

/* v[0..n) joined with sep into out, cut short if out is too small. */
void	cli_join(char *out, size_t outlen, char *const *v, size_t n,
	    const char *sep);

/* "OFFICIAL-SENSITIVE" as the tool spells it, or the marking's name. */
const char *cli_marking(Nwd__V1__Marking m);

/* The priority's name ("ROUTINE"), or NULL if it has none. */
const char *cli_priority(Nwd__V1__Priority p);

/* The kind names, "intelligence_report, missing_episode, ...". */
const char *cli_kinds(void);

/* Now, in Unix milliseconds. */
int64_t	cli_wall_ms(void);

/*
 * "2025-03-01T10:00:00Z", with ".123" before the Z if millis, into out,
 * which it returns; "-" for 0, the number itself if it is no date.
 */
const char *cli_time(int64_t ms, int millis, char *out, size_t outlen);

/*
 * A copy of s for a terminal, into buf, which it returns ("" for NULL):
 * control characters (C0, DEL, C1) and bytes that are not UTF-8 become
 * '?'; a character is never cut in half.
 */
const char *cli_clean(const char *s, char *buf, size_t len);

/*
 * Writes s (NULL: empty) to fp as one CSV field (RFC 4180), then "," or,
 * if last, CRLF.  Spreadsheet-safe: a cell that starts with = + - @, a tab
 * or a CR gets a leading ', control characters become \xHH.
 */
void	 cli_csv_field(FILE *fp, const char *s, int last);

/*
 * A decision not to share in plain words, into out (cut short if it is too
 * small), which it returns: "Decision not to share: WHAT; not shared with
 * A, B; because REASONS; sharing would be more detrimental to the child;
 * decided WHEN; to be reviewed by WHEN.  Explanation: TEXT".  The text is
 * the decision's, uncleaned.
 */
const char *cli_sharing_decision_words(const Nwd__V1__SharingDecision *d,
	    char *out, size_t outlen);

/* Adds key: value, "" for NULL. */
void	cli_json_string(json_object *o, const char *key, const char *value);

/* Adds key: value, null for NULL or "". */
void	cli_json_text(json_object *o, const char *key, const char *value);

/* A new JSON array of v[0..n). */
json_object *cli_json_strings(char *const *v, size_t n);

/* Prints o as one line of JSON.  0, or -1 (nothing said). */
int	cli_json_line(json_object *o);

/* Prints o as one line of JSON and flushes stdout.  0, or -1 after saying
 * why. */
int	cli_print_json(json_object *o);

/* Flushes stdout.  0, or -1 after saying why. */
int	cli_flush(void);

#endif
