/*
 * Unit tests for daemon/log.c, the operator log on stderr.
 *
 * Each case runs in a child process whose stderr is a file, since the log
 * decides once per process whether stderr is the journal:
 * - on a plain stream a line is "YYYY-MM-DDTHH:MM:SS.mmmZ level=L ...";
 * - when $JOURNAL_STREAM names stderr's device and inode and journald
 *   listens, each event is a journal entry whose fields are the line's
 *   key=value pairs (read back with sd_journal_open(3); skipped, saying
 *   so, where journald does not run); where it does not listen, the time
 *   is left out and the line starts with the syslog priority,
 *   "<6>level=info";
 * - log_journal_fields() turns key=value words into journal fields;
 * - a $JOURNAL_STREAM naming another stream changes nothing;
 * - log_subjects = no: child identifiers become "-", as values and, while
 *   a request that carried them is handled, anywhere they stand alone;
 * - a newline in a value cannot split a line; log_warn() adds errno's
 *   text; messages above the level are dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-journal.h>

#include "log.h"

/* As log.c decides it: journald listens on its native socket. */
static int
journald_listens(void)
{
	struct stat st;

	return stat("/run/systemd/journal/socket", &st) == 0 &&
	    S_ISSOCK(st.st_mode);
}

enum journal { NOT_SET, THIS_STREAM, OTHER_STREAM };

/*
 * Runs the standard lines in a child with stderr on a new file, as the
 * journal or not, and returns what it wrote (owned by the caller).
 */
static char *
run_child(enum journal j, enum log_level level)
{
	char		 path[] = "/tmp/nwd-test-log.XXXXXX", var[64], *text;
	struct stat	 st;
	FILE		*fp;
	pid_t		 pid;
	long		 len;
	int		 fd, status;

	assert_true((fd = mkstemp(path)) != -1);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		dup2(fd, STDERR_FILENO);
		fstat(STDERR_FILENO, &st);
		unsetenv("JOURNAL_STREAM");
		if (j != NOT_SET) {
			snprintf(var, sizeof(var), "%llu:%llu",
			    (unsigned long long)st.st_dev,
			    (unsigned long long)st.st_ino +
			    (j == OTHER_STREAM ? 1 : 0));
			setenv("JOURNAL_STREAM", var, 1);
		}
		log_set_level(level);
		log_info("session=s1 principal=plo-ana event=connect");
		log_debug("event=detail n=%d", 42);
		errno = ENOENT;
		log_warn("event=open_failed file=%s", "x");
		log_warnx("event=odd reason=\"%s\"", "two\nlines\tand a tab");
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(fp = fdopen(fd, "r"));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	assert_non_null(text = calloc(1, len + 1));
	assert_int_equal(fread(text, 1, len, fp), (size_t)len);
	fclose(fp);
	unlink(path);
	return text;
}

static int
count_lines(const char *text)
{
	int n = 0;

	for (; *text != '\0'; text++)
		n += *text == '\n';
	return n;
}

static void
assert_matches(const char *text, const char *pattern)
{
	regex_t re;

	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED | REG_NEWLINE),
	    0);
	if (regexec(&re, text, 0, NULL, 0) != 0)
		fail_msg("no line matches /%s/ in:\n%s", pattern, text);
	regfree(&re);
}

static void
test_plain_stream_has_timestamps(void **state)
{
	char *text = run_child(NOT_SET, LOG_LVL_INFO);

	assert_int_equal(count_lines(text), 3);
	assert_matches(text, "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
	    "[0-9]{2}\\.[0-9]{3}Z level=info session=s1 principal=plo-ana "
	    "event=connect$");
	assert_matches(text, "^[0-9T:.Z-]+ level=warn event=open_failed "
	    "file=x error=\"No such file or directory\"$");
	assert_null(strstr(text, "event=detail"));
	free(text);
}

