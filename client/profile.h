/*
 * profile: named connection profiles, as "nats context" has them, read
 * from a file beside the environment variables (connopts.c):
 *
 *   # comments and blank lines are skipped
 *   [hub]
 *   server = nwd.example.org:7443
 *   cert = certs/hub.crt        # relative: to the file's directory
 *   key = certs/hub.key
 *   ca = certs/ca.crt
 *   crl = certs/ca.crl
 *   timeout = 5
 *
 * A section [NAME] starts a profile; its lines are "key = value" with the
 * keys server, cert, key, ca, crl and timeout (seconds), each at most
 * once; a value runs to the end of the line or a " #".  Names are letters,
 * digits, '-', '_' and '.'.  The file is read whole: a bad line anywhere
 * is an error, "FILE:LINE: why".
 */
#ifndef NWD_CLIENT_PROFILE_H
#define NWD_CLIENT_PROFILE_H

#include <stddef.h>

/* One profile; strings owned (NULL if the profile does not set them). */
struct profile {
	char	*server, *cert, *key, *ca, *crl;
	int	 timeout_ms;		/* 0 if not set */
};

/*
 * The profiles file: $NWD_PROFILES if set, else
 * $XDG_CONFIG_HOME/nwd/profiles, else ~/.config/nwd/profiles, into buf,
 * which it returns.
 */
const char	*profile_path(char *buf, size_t len);

/*
 * Reads the profile name from the file path into *p (filled with zeros
 * first; free it with profile_clear()).  Returns 0; or -1 with one
 * sentence in err: the file cannot be read, a line is bad ("FILE:LINE:
 * why", *line_error set to 1), or there is no such profile (naming the
 * profiles there).
 */
int		 profile_load(const char *path, const char *name,
		    struct profile *p, int *line_error, char *err,
		    size_t errlen);

void		 profile_clear(struct profile *p);
/* A timeout, SECONDS (a positive decimal), into milliseconds, at least 1
 * (the profile's "timeout" and --timeout alike); 0, or -1 if malformed. */
int		 profile_seconds(const char *s, int *ms);

#endif
