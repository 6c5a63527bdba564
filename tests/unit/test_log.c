/*
 * Unit tests for daemon/log.c, the operator log on stderr.
 *
 * Each case runs in a child process whose stderr is a file, since the log
 * decides once per process whether stderr is the journal:
 * - on a plain stream a line is "YYYY-MM-DDTHH:MM:SS.mmmZ level=L ...";
 * - when $JOURNAL_STREAM names stderr's device and inode the time is left
 *   out and the line starts with the syslog priority, "<6>level=info";
 * - a $JOURNAL_STREAM naming another stream changes nothing;
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
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

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
	char *text = run_child(THIS_STREAM, LOG_LVL_DEBUG);

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
		cmocka_unit_test(test_level_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
