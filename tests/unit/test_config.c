/*
 * Unit tests for daemon/config.c: the nwdd configuration file.  Every
 * refusal must read "NAME:LINE: cause" with the line of the culprit, or
 * "NAME: cause" when no single line is to blame.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "log.h"

#define NAME	"test.conf"
#define BASE	"/etc/nwd"

/* The nine required keys, one per line (lines 1 to 9). */
#define REQUIRED REQUIRED_NO_CRL "tls_crl = /srv/pki/ca.crl\n"
#define REQUIRED_NO_CRL \
	"tls_cert = server.crt\n" \
	"tls_key = server.key\n" \
	"tls_ca = /srv/pki/ca.crt\n" \
	"principals = principals.conf\n" \
	"policy = policy.nwd\n" \
	"database = host=127.0.0.1 dbname=nwd user=nwd_daemon\n" \
	"body_key = body.key, /srv/keys/old.key\n" \
	"audit_signing_key = audit-signing.key\n"

static struct config *
parse(const char *text, char *err, size_t errlen)
{
	memset(err, 0, errlen);
	return config_parse(text, strlen(text), NAME, BASE, err, errlen);
}

/* Parses text, expecting a refusal whose message is exactly want. */
static void
expect_error(const char *text, const char *want)
{
	char		 err[512];
	struct config	*c;

	c = parse(text, err, sizeof(err));
	if (c != NULL) {
		config_free(c);
		fail_msg("expected \"%s\", but the text was accepted", want);
	}
	assert_string_equal(err, want);
}

/* Parses text, expecting a refusal that begins with prefix. */
static void
expect_error_prefix(const char *text, const char *prefix)
{
	char		 err[512];
	struct config	*c;

	c = parse(text, err, sizeof(err));
	if (c != NULL) {
		config_free(c);
		fail_msg("expected \"%s...\", but the text was accepted",
		    prefix);
	}
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", prefix, err);
}

static struct config *
expect_ok(const char *text)
{
	char		 err[512];
	struct config	*c;

	c = parse(text, err, sizeof(err));
	if (c == NULL)
		fail_msg("expected the text to be accepted, got \"%s\"", err);
	return c;
}

/* ------------------------------------------------------------------------
 * Valid files
 */

static void
test_minimal_defaults(void **state)
{
	struct config *c = expect_ok(REQUIRED);

	assert_string_equal(c->path, NAME);
	assert_string_equal(c->instance, "nwdd-1");
	assert_string_equal(c->listen_host, "127.0.0.1");
	assert_string_equal(c->listen_port, "7443");
	assert_int_equal(c->tls_min_version, 13);
	assert_int_equal(c->identity_field, IDENTITY_FIELD_CN);
	assert_string_equal(c->tls_crl, "/srv/pki/ca.crl");
	assert_string_equal(c->migrate_database, "");
	assert_string_equal(c->migrations_dir, BASE "/sql");
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->log_subjects, 1);
	assert_int_equal(c->max_connections, 1024);
	assert_int_equal(c->max_frame, 1048576);
	assert_int_equal(c->max_subscriptions, 64);
	assert_int_equal(c->max_output_buffer, 8388608);
	assert_int_equal(c->handshake_timeout, 10);
	assert_int_equal(c->idle_timeout, 300);
	assert_int_equal(c->store_queue_max, 10000);
	assert_int_equal(c->db_reconnect_max, 10);
	assert_string_equal(c->database,
	    "host=127.0.0.1 dbname=nwd user=nwd_daemon");
	config_free(c);
}

