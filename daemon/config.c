#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "envelope.h"
#include "log.h"
#include "utf8.h"

#define CONFIG_MAX_BYTES	(1024 * 1024)

enum key_type { K_STRING, K_PATH, K_UINT, K_SIZE, K_LISTEN, K_TLSVER,
	K_IDFIELD, K_LOGLEVEL, K_PATHLIST, K_RETENTION, K_METRICS,
	K_CONSOLE, K_BOOL };

struct key {
	const char	*name;
	enum key_type	 type;
	size_t		 offset;
	const char	*deflt;		/* NULL = required */
	unsigned long	 min, max;	/* for numbers */
	const char	*help;
};

#define OFF(m) offsetof(struct config, m)

static const struct key keys[] = {
	{ "instance", K_STRING, OFF(instance), "nwdd-1", 0, 0,
	  "name of this daemon instance in every audit row; held "
	  "exclusively while it runs (a second nwdd with the same name on "
	  "the database refuses to start); instances sharing one database "
	  "decide and deliver together" },
	{ "listen", K_LISTEN, 0, "127.0.0.1:7443", 0, 0,
	  "address and port for mutual-TLS clients (host:port)" },
	{ "metrics_listen", K_METRICS, 0, "", 0, 0,
	  "loopback address and port of the HTTP endpoint for /metrics "
	  "(Prometheus) and /healthz, e.g. 127.0.0.1:9464; empty = off" },
	{ "console_listen", K_CONSOLE, 0, "", 0, 0,
	  "address and port of the auditor's console (HTTPS, client "
	  "certificates of tls_ca, as listen), e.g. 127.0.0.1:8443; empty = "
	  "no console" },
	{ "console_roles", K_STRING, OFF(console_roles), "auditor", 0, 0,
	  "roles whose principals may use the console, comma-separated" },
	{ "labels", K_PATH, OFF(labels), "", 0, 0,
	  "plain-language labels of kinds, roles, agencies and reasons for "
	  "the console (prefix.name = words lines); empty = none" },
	{ "sar_labels", K_PATH, OFF(sar_labels), "", 0, 0,
	  "words of the console's subject-access reports, as nwd sar "
	  "--release --labels takes them (deploy/sar-labels.conf); empty = "
	  "names made readable (what is withheld stays withheld)" },
	{ "tls_cert", K_PATH, OFF(tls_cert), NULL, 0, 0,
	  "server certificate chain (PEM)" },
	{ "tls_key", K_PATH, OFF(tls_key), NULL, 0, 0,
	  "server private key (PEM); must not be readable by others" },
	{ "tls_ca", K_PATH, OFF(tls_ca), NULL, 0, 0,
	  "CA certificate(s) that client certificates must chain to" },
	{ "tls_crl", K_PATH, OFF(tls_crl), NULL, 0, 0,
	  "CRLs (PEM) of the tls_ca CAs, one for each, current; \"none\" "
	  "only to run without revocation checks, knowingly" },
	{ "tls_min_version", K_TLSVER, 0, "1.3", 0, 0,
	  "lowest TLS version accepted: 1.3, or 1.2 if clients need it" },
	{ "identity_field", K_IDFIELD, 0, "cn", 0, 0,
	  "client certificate field mapped to a principal: cn or "
	  "fingerprint (sha256)" },
	{ "principals", K_PATH, OFF(principals), NULL, 0, 0,
	  "principal mapping file (identity -> id, role, agency, teams, "
	  "clearance)" },
	{ "policy", K_PATH, OFF(policy), NULL, 0, 0,
	  "sharing policy file" },
	{ "database", K_STRING, OFF(database), NULL, 0, 0,
	  "libpq connection string for the daemon's role; may name several "
	  "hosts with target_session_attrs=read-write to follow a failover" },
	{ "migrate_database", K_STRING, OFF(migrate_database), "", 0, 0,
	  "libpq connection string for the owner role (nwdd --migrate)" },
	{ "migrations", K_PATH, OFF(migrations_dir), "sql", 0, 0,
	  "directory of numbered SQL migrations" },
	{ "log_level", K_LOGLEVEL, 0, "info", 0, 0,
	  "error, warn, info or debug" },
	{ "log_subjects", K_BOOL, OFF(log_subjects), "yes", 0, 0,
	  "yes or no: with no, child identifiers (subject ids, NHS numbers) "
	  "are written as \"-\" in the log, even inside a refusal's "
	  "reason; the audit trail keeps them" },
	{ "max_connections", K_UINT, OFF(max_connections), "1024", 1, 1000000,
	  "most client connections at once" },
	{ "max_connections_per_principal", K_UINT,
	  OFF(max_connections_per_principal), "64", 0, 1000000,
	  "most sessions one principal may hold at once; 0 = no limit" },
	{ "max_frame", K_UINT, OFF(max_frame), "1048576", 1024, 64 << 20,
	  "largest frame payload accepted or sent, in bytes" },
	{ "max_subscriptions", K_UINT, OFF(max_subscriptions), "64", 1, 100000,
	  "most subscriptions per session" },
	{ "max_durable_per_principal", K_UINT, OFF(max_durable_per_principal),
	  "32", 1, 100000,
	  "most durable subscriptions one principal may hold" },
	{ "max_output_buffer", K_SIZE, OFF(max_output_buffer), "8388608",
	  65536, 1UL << 30,
	  "bytes queued to one client before it is cut off as too slow" },
	{ "handshake_timeout", K_UINT, OFF(handshake_timeout), "10", 1, 3600,
	  "seconds a client has to finish TLS and Hello" },
	{ "idle_timeout", K_UINT, OFF(idle_timeout), "300", 1, 86400,
	  "seconds without a frame before a session is closed" },
	{ "store_queue_max", K_UINT, OFF(store_queue_max), "10000", 1, 10000000,
	  "batches that may wait for the database before publishes are "
	  "refused" },
	{ "store_queue_max_bytes", K_SIZE, OFF(store_queue_max_bytes),
	  "67108864", 1048576, 1UL << 40,
	  "bytes (sealed bodies and the copies for recipients) that may wait "
	  "for the database before publishes are refused; HIGH and URGENT "
	  "publishes may use the last quarter" },
	{ "store_hold_max_bytes", K_SIZE, OFF(store_hold_max_bytes),
	  "16777216", 65536, 1UL << 40,
	  "bytes of audit rows held while the database is away, written "
	  "when it returns; new sessions are refused once three quarters "
	  "are used" },
	{ "calendar", K_PATH, OFF(calendar), "", 0, 0,
	  "working days and school days for deadline rules (nwd-calendar(5)); "
	  "empty = none" },
	{ "test_clock", K_PATH, OFF(test_clock), "", 0, 0,
	  "tests only: a file of Unix milliseconds that is the wall clock; "
	  "empty = the real clock" },
	{ "max_publishes_in_flight", K_UINT, OFF(max_publishes_in_flight),
	  "256", 1, 1000000,
	  "publishes of one session waiting for the database at once" },
	{ "max_publishes_in_flight_per_principal", K_UINT,
	  OFF(max_publishes_in_flight_per_principal), "1024", 1, 10000000,
	  "publishes of one principal's sessions waiting for the database at "
	  "once" },
	{ "replay_max_bytes", K_SIZE, OFF(replay_max_bytes), "16777216",
	  1048576, 1UL << 40,
	  "bytes of durable-queue pages all replays may hold at once" },
	{ "db_reconnect_max", K_UINT, OFF(db_reconnect_max), "10", 1, 3600,
	  "longest wait between database reconnect attempts, seconds" },
	{ "body_key", K_PATHLIST, OFF(body_keys), NULL, 0, 0,
	  "key files sealing message bodies at rest (AES-256-GCM), "
	  "comma-separated; the first seals, all open" },
	{ "audit_signing_key", K_PATH, OFF(audit_signing_key), NULL, 0, 0,
	  "Ed25519 private key (PEM) that signs audit chain checkpoints" },
	{ "checkpoint_rows", K_UINT, OFF(checkpoint_rows), "1000", 1, 100000000,
	  "audit rows between signed checkpoints" },
	{ "checkpoint_interval", K_UINT, OFF(checkpoint_interval), "60", 1,
	  86400, "longest time between signed checkpoints, seconds" },
	{ "state_directory", K_PATH, OFF(state_directory), "/var/lib/nwd", 0,
	  0, "directory of the files that anchor the audit chain outside "
	  "the database: INSTANCE.state (the chain head nwdd committed) and "
	  "INSTANCE.anchors (every checkpoint it signed)" },
	{ "retention", K_RETENTION, 0, "default:2555", 0, 0,
	  "days message bodies are kept, per kind: default:DAYS, KIND:DAYS, "
	  "..." },
	{ "purge_interval", K_UINT, OFF(purge_interval), "3600", 1, 86400 * 7,
	  "seconds between purges of expired bodies" },
	{ "user", K_STRING, OFF(user), "", 0, 0,
	  "account to run as: started as root, nwdd binds, reads its keys, "
	  "then switches to it for good; root refuses to start without it "
	  "(\"root\" keeps root, not recommended)" },
	{ "group", K_STRING, OFF(group), "", 0, 0,
	  "group to run as with user; empty = the user's primary group" },
	{ "drain_timeout", K_UINT, OFF(drain_timeout), "10", 1, 3600,
	  "seconds from SIGTERM to exit: in-flight publishes are committed "
	  "and answered, sessions get Goodbye" },
	{ "db_stall_timeout", K_UINT, OFF(db_stall_timeout), "60", 1, 86400,
	  "seconds a database round trip may take before the systemd "
	  "watchdog pings stop (systemd then restarts nwdd)" },
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(NKEYS <= CONFIG_MAX_KEYS, "CONFIG_MAX_KEYS is too small");

static int
fail(char *err, size_t errlen, const char *name, int line,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int
fail(char *err, size_t errlen, const char *name, int line,
    const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = line > 0 ? snprintf(err, errlen, "%s:%d: ", name, line) :
	    snprintf(err, errlen, "%s: ", name);
	if (n < 0 || (size_t)n >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static char *
resolve_path(const char *basedir, const char *v)
{
	char	*p;

	if (v[0] == '\0' || v[0] == '/' || basedir == NULL)
		return strdup(v);
	if (asprintf(&p, "%s/%s", basedir, v) == -1)
		return NULL;
	return p;
}

/*
 * A file value: "credential:NAME" is NAME in $CREDENTIALS_DIRECTORY, the
 * rest as resolve_path().  Returns the path, or NULL with the cause in err.
 */
static char *
resolve_file(const char *basedir, const char *v, char *err, size_t errlen)
{
	const char	*name, *dir;
	char		*p;

	if (strncmp(v, "credential:", 11) != 0) {
		if ((p = resolve_path(basedir, v)) == NULL)
			snprintf(err, errlen, "out of memory");
		return p;
	}
	name = v + 11;
	if (*name == '\0' || strchr(name, '/') != NULL ||
	    strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(err, errlen, "\"%s\" must name a credential, e.g. "
		    "credential:tls.key (no '/')", v);
		return NULL;
	}
	if ((dir = getenv("CREDENTIALS_DIRECTORY")) == NULL || *dir == '\0') {
		snprintf(err, errlen, "\"%s\" names a systemd credential, but "
		    "$CREDENTIALS_DIRECTORY is not set (start nwdd from a unit "
		    "with LoadCredential=%s:FILE, or give a path)", v, name);
		return NULL;
	}
	if (asprintf(&p, "%s/%s", dir, name) == -1) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return p;
}

static int
parse_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char		*end;
	unsigned long	 n;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* "default:DAYS, KIND:DAYS, ..." into c->retention_days. */
static int
set_retention(struct config *c, const char *v, char *err, size_t errlen)
{
	uint32_t	 days[CONFIG_NKINDS], deflt = 0;
	unsigned char	 set[CONFIG_NKINDS];
	char		*copy, *item, *save = NULL, *colon, *name;
	unsigned long	 n;
	Nwd__V1__Kind	 k;
	int		 i, rc = -1, have_default = 0;

	memset(set, 0, sizeof(set));
	memset(days, 0, sizeof(days));
	if ((copy = strdup(v)) == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		name = item;
		if ((colon = strchr(item, ':')) == NULL) {
			snprintf(err, errlen, "retention entries are KIND:DAYS "
			    "or default:DAYS, not \"%s\"", item);
			goto done;
		}
		*colon = '\0';
		if (parse_uint(colon + 1, 1, 365 * 100, &n) == -1) {
			snprintf(err, errlen, "retention for %s must be 1 to "
			    "36500 days, not \"%s\"", name, colon + 1);
			goto done;
		}
		if (strcmp(name, "default") == 0) {
			deflt = (uint32_t)n;
			have_default = 1;
		} else if (envelope_kind_from_name(name, &k) == 0 &&
		    (int)k < CONFIG_NKINDS) {
			days[k] = (uint32_t)n;
			set[k] = 1;
		} else {
			snprintf(err, errlen, "retention names \"%s\", which "
			    "is not a kind", name);
			goto done;
		}
	}
	if (!have_default) {
		snprintf(err, errlen, "retention needs a default:DAYS entry");
		goto done;
	}
	for (i = 0; i < CONFIG_NKINDS; i++)
		c->retention_days[i] = set[i] ? days[i] : deflt;
	rc = 0;
done:
	free(copy);
	return rc;
}

/* Resolves each comma-separated path; stores them comma-joined. */
static int
set_pathlist(char **slot, const char *basedir, const char *v, char *err,
    size_t errlen)
{
	char	*copy, *item, *save = NULL, *p, *out = NULL, *joined;
	size_t	 len = 0;

	if ((copy = strdup(v)) == NULL)
		return snprintf(err, errlen, "out of memory"), -1;
	for (item = strtok_r(copy, ",", &save); item != NULL;
	    item = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*item))
			item++;
		if (*item == '\0')
			continue;
		if ((p = resolve_file(basedir, item, err, errlen)) == NULL) {
			free(out);
			free(copy);
			return -1;
		}
		if (asprintf(&joined, "%s%s%s", out != NULL ? out : "",
		    out != NULL ? "," : "", p) == -1) {
			free(p);
			free(out);
			free(copy);
			return snprintf(err, errlen, "out of memory"), -1;
		}
		free(p);
		free(out);
		out = joined;
		len++;
	}
	free(copy);
	if (len == 0) {
		free(out);
		return snprintf(err, errlen, "needs at least one file"), -1;
	}
	free(*slot);
	*slot = out;
	return 0;
}

/*
 * metrics_listen: empty (off) or a loopback IP literal and a port,
 * "127.0.0.1:9464" or "[::1]:9464".  The endpoint has no authentication,
 * so another address is refused: scrapers elsewhere go through a proxy.
 */
static int
set_metrics_listen(struct config *c, const char *v, char *err, size_t errlen)
{
	struct in_addr	 a4;
	struct in6_addr	 a6;
	const char	*colon = strrchr(v, ':');
	char		*host = NULL, *port = NULL;
	unsigned long	 n;

	if (*v == '\0') {
		host = strdup("");
		port = strdup("");
	} else {
		if (colon == NULL || colon == v ||
		    parse_uint(colon + 1, 1, 65535, &n) == -1) {
			snprintf(err, errlen, "metrics_listen must be "
			    "host:port with a port from 1 to 65535, or empty, "
			    "not \"%s\"", v);
			return -1;
		}
		if (v[0] == '[' && colon[-1] == ']' && colon - v > 2)
			host = strndup(v + 1, colon - v - 2);
		else
			host = strndup(v, colon - v);
		port = strdup(colon + 1);
		if (host != NULL && !(inet_pton(AF_INET, host, &a4) == 1 &&
		    (ntohl(a4.s_addr) >> 24) == 127) &&
		    !(inet_pton(AF_INET6, host, &a6) == 1 &&
		    IN6_IS_ADDR_LOOPBACK(&a6))) {
			snprintf(err, errlen, "metrics_listen must be a "
			    "loopback address (127.x.x.x or [::1]), not \"%s\": "
			    "the endpoint has no authentication", host);
			free(host);
			free(port);
			return -1;
		}
	}
	if (host == NULL || port == NULL) {
		free(host);
		free(port);
		return snprintf(err, errlen, "out of memory"), -1;
	}
	free(c->metrics_host);
	free(c->metrics_port);
	c->metrics_host = host;
	c->metrics_port = port;
	return 0;
}

/* console_listen: empty (off) or host:port, any address (TLS with client
 * certificates, as listen). */
static int
set_console_listen(struct config *c, const char *v, char *err, size_t errlen)
{
	const char	*colon = strrchr(v, ':');
	char		*host, *port;
	unsigned long	 n;

	if (*v == '\0') {
		host = strdup("");
		port = strdup("");
	} else {
		if (colon == NULL || colon == v ||
		    parse_uint(colon + 1, 1, 65535, &n) == -1) {
			snprintf(err, errlen, "console_listen must be "
			    "host:port with a port from 1 to 65535, or empty, "
			    "not \"%s\"", v);
			return -1;
		}
		if (v[0] == '[' && colon[-1] == ']' && colon - v > 2)
			host = strndup(v + 1, colon - v - 2);
		else
			host = strndup(v, colon - v);
		port = strdup(colon + 1);
	}
	if (host == NULL || port == NULL) {
		free(host);
		free(port);
		return snprintf(err, errlen, "out of memory"), -1;
	}
	free(c->console_host);
	free(c->console_port);
	c->console_host = host;
	c->console_port = port;
	return 0;
}

/* Sets one key; returns 0 or -1 with the cause (without file:line) in err. */
static int
set_key(struct config *c, const struct key *k, const char *v,
    const char *basedir, char *err, size_t errlen)
{
	unsigned long	  n;
	char		**sp;
	char		 *colon, *copy, cause[400];

	switch (k->type) {
	case K_STRING:
	case K_PATH:
		sp = (char **)((char *)c + k->offset);
		if (k->type == K_PATH && k->offset == OFF(tls_crl) &&
		    strcmp(v, "none") == 0) {
			/* Said explicitly: no revocation check at all. */
			if ((copy = strdup("")) == NULL)
				return snprintf(err, errlen, "out of memory"),
				    -1;
		} else if (k->type == K_PATH) {
			if ((copy = resolve_file(basedir, v, cause,
			    sizeof(cause))) == NULL)
				return snprintf(err, errlen, "%s: %s", k->name,
				    cause), -1;
		} else if ((copy = strdup(v)) == NULL)
			return snprintf(err, errlen, "out of memory"), -1;
		free(*sp);
		*sp = copy;
		return 0;
	case K_UINT:
	case K_SIZE:
		if (parse_uint(v, k->min, k->max, &n) == -1) {
			snprintf(err, errlen, "%s must be a whole number from "
			    "%lu to %lu, not \"%s\"", k->name, k->min, k->max,
			    v);
			return -1;
		}
		if (k->type == K_UINT)
			*(uint32_t *)((char *)c + k->offset) = (uint32_t)n;
		else
			*(size_t *)((char *)c + k->offset) = (size_t)n;
		return 0;
	case K_LISTEN:
		colon = strrchr(v, ':');
		if (colon == NULL || colon == v ||
		    parse_uint(colon + 1, 1, 65535, &n) == -1) {
			snprintf(err, errlen, "listen must be host:port "
			    "with a port from 1 to 65535, not \"%s\"", v);
			return -1;
		}
		free(c->listen_host);
		free(c->listen_port);
		if (v[0] == '[' && colon[-1] == ']' && colon - v > 2)
			c->listen_host = strndup(v + 1, colon - v - 2);
		else
			c->listen_host = strndup(v, colon - v);
		c->listen_port = strdup(colon + 1);
		if (c->listen_host == NULL || c->listen_port == NULL)
			return snprintf(err, errlen, "out of memory"), -1;
		return 0;
	case K_TLSVER:
		if (strcmp(v, "1.3") == 0)
			c->tls_min_version = 13;
		else if (strcmp(v, "1.2") == 0)
			c->tls_min_version = 12;
		else {
			snprintf(err, errlen, "tls_min_version must be 1.3 or "
			    "1.2, not \"%s\"", v);
			return -1;
		}
		return 0;
	case K_IDFIELD:
		if (strcmp(v, "cn") == 0)
			c->identity_field = IDENTITY_FIELD_CN;
		else if (strcmp(v, "fingerprint") == 0)
			c->identity_field = IDENTITY_FIELD_FINGERPRINT;
		else {
			snprintf(err, errlen, "identity_field must be cn or "
			    "fingerprint, not \"%s\"", v);
			return -1;
		}
		return 0;
	case K_PATHLIST:
		return set_pathlist((char **)((char *)c + k->offset), basedir,
		    v, err, errlen);
	case K_RETENTION:
		return set_retention(c, v, err, errlen);
	case K_METRICS:
		return set_metrics_listen(c, v, err, errlen);
	case K_CONSOLE:
		return set_console_listen(c, v, err, errlen);
	case K_BOOL:
		if (strcmp(v, "yes") == 0)
			*(int *)((char *)c + k->offset) = 1;
		else if (strcmp(v, "no") == 0)
			*(int *)((char *)c + k->offset) = 0;
		else {
			snprintf(err, errlen, "%s must be yes or no, not "
			    "\"%s\"", k->name, v);
			return -1;
		}
		return 0;
	case K_LOGLEVEL: {
		enum log_level lvl;

		if (log_level_from_name(v, &lvl) == -1) {
			snprintf(err, errlen, "log_level must be error, warn, "
			    "info or debug, not \"%s\"", v);
			return -1;
		}
		c->log_level = lvl;
		return 0;
	}
	}
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

struct config *
config_parse(const char *text, size_t len, const char *name,
    const char *basedir, char *err, size_t errlen)
{
	struct config	*c;
	char		*buf = NULL, *line, *next, *eq, *k, *v;
	char		 cause[512];
	unsigned char	 seen[NKEYS];
	size_t		 i;
	int		 lineno = 0, bad_col;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(name)) == NULL) {
		free(c);
		fail(err, errlen, name, 0, "out of memory");
		return NULL;
	}
	if (!utf8_text_valid(text, len, &lineno, &bad_col)) {
		fail(err, errlen, name, lineno, "not valid UTF-8 (byte %d of "
		    "the line)", bad_col);
		goto bad;
	}
	lineno = 0;
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].deflt != NULL && set_key(c, &keys[i],
		    keys[i].deflt, basedir, cause, sizeof(cause)) == -1) {
			fail(err, errlen, name, 0, "default: %s", cause);
			goto bad;
		}
	}
	memset(seen, 0, sizeof(seen));
	if ((buf = strndup(text, len)) == NULL) {
		fail(err, errlen, name, 0, "out of memory");
		goto bad;
	}
	if (strlen(buf) != len) {
		fail(err, errlen, name, 0, "contains a NUL byte");
		goto bad;
	}
	for (line = buf; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((k = strchr(line, '#')) != NULL)
			*k = '\0';
		k = trim(line);
		if (*k == '\0')
			continue;
		if ((eq = strchr(k, '=')) == NULL) {
			fail(err, errlen, name, lineno, "expected \"key = "
			    "value\", got \"%.60s\"", k);
			goto bad;
		}
		*eq = '\0';
		k = trim(k);
		v = trim(eq + 1);
		for (i = 0; i < NKEYS; i++)
			if (strcmp(k, keys[i].name) == 0)
				break;
		if (i == NKEYS) {
			fail(err, errlen, name, lineno, "unknown key \"%.60s\" "
			    "(nwdd --help lists the keys)", k);
			goto bad;
		}
		if (seen[i]) {
			fail(err, errlen, name, lineno, "%s is set twice",
			    keys[i].name);
			goto bad;
		}
		seen[i] = 1;
		c->lines[i] = lineno;
		if (*v == '\0' && keys[i].deflt == NULL) {
			fail(err, errlen, name, lineno, "%s needs a value",
			    keys[i].name);
			goto bad;
		}
		if (set_key(c, &keys[i], v, basedir, cause,
		    sizeof(cause)) == -1) {
			fail(err, errlen, name, lineno, "%s", cause);
			goto bad;
		}
	}
	for (i = 0; i < NKEYS; i++) {
		if (keys[i].deflt == NULL && !seen[i]) {
			fail(err, errlen, name, 0, "%s is required (%s)",
			    keys[i].name, keys[i].help);
			goto bad;
		}
	}
	if (c->tls_crl[0] == '\0') {
		free(c->tls_crl);
		c->tls_crl = NULL;
	}
	if (c->labels[0] == '\0') {
		free(c->labels);
		c->labels = NULL;
	}
	if (c->sar_labels[0] == '\0') {
		free(c->sar_labels);
		c->sar_labels = NULL;
	}
	if (c->calendar[0] == '\0') {
		free(c->calendar);
		c->calendar = NULL;
	}
	if (c->test_clock[0] == '\0') {
		free(c->test_clock);
		c->test_clock = NULL;
	}
	free(buf);
	return c;
