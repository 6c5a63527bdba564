/*
 * print_pdf: HTML to PDF through headless Chromium (print_pdf.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "print_pdf.h"

/* 1 if path names an executable file. */
static int
executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    access(path, X_OK) == 0;
}

const char *
print_pdf_chromium(char *buf, size_t buflen, char *err, size_t errlen)
{
	static const char *const names[] = {
		"chromium", "chromium-browser", "google-chrome", NULL
	};
	const char	*env = getenv("NWD_CHROMIUM"), *path, *p, *e;
	size_t		 i, n;

	if (env != NULL && env[0] != '\0') {
		if (!executable(env)) {
			snprintf(err, errlen, "$NWD_CHROMIUM (%s) is not an "
			    "executable file", env);
			return NULL;
		}
		snprintf(buf, buflen, "%s", env);
		return buf;
	}
	if ((path = getenv("PATH")) == NULL || path[0] == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	for (i = 0; names[i] != NULL; i++) {
		for (p = path; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
			e = p + strcspn(p, ":");
			n = (size_t)(e - p);
			if (n == 0)
				continue;
			snprintf(buf, buflen, "%.*s/%s", (int)n, p, names[i]);
			if (executable(buf))
				return buf;
		}
	}
	snprintf(err, errlen, "no Chromium to print the PDF with: install it "
	    "(Debian: apt-get install chromium) or name it in $NWD_CHROMIUM");
	return NULL;
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

int
print_pdf(const char *chromium, const char *html, const char *pdf,
    char *err, size_t errlen)
{
	const char	*tmp = getenv("TMPDIR");
	char		 dir[PATH_MAX], profile[PATH_MAX + 32];
	char		 url[PATH_MAX + 16], out[PATH_MAX + 32], abs[PATH_MAX];
	char		*argv[16];
	struct stat	 st;
	pid_t		 pid;
	int		 status, fd, n = 0, rc = -1;

	if (realpath(html, abs) == NULL) {
		snprintf(err, errlen, "%s: %s", html, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/nwd-pdf-XXXXXX", tmp != NULL &&
	    tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		snprintf(err, errlen, "cannot make a temporary directory: %s",
		    strerror(errno));
		return -1;
	}
	snprintf(profile, sizeof(profile), "--user-data-dir=%s", dir);
	snprintf(url, sizeof(url), "file://%s", abs);
	snprintf(out, sizeof(out), "--print-to-pdf=%s", pdf);
	/* Whatever was there is not taken for this print. */
	if (unlink(pdf) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", pdf, strerror(errno));
		goto done;
	}
	argv[n++] = (char *)chromium;
	argv[n++] = "--headless";
	/* Chromium will not run as root with its sandbox. */
	if (geteuid() == 0)
		argv[n++] = "--no-sandbox";
	argv[n++] = "--disable-gpu";
	argv[n++] = "--no-first-run";
	argv[n++] = "--disable-extensions";
	argv[n++] = "--no-pdf-header-footer";
	argv[n++] = profile;
	argv[n++] = out;
	argv[n++] = url;
	argv[n] = NULL;
	if ((pid = fork()) == -1) {
		snprintf(err, errlen, "cannot start %s: %s", chromium,
		    strerror(errno));
		goto done;
	}
	if (pid == 0) {
		/* Chromium's chatter is not the tool's output. */
		if ((fd = open("/dev/null", O_RDWR)) != -1) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		setenv("HOME", dir, 1);
		execv(chromium, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			snprintf(err, errlen, "waiting for %s: %s", chromium,
			    strerror(errno));
			goto done;
		}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "%s did not print the PDF (%s %d)",
		    chromium, WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		goto done;
	}
	if (stat(pdf, &st) == -1 || st.st_size == 0) {
		snprintf(err, errlen, "%s exited but wrote no PDF to %s",
		    chromium, pdf);
		goto done;
	}
	rc = 0;
done:
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}
