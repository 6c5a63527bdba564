/*
 * config: the nwdd configuration file, "key = value" lines, '#' comments.
 * Every problem is reported as "FILE:LINE: cause".
 */
#ifndef NWD_CONFIG_H
#define NWD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_NKINDS	32
#define CONFIG_MAX_KEYS	64	/* at least the keys of config.c */

enum identity_field {
	IDENTITY_FIELD_CN,		/* the subject commonName */
	IDENTITY_FIELD_FINGERPRINT,	/* SHA-256 of the DER certificate */
};

struct config {
	char		*path;		/* owned; the file it came from */
	char		*instance;	/* owned; names this daemon in audit */
	char		*listen_host;	/* owned */
	char		*listen_port;	/* owned */
	char		*metrics_host;	/* owned; "" = no metrics endpoint */
	char		*metrics_port;	/* owned; "" = no metrics endpoint */
	char		*console_host;	/* owned; "" = no console */
	char		*console_port;	/* owned; "" = no console */
	char		*console_roles;	/* owned; comma-separated roles */
	char		*labels;	/* owned; the console's labels file;
					   NULL: none */
	char		*sar_labels;	/* owned; the words of its SAR
					   reports (sar_release.h); NULL */
	char		*tls_cert;	/* owned; server certificate chain */
	char		*tls_key;	/* owned; server private key */
	char		*tls_ca;	/* owned; CA that client certs chain to */
	char		*tls_crl;	/* owned; may be NULL */
	int		 tls_min_version; /* 12 or 13 */
	enum identity_field identity_field;
	char		*principals;	/* owned; principal mapping file */
	char		*policy;	/* owned; sharing policy file */
	char		*database;	/* owned; libpq conninfo, daemon role */
	char		*migrate_database; /* owned; conninfo, owner role */
	char		*migrations_dir; /* owned */
	int		 log_level;	/* enum log_level */
	int		 log_subjects;	/* 0: child identifiers as "-" */
	uint32_t	 max_connections;
	uint32_t	 max_connections_per_principal;	/* 0 = no limit */
	uint32_t	 max_frame;
	uint32_t	 max_subscriptions;
	uint32_t	 max_durable_per_principal;
	size_t		 max_output_buffer;
	uint32_t	 handshake_timeout;	/* seconds */
	uint32_t	 idle_timeout;		/* seconds */
	uint32_t	 store_queue_max;	/* batches waiting for the db */
	size_t		 store_queue_max_bytes;	/* and their bytes */
	size_t		 store_hold_max_bytes;	/* rows held in an outage */
	char		*calendar;	/* owned; NULL: none */
	char		*test_clock;	/* owned; NULL: the real clock */
	uint32_t	 max_publishes_in_flight;	/* per session */
	uint32_t	 max_publishes_in_flight_per_principal;
	size_t		 replay_max_bytes;	/* pages all replays hold */
	uint32_t	 db_reconnect_max;	/* seconds, backoff ceiling */
	char		*body_keys;	/* owned; comma-separated key files */
	char		*audit_signing_key; /* owned; Ed25519 PEM */
	uint32_t	 checkpoint_rows;
	uint32_t	 checkpoint_interval;	/* seconds */
	char		*state_directory; /* owned; state and anchors files */
	/* Days a body is kept, per Nwd__V1__Kind (index 0 unused). */
	uint32_t	 retention_days[CONFIG_NKINDS];
	uint32_t	 purge_interval;	/* seconds */
	char		*user;		/* owned; "" = do not switch */
	char		*group;		/* owned; "" = the user's group */
	uint32_t	 drain_timeout;		/* seconds, SIGTERM to exit */
	uint32_t	 db_stall_timeout;	/* seconds, then no watchdog */
	/* The line of the file that set each key, in the order of the
	 * reference (config_print_reference()); 0: its default. */
	int		 lines[CONFIG_MAX_KEYS];
};

/*
 * Reads and checks a configuration file.  Returns a new config owned by the
 * caller, or NULL with "FILE:LINE: cause" in err.  Relative paths in the
 * file are resolved against the file's directory; a file given as
 * "credential:NAME" is $CREDENTIALS_DIRECTORY/NAME (systemd's
 * LoadCredential=), and is an error when that variable is not set.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);

/* Same, from text in memory; name is used in messages. */
struct config	*config_parse(const char *text, size_t len, const char *name,
		    const char *basedir, char *err, size_t errlen);

void		 config_free(struct config *c);

/*
 * Opens for reading every file and directory the configuration names
 * (the TLS files, principals, policy, keys, calendar, labels, test_clock;
 * not state_directory, which nwdd makes, nor migrations, which only
 * --migrate reads).  Returns 0, or -1 with the first that cannot be opened in
 * err as "FILE:LINE: key: PATH: cause" (FILE: key (default): ... for a
 * key the file does not set).
 */
int		 config_check_files(const struct config *c, char *err,
		    size_t errlen);

/* The line of the file that set key, or 0 if it was not set there. */
int		 config_line(const struct config *c, const char *key);

/* Writes the reference of every key with its default to fp (--help). */
void		 config_print_reference(void *fp);

#endif