bad:
	free(buf);
	config_free(c);
	return NULL;
}

int
config_line(const struct config *c, const char *key)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, key) == 0)
			return c->lines[i];
	return 0;
}

/* Opens path for reading and closes it; 0, or -1 with errno set. */
static int
readable(const char *path)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	close(fd);
	return 0;
}

int
config_check_files(const struct config *c, char *err, size_t errlen)
{
	const struct key	*k;
	const char		*v;
	char			*copy, *item, *save = NULL;
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < NKEYS && rc == 0; i++) {
		k = &keys[i];
		/* state_directory is made at start; migrations is read by
		 * --migrate alone, which names a missing one itself. */
		if ((k->type != K_PATH && k->type != K_PATHLIST) ||
		    k->offset == OFF(state_directory) ||
		    k->offset == OFF(migrations_dir))
			continue;
		v = *(char * const *)((const char *)c + k->offset);
		if (v == NULL || *v == '\0')
			continue;
		if ((copy = strdup(v)) == NULL)
			return snprintf(err, errlen, "out of memory"), -1;
		/* A list is comma-separated; a single path is taken whole. */
		for (item = k->type == K_PATHLIST ? strtok_r(copy, ",", &save) :
		    copy; item != NULL; item = k->type == K_PATHLIST ?
		    strtok_r(NULL, ",", &save) : NULL) {
			if (readable(item) == 0)
				continue;
			if (c->lines[i] > 0)
				fail(err, errlen, c->path, c->lines[i],
				    "%s: %s: %s", k->name, item,
				    strerror(errno));
			else
				fail(err, errlen, c->path, 0, "%s (default): "
				    "%s: %s", k->name, item, strerror(errno));
			rc = -1;
			break;
		}
		free(copy);
	}
	return rc;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	char		*text = NULL, *slash, *basedir = NULL;
	size_t		 len;
	long		 size;
	struct config	*c = NULL;

	if ((fp = fopen(path, "r")) == NULL) {
		fail(err, errlen, path, 0, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (size = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1) {
		fail(err, errlen, path, 0, "cannot read: %s", strerror(errno));
		goto done;
	}
	if (size > CONFIG_MAX_BYTES) {
		fail(err, errlen, path, 0, "is %ld bytes; a configuration "
		    "file may be at most %d", size, CONFIG_MAX_BYTES);
		goto done;
	}
	if ((text = malloc(size + 1)) == NULL) {
		fail(err, errlen, path, 0, "out of memory");
		goto done;
	}
	len = fread(text, 1, size, fp);
	if (ferror(fp)) {
		fail(err, errlen, path, 0, "cannot read: %s", strerror(errno));
		goto done;
	}
	if ((basedir = strdup(path)) == NULL) {
		fail(err, errlen, path, 0, "out of memory");
		goto done;
	}
	if ((slash = strrchr(basedir, '/')) != NULL)
		*slash = '\0';
	else
		strcpy(basedir, ".");
	c = config_parse(text, len, path, basedir, err, errlen);
done:
	free(basedir);
	free(text);
	fclose(fp);
	return c;
}

void
config_free(struct config *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->instance);
	free(c->listen_host);
	free(c->listen_port);
	free(c->metrics_host);
	free(c->metrics_port);
	free(c->console_host);
	free(c->console_port);
	free(c->console_roles);
	free(c->tls_cert);
	free(c->tls_key);
	free(c->tls_ca);
	free(c->tls_crl);
	free(c->calendar);
	free(c->labels);
	free(c->sar_labels);
	free(c->test_clock);
	free(c->principals);
	free(c->policy);
	free(c->database);
	free(c->migrate_database);
	free(c->migrations_dir);
	free(c->body_keys);
	free(c->audit_signing_key);
	free(c->state_directory);
	free(c->user);
	free(c->group);
	free(c);
}

void
config_print_reference(void *fp)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		fprintf(fp, "  %-20s %s%s%s%s%s\n", keys[i].name, keys[i].help,
		    keys[i].deflt == NULL ? " (required)" : "",
		    keys[i].deflt != NULL && keys[i].deflt[0] != '\0' ?
		    " [default: " : "",
		    keys[i].deflt != NULL && keys[i].deflt[0] != '\0' ?
		    keys[i].deflt : "",
		    keys[i].deflt != NULL && keys[i].deflt[0] != '\0' ? "]" : "");
	fprintf(fp, "\n");
}
