/*
 * console_int: what console.c (the listener, the principal, the audit
 * rows) hands console_pages.c (the rendering).  Not for other modules.
 */
#ifndef NWD_CONSOLE_INT_H
#define NWD_CONSOLE_INT_H

#include <stdint.h>

#include "console_html.h"

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
/* Audit rows (store_query_audit()'s columns) as a table, CSV or JSON;
 * more says the limit cut the answer short. */
void	console_page_rows(struct chtml *b, const struct store_result *r,
	    enum console_format f, int more);
/* A subject's timeline from its audit rows, by message. */
void	console_page_timeline(struct chtml *b, const char *subject,
	    const struct store_result *r);
/* One message's reach, as nwd status shows it, for an auditor. */
void	console_page_message(struct chtml *b, const char *message_id,
	    const struct store_result *r);
/* The break-glass review queue (store_query_grants()'s columns), each
 * open review with a close form carrying csrf. */
void	console_page_reviews(struct chtml *b, const struct store_result *r,
	    const char *csrf);

/* The style sheet, served as /console.css. */
extern const char console_css[];

#endif
