/*
 * Unit tests for daemon/privdrop.c: the modes of secret and configuration
 * files, the plan of which account to run as, and the drop itself.
 *
 * - A private key that group or others can access in any way is refused,
 *   naming the file and its mode; 0600 and 0400 pass; a directory or a
 *   missing file is refused naming it.
 * - A configuration readable by others or writable by group or others is
 *   refused naming the file; 0600 and 0640 pass.
 * - The plan: root without a user is refused, "user = root" keeps root,
 *   a real user is switched to, unknown users and groups are refused by
 *   name; a process that is not root cannot plan to become someone else.
 * - The drop (in a forked child, as root): every real, effective and
 *   saved id changes, supplementary groups go, setuid(0) fails.
 * - No core files (in a forked child): RLIMIT_CORE is 0, soft and hard,
 *   and the process is not dumpable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "privdrop.h"

static char	tmpdir[512];

static int
group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/nwd-privdrop.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes a small file named name in tmpdir with exactly mode. */
static void
make_file(const char *name, mode_t mode, char *path, size_t pathlen)
{
	int	fd;

	assert_true((size_t)snprintf(path, pathlen, "%s/%s", tmpdir,
	    name) < pathlen);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x\n", 2), 2);
	assert_int_equal(close(fd), 0);
	assert_int_equal(chmod(path, mode), 0);
}

typedef int	check_fn(const char *, char *, size_t);

static void
expect_ok(check_fn *fn, const char *name, mode_t mode)
{
	char	path[PATH_MAX], err[512] = "";

	make_file(name, mode, path, sizeof(path));
	if (fn(path, err, sizeof(err)) != 0)
		fail_msg("mode %04o refused: %s", (unsigned int)mode, err);
}

static void
expect_refused(check_fn *fn, const char *name, mode_t mode, const char *why)
{
	char	path[PATH_MAX], err[512] = "", modestr[16];

	make_file(name, mode, path, sizeof(path));
	if (fn(path, err, sizeof(err)) != -1)
		fail_msg("%s with mode %04o was accepted", path,
		    (unsigned int)mode);
	snprintf(modestr, sizeof(modestr), "mode %04o", (unsigned int)mode);
	if (strstr(err, path) == NULL || strstr(err, why) == NULL ||
	    strstr(err, modestr) == NULL)
		fail_msg("error for %s (%s) lacks the file, \"%s\" or the "
		    "mode: %s", path, modestr, why, err);
}

