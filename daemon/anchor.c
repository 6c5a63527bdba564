/*
 * anchor: the daemon's state file and anchors file.  See anchor.h for
 * their formats.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anchor.h"
#include "chain.h"

#define ANCHOR_MAGIC	"nwd-state-v1"
#define ANCHOR_SUM_LEN	16

struct anchor {
	char			*dir;		/* owned */
	int			 made_dir;	/* anchor_open() made it */
	char			*instance;	/* owned */
	char			*state_path;	/* owned */
	char			*anchors_path;	/* owned */
	int			 state_fd;	/* owned; locked */
	int			 anchors_fd;	/* owned; O_APPEND */
	struct anchor_state	 st;
	int			 slot;		/* holding st; -1: none */
};

static void
anchor_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* dir/<escaped instance><suffix>, or NULL. */
static char *
anchor_path(const char *dir, const char *instance, const char *suffix)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p;
	char			*out, *o;
	size_t			 len;

	len = strlen(dir) + 1 + 3 * strlen(instance) + strlen(suffix) + 1;
	if ((out = malloc(len)) == NULL)
		return NULL;
	o = out + snprintf(out, len, "%s/", dir);
	for (p = (const unsigned char *)instance; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
		    (*p == '.' && p != (const unsigned char *)instance))
			*o++ = (char)*p;
		else {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 0xf];
		}
	}
	snprintf(o, len - (size_t)(o - out), "%s", suffix);
	return out;
}

/* The checksum of a slot's text: 16 hex digits of its SHA-256. */
static int
anchor_sum(const char *text, size_t len, char out[ANCHOR_SUM_LEN + 1])
{
	char	hex[CHAIN_HEX_LEN];

	if (chain_sha256_hex(text, len, hex) == -1)
		return -1;
	memcpy(out, hex, ANCHOR_SUM_LEN);
	out[ANCHOR_SUM_LEN] = '\0';
	return 0;
}

/* Parses a decimal of a whole string (non-negative); 0 or -1. */
static int
anchor_u64(const char *v, uint64_t *out)
{
	char			*end;
	unsigned long long	 n;

	if (*v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno != 0 || *end != '\0' || n > INT64_MAX)
		return -1;
	*out = n;
	return 0;
}

/*
 * Reads one slot (ANCHOR_SLOT_LEN bytes).  Returns 1 with *st filled if
 * it is valid and names instance, 0 otherwise.
 */
static int
anchor_parse_slot(const char *buf, const char *instance,
    struct anchor_state *st)
{
	char		 text[ANCHOR_SLOT_LEN + 1], key[32];
	char		 val[CHAIN_ANCHOR_INSTANCE_MAX + 1];
	char		 sum[ANCHOR_SUM_LEN + 1];
	const char	*p, *end, *s;
	uint64_t	 n;
	unsigned int	 seen = 0;

	memcpy(text, buf, ANCHOR_SLOT_LEN);
	text[ANCHOR_SLOT_LEN] = '\0';
	if (strncmp(text, ANCHOR_MAGIC " ", strlen(ANCHOR_MAGIC) + 1) != 0 ||
	    (s = strstr(text, " sum=")) == NULL ||
	    anchor_sum(text, (size_t)(s - text), sum) == -1 ||
	    strncmp(s + 5, sum, ANCHOR_SUM_LEN) != 0)
		return 0;
	memset(st, 0, sizeof(*st));
	p = text + strlen(ANCHOR_MAGIC);
	end = s;
	while (chain_next_pair(&p, end, key, sizeof(key), val,
	    sizeof(val)) == 1) {
		if (strcmp(key, "gen") == 0 && anchor_u64(val, &n) == 0) {
			st->gen = n;
			seen |= 1;
		} else if (strcmp(key, "instance") == 0 &&
		    strcmp(val, instance) == 0)
			seen |= 2;
		else if (strcmp(key, "seq") == 0 && anchor_u64(val, &n) == 0) {
			st->committed.seq = (int64_t)n;
			seen |= 4;
		} else if (strcmp(key, "hash") == 0 && chain_unhex(val,
		    st->committed.hash, CHAIN_HASH_LEN) == 0)
			seen |= 8;
		else if (strcmp(key, "pending_seq") == 0 &&
		    anchor_u64(val, &n) == 0) {
			st->pending.seq = (int64_t)n;
			seen |= 16;
		} else if (strcmp(key, "pending_hash") == 0 && chain_unhex(val,
		    st->pending.hash, CHAIN_HASH_LEN) == 0)
			seen |= 32;
	}
	if (seen != 63)
		return 0;
	st->present = 1;
	return 1;
}