static void
test_relative_paths(void **state)
{
	char		 err[256];
	struct config	*c = expect_ok(REQUIRED_NO_CRL "tls_crl = crl/ca.crl\n"
	    "migrations = ../deploy/sql\n");

	/* Relative paths are resolved against the base directory... */
	assert_string_equal(c->tls_cert, BASE "/server.crt");
	assert_string_equal(c->tls_key, BASE "/server.key");
	assert_string_equal(c->principals, BASE "/principals.conf");
	assert_string_equal(c->policy, BASE "/policy.nwd");
	assert_string_equal(c->tls_crl, BASE "/crl/ca.crl");
	assert_string_equal(c->migrations_dir, BASE "/../deploy/sql");
	/* ...absolute ones are kept... */
	assert_string_equal(c->tls_ca, "/srv/pki/ca.crt");
	/* ...and a conninfo is not a path. */
	assert_string_equal(c->database,
	    "host=127.0.0.1 dbname=nwd user=nwd_daemon");
	config_free(c);

	/* Without a base directory paths are taken as they are. */
	c = config_parse(REQUIRED, strlen(REQUIRED), NAME, NULL, err,
	    sizeof(err));
	assert_non_null(c);
	assert_string_equal(c->tls_cert, "server.crt");
	assert_string_equal(c->migrations_dir, "sql");
	config_free(c);
}

static void
test_every_key(void **state)
{
	struct config *c = expect_ok(REQUIRED
	    "instance = nwdd-test\n"
	    "listen = 0.0.0.0:1\n"
	    "tls_min_version = 1.2\n"
	    "identity_field = fingerprint\n"
	    "log_level = debug\n"
	    "migrate_database = dbname=nwd user=nwd_owner\n"
	    "max_connections = 1000000\n"
	    "max_frame = 1024\n"
	    "max_subscriptions = 100000\n"
	    "max_output_buffer = 1073741824\n"
	    "handshake_timeout = 3600\n"
	    "idle_timeout = 86400\n"
	    "store_queue_max = 1\n"
	    "db_reconnect_max = 3600\n");

	assert_string_equal(c->instance, "nwdd-test");
	assert_string_equal(c->listen_host, "0.0.0.0");
	assert_string_equal(c->listen_port, "1");
	assert_int_equal(c->tls_min_version, 12);
	assert_int_equal(c->identity_field, IDENTITY_FIELD_FINGERPRINT);
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_string_equal(c->migrate_database, "dbname=nwd user=nwd_owner");
	assert_int_equal(c->max_connections, 1000000);
	assert_int_equal(c->max_frame, 1024);
	assert_int_equal(c->max_subscriptions, 100000);
	assert_int_equal(c->max_output_buffer, 1073741824);
	assert_int_equal(c->handshake_timeout, 3600);
	assert_int_equal(c->idle_timeout, 86400);
	assert_int_equal(c->store_queue_max, 1);
	assert_int_equal(c->db_reconnect_max, 3600);
	config_free(c);

	c = expect_ok(REQUIRED "listen = nwd.example.org:65535\n"
	    "log_level = error\nidentity_field = cn\ntls_min_version = 1.3\n");
	assert_string_equal(c->listen_host, "nwd.example.org");
	assert_string_equal(c->listen_port, "65535");
	assert_int_equal(c->log_level, LOG_LVL_ERROR);
	assert_int_equal(c->identity_field, IDENTITY_FIELD_CN);
	assert_int_equal(c->tls_min_version, 13);
	config_free(c);

	c = expect_ok(REQUIRED "log_level = warn\nmax_frame = 67108864\n");
	assert_int_equal(c->log_level, LOG_LVL_WARN);
	assert_int_equal(c->max_frame, 64 << 20);
	config_free(c);

	c = expect_ok(REQUIRED "log_subjects = no\n");
	assert_int_equal(c->log_subjects, 0);
	config_free(c);
	c = expect_ok(REQUIRED "log_subjects = yes\n");
	assert_int_equal(c->log_subjects, 1);
	config_free(c);
}

/*
 * An IPv6 literal is written in brackets (RFC 3986) so that its colons do
 * not run into the port; the host handed to getaddrinfo() must be the bare
 * address.
 */
