/*
 * consent: the young people's consent records, in memory (pure: no I/O,
 * no clock it is not given).  A record is GIVEN, REFUSED or WITHDRAWN,
 * with a scope: the kinds of message and the agencies it covers (none
 * listed: every one).  For a share of a kind to an agency, the records of
 * the young person are read in the order they were published, and the
 * last whose scope covers it decides: GIVEN covers it until it expires,
 * REFUSED and WITHDRAWN do not.  A WITHDRAWN record that names the GIVEN
 * record it withdraws has that record's scope; one that names none
 * withdraws every consent of the young person.
 */
#ifndef NWD_CONSENT_H
#define NWD_CONSENT_H

#include <stddef.h>
#include <stdint.h>

enum consent_status {
	CONSENT_GIVEN,
	CONSENT_REFUSED,
	CONSENT_WITHDRAWN,
};

struct consent_record {
	const char		*message_id;
	const char		*subject;
	enum consent_status	 status;
	uint32_t		 kinds;		/* bit per kind; 0: every one */
	const char *const	*agencies;	/* none: every one */
	size_t			 nagencies;
	int64_t			 recorded_ms;
	int64_t			 expires_ms;	/* 0: no expiry */
	const char		*withdraws;	/* NULL or "": every consent */
};

struct consent_table;

struct consent_table *consent_table_new(void);
void		 consent_table_free(struct consent_table *t);
/* Forgets every record (before a reload from the store). */
void		 consent_table_clear(struct consent_table *t);
/* Appends a copy of r, the latest of its young person; 0 or -1. */
int		 consent_table_put(struct consent_table *t,
		    const struct consent_record *r);
size_t		 consent_table_count(const struct consent_table *t);

/*
 * Does a current consent of subject cover a share of kind to agency (NULL:
 * to some agency) at now_ms?  Returns 1, or 0 with one sentence in why
 * (why may be NULL): no consent recorded, refused, withdrawn (naming the
 * record and when), or expired.
 */
int		 consent_covers(const struct consent_table *t,
		    const char *subject, int kind, const char *agency,
		    int64_t now_ms, char *why, size_t whylen);

#endif