/* Reads the state file into a->st.  Returns 0, or -1 with err. */
static int
anchor_read(struct anchor *a, char *err, size_t errlen)
{
	char			buf[2 * ANCHOR_SLOT_LEN];
	struct anchor_state	st[2];
	struct stat		sb;
	ssize_t			n;
	int			ok[2], i;

	if (fstat(a->state_fd, &sb) == -1) {
		anchor_err(err, errlen, "%s: %s", a->state_path,
		    strerror(errno));
		return -1;
	}
	memset(&a->st, 0, sizeof(a->st));
	a->slot = -1;
	if (sb.st_size == 0)
		return 0;
	if (sb.st_size != sizeof(buf)) {
		anchor_err(err, errlen, "%s: %lld bytes is not a state file of "
		    "nwdd (%zu bytes)", a->state_path, (long long)sb.st_size,
		    sizeof(buf));
		return -1;
	}
	if ((n = pread(a->state_fd, buf, sizeof(buf), 0)) !=
	    (ssize_t)sizeof(buf)) {
		anchor_err(err, errlen, "%s: %s", a->state_path, n == -1 ?
		    strerror(errno) : "short read");
		return -1;
	}
	for (i = 0; i < 2; i++)
		ok[i] = anchor_parse_slot(buf + i * ANCHOR_SLOT_LEN,
		    a->instance, &st[i]);
	if (!ok[0] && !ok[1]) {
		anchor_err(err, errlen, "%s: neither slot holds a state of "
		    "instance %s (damaged, or another instance's file); nwdd "
		    "will not guess its chain head: move it away and run "
		    "nwdd --accept-restore", a->state_path, a->instance);
		return -1;
	}
	i = ok[0] && ok[1] ? (st[1].gen > st[0].gen ? 1 : 0) : ok[1] ? 1 : 0;
	a->st = st[i];
	a->slot = i;
	return 0;
}

