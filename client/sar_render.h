/*
 * sar_render: the release version of a subject-access report, rendered
 * from the broker's AuditPages (AuditQuery.subject_access) one page at a
 * time, as plain text or as a printable HTML page whose table of contents
 * (by date and kind) comes first.  "nwd sar --release" and the console's
 * SAR page (daemon/console_sar.c) both render through it, so what the
 * command prints and what the console shows and stores are the same words.
 *
 * Pure: no file, clock or socket of its own.  Everything goes through the
 * sink the caller gives: the report itself (SAR_OUT) and, for HTML, two
 * spools (SAR_TOC, SAR_BODY) that the renderer asks the sink to copy into
 * the report at the end, after the head that counts the records.  Memory
 * does not grow with the number of messages (but for the row ids of the
 * rare message whose rows the broker sent apart, struct sar_seen).
 *
 * What is withheld, and the words for it, are sar_release.h's.
 */
#ifndef NWD_SAR_RENDER_H
#define NWD_SAR_RENDER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "nwd.pb-c.h"

struct sar_labels;
struct sar_render;

/* Where a row of a message belongs in a report. */
enum sar_row {
	SAR_ROW_SHARED,		/* a deliver row that reached its recipient */
	SAR_ROW_NOT_REACHED,	/* allowed, but nothing took it */
	SAR_ROW_REFUSED,
	SAR_ROW_ACK,
	SAR_ROW_OTHER
};

/*
 * Where row e of message m goes.  A delivery decision counts as shared
 * only if it reached its recipient: a live session took it, a durable
 * subscription holds it, or a replay sent it; one the policy allowed that
 * nothing could take (route unreachable), or that was to go live and did
 * not (deliver_lost) with no queue holding it, was not shared.  Rows from
 * before routes were recorded count as shared.
 */
enum sar_row	 sar_render_classify(const Nwd__V1__SarMessage *m,
		    const Nwd__V1__AuditEvent *e);

/*
 * The ids of the rows sent with their messages once a message came
 * without some of its rows (SarMessage.rows_cut): the broker sends those
 * again among the subject's other rows.  Zero it to begin; free its ids
 * with sar_seen_free().
 */
struct sar_seen {
	int		 remember;
	int64_t		*ids;		/* owned */
	size_t		 n, cap;
	int		 sorted;
};
/* Notes m's rows if they must be remembered; 0, or -1 out of memory. */
int		 sar_seen_remember(struct sar_seen *s,
		    const Nwd__V1__SarMessage *m);
/* 1 if e was sent with its message already. */
int		 sar_seen_has(struct sar_seen *s, const Nwd__V1__AuditEvent *e);
void		 sar_seen_free(struct sar_seen *s);

enum sar_render_stream {
	SAR_OUT,	/* the report */
	SAR_TOC,	/* HTML: the contents, copied in at the end */
	SAR_BODY,	/* HTML: the records, copied in after them */
};

struct sar_render_sink {
	/* Writes n bytes to st; 0, or -1 (the report then fails). */
	int	(*write)(void *arg, enum sar_render_stream st, const char *p,
		    size_t n);
	/* Copies spool st (SAR_TOC, SAR_BODY) to SAR_OUT; 0 or -1. */
	int	(*copy)(void *arg, enum sar_render_stream st);
	void	*arg;
};

/*
 * A sink over files (sar_files.c, the one part that does I/O): SAR_OUT
 * to out, the spools to toc and body (temporary files, say); a copy
 * rewinds the spool and appends it to out.  The files are the caller's.
 */
struct sar_render_files {
	FILE	*out;
	FILE	*toc;
	FILE	*body;
};
/* Points sink at f, which must outlive the report. */
void		 sar_render_file_sink(struct sar_render_sink *sink,
		    struct sar_render_files *f);

/* The case a report answers (strings borrowed; any may be NULL). */
struct sar_render_case {
	const char	*reference;
	const char	*requested_by;
	const char	*received;	/* as the caller words a date */
	const char	*due;
};

struct sar_render_opts {
	int				 html;		/* 0: plain text */
	const struct sar_labels		*labels;	/* may be NULL */
	const char			*subject;
	int64_t				 generated_ms;
	const struct sar_render_case	*kase;		/* NULL: none */
};

/*
 * A report in progress.  o's strings and sink are borrowed and must
 * outlive it.  NULL out of memory.
 */
struct sar_render *sar_render_new(const struct sar_render_opts *o,
		    const struct sar_render_sink *sink);
/* Begins the report (call once, before the first page); 0 or -1. */
int		 sar_render_begin(struct sar_render *r);
/* Renders one page: its messages, then the subject's rows the release
 * shows.  0, or -1 if the sink failed or memory ran out. */
int		 sar_render_page(struct sar_render *r,
		    const Nwd__V1__AuditPage *p);
/* Ends the report (for HTML: the head, then the copied spools); 0/-1. */
int		 sar_render_end(struct sar_render *r);
/* The records rendered so far. */
size_t		 sar_render_count(const struct sar_render *r);
void		 sar_render_free(struct sar_render *r);

#endif
