/*
 * migrate: applies deploy/sql/NNN_name.sql in order, before the event loop
 * starts.  Blocking libpq is fine here and nowhere else.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"
#include "migrate.h"

#define MIGRATE_FILE_MAX	(16 * 1024 * 1024)
/* pg_advisory_lock key: serialises daemons migrating the same database. */
#define MIGRATE_LOCK_KEY	"7236014651235512421"

struct migration {
	int	 version;
	char	*name;		/* owned; file name, e.g. "001_init.sql" */
};

static void
migrate_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
migrate_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;
	size_t	len;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* libpq messages end in a newline. */
	len = strlen(err);
	while (len > 0 && (err[len - 1] == '\n' || err[len - 1] == ' '))
		err[--len] = '\0';
}

/* Routes server notices (e.g. "schema already exists") to the log. */
static void
migrate_notice(void *arg, const PGresult *res)
{
	const char	*sev, *msg;

	sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (msg == NULL)
		return;
	if (sev != NULL && strcmp(sev, "WARNING") == 0)
		log_warnx("migrate: server warning=\"%s\""
		    " event=migrate_server_warning", msg);
	else
		log_debug("migrate: server notice=\"%s\""
		    " event=migrate_server_notice", msg);
}

/*
 * Runs sql; returns 0 if it succeeded, else -1 with what (a file name or a
 * description of the step) and the server's message in err.
 */
static int
migrate_exec(PGconn *conn, const char *sql, const char *what, char *err,
    size_t errlen)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(conn, sql);
	ok = res != NULL && (PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK);
	if (!ok)
		migrate_err(err, errlen, "%s: %s", what, PQerrorMessage(conn));
	PQclear(res);
	return ok ? 0 : -1;
}

/* Returns the version of "NNN_name.sql", or -1 if name is not a migration. */
static int
migrate_parse_name(const char *name)
{
	size_t	 len = strlen(name), i;
	int	 v = 0;

	if (len < 4 || strcmp(name + len - 4, ".sql") != 0)
		return -1;
	for (i = 0; name[i] >= '0' && name[i] <= '9'; i++) {
		if (i >= 6)
			return -1;
		v = v * 10 + (name[i] - '0');
	}
	if (i < 3 || name[i] != '_')
		return -1;
	return v;
}

static int
migrate_cmp(const void *a, const void *b)
{
	const struct migration *ma = a, *mb = b;

	return (ma->version > mb->version) - (ma->version < mb->version);
}

static void
migrate_list_free(struct migration *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(list[i].name);
	free(list);
}

/*
 * Lists the migrations in dir sorted by version.  On success *out (owned by
 * the caller, free with migrate_list_free) holds *nout entries.
 */
