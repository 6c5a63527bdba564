/*
 * smoke.c: a program built against an installed libnwd the way a user
 * builds one, with nothing but "pkg-config --cflags --libs libnwd".
 * tests/install/check-install.sh compiles and runs it.
 *
 * It checks that nwd.h and the generated message types it includes are
 * usable from the installed headers, that the library's own functions and
 * the message code it carries link and run, and that a connect with an
 * unreadable certificate fails the documented way (NWD_ERR_INVALID, with a
 * sentence naming the file), without a broker.  Exit status 0 on success,
 * 1 with the reason on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nwd.h>

static int
fail(const char *what)
{
	fprintf(stderr, "smoke: %s\n", what);
	return 1;
}

int
main(void)
{
	Nwd__V1__Frame		 f = NWD__V1__FRAME__INIT, *back;
	Nwd__V1__Ping		 ping = NWD__V1__PING__INIT;
	struct nwd_opts		 o;
	struct nwd_client	*c;
	enum nwd_status		 st = NWD_OK;
	uint8_t			*buf;
	size_t			 len;
	char			 err[512] = "";
	int			 ok;

	if (strcmp(nwd_status_name(NWD_ERR_UNREACHABLE), "unreachable") != 0)
		return fail("nwd_status_name(NWD_ERR_UNREACHABLE) is not "
		    "\"unreachable\"");

	/* The generated message code travels inside libnwd. */
	ping.nonce = 42;
	f.request_id = 7;
	f.msg_case = NWD__V1__FRAME__MSG_PING;
	f.ping = &ping;
	len = nwd__v1__frame__get_packed_size(&f);
	if ((buf = malloc(len)) == NULL)
		return fail("out of memory");
	nwd__v1__frame__pack(&f, buf);
	back = nwd__v1__frame__unpack(NULL, len, buf);
	free(buf);
	if (back == NULL)
		return fail("a packed Frame does not unpack");
	ok = back->request_id == 7 && back->msg_case ==
	    NWD__V1__FRAME__MSG_PING && back->ping->nonce == 42;
	nwd__v1__frame__free_unpacked(back, NULL);
	if (!ok)
		return fail("a Frame does not survive pack and unpack");

	memset(&o, 0, sizeof(o));
	o.server = "127.0.0.1:1";
	o.cert = "/nonexistent/smoke.crt";
	o.key = "/nonexistent/smoke.key";
	o.ca = "/nonexistent/ca.crt";
	o.timeout_ms = 2000;
	if ((c = nwd_connect(&o, &st, err, sizeof(err))) != NULL) {
		nwd_close(c);
		return fail("nwd_connect succeeded with no certificate");
	}
	if (st != NWD_ERR_INVALID || strstr(err, "/nonexistent/") == NULL) {
		fprintf(stderr, "smoke: nwd_connect without a certificate: "
		    "status %s, \"%s\"; expected invalid, naming the file\n",
		    nwd_status_name(st), err);
		return 1;
	}
	printf("smoke: libnwd ok (%s: %s)\n", nwd_status_name(st), err);
	return 0;
}
