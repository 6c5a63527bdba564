/*
 * log: operator logs on stderr (the journal under systemd), one line per
 * event in key=value form.  Never pass message bodies or intelligence here;
 * name principals, actions, message ids and reasons.
 *
 * A line is "TIME level=LEVEL KEY=VALUE ...", TIME in UTC to the
 * millisecond.  When stderr is the journal ($JOURNAL_STREAM names it) the
 * time is left to the journal and the line starts "<N>" (the syslog
 * priority, which journald takes as PRIORITY=) instead.  The conventions
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
/* Parses "error", "warn", "info" or "debug"; returns -1 if unknown. */
int	log_level_from_name(const char *name, enum log_level *out);

void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs and exits 1: only for broken internal invariants. */
void	fatalx(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