static void
test_listen_ipv6(void **state)
{
	struct config	*c = expect_ok(REQUIRED "listen = [::1]:7443\n");
	char		 host[64], port[16];

	snprintf(host, sizeof(host), "%s", c->listen_host);
	snprintf(port, sizeof(port), "%s", c->listen_port);
	config_free(c);
	assert_string_equal(port, "7443");
	assert_string_equal(host, "::1");
}

static void
test_comments_and_blanks(void **state)
{
	struct config *c = expect_ok(
	    "# nwdd configuration\n"
	    "\n"
	    "   \t \n"
	    "tls_cert = server.crt   # the chain\n"
	    "  tls_key=server.key  \n"
	    "\ttls_ca\t=\t/srv/pki/ca.crt\r\n"
	    "#database = wrong\n"
	    "principals = principals.conf\n"
	    "policy = policy.nwd\n"
	    "database = dbname=nwd\n"
	    "body_key = body.key\n"
	    "audit_signing_key = sign.key\n"
	    "instance = hub # trailing\n"
	    "tls_crl = none\n"
	    "# the end, without a newline");

	assert_string_equal(c->tls_cert, BASE "/server.crt");
	assert_string_equal(c->tls_key, BASE "/server.key");
	assert_string_equal(c->tls_ca, "/srv/pki/ca.crt");
	assert_string_equal(c->database, "dbname=nwd");
	assert_string_equal(c->instance, "hub");
	config_free(c);
}

/* An optional key given an empty value keeps meaning "none". */
static void
test_empty_optional(void **state)
{
	struct config *c = expect_ok(REQUIRED "migrate_database =\n");

	assert_string_equal(c->migrate_database, "");
	config_free(c);
}

/* ------------------------------------------------------------------------
 * Refusals
 */

static void
test_unknown_key(void **state)
{
	expect_error(REQUIRED "\n# comment\nlisten_port = 7443\n",
	    NAME ":12: unknown key \"listen_port\" (nwdd --help lists the "
	    "keys)");
	expect_error("# first\ntls cert = a\n",
	    NAME ":2: unknown key \"tls cert\" (nwdd --help lists the keys)");
	expect_error_prefix("= value\n", NAME ":1: unknown key \"\"");
	/* Keys are case-sensitive. */
	expect_error_prefix("TLS_CERT = a\n", NAME ":1: unknown key");
}

static void
test_missing_equals(void **state)
{
	expect_error("tls_cert = a\n\ntls_key b.key\n",
	    NAME ":3: expected \"key = value\", got \"tls_key b.key\"");
	expect_error("tls_cert\n",
	    NAME ":1: expected \"key = value\", got \"tls_cert\"");
	/* A '=' after the '#' does not count. */
	expect_error_prefix(REQUIRED "instance # = x\n",
	    NAME ":10: expected \"key = value\"");
}

static void
test_key_twice(void **state)
{
	expect_error(REQUIRED "# again\ntls_key = other.key\n",
	    NAME ":11: tls_key is set twice");
	expect_error("max_frame = 2048\nmax_frame = 2048\n",
	    NAME ":2: max_frame is set twice");
}

static void
test_numbers(void **state)
{
	expect_error(REQUIRED "max_frame = 100\n",
	    NAME ":10: max_frame must be a whole number from 1024 to 67108864, "
	    "not \"100\"");
	expect_error(REQUIRED "max_frame = 67108865\n",
	    NAME ":10: max_frame must be a whole number from 1024 to 67108864, "
	    "not \"67108865\"");
	expect_error(REQUIRED "\nmax_connections = 0\n",
	    NAME ":11: max_connections must be a whole number from 1 to "
	    "1000000, not \"0\"");
	expect_error(REQUIRED "idle_timeout = ten\n",
	    NAME ":10: idle_timeout must be a whole number from 1 to 86400, "
	    "not \"ten\"");
	expect_error_prefix(REQUIRED "idle_timeout = -1\n",
	    NAME ":10: idle_timeout must be a whole number");
	expect_error_prefix(REQUIRED "idle_timeout = +5\n",
	    NAME ":10: idle_timeout must be a whole number");
	expect_error_prefix(REQUIRED "idle_timeout = 10s\n",
	    NAME ":10: idle_timeout must be a whole number");
	expect_error_prefix(REQUIRED "idle_timeout = 0x10\n",
	    NAME ":10: idle_timeout must be a whole number");
	expect_error_prefix(REQUIRED "idle_timeout = 1 0\n",
	    NAME ":10: idle_timeout must be a whole number");
	expect_error_prefix(REQUIRED "max_output_buffer = "
	    "99999999999999999999999999\n",
	    NAME ":10: max_output_buffer must be a whole number from 65536 "
	    "to 1073741824");
	expect_error_prefix(REQUIRED "max_output_buffer = 65535\n",
	    NAME ":10: max_output_buffer must be a whole number");
	/* A key with a default given no value is still checked. */
	expect_error(REQUIRED "max_frame =\n",
	    NAME ":10: max_frame must be a whole number from 1024 to 67108864, "
	    "not \"\"");
}