static void
test_secret_modes(void **state)
{
	static const mode_t bad[] = { 0640, 0604, 0660, 0644, 0610, 0601,
	    0602, 0620, 0700 | 0004, 0400 | 0040 };
	char	err[512], path[PATH_MAX + 32];
	size_t	i;

	expect_ok(privdrop_check_secret, "good.key", 0600);
	expect_ok(privdrop_check_secret, "readonly.key", 0400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(privdrop_check_secret, "bad.key", bad[i],
		    "accessible by group or others");

	/* Not a regular file; not there at all. */
	assert_int_equal(privdrop_check_secret(tmpdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, tmpdir));
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	assert_int_equal(privdrop_check_secret(path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, strerror(ENOENT)));
}

static void
test_config_modes(void **state)
{
	static const mode_t bad[] = { 0644, 0604, 0660, 0620, 0602, 0666 };
	size_t	i;

	expect_ok(privdrop_check_config, "a.conf", 0600);
	expect_ok(privdrop_check_config, "b.conf", 0640);
	expect_ok(privdrop_check_config, "c.conf", 0400);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_refused(privdrop_check_config, "bad.conf", bad[i],
		    "database password");
}

static void
test_plan_as_root(void **state)
{
	struct privdrop	 pd;
	struct passwd	*pw;
	char		 err[512] = "";

	if (geteuid() != 0)
		skip();
	assert_int_equal(privdrop_plan("", "", &pd, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "will not serve as root"));
	assert_non_null(strstr(err, "user"));

	assert_int_equal(privdrop_plan("root", "", &pd, err, sizeof(err)), 0);
	assert_int_equal(pd.keep_root, 1);
	assert_int_equal(pd.switch_ids, 0);

	assert_non_null(pw = getpwnam("nobody"));
	assert_int_equal(privdrop_plan("nobody", "", &pd, err, sizeof(err)),
	    0);
	assert_int_equal(pd.switch_ids, 1);
	assert_int_equal(pd.uid, pw->pw_uid);
	assert_int_equal(pd.gid, pw->pw_gid);
	assert_string_equal(pd.user, "nobody");

	assert_int_equal(privdrop_plan("nobody", "root", &pd, err,
	    sizeof(err)), 0);
	assert_int_equal(pd.gid, 0);

	assert_int_equal(privdrop_plan("nwd-no-such-user", "", &pd, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "user = nwd-no-such-user: no such user"));
	assert_int_equal(privdrop_plan("nobody", "nwd-no-such-group", &pd,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err,
	    "group = nwd-no-such-group: no such group"));
}

/*
 * What a process that is not root may plan: only to stay itself.  Returns
 * 0, or the number of the check that failed.
 */
static int
not_root_checks(void)
{
	struct privdrop	 pd;
	struct passwd	*me;
	char		 err[512] = "";

	if (privdrop_plan("", "", &pd, err, sizeof(err)) != 0 || pd.switch_ids)
		return 1;
	if ((me = getpwuid(geteuid())) != NULL &&
	    (privdrop_plan(me->pw_name, "", &pd, err, sizeof(err)) != 0 ||
	    pd.switch_ids))
		return 2;
	if (privdrop_plan("root", "", &pd, err, sizeof(err)) != -1 ||
	    strstr(err, "cannot switch") == NULL)
		return 3;
	if (privdrop_plan("", "nogroup", &pd, err, sizeof(err)) != -1 ||
	    strstr(err, "needs user") == NULL)
		return 4;
	return 0;
}

static void
test_plan_not_root(void **state)
{
	struct passwd	*pw;
	pid_t		 pid;
	int		 status;

	if (geteuid() != 0) {
		assert_int_equal(not_root_checks(), 0);
		return;
	}
	/* Root: become nobody in a child to look from the other side. */
	assert_non_null(pw = getpwnam("nobody"));
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgroups(0, NULL) == -1 ||
		    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
		    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
			_exit(100);
		_exit(not_root_checks());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_apply(void **state)
{
	struct privdrop	 pd;
	struct passwd	*pw;
	char		 err[512] = "";
	pid_t		 pid;
	int		 status;

	if (geteuid() != 0)
		skip();
	assert_non_null(pw = getpwnam("nobody"));
	assert_int_equal(privdrop_plan("nobody", "", &pd, err, sizeof(err)),
	    0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uid_t	r, e, s;
		gid_t	rg, eg, sg, groups[8];

		/* Start with a supplementary group to be shed. */
		groups[0] = 0;
		groups[1] = pw->pw_gid + 1;
		if (setgroups(2, groups) == -1)
			_exit(2);
		if (privdrop_apply(&pd, err, sizeof(err)) != 0) {
			fprintf(stderr, "privdrop_apply: %s\n", err);
			_exit(3);
		}
		if (getresuid(&r, &e, &s) == -1 || r != pw->pw_uid ||
		    e != pw->pw_uid || s != pw->pw_uid)
			_exit(4);
		if (getresgid(&rg, &eg, &sg) == -1 || rg != pw->pw_gid ||
		    eg != pw->pw_gid || sg != pw->pw_gid)
			_exit(5);
		if (getgroups(8, groups) != 1 || groups[0] != pw->pw_gid)
			_exit(6);
		if (setuid(0) != -1 || errno != EPERM)
			_exit(7);
		if (seteuid(0) != -1)
			_exit(8);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Nothing to do is done without touching the ids. */
	memset(&pd, 0, sizeof(pd));
	assert_int_equal(privdrop_apply(&pd, err, sizeof(err)), 0);
	assert_int_equal(geteuid(), 0);
}

static void
test_no_core(void **state)
{
	struct rlimit	rl;
	char		err[256];
	pid_t		pid;
	int		status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* Dumpable, with a core limit, before. */
		if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1 ||
		    privdrop_no_core(err, sizeof(err)) == -1)
			_exit(10);
		if (getrlimit(RLIMIT_CORE, &rl) == -1 || rl.rlim_cur != 0 ||
		    rl.rlim_max != 0)
			_exit(11);
		if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
			_exit(12);
		/* The hard limit cannot be raised again. */
		rl.rlim_cur = rl.rlim_max = RLIM_INFINITY;
		if (geteuid() != 0 && setrlimit(RLIMIT_CORE, &rl) == 0)
			_exit(13);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_modes),
		cmocka_unit_test(test_config_modes),
		cmocka_unit_test(test_plan_as_root),
		cmocka_unit_test(test_plan_not_root),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_no_core),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
