/*
 * privdrop: which account nwdd runs as, and which of its files it trusts.
 *
 * Started as root, nwdd binds its listener and reads its keys and
 * certificates first, then becomes the configured user and group for good
 * (setgroups, setresgid, setresuid) and proves it: getting root back must
 * fail.  Root without a configured user is refused; "user = root" is the
 * explicit way to keep root.  Started as any other account nwdd cannot
 * switch, so a configured user must be that account.
 *
 * Files: a private key must not be accessible by group or others at all
 * (mode & 077); the configuration, which may hold a database password,
 * must not be writable by group or others nor readable by others (mode &
 * 026; 0640 root:nwd is the intended form).  The checks look at the mode
 * bits, so they hold for root as well.
 */
#ifndef NWD_PRIVDROP_H
#define NWD_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

struct privdrop {
	int	 switch_ids;	/* 1: become uid/gid in privdrop_apply() */
	int	 keep_root;	/* 1: "user = root", started as root */
	uid_t	 uid;
	gid_t	 gid;
	char	 user[64];
	char	 group[64];
};

/*
 * Decides who to become from the configured user and group ("" = not
 * set) and the account nwdd runs as now.  Returns 0 with *pd filled, or -1
 * with the cause in err (root without a user, an unknown user or group,
 * or a user that a non-root process cannot become).
 */
int	 privdrop_plan(const char *user, const char *group, struct privdrop *pd,
	    char *err, size_t errlen);

/*
 * Becomes pd's user and group if the plan says so, then checks that no
 * real, effective or saved id is left behind and that setuid(0) fails.
 * Returns 0, or -1 with the cause in err: the process must then exit.
 */
int	 privdrop_apply(const struct privdrop *pd, char *err, size_t errlen);

/*
 * Turns core dumps off for good (RLIMIT_CORE 0, soft and hard, and
 * PR_SET_DUMPABLE 0): a crash or a watchdog abort must not write the
 * keys and the plaintext in memory to a file.  Called first thing, and
 * again after privdrop_apply().  Returns 0, or -1 with the cause in err.
 */
int	 privdrop_no_core(char *err, size_t errlen);

/*
 * Refuses a private key file that is not a regular file or that group or
 * others may access.  Returns 0, or -1 with "PATH: cause" in err.
 */
int	 privdrop_check_secret(const char *path, char *err, size_t errlen);

/*
 * Refuses a configuration file that group or others may write, or others
 * may read.  Returns 0, or -1 with "PATH: cause" in err.
 */
int	 privdrop_check_config(const char *path, char *err, size_t errlen);

#endif