static void
test_bad_listen(void **state)
{
	static const char *bad[] = { "localhost", ":7443", "host:0",
	    "host:65536", "host:", "host:http", "host:-1", "" };
	char	text[512], want[256];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), REQUIRED "\nlisten = %s\n",
		    bad[i]);
		snprintf(want, sizeof(want), NAME ":11: listen must be "
		    "host:port with a port from 1 to 65535, not \"%s\"",
		    bad[i]);
		expect_error(text, want);
	}
}

static void
test_bad_enums(void **state)
{
	expect_error(REQUIRED "tls_min_version = 1.1\n",
	    NAME ":10: tls_min_version must be 1.3 or 1.2, not \"1.1\"");
	expect_error(REQUIRED "tls_min_version = TLSv1.3\n",
	    NAME ":10: tls_min_version must be 1.3 or 1.2, not \"TLSv1.3\"");
	expect_error(REQUIRED "identity_field = san\n",
	    NAME ":10: identity_field must be cn or fingerprint, not \"san\"");
	expect_error(REQUIRED "identity_field = CN\n",
	    NAME ":10: identity_field must be cn or fingerprint, not \"CN\"");
	expect_error(REQUIRED "log_level = verbose\n",
	    NAME ":10: log_level must be error, warn, info or debug, not "
	    "\"verbose\"");
	expect_error(REQUIRED "log_subjects = off\n",
	    NAME ":10: log_subjects must be yes or no, not \"off\"");
}

static void
test_missing_required(void **state)
{
	static const char *keys[] = { "tls_cert", "tls_key", "tls_ca",
	    "principals", "policy", "database", "body_key",
	    "audit_signing_key", "tls_crl" };
	char	text[512], want[64], err[512];
	const char *line, *nl;
	size_t	i, k;
	struct config *c;

	/* Leave each required key out in turn. */
	for (k = 0; k < 9; k++) {
		text[0] = '\0';
		for (i = 0, line = REQUIRED; i < 9; i++, line = nl + 1) {
			nl = strchr(line, '\n');
			if (i != k)
				strncat(text, line, nl - line + 1);
		}
		c = parse(text, err, sizeof(err));
		assert_null(c);
		/* No line is to blame: "NAME: key is required (help)". */
		snprintf(want, sizeof(want), NAME ": %s is required (", keys[k]);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("expected \"%s...\", got \"%s\"", want, err);
	}
	expect_error_prefix("", NAME ": tls_cert is required (");
	expect_error_prefix("# only a comment\n", NAME ": tls_cert is required");

	/* Without tls_crl the error says how to go without, knowingly. */
	expect_error_prefix("tls_cert = a\ntls_key = b\ntls_ca = c\n"
	    "principals = p\npolicy = q\ndatabase = d\nbody_key = k\n"
	    "audit_signing_key = s\n", NAME ": tls_crl is required (CRLs "
	    "(PEM) of the tls_ca CAs, one for each, current; \"none\" only to "
	    "run without revocation checks, knowingly)");
	{
		struct config	*c2;
		char		 text2[1024];

		snprintf(text2, sizeof(text2), "%s", REQUIRED_NO_CRL
		    "tls_crl = none\n");
		assert_non_null(c2 = parse(text2, err, sizeof(err)));
		assert_null(c2->tls_crl);
		config_free(c2);
		assert_non_null(c2 = parse(REQUIRED, err, sizeof(err)));
		assert_string_equal(c2->tls_crl, "/srv/pki/ca.crl");
		config_free(c2);
	}
	/* A required key present but empty is blamed on its line. */
	expect_error("tls_cert = a\ntls_key =\n", NAME ":2: tls_key needs a "
	    "value");
	expect_error(REQUIRED_NO_CRL "tls_crl =\n", NAME ":9: tls_crl needs a "
	    "value");
	/* Bytes that are not UTF-8, pointed at (G20). */
	expect_error(REQUIRED "instance = h\xff" "b\n", NAME ":10: not valid "
	    "UTF-8 (byte 13 of the line)");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = "tls_cert = a\0.crt\n";
	char		 err[256] = "";
	struct config	*c;

	c = config_parse(text, sizeof(text) - 1, NAME, BASE, err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, NAME ": contains a NUL byte");
}