static void
test_journal_gets_priorities_not_timestamps(void **state)
{
	char *text;

	if (journald_listens()) {
		print_message("journald listens here: the entries go to it "
		    "(test_journal_entry_has_fields), not to stderr\n");
		skip();
	}
	text = run_child(THIS_STREAM, LOG_LVL_DEBUG);

	assert_int_equal(count_lines(text), 4);
	assert_string_equal(text,
	    "<6>level=info session=s1 principal=plo-ana event=connect\n"
	    "<7>level=debug event=detail n=42\n"
	    "<4>level=warn event=open_failed file=x error=\"No such file or "
	    "directory\"\n"
	    "<4>level=warn event=odd reason=\"two\\nlines?and a tab\"\n");
	free(text);
}

static void
test_journal_stream_of_another_file_is_ignored(void **state)
{
	char *text = run_child(OTHER_STREAM, LOG_LVL_INFO);

	assert_matches(text, "^[0-9T:.Z-]+ level=info session=s1 ");
	assert_null(strstr(text, "<6>"));
	free(text);
}

static void
test_values_cannot_split_a_line(void **state)
{
	char *text = run_child(NOT_SET, LOG_LVL_WARN);

	assert_int_equal(count_lines(text), 2);
	assert_matches(text, " level=warn event=odd reason=\"two\\\\nlines"
	    "\\?and a tab\"$");
	assert_null(strstr(text, "level=info"));
	free(text);
}

struct fields {
	char	buf[1024];
};

static void
collect(const char *name, size_t nlen, const char *v, size_t vlen, void *arg)
{
	struct fields	*f = arg;
	size_t		 len = strlen(f->buf);

	snprintf(f->buf + len, sizeof(f->buf) - len, "%.*s=%.*s|", (int)nlen,
	    name, (int)vlen, v);
}

static void
test_journal_fields(void **state)
{
	struct fields f = { "" };

	log_journal_fields("session=s1 principal=plo-ana event=connect "
	    "reason=\"two words, \"quoted\"\" store: state=ready 9x=1 "
	    "message=m priority=p syslog_identifier=x empty= n=42", collect,
	    &f);
	assert_string_equal(f.buf, "SESSION=s1|PRINCIPAL=plo-ana|"
	    "EVENT=connect|REASON=two words, \"quoted\"|STATE=ready|"
	    "NWD_MESSAGE=m|NWD_PRIORITY=p|NWD_SYSLOG_IDENTIFIER=x|EMPTY=|"
	    "N=42|");
	f.buf[0] = '\0';
	log_journal_fields("", collect, &f);
	log_journal_fields("no pairs here", collect, &f);
	assert_string_equal(f.buf, "");
}

/* The value of field name in the journal's current entry, or NULL. */
static char *
entry_field(sd_journal *j, const char *name)
{
	const void	*data;
	size_t		 len, nlen = strlen(name);

	if (sd_journal_get_data(j, name, &data, &len) < 0 || len <= nlen)
		return NULL;
	return strndup((const char *)data + nlen + 1, len - nlen - 1);
}

