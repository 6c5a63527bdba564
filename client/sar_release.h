/*
 * sar_release: the words of a subject-access report a young person can be
 * given ("nwd sar --release"), with no I/O of its own beyond reading a
 * labels file: labels for kinds, roles, agencies, reasons and fields;
 * dates in UK local time; a message body walked field by field with what
 * is protected replaced by the reason it is withheld; and HTML escaping.
 *
 * The labels file (nwd(1), LABELS FILE) has lines "CATEGORY NAME = WORDS";
 * '#' starts a comment, blank lines are skipped.  A name with no label
 * reads as itself made readable ("camhs_update" as "camhs update").
 *
 * What is withheld is decided here, not by the labels file: the protected
 * body types (ThirdParty, SourceDetails, Address: the example policy's
 * "protect"), a handling-C condition (handling_conditions) and the
 * header's justification are always withheld; the file only words the
 * reason ("withheld NAME = REASON") and may add types or fields to
 * withhold.  A missing or empty labels file never lets anything through.
 */
#ifndef NWD_SAR_RELEASE_H
#define NWD_SAR_RELEASE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

struct sar_labels;

/*
 * Reads the labels of path.  Returns them (the caller frees them with
 * sar_release_labels_free()), or NULL with "PATH:LINE: cause" in err.
 * A NULL path gives the empty set: every label falls back.
 */
struct sar_labels *sar_release_labels_load(const char *path, char *err,
		    size_t errlen);
void		 sar_release_labels_free(struct sar_labels *l);

/*
 * The words for name in category ("kind", "role", "agency", "reason",
 * "value", "field", "who", "withheld"), or name made readable in buf
 * (underscores and hyphens as spaces, "_unix_ms" dropped).  The result is
 * l's or buf; l may be NULL.
 */
const char	*sar_release_label(const struct sar_labels *l,
		    const char *category, const char *name, char *buf,
		    size_t buflen);

/*
 * Why a field is withheld from the young person: for a body field of a
 * protected message type (type_name, e.g. "ThirdParty") or a withheld
 * field (field_name, e.g. "handling_conditions" or "justification").
 * Returns the reason in words, or NULL if it is not withheld.  Either
 * name may be NULL.
 */
const char	*sar_release_withheld(const struct sar_labels *l,
		    const char *type_name, const char *field_name);

/*
 * A message's reference for people: the last 8 characters of its id
 * (a UUIDv7 begins with its time, which messages of one minute share).
 * Returns a pointer into message_id.
 */
const char	*sar_release_reference(const char *message_id);

/* "[withheld: REASON]" in buf; returns buf. */
const char	*sar_release_marker(const char *reason, char *buf,
		    size_t buflen);

/*
 * ms since the epoch as UK local time (Europe/London: GMT, or BST from
 * 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday
 * of October), "Tuesday 5 January 2027, 14:30".  Returns buf.
 */
const char	*sar_release_time(int64_t ms, char *buf, size_t buflen);

/* The same date without the time, "Tuesday 5 January 2027". */
const char	*sar_release_date(int64_t ms, char *buf, size_t buflen);

/*
 * s with &, <, >, " and ' as HTML character references, into out (cut
 * short at a whole character if it does not fit).  Returns out.
 */
const char	*sar_release_html_escape(const char *s, char *out,
		    size_t outlen);

/* One line of a body in words, handed to a sar_release_emit_fn. */
struct sar_release_item {
	int		 depth;		/* 0 for the body's own fields */
	const char	*label;		/* the field in words */
	const char	*value;		/* NULL: a heading for depth + 1 */
	const char	*withheld;	/* non-NULL: withheld, and why */
};

typedef void	 sar_release_emit_fn(const struct sar_release_item *,
		    void *);

/*
 * Walks body's fields that are set, in their schema order, and calls emit
 * for each: a value in words (enums and kinds through the labels, times
 * in local time, yes for a true flag), a heading before a nested
 * message's own lines, or a withheld marker's reason in place of a
 * protected one.  Nothing withheld reaches emit by value.
 */
void		 sar_release_body(const ProtobufCMessage *body,
		    const struct sar_labels *l, sar_release_emit_fn *emit,
		    void *arg);

#endif
