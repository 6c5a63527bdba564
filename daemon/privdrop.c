/*
 * privdrop: the account nwdd runs as, and the modes of its secret files.
 * See privdrop.h.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"

int
privdrop_plan(const char *user, const char *group, struct privdrop *pd,
    char *err, size_t errlen)
{
	struct passwd	*pw;
	struct group	*gr;
	uid_t		 euid = geteuid();

	memset(pd, 0, sizeof(*pd));
	if (user == NULL || *user == '\0') {
		if (euid == 0) {
			snprintf(err, errlen, "nwdd will not serve as root: "
			    "set \"user\" (and optionally \"group\") in the "
			    "configuration to the account it should switch "
			    "to, or start it as that account (systemd: "
			    "User=); \"user = root\" keeps root");
			return -1;
		}
		if (group != NULL && *group != '\0') {
			snprintf(err, errlen, "group = %s needs user = too",
			    group);
			return -1;
		}
		return 0;
	}
	if (strlen(user) >= sizeof(pd->user) || (group != NULL &&
	    strlen(group) >= sizeof(pd->group))) {
		snprintf(err, errlen, "user or group name is too long");
		return -1;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user = %s: no such user%s%s", user,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return -1;
	}
	snprintf(pd->user, sizeof(pd->user), "%s", user);
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	if (group != NULL && *group != '\0') {
		errno = 0;
		if ((gr = getgrnam(group)) == NULL) {
			snprintf(err, errlen, "group = %s: no such group%s%s",
			    group, errno != 0 ? ": " : "",
			    errno != 0 ? strerror(errno) : "");
			return -1;
		}
		pd->gid = gr->gr_gid;
		snprintf(pd->group, sizeof(pd->group), "%s", group);
	} else if ((gr = getgrgid(pd->gid)) != NULL)
		snprintf(pd->group, sizeof(pd->group), "%s", gr->gr_name);
	else
		snprintf(pd->group, sizeof(pd->group), "%u",
		    (unsigned int)pd->gid);

	if (euid != 0) {
		/* Not root: nwdd can only be the account it already is. */
		if (pd->uid != euid || ((group != NULL && *group != '\0') &&
		    pd->gid != getegid())) {
			snprintf(err, errlen, "user = %s%s%s, but nwdd was "
			    "started as uid %u gid %u, not as root, and cannot "
			    "switch; start it as root or as that account", user,
			    group != NULL && *group != '\0' ? ", group = " : "",
			    group != NULL ? group : "", (unsigned int)euid,
			    (unsigned int)getegid());
			return -1;
		}
		return 0;
	}
	if (pd->uid == 0) {
		pd->keep_root = 1;
		return 0;
	}
	pd->switch_ids = 1;
	return 0;
}

int
privdrop_apply(const struct privdrop *pd, char *err, size_t errlen)
{
	uid_t	ru, eu, su;
	gid_t	rg, eg, sg, groups[2];
	int	ngroups;

	if (!pd->switch_ids)
		return 0;
	if (setgroups(1, &pd->gid) == -1) {
		snprintf(err, errlen, "setgroups(%u): %s",
		    (unsigned int)pd->gid, strerror(errno));
		return -1;
	}
	if (setresgid(pd->gid, pd->gid, pd->gid) == -1) {
		snprintf(err, errlen, "setresgid(%s): %s", pd->group,
		    strerror(errno));
		return -1;
	}
	if (setresuid(pd->uid, pd->uid, pd->uid) == -1) {
		snprintf(err, errlen, "setresuid(%s): %s", pd->user,
		    strerror(errno));
		return -1;
	}
	/* Trust, but verify: no id may be left behind. */
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != pd->uid || eu != pd->uid || su != pd->uid ||
	    rg != pd->gid || eg != pd->gid || sg != pd->gid) {
		snprintf(err, errlen, "after switching to %s:%s the process "
		    "ids are not all %u:%u", pd->user, pd->group,
		    (unsigned int)pd->uid, (unsigned int)pd->gid);
		return -1;
	}
	ngroups = getgroups(2, groups);
	if (ngroups != 1 || groups[0] != pd->gid) {
		snprintf(err, errlen, "after switching to %s:%s supplementary "
		    "groups remain", pd->user, pd->group);
		return -1;
	}
	if (setuid(0) != -1 || (pd->gid != 0 && setgid(0) != -1)) {
		snprintf(err, errlen, "after switching to %s:%s the process "
		    "could become root again; refusing to run", pd->user,
		    pd->group);
		return -1;
	}
	return 0;
}

int
privdrop_no_core(char *err, size_t errlen)
{
	struct rlimit	rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1) {
		snprintf(err, errlen, "setrlimit(RLIMIT_CORE, 0): %s",
		    strerror(errno));
		return -1;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		snprintf(err, errlen, "prctl(PR_SET_DUMPABLE, 0): %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
check_mode(const char *path, mode_t forbidden, const char *what,
    const char *fix, char *err, size_t errlen)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	if ((st.st_mode & forbidden) != 0) {
		snprintf(err, errlen, "%s: %s (mode %04o); refusing it (%s)",
		    path, what, (unsigned int)(st.st_mode & 07777), fix);
		return -1;
	}
	return 0;
}

int
privdrop_check_secret(const char *path, char *err, size_t errlen)
{
	return check_mode(path, S_IRWXG | S_IRWXO, "private key file is "
	    "accessible by group or others", "chmod 600 it", err, errlen);
}

int
privdrop_check_config(const char *path, char *err, size_t errlen)
{
	return check_mode(path, S_IWGRP | S_IWOTH | S_IROTH, "configuration "
	    "file is writable by group or others, or readable by others, "
	    "and may hold a database password", "chmod 640 or 600 it", err,
	    errlen);
}