struct anchor *
anchor_open(const char *dir, const char *instance, char *err, size_t errlen)
{
	struct anchor	*a;

	if (dir == NULL || *dir == '\0' || instance == NULL ||
	    *instance == '\0') {
		anchor_err(err, errlen, "state_directory and instance must be "
		    "set");
		return NULL;
	}
	if (strlen(instance) > CHAIN_ANCHOR_INSTANCE_MAX) {
		anchor_err(err, errlen, "instance name is longer than %d bytes; "
		    "its chain cannot be anchored", CHAIN_ANCHOR_INSTANCE_MAX);
		return NULL;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		anchor_err(err, errlen, "out of memory");
		return NULL;
	}
	a->state_fd = a->anchors_fd = -1;
	if (mkdir(dir, 0750) == 0)
		a->made_dir = 1;
	else if (errno != EEXIST) {
		anchor_err(err, errlen, "state_directory %s: %s", dir,
		    strerror(errno));
		goto fail;
	}
	if ((a->dir = strdup(dir)) == NULL ||
	    (a->instance = strdup(instance)) == NULL ||
	    (a->state_path = anchor_path(dir, instance, ".state")) == NULL ||
	    (a->anchors_path = anchor_path(dir, instance, ".anchors")) ==
	    NULL) {
		anchor_err(err, errlen, "out of memory");
		goto fail;
	}
	if ((a->state_fd = open(a->state_path, O_RDWR | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		anchor_err(err, errlen, "%s: %s", a->state_path,
		    strerror(errno));
		goto fail;
	}
	if (flock(a->state_fd, LOCK_EX | LOCK_NB) == -1) {
		anchor_err(err, errlen, "%s: %s", a->state_path,
		    errno == EWOULDBLOCK ? "in use by another process (an nwdd "
		    "of the same instance, or nwdd --accept-restore)" :
		    strerror(errno));
		goto fail;
	}
	if ((a->anchors_fd = open(a->anchors_path, O_WRONLY | O_APPEND |
	    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) == -1) {
		anchor_err(err, errlen, "%s: %s", a->anchors_path,
		    strerror(errno));
		goto fail;
	}
	if (anchor_read(a, err, errlen) == -1)
		goto fail;
	return a;
 fail:
	anchor_free(a);
	return NULL;
}

void
anchor_free(struct anchor *a)
{
	if (a == NULL)
		return;
	if (a->state_fd != -1)
		close(a->state_fd);
	if (a->anchors_fd != -1)
		close(a->anchors_fd);
	free(a->dir);
	free(a->instance);
	free(a->state_path);
	free(a->anchors_path);
	free(a);
}

int
anchor_give(struct anchor *a, uid_t uid, gid_t gid, char *err,
    size_t errlen)
{
	if (fchown(a->state_fd, uid, gid) == -1 ||
	    fchown(a->anchors_fd, uid, gid) == -1 ||
	    (a->made_dir && chown(a->dir, uid, gid) == -1)) {
		anchor_err(err, errlen, "giving %s's files to uid %u: %s",
		    a->dir, (unsigned int)uid, strerror(errno));
		return -1;
	}
	return 0;
}

const struct anchor_state *
anchor_state(const struct anchor *a)
{
	return &a->st;
}

const char *
anchor_state_path(const struct anchor *a)
{
	return a->state_path;
}

const char *
anchor_anchors_path(const struct anchor *a)
{
	return a->anchors_path;
}

int
anchor_save(struct anchor *a, const struct anchor_head *committed,
    const struct anchor_head *pending, int sync, char *err, size_t errlen)
{
	static const struct anchor_head	 none;
	struct anchor_state		 st;
	char				 slot[ANCHOR_SLOT_LEN + 1];
	char				 ch[CHAIN_HEX_LEN], ph[CHAIN_HEX_LEN];
	char				 sum[ANCHOR_SUM_LEN + 1];
	size_t				 n;
	ssize_t				 w;
	int				 to;

	if (a == NULL || committed == NULL) {
		anchor_err(err, errlen, "anchor_save: missing argument");
		return -1;
	}
	if (pending == NULL)
		pending = &none;
	memset(&st, 0, sizeof(st));
	st.present = 1;
	st.gen = a->st.gen + 1;
	st.committed = *committed;
	st.pending = *pending;
	chain_hex(st.committed.hash, ch);
	chain_hex(st.pending.hash, ph);
	n = (size_t)snprintf(slot, sizeof(slot), ANCHOR_MAGIC " gen=%" PRIu64
	    " instance=", st.gen);
	if (n >= sizeof(slot) || chain_put_value(slot, sizeof(slot),
	    a->instance) == -1)
		goto toolong;
	n = strlen(slot);
	n += (size_t)snprintf(slot + n, sizeof(slot) - n, " seq=%" PRId64
	    " hash=%s pending_seq=%" PRId64 " pending_hash=%s",
	    st.committed.seq, ch, st.pending.seq, ph);
	if (n >= sizeof(slot) || anchor_sum(slot, n, sum) == -1)
		goto toolong;
	n += (size_t)snprintf(slot + n, sizeof(slot) - n, " sum=%s", sum);
	if (n + 1 > ANCHOR_SLOT_LEN)
		goto toolong;
	memset(slot + n, ' ', ANCHOR_SLOT_LEN - 1 - n);
	slot[ANCHOR_SLOT_LEN - 1] = '\n';
	to = a->slot == 0 ? 1 : 0;
	/* A new file gets both slots at once: its size never changes. */
	if (a->slot == -1) {
		char	both[2 * ANCHOR_SLOT_LEN];

		memcpy(both, slot, ANCHOR_SLOT_LEN);
		memset(both + ANCHOR_SLOT_LEN, ' ', ANCHOR_SLOT_LEN - 1);
		both[2 * ANCHOR_SLOT_LEN - 1] = '\n';
		to = 0;
		w = pwrite(a->state_fd, both, sizeof(both), 0);
		n = sizeof(both);
	} else {
		w = pwrite(a->state_fd, slot, ANCHOR_SLOT_LEN,
		    (off_t)to * ANCHOR_SLOT_LEN);
		n = ANCHOR_SLOT_LEN;
	}
	if (w != (ssize_t)n) {
		anchor_err(err, errlen, "writing %s: %s", a->state_path,
		    w == -1 ? strerror(errno) : "short write");
		return -1;
	}
	if (sync && fdatasync(a->state_fd) == -1) {
		anchor_err(err, errlen, "syncing %s: %s", a->state_path,
		    strerror(errno));
		return -1;
	}
	a->st = st;
	a->slot = to;
	return 0;
 toolong:
	anchor_err(err, errlen, "%s: the state does not fit a slot",
	    a->state_path);
	return -1;
}

int
anchor_append(struct anchor *a, const struct chain_anchor *an, char *err,
    size_t errlen)
{
	char	line[CHAIN_ANCHOR_LINE_MAX + 1];
	int	n;
	ssize_t	w;

	if (a == NULL || an == NULL ||
	    (n = chain_anchor_format(an, line, sizeof(line) - 1)) < 0) {
		anchor_err(err, errlen, "%s: the anchor line is malformed",
		    a != NULL ? a->anchors_path : "anchors");
		return -1;
	}
	line[n++] = '\n';
	if ((w = write(a->anchors_fd, line, (size_t)n)) != n) {
		anchor_err(err, errlen, "writing %s: %s", a->anchors_path,
		    w == -1 ? strerror(errno) : "short write");
		return -1;
	}
	if (fsync(a->anchors_fd) == -1) {
		anchor_err(err, errlen, "syncing %s: %s", a->anchors_path,
		    strerror(errno));
		return -1;
	}
	return 0;
}