static void
test_journal_entry_has_fields(void **state)
{
	char		 run[64], match[80], var[64], *v;
	struct stat	 st;
	sd_journal	*j;
	pid_t		 pid;
	int		 status, found = 0, i;

	if (!journald_listens()) {
		print_message("journald does not listen here "
		    "(/run/systemd/journal/socket): entries fall back to "
		    "stderr, checked by test_journal_gets_priorities_not_"
		    "timestamps\n");
		skip();
	}
	snprintf(run, sizeof(run), "t%d-%ld", (int)getpid(), (long)time(NULL));
	fflush(stderr);
	if ((pid = fork()) == 0) {
		fstat(STDERR_FILENO, &st);
		snprintf(var, sizeof(var), "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		setenv("JOURNAL_STREAM", var, 1);
		errno = ENOENT;
		log_warn("session=s1 principal=plo-ana event=journal_probe "
		    "run=%s reason=\"two words\"", run);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY), 0);
	snprintf(match, sizeof(match), "RUN=%s", run);
	assert_int_equal(sd_journal_add_match(j, match, 0), 0);
	/* Wait for journald to have written it: up to 10 s. */
	for (i = 0; i < 20 && !found; i++) {
		sd_journal_seek_head(j);
		if (sd_journal_next(j) > 0)
			found = 1;
		else
			sd_journal_wait(j, 500000);
	}
	if (!found)
		fail_msg("no journal entry with %s", match);
	assert_non_null(v = entry_field(j, "EVENT"));
	assert_string_equal(v, "journal_probe");
	free(v);
	assert_non_null(v = entry_field(j, "PRINCIPAL"));
	assert_string_equal(v, "plo-ana");
	free(v);
	assert_non_null(v = entry_field(j, "REASON"));
	assert_string_equal(v, "two words");
	free(v);
	assert_non_null(v = entry_field(j, "PRIORITY"));
	assert_string_equal(v, "4");
	free(v);
	assert_non_null(v = entry_field(j, "ERROR"));
	assert_string_equal(v, "No such file or directory");
	free(v);
	assert_non_null(v = entry_field(j, "MESSAGE"));
	assert_non_null(strstr(v, "level=warn session=s1 principal=plo-ana "
	    "event=journal_probe run="));
	free(v);
	sd_journal_close(j);
}

/* log_subjects = no, in a child whose stderr is a file: what it wrote. */
static char *
run_subjects_child(void)
{
	char		 path[] = "/tmp/nwd-test-log.XXXXXX", *text;
	FILE		*fp;
	pid_t		 pid;
	long		 len;
	int		 fd, status;

	assert_true((fd = mkstemp(path)) != -1);
	fflush(stderr);
	if ((pid = fork()) == 0) {
		dup2(fd, STDERR_FILENO);
		unsetenv("JOURNAL_STREAM");
		log_set_subjects(0);
		log_subjects_add("YP-001");
		log_subjects_add("9434765919");
		log_subjects_add("");
		log_info("event=publish subject=%s kind=risk_alert",
		    log_subject("YP-001"));
		log_info("event=error reason=\"consent of YP-001 was "
		    "withdrawn; nhs 9434765919\" other=YP-0011 x=aYP-001");
		log_subjects_clear();
		log_info("event=after note=YP-001");
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_non_null(fp = fdopen(fd, "r"));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	assert_non_null(text = calloc(1, len + 1));
	assert_int_equal(fread(text, 1, len, fp), (size_t)len);
	fclose(fp);
	unlink(path);
	return text;
}

static void
test_subjects_left_out(void **state)
{
	char *text = run_subjects_child();

	assert_matches(text, " level=info event=publish subject=- "
	    "kind=risk_alert$");
	/* Free-standing occurrences only: YP-0011 and aYP-001 are other
	 * words. */
	assert_matches(text, " level=info event=error reason=\"consent of - "
	    "was withdrawn; nhs -\" other=YP-0011 x=aYP-001$");
	/* Out of scope, text is text (log_subject() is what callers use
	 * for values). */
	assert_matches(text, " event=after note=YP-001$");
	free(text);

	/* Shown (the default): log_subject() is the identity. */
	log_set_subjects(1);
	assert_string_equal(log_subject("YP-001"), "YP-001");
	assert_null(log_subject(NULL));
}

static void
test_level_names(void **state)
{
	enum log_level lvl;

	assert_int_equal(log_level_from_name("debug", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_DEBUG);
	assert_int_equal(log_level_from_name("error", &lvl), 0);
	assert_int_equal(lvl, LOG_LVL_ERROR);
	assert_int_equal(log_level_from_name("verbose", &lvl), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_stream_has_timestamps),
		cmocka_unit_test(test_journal_gets_priorities_not_timestamps),
		cmocka_unit_test(test_journal_stream_of_another_file_is_ignored),
		cmocka_unit_test(test_values_cannot_split_a_line),
		cmocka_unit_test(test_journal_fields),
		cmocka_unit_test(test_journal_entry_has_fields),
		cmocka_unit_test(test_subjects_left_out),
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
