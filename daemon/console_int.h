/*
 * console_int: what console.c (the listener, the principal, the audit
 * rows) hands console_pages.c (the rendering).  Not for other modules.
 */
#ifndef NWD_CONSOLE_INT_H
#define NWD_CONSOLE_INT_H

#include <stdint.h>

#include <sys/types.h>
#include <time.h>

#include "console_html.h"
#include "envelope.h"

struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct evkeyvalq;
struct policy;
struct server;
struct store_batch;
struct store_result;

enum console_format {
	CONSOLE_HTML,
	CONSOLE_CSV,
	CONSOLE_JSON,
};

/* A search, as asked (the strings are borrowed from the request). */
struct console_search {
	const char	*subject;
	const char	*principal;
	const char	*action;
	const char	*from;		/* local time as typed, or NULL */
	const char	*until;
};

#define CONSOLE_MAX_VALUE	128	/* bytes in a search field */

/* The console (console.c). */
struct console {
	struct server	*srv;		/* borrowed */
	struct evhttp	*http;		/* owned; owns its sockets */
	unsigned char	 key[32];	/* CSRF tokens' HMAC key; wiped */
	struct console_labels *labels;	/* owned; NULL: none */
	char		*labels_path;	/* owned: the file labels came from */
	struct timespec	 labels_mtime;	/* and its time when read */
	off_t		 labels_size;
};

enum console_route {
	R_HOME, R_SEARCH, R_SUBJECT, R_MESSAGE, R_REVIEWS, R_CLOSE,
	R_REFUSALS, R_ESCALATIONS, R_OVERDUE, R_CHAIN, R_AGREEMENT,
	R_SAR, R_SAR_CASE, R_SAR_VIEW, R_SAR_REPORT, R_SAR_OPEN, R_SAR_STEP,
};

/* One request in progress. */
struct console_job {
	struct console		*c;		/* borrowed */
	struct evhttp_request	*req;		/* libevent's; NULL once the
						   browser has gone */
	struct evhttp_connection *evcon;	/* libevent's */
	enum console_route	 route;
	enum console_format	 format;
	char			 actor[300];
	char			 role[128];
	char			 peer[80];
	char			 csrf[65];
	char			 cookie[65];	/* "": the browser sent none */
	char			 subject[ENVELOPE_MAX_SUBJECT + 1];
	char			 message_id[ENVELOPE_UUID_LEN + 1];
	char			 grant[ENVELOPE_UUID_LEN + 1];
	struct console_search	 q;		/* into the strings below */
	char			 principal[CONSOLE_MAX_VALUE + 1];
	char			 action[CONSOLE_MAX_VALUE + 1];
	char			 from[CONSOLE_MAX_VALUE + 1];
	char			 until[CONSOLE_MAX_VALUE + 1];
	int64_t			 after;		/* rows after this id */
	int64_t			 pin;		/* and until this time (ms) */
	uint32_t		 limit;		/* rows a page shows */
	int			 code;
	const char		*type;
	char			 reason[800];	/* the audit row's */
	struct chtml		 out;		/* owned */
	const char		*csp;		/* static; NULL: the usual */
	char			 location[200];	/* a 303's */
	char			 filename[120];	/* "": shown, not saved */
	/*
	 * If set, called once the view's row has committed (committed 1) or
	 * failed (0) instead of sending the page: it then owns j and sends
	 * and frees it (console_sar.c's streamed report).
	 */
	void			(*then)(struct console_job *j, int committed);
	void			*then_arg;	/* then's */
	/* If set, called when the browser goes while a reply streams:
	 * it frees j (and what streams). */
	void			(*gone)(struct console_job *j);
};

/* Adds j's headers (type, CSP, cookie, ...) to its reply. */
void	console_headers(struct console_job *j);
/* Sends j's page as it is (headers, code, type) if the browser is
 * still there; j stays the caller's. */
void	console_send_page(struct console_job *j);
void	console_job_free(struct console_job *j);
/* Writes the view's console_view row (and batch's changes, if batch is
 * not NULL: it is taken), then sends the page and frees j (or calls
 * j->then); on failure answers 503. */
void	console_audit_and_send(struct console_job *j,
	    struct store_batch *batch);