static void
test_small_error_buffer(void **state)
{
	char		 err[8];
	struct config	*c;

	memset(err, 'X', sizeof(err));
	c = config_parse("bogus = 1\n", 10, NAME, BASE, err, 6);
	assert_null(c);
	assert_int_equal(err[5], '\0');
	assert_int_equal(err[6], 'X');
}

/* ------------------------------------------------------------------------
 * config_load
 */

static void
test_load_missing(void **state)
{
	char		 err[512] = "";
	struct config	*c;

	c = config_load("/nonexistent/nwd/nwdd.conf", err, sizeof(err));
	assert_null(c);
	assert_string_equal(err, "/nonexistent/nwd/nwdd.conf: cannot open: "
	    "No such file or directory");
}

static void
test_load_file(void **state)
{
	const char	*tmp = getenv("TMPDIR");
	char		 dir[256], path[512], err[1024] = "";
	FILE		*fp;
	struct config	*c;

	snprintf(dir, sizeof(dir), "%s/nwd-test-config.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/nwdd.conf", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(REQUIRED "max_frame = 2048\n", fp);
	fclose(fp);

	c = config_load(path, err, sizeof(err));
	if (c == NULL) {
		unlink(path);
		rmdir(dir);
		fail_msg("config_load: %s", err);
	}
	assert_string_equal(c->path, path);
	assert_int_equal(c->max_frame, 2048);
	/* Relative paths are resolved against the file's directory. */
	snprintf(path, sizeof(path), "%s/server.crt", dir);
	assert_string_equal(c->tls_cert, path);
	snprintf(path, sizeof(path), "%s/sql", dir);
	assert_string_equal(c->migrations_dir, path);
	config_free(c);

	/* Errors name the file and the line. */
	snprintf(path, sizeof(path), "%s/nwdd.conf", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("# comment\ntls_cert = a\nbogus = 1\n", fp);
	fclose(fp);
	c = config_load(path, err, sizeof(err));
	unlink(path);
	rmdir(dir);
	assert_null(c);
	snprintf(path, sizeof(path), "%s/nwdd.conf:3: unknown key \"bogus\"",
	    dir);
	if (strncmp(err, path, strlen(path)) != 0)
		fail_msg("expected \"%s...\", got \"%s\"", path, err);
}

static void
test_free_null(void **state)
{
	config_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_listen_ipv6),
		cmocka_unit_test(test_comments_and_blanks),
		cmocka_unit_test(test_empty_optional),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_missing_equals),
		cmocka_unit_test(test_key_twice),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_bad_listen),
		cmocka_unit_test(test_bad_enums),
		cmocka_unit_test(test_missing_required),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_load_missing),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_free_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
