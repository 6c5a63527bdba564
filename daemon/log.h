/*
 * log: operator logs on stderr (the journal under systemd), one line per
 * event in key=value form.  Never pass message bodies or intelligence here;
 * name principals, actions, message ids and reasons.
 *
 * A line is "TIME level=LEVEL KEY=VALUE ...", TIME in UTC to the
 * millisecond.  When stderr is the journal ($JOURNAL_STREAM names its
 * device and inode, systemd.exec(5)) each event goes to the journal
 * through sd_journal_sendv(3) instead: MESSAGE is the line without the
 * time ("level=LEVEL KEY=VALUE ..."), with PRIORITY, SYSLOG_IDENTIFIER,
 * ERROR (log_warn's errno text) and one field per KEY=VALUE pair
 * (log_journal_fields()).  If journald does not take it, the line goes to
 * stderr starting "<N>" (the syslog priority, which journald takes as
 * PRIORITY=) and without the time.  The conventions
 * of the callers: "event=NAME" on every line; a line about a session
 * starts "session=ID principal=P" (P "-" before authentication); values
 * with spaces are double-quoted ("reason=\"...\"").  A newline in a value
 * is written as "\n", another control character as '?'.
 */
#ifndef NWD_LOG_H
#define NWD_LOG_H

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* Sets the threshold; messages above it are dropped. */
void	log_set_level(enum log_level lvl);
/*
 * log_subjects (nwdd.conf): with 0, child identifiers (subject ids and
 * NHS numbers) are written as "-".  Callers pass every identifier they
 * log as a value through log_subject(), which returns id itself or "-";
 * identifiers that may appear inside other text (a refusal's reason)
 * are named with log_subjects_add() while the request that carries them
 * is handled, and every free-standing occurrence in a line is then
 * written as "-", until log_subjects_clear().  While subjects are shown
 * log_subjects_add() keeps nothing.  "-" rather than a hash: a stable
 * token, even a keyed one, would still tie together every line about one
 * child wherever the log is shipped; following a child is the audit
 * trail's job, behind its access control.
 */
void		 log_set_subjects(int shown);
int		 log_subjects_shown(void);
const char	*log_subject(const char *id);
void		 log_subjects_add(const char *id);
void		 log_subjects_clear(void);
/* The scope's depth, and back to it: scopes nest (a request's, then a
 * session's around one of its lines). */
size_t		 log_subjects_mark(void);
void		 log_subjects_release(size_t mark);

/* Parses "error", "warn", "info" or "debug"; returns -1 if unknown. */
int	log_level_from_name(const char *name, enum log_level *out);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * The journal fields of a line's text: for each KEY=VALUE word (KEY a
 * lower-case letter, then lower-case letters, digits and '_'; VALUE up to
 * the next space, or double-quoted), calls fn with the field name (KEY in
 * upper case; NWD_KEY if the journal gives KEY a meaning of its own, such
 * as MESSAGE or PRIORITY) and the value (quotes removed), neither
 * NUL-terminated.  Other words are skipped.
 */
void	log_journal_fields(const char *text, void (*fn)(const char *name,
	    size_t namelen, const char *value, size_t valuelen, void *arg),
	    void *arg);

/* Logs and exits 1: only for broken internal invariants. */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