/* A plain page (a refusal, bad input, ...): audited, then sent; frees j. */
void	console_plain(struct console_job *j, int code, const char *title,
	    const char *why);
/* A query or form parameter into out: "" if absent; -1 if too long or
 * not printable. */
int	console_param(const struct evkeyvalq *q, const char *key, char *out,
	    size_t outlen);
/* Appends " key=value" to the row's reason, printable ASCII only. */
void	console_describe(struct console_job *j, const char *key,
	    const char *v);
/*
 * Reads a POST's form into form (the caller clears it) and checks its
 * CSRF token.  0; or -1, the form refused (403) and j freed.
 */
int	console_form(struct console_job *j, struct evhttp_request *req,
	    struct evkeyvalq *form);

/* The SAR pages (console_sar.c): GET /sar, /sar/case, /sar/view,
 * /sar/report and POST /sar/open, /sar/step.  Each takes j. */
void	console_sar_route(struct console_job *j, const char *path,
	    struct evhttp_request *req, const struct evkeyvalq *q);

/* The page's start: title, the signed-in principal, the navigation. */
void	console_page_head(struct chtml *b, const char *title,
	    const char *who, const char *role);
void	console_page_foot(struct chtml *b);
/* A plain page saying why: a refusal (403), bad input (400), ... */
void	console_page_error(struct chtml *b, const char *title,
	    const char *why);
/* The search form, filled with q (may be NULL). */
void	console_page_form(struct chtml *b, const struct console_search *q);
/* The filter of a list of rows (refusals, escalations): principal and
 * time range, sent to path. */
void	console_page_filter(struct chtml *b, const char *path,
	    const struct console_search *q);
/*
 * In every function below, l (may be NULL) gives the plain-language
 * labels of kinds, roles, agencies and reasons.
 */
/* Audit rows (store_query_audit()'s columns) as a table, CSV or JSON;
 * next (NULL: none) is the address of the page after these, when the
 * limit cut the answer short: a link, or JSON's "next".  CSV and JSON
 * keep the names as the trail spells them. */
void	console_page_rows(struct chtml *b, const struct store_result *r,
	    enum console_format f, const char *next,
	    const struct console_labels *l);
/* Counts of audit rows (store_query_audit()'s columns) per kind and per
 * week, as two small charts. */
void	console_page_charts(struct chtml *b, const struct store_result *r,
	    const struct console_labels *l);
/* A subject's timeline from its audit rows, by message; next (NULL:
 * none) is the address of the page after these rows. */
void	console_page_timeline(struct chtml *b, const char *subject,
	    const struct store_result *r, const char *next,
	    const struct console_labels *l);
/* One message's reach, as nwd status shows it, for an auditor. */
void	console_page_message(struct chtml *b, const char *message_id,
	    const struct store_result *r, const struct console_labels *l);
/* Unmet deadlines (store_query_deadlines()'s columns), overdue first
 * marked as such at now_ms. */
void	console_page_overdue(struct chtml *b, const struct store_result *r,
	    int64_t now_ms, const struct console_labels *l);

/* What the daemon knows of its own chain (strings borrowed). */
struct console_chain {
	const char	*instance;
	int64_t		 head_seq;	/* committed, in memory */
	const char	*head_hash;	/* hex */
	const char	*state_file;	/* NULL: no state file */
	int64_t		 state_seq;	/* the state file's committed head */
	const char	*state_hash;
	const char	*refusal;	/* why the store refuses; NULL */
};
/* Each instance's head and last checkpoint (store_query_chain()'s
 * columns), and whether this daemon's head is the database's. */
void	console_page_chain(struct chtml *b, const struct store_result *r,
	    const struct console_chain *cs);
/* The break-glass review queue (store_query_grants()'s columns), each
 * open review with a close form carrying csrf. */
void	console_page_reviews(struct chtml *b, const struct store_result *r,
	    const char *csrf);

/* The agreement: the policy in force as a matrix of kinds x roles, its
 * rules, limits, deadlines and break-glass rules (console_agreement.c);
 * l (may be NULL) names kinds, roles and agencies. */
void	console_page_agreement(struct chtml *b, const struct policy *p,
	    const struct console_labels *l);

/* The style sheet, served as /console.css. */
extern const char console_css[];

#endif
