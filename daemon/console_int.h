/*
 * console_int: what console.c (the listener, the principal, the audit
 * rows) hands console_pages.c (the rendering).  Not for other modules.
 */
#ifndef NWD_CONSOLE_INT_H
#define NWD_CONSOLE_INT_H

#include <stdint.h>

#include "console_html.h"

struct policy;
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
 * more says the limit cut the answer short.  CSV and JSON keep the
 * names as the trail spells them. */
void	console_page_rows(struct chtml *b, const struct store_result *r,
	    enum console_format f, int more, const struct console_labels *l);
/* Counts of audit rows (store_query_audit()'s columns) per kind and per
 * week, as two small charts. */
void	console_page_charts(struct chtml *b, const struct store_result *r,
	    const struct console_labels *l);
/* A subject's timeline from its audit rows, by message. */
void	console_page_timeline(struct chtml *b, const char *subject,
	    const struct store_result *r, const struct console_labels *l);
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
