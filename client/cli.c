/*
 * cli: what every nwd command shares.  See cli.h for the contracts.
 */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json.h>

#include "cli.h"
#include "envelope.h"

void
cli_vsay(const char *what, const char *fmt, va_list ap)
{
	fprintf(stderr, "nwd: %s: ", what);
	vfprintf(stderr, fmt, ap);
}

void
cli_say(const char *what, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vsay(what, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_exit_status(struct nwd_client *c, enum nwd_status st)
{
	switch (st) {
	case NWD_OK:
		return 0;
	case NWD_ERR_INVALID:
		return c != NULL && nwd_last_server_error(c) !=
		    NWD__V1__ERROR_CODE__ERROR_UNSPECIFIED ? CLI_EXIT_REFUSED :
		    CLI_EXIT_USAGE;
	case NWD_ERR_REFUSED:
		return CLI_EXIT_REFUSED;
	case NWD_ERR_UNREACHABLE:
	case NWD_ERR_TLS:
		return CLI_EXIT_UNREACHABLE;
	case NWD_ERR_UNAVAILABLE:
	case NWD_ERR_CLOSED:
		return CLI_EXIT_UNAVAILABLE;
	case NWD_ERR_TIMEOUT:
		return CLI_EXIT_TIMEOUT;
	case NWD_ERR_PROTOCOL:
	case NWD_ERR_INTERNAL:
		break;
	}
	return CLI_EXIT_PROTOCOL;
}

struct nwd_client *
cli_connect(const struct nwd_opts *o, int *code)
{
	struct nwd_client	*c;
	enum nwd_status		 st;
	char			 err[512];

	if ((c = nwd_connect(o, &st, err, sizeof(err))) == NULL) {
		cli_say(o->server, "%s", err);
		/* Before Welcome the broker can only refuse our certificate. */
		*code = st == NWD_ERR_REFUSED ? CLI_EXIT_UNREACHABLE :
		    cli_exit_status(NULL, st);
	}
	return c;
}

/* ------------------------------------------------------------------------
 * Lists of strings
 */

int
cli_strv_add(struct cli_strv *sv, char *s)
{
	char **v;

	if ((v = reallocarray(sv->v, sv->n + 1, sizeof(*v))) == NULL)
		return -1;
	sv->v = v;
	sv->v[sv->n++] = s;
	return 0;
}

int
cli_strv_split(struct cli_strv *sv, const char *list)
{
	const char	*p = list, *comma;
	char		*s;
	size_t		 n;

	for (;;) {
		comma = strchr(p, ',');
		n = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (n == 0)
			return -1;
		if ((s = strndup(p, n)) == NULL || cli_strv_add(sv, s) == -1) {
			free(s);
			return -1;
		}
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
}

void
cli_strv_clear(struct cli_strv *sv, int owned)
{
	size_t i;

	if (owned)
		for (i = 0; i < sv->n; i++)
			free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

void
cli_join(char *out, size_t outlen, char *const *v, size_t n,
    const char *sep)
{
	size_t i, off = 0;

	out[0] = '\0';
	for (i = 0; i < n && off < outlen; i++)
		off += snprintf(out + off, outlen - off, "%s%s",
		    i > 0 ? sep : "", v[i]);
}

/* ------------------------------------------------------------------------
 * Words and times
 */

const char *
cli_marking(Nwd__V1__Marking m)
{
	return m == NWD__V1__MARKING__OFFICIAL_SENSITIVE
	    ? "OFFICIAL-SENSITIVE"
	    : envelope_marking_name(m);
}

const char *
cli_priority(Nwd__V1__Priority p)
{
	const ProtobufCEnumValue *v;

	v = protobuf_c_enum_descriptor_get_value(
	    &nwd__v1__priority__descriptor, (int)p);
	return v != NULL ? v->name : NULL;
}

const char *
cli_kinds(void)
{
	static char	buf[512];
	size_t		off = 0;
	int		k, r;

	if (buf[0] != '\0')
		return buf;
	for (k = 1; envelope_kind_name(k) != NULL && off < sizeof(buf); k++) {
		r = snprintf(buf + off, sizeof(buf) - off, "%s%s",
		    k > 1 ? ", " : "", envelope_kind_name(k));
		if (r < 0)
			break;
		off += (size_t)r;
	}
	return buf;
}

int64_t
cli_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
cli_time(int64_t ms, int millis, char *out, size_t outlen)
{
	struct tm	tm;
	time_t		t;
	int64_t		sec = ms / 1000, rem = ms % 1000;
	char		base[32];

	if (ms == 0) {
		snprintf(out, outlen, "-");
		return out;
	}
	if (rem < 0) {
		sec--;
		rem += 1000;
	}
	t = (time_t)sec;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, outlen, "%" PRId64, ms);
	else if (millis)
		snprintf(out, outlen, "%s.%03dZ", base, (int)rem);
	else
		snprintf(out, outlen, "%sZ", base);
	return out;
}

/* Bytes of the UTF-8 sequence at s, or 0 if it is not one. */
static size_t
utf8_seq(const unsigned char *s)
{
	size_t	n, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong, surrogate and past U+10FFFF forms. */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
		return 0;
	return n;
}

/* A reason not to share, in words that follow "because". */
static const char *
sharing_reason_words(Nwd__V1__SharingDecision__Reason r)
{
	switch (r) {
	case NWD__V1__SHARING_DECISION__REASON__MORE_DETRIMENTAL:
		return "of the harm sharing would do the child";
	case NWD__V1__SHARING_DECISION__REASON__NOT_NECESSARY:
		return "it is not necessary for the purpose";
	case NWD__V1__SHARING_DECISION__REASON__NOT_PROPORTIONATE:
		return "it would not be proportionate";
	case NWD__V1__SHARING_DECISION__REASON__NO_LAWFUL_BASIS:
		return "there is no lawful basis to share it";
	case NWD__V1__SHARING_DECISION__REASON__CONSENT_REFUSED:
		return "consent was refused and no other basis overrides it";
	case NWD__V1__SHARING_DECISION__REASON__RISK_TO_OTHERS:
		return "it would put someone else at risk";
	case NWD__V1__SHARING_DECISION__REASON__INFORMATION_INACCURATE:
		return "the information is not accurate";
	case NWD__V1__SHARING_DECISION__REASON__OTHER:
		return "of another reason (see the explanation)";
	default:
		return "of a reason this tool does not know";
	}
}

const char *
cli_sharing_decision_words(const Nwd__V1__SharingDecision *d, char *out,
    size_t outlen)
{
	char	at[40];
	size_t	i, n = 0;

#define ADD(...) do {							\
	if (n < outlen)							\
		n += snprintf(out + n, outlen - n, __VA_ARGS__);	\
} while (0)
	if (outlen == 0)
		return out;
	out[0] = '\0';
	ADD("Decision not to share: %s; not shared with ", d->information);
	for (i = 0; i < d->n_not_shared_with; i++)
		ADD("%s%s", i == 0 ? "" : i + 1 == d->n_not_shared_with ?
		    " and " : ", ", d->not_shared_with[i]);
	ADD("; because ");
	for (i = 0; i < d->n_reasons; i++)
		ADD("%s%s", i == 0 ? "" : i + 1 == d->n_reasons ? " and " :
		    ", ", sharing_reason_words(d->reasons[i]));
	if (d->more_detrimental_to_child)
		ADD("; sharing would be more detrimental to the child");
	if (d->decided_unix_ms != 0)
		ADD("; decided %s", cli_time(d->decided_unix_ms, 0, at,
		    sizeof(at)));
	if (d->review_by_unix_ms != 0)
		ADD("; to be reviewed by %s", cli_time(d->review_by_unix_ms, 0,
		    at, sizeof(at)));
	ADD(".");
	if (d->explanation[0] != '\0')
		ADD("  Explanation: %s", d->explanation);
#undef ADD
	return out;
}

const char *
cli_clean(const char *s, char *buf, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0, n;

	if (s == NULL || len == 0)
		return "";
	while (*p != '\0' && o + 1 < len) {
		n = utf8_seq(p);
		if (n == 0 || p[0] < 0x20 || p[0] == 0x7f ||
		    (p[0] == 0xc2 && p[1] <= 0x9f)) {
			/* Controls (C0, DEL, C1) and broken bytes. */
			buf[o++] = '?';
			p += n > 0 ? n : 1;
			continue;
		}
		if (o + n >= len)
			break;
		memcpy(buf + o, p, n);
		o += n;
		p += n;
	}
	buf[o] = '\0';
	return buf;
}

/*
 * One CSV field (RFC 4180), safe to open in a spreadsheet: a cell that
 * starts with = + - @, a tab or a CR (a formula to Excel, LibreOffice and
 * Sheets) gets a leading ', and control characters (C0, DEL and C1, which
 * a terminal or a spreadsheet would act on) are written as \xHH.  Quoted
 * when it holds , " or such a prefix.  JSON keeps the exact values.
 */
void
cli_csv_field(FILE *fp, const char *s, int last)
{
	const unsigned char	*p;
	int			 formula, quote;

	if (s == NULL)
		s = "";
	formula = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
	quote = formula || strpbrk(s, ",\"") != NULL;
	if (quote)
		putc('"', fp);
	if (formula)
		putc('\'', fp);
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"')
			fputs("\"\"", fp);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(fp, "\\x%02x", *p);
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			/* U+0080 to U+009F: the C1 controls (CSI is one). */
			fprintf(fp, "\\x%02x", p[1]);
			p++;
		} else
			putc(*p, fp);
	}
	if (quote)
		putc('"', fp);
	fputs(last ? "\r\n" : ",", fp);
}

/* ------------------------------------------------------------------------
 * JSON
 */

void
cli_json_string(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, json_object_new_string(value != NULL ?
	    value : ""));
}

void
cli_json_text(json_object *o, const char *key, const char *value)
{
	json_object_object_add(o, key, value != NULL && value[0] != '\0' ?
	    json_object_new_string(value) : NULL);
}

json_object *
cli_json_strings(char *const *v, size_t n)
{
	json_object	*a = json_object_new_array();
	size_t		 i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(v[i]));
	return a;
}

int
cli_json_line(json_object *o)
{
	const char *s;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	return s != NULL && puts(s) != EOF ? 0 : -1;
}

int
cli_print_json(json_object *o)
{
	if (cli_json_line(o) == -1 || fflush(stdout) == EOF) {
		cli_say("stdout", "%s", strerror(errno));
		return -1;
	}
	return 0;
}

int
cli_flush(void)
{
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_say("stdout", "%s", strerror(errno));
		return -1;
	}
	return 0;
}