static int
migrate_list(const char *dir, struct migration **out, size_t *nout,
    char *err, size_t errlen)
{
	DIR			*d;
	struct dirent		*de;
	struct migration	*list = NULL, *tmp;
	size_t			 n = 0, cap = 0, i;
	int			 v;

	if ((d = opendir(dir)) == NULL) {
		migrate_err(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if ((v = migrate_parse_name(de->d_name)) < 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((tmp = reallocarray(list, cap, sizeof(*list))) ==
			    NULL)
				goto nomem;
			list = tmp;
		}
		if ((list[n].name = strdup(de->d_name)) == NULL)
			goto nomem;
		list[n++].version = v;
	}
	closedir(d);
	qsort(list, n, sizeof(*list), migrate_cmp);
	for (i = 1; i < n; i++) {
		if (list[i].version == list[i - 1].version) {
			migrate_err(err, errlen, "%s/%s: version %d also used "
			    "by %s", dir, list[i].name, list[i].version,
			    list[i - 1].name);
			migrate_list_free(list, n);
			return -1;
		}
	}
	*out = list;
	*nout = n;
	return 0;

 nomem:
	closedir(d);
	migrate_list_free(list, n);
	migrate_err(err, errlen, "%s: out of memory", dir);
	return -1;
}

/* Reads path into a new NUL-terminated string owned by the caller. */
static char *
migrate_read(const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	struct stat	 st;
	char		*text;
	size_t		 len;

	if ((fp = fopen(path, "r")) == NULL) {
		migrate_err(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(fp), &st) == -1) {
		migrate_err(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		return NULL;
	}
	if (st.st_size > MIGRATE_FILE_MAX) {
		migrate_err(err, errlen, "%s: larger than %d bytes", path,
		    MIGRATE_FILE_MAX);
		fclose(fp);
		return NULL;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		migrate_err(err, errlen, "%s: out of memory", path);
		fclose(fp);
		return NULL;
	}
	len = fread(text, 1, (size_t)st.st_size, fp);
	if (ferror(fp) || len != (size_t)st.st_size) {
		migrate_err(err, errlen, "%s: short read", path);
		free(text);
		fclose(fp);
		return NULL;
	}
	fclose(fp);
	text[len] = '\0';
	if (strlen(text) != len) {
		migrate_err(err, errlen, "%s: contains a NUL byte", path);
		free(text);
		return NULL;
	}
	return text;
}

static int
migrate_applied(PGconn *conn, int version, int *applied, char *err,
    size_t errlen)
{
	PGresult	*res;
	char		 vbuf[16];
	const char	*params[1] = { vbuf };

	snprintf(vbuf, sizeof(vbuf), "%d", version);
	res = PQexecParams(conn, "SELECT 1 FROM nwd.schema_migrations "
	    "WHERE version = $1::int", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		migrate_err(err, errlen, "reading nwd.schema_migrations: %s",
		    PQerrorMessage(conn));
		PQclear(res);
		return -1;
	}
	*applied = PQntuples(res) > 0;
	PQclear(res);
	return 0;
}

/* Applies one migration in its own transaction. */
static int
migrate_apply(PGconn *conn, const char *dir, const struct migration *m,
    char *err, size_t errlen)
{
	PGresult	*res;
	char		*path, *text = NULL;
	char		 vbuf[16];
	const char	*params[2] = { vbuf, m->name };
	size_t		 len;
	int		 rv = -1;

	len = strlen(dir) + 1 + strlen(m->name) + 1;
	if ((path = malloc(len)) == NULL) {
		migrate_err(err, errlen, "%s: out of memory", m->name);
		return -1;
	}
	snprintf(path, len, "%s/%s", dir, m->name);
	if ((text = migrate_read(path, err, errlen)) == NULL)
		goto done;
	if (migrate_exec(conn, "BEGIN", path, err, errlen) == -1)
		goto done;
	if (migrate_exec(conn, text, path, err, errlen) == -1)
		goto rollback;
	snprintf(vbuf, sizeof(vbuf), "%d", m->version);
	res = PQexecParams(conn, "INSERT INTO nwd.schema_migrations "
	    "(version, name) VALUES ($1::int, $2)", 2, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		migrate_err(err, errlen, "%s: recording it: %s", path,
		    PQerrorMessage(conn));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	if (migrate_exec(conn, "COMMIT", path, err, errlen) == -1)
		goto rollback;
	if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
		migrate_err(err, errlen, "%s: left a transaction open (does "
		    "it contain BEGIN or COMMIT?)", path);
		goto rollback;
	}
	log_info("migrate: applied file=%s version=%d"
	    " event=migrate_applied", m->name, m->version);
	rv = 0;
	goto done;

 rollback:
	res = PQexec(conn, "ROLLBACK");
	PQclear(res);
 done:
	free(text);
	free(path);
	return rv;
}

int
migrate_run(const char *conninfo, const char *dir, char *err, size_t errlen)
{
	PGconn			*conn;
	struct migration	*list = NULL;
	size_t			 n = 0, i;
	int			 applied, count = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (migrate_list(dir, &list, &n, err, errlen) == -1)
		return -1;

	conn = PQconnectdb(conninfo);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		migrate_err(err, errlen, "connecting to the database: %s",
		    conn != NULL ? PQerrorMessage(conn) : "out of memory");
		goto fail;
	}
	PQsetErrorVerbosity(conn, PQERRORS_DEFAULT);
	PQsetNoticeReceiver(conn, migrate_notice, NULL);

	if (migrate_exec(conn, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY
	    ")", "taking the migration lock", err, errlen) == -1 ||
	    migrate_exec(conn, "CREATE SCHEMA IF NOT EXISTS nwd",
	    "creating schema nwd", err, errlen) == -1 ||
	    migrate_exec(conn, "CREATE TABLE IF NOT EXISTS "
	    "nwd.schema_migrations (version int PRIMARY KEY, "
	    "name text NOT NULL, "
	    "applied_at timestamptz NOT NULL DEFAULT now())",
	    "creating nwd.schema_migrations", err, errlen) == -1)
		goto fail;

	for (i = 0; i < n; i++) {
		if (migrate_applied(conn, list[i].version, &applied, err,
		    errlen) == -1)
			goto fail;
		if (applied)
			continue;
		if (migrate_apply(conn, dir, &list[i], err, errlen) == -1)
			goto fail;
		count++;
	}
	PQfinish(conn);
	migrate_list_free(list, n);
	return count;

 fail:
	PQfinish(conn);
	migrate_list_free(list, n);
	return -1;
}
