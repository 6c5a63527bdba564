/*
 * migrate: applies the numbered SQL migrations (NNN_name.sql, in order) to
 * the database as the owner role.  Runs before the event loop starts, so it
 * uses libpq's blocking API.  Each migration runs in its own transaction and
 * is recorded in nwd.schema_migrations; applied ones are skipped, so running
 * it twice is harmless.
 */
#ifndef NWD_MIGRATE_H
#define NWD_MIGRATE_H

#include <stddef.h>

/*
 * Applies every pending migration in dir.  Returns the number applied (0 if
 * the schema was current), or -1 with the file and the database's message
 * in err.
 */
int	migrate_run(const char *conninfo, const char *dir, char *err,
	    size_t errlen);

#endif
