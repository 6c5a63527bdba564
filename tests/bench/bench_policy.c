/*
 * bench_policy: what one sharing decision costs, and what loading a policy
 * costs, for a large generated agreement.  Prints figures; asserts nothing.
 *
 *   bench_policy [-r RULES] [-a ALLOCATIONS] [-p PRINCIPALS] [-n DECISIONS]
 *
 * Defaults: 1,000 rules, 10,000 allocations, 2,000 principals, 1,000,000
 * decisions.  A decision is policy_check_deliver() for one (message,
 * recipient) pair, as the broker makes it for every principal of every
 * publish; decisions are timed in runs of 100 and the per-decision median,
 * 90th and 99th percentiles of those runs are reported.  Loading is
 * policy_parse() plus policy_check_principals() plus freeing the policy it
 * replaces: what a SIGHUP reload does before it swaps the pointer.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "envelope.h"
#include "identity.h"
#include "policy.h"

#define RUN		100	/* decisions timed together */
#define NMESSAGES	256
#define NSUBJECTS	5000
#define NTEAMS		500
#define NROLES		100

static const Nwd__V1__Kind kinds[] = {
	NWD__V1__KIND__RISK_ALERT, NWD__V1__KIND__MISSING_EPISODE,
	NWD__V1__KIND__INTELLIGENCE_REPORT, NWD__V1__KIND__CAMHS_UPDATE,
	NWD__V1__KIND__PLACEMENT_CHANGE, NWD__V1__KIND__STRATEGY_DISCUSSION_REQUEST,
};
#define NKINDS_USED (sizeof(kinds) / sizeof(kinds[0]))

static uint64_t rng = 0x6e77642d62656e63ULL;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

/* Appends to a growing buffer; exits if memory runs out. */
struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
bprintf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		b->cap = b->cap ? b->cap * 2 : 65536;
		if ((b->p = realloc(b->p, b->cap)) == NULL) {
			perror("realloc");
			exit(1);
		}
	}
}

static char *
make_policy(int nrules, size_t *len)
{
	static const char *when[] = { "when allocated", "when named",
	    "when allocated or named", "" };
	static const char *strip[] = { "strip summary", "strip details",
	    "keep summary", "" };
	struct buf	b = { NULL, 0, 0 };
	int		i, k, r1, r2;

	bprintf(&b, "policy \"generated for bench_policy\"\nduty duty-0\n");
	for (i = 0; i < NROLES; i++)
		bprintf(&b, "role role-%d: agency agency-%d\n", i, i % 7);
	bprintf(&b, "role duty: agency agency-0\n");
	bprintf(&b, "protect Address, ThirdParty, SourceDetails\n");
	for (i = 0; i < nrules; i++) {
		k = rnd(NKINDS_USED);
		if (i % 10 == 0) {
			bprintf(&b,
			    "allow publish p%d: roles role-%d kinds %s\n", i,
			    rnd(NROLES), envelope_kind_name(kinds[k]));
			continue;
		}
		if (i % 25 == 1) {
			bprintf(&b,
			    "deny deliver d%d: roles role-%d kinds %s "
			    "from agency-%d\n",
			    i, rnd(NROLES), envelope_kind_name(kinds[k]),
			    rnd(7));
			continue;
		}
		r1 = rnd(NROLES);
		r2 = (r1 + 1 + rnd(NROLES - 1)) % NROLES;
		bprintf(&b,
		    "allow deliver r%d: roles role-%d, role-%d kinds %s"
		    " %s",
		    i, r1, r2, envelope_kind_name(kinds[k]), when[rnd(4)]);
		if (kinds[k] == NWD__V1__KIND__RISK_ALERT)
			bprintf(&b, " %s", strip[rnd(4)]);
		bprintf(&b, "\n");
	}
	bprintf(&b, "allow deliver duty-desk: roles duty kinds * when duty\n");
	*len = b.len;
	return b.p;
}

static char *
make_principals(int n, size_t *len)
{
	struct buf	b = { NULL, 0, 0 };
	int		i, r;

	bprintf(&b, "duty-0 duty-0 duty agency-0 - OFFICIAL_SENSITIVE\n");
	for (i = 1; i < n; i++) {
		r = rnd(NROLES);
		bprintf(&b, "p%d p%d role-%d agency-%d team-%d,team-%d %s\n",
		    i, i, r, r % 7, rnd(NTEAMS), rnd(NTEAMS),
		    i % 5 == 0 ? "OFFICIAL" : "OFFICIAL_SENSITIVE");
	}
	*len = b.len;
	return b.p;
}

struct msg {
	Nwd__V1__Envelope	env;
	Nwd__V1__Header		hdr;
	Nwd__V1__SubjectRef	subj;
	Nwd__V1__RiskAlert	alert;
	Nwd__V1__MissingEpisode	missing;
	Nwd__V1__IntelligenceReport intel;
	Nwd__V1__Grading	grading;
	Nwd__V1__CamhsUpdate	camhs;
	Nwd__V1__PlacementChange placement;
	Nwd__V1__StrategyDiscussionRequest sdr;
	char			subject[16];
	char			sender[16];
	char			*share[2];
	char			share0[16];
};

static void
make_message(struct msg *m)
{
	Nwd__V1__Kind k = kinds[rnd(NKINDS_USED)];

	memset(m, 0, sizeof(*m));
	nwd__v1__envelope__init(&m->env);
	nwd__v1__header__init(&m->hdr);
	nwd__v1__subject_ref__init(&m->subj);
	snprintf(m->subject, sizeof(m->subject), "YP-%u", rnd(NSUBJECTS));
	snprintf(m->sender, sizeof(m->sender), "agency-%u", rnd(7));
	snprintf(m->share0, sizeof(m->share0), "team-%u", rnd(NTEAMS));
	m->share[0] = m->share0;
	m->subj.local_id = m->subject;
	m->hdr.subject = &m->subj;
	m->hdr.kind = k;
	m->hdr.marking = rnd(2) ? NWD__V1__MARKING__OFFICIAL :
	    NWD__V1__MARKING__OFFICIAL_SENSITIVE;
	m->hdr.originating_agency = m->sender;
	m->hdr.share_with = m->share;
	m->hdr.n_share_with = rnd(3) == 0 ? 1 : 0;
	m->env.header = &m->hdr;
	m->env.body_case = envelope_kind_body_case(k);
	switch (k) {
	case NWD__V1__KIND__RISK_ALERT:
		nwd__v1__risk_alert__init(&m->alert);
		m->alert.summary = "summary";
		m->env.risk_alert = &m->alert;
		break;
	case NWD__V1__KIND__MISSING_EPISODE:
		nwd__v1__missing_episode__init(&m->missing);
		m->env.missing_episode = &m->missing;
		break;
	case NWD__V1__KIND__INTELLIGENCE_REPORT:
		nwd__v1__intelligence_report__init(&m->intel);
		nwd__v1__grading__init(&m->grading);
		m->grading.source_evaluation = 2;
		m->grading.assessment = NWD__V1__GRADING__ASSESSMENT__B;
		m->grading.handling_code = rnd(4) == 0 ?
		    NWD__V1__GRADING__HANDLING_CODE__HANDLING_C :
		    NWD__V1__GRADING__HANDLING_CODE__HANDLING_P;
		m->intel.grading = &m->grading;
		m->intel.sanitised = 1;
		m->env.intelligence_report = &m->intel;
		break;
	case NWD__V1__KIND__CAMHS_UPDATE:
		nwd__v1__camhs_update__init(&m->camhs);
		m->env.camhs_update = &m->camhs;
		break;
	case NWD__V1__KIND__PLACEMENT_CHANGE:
		nwd__v1__placement_change__init(&m->placement);
		m->env.placement_change = &m->placement;
		break;
	default:
		nwd__v1__strategy_discussion_request__init(&m->sdr);
		m->env.strategy_discussion_request = &m->sdr;
		break;
	}
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char *argv[])
{
	struct policy		*pol, *old;
	struct identity_map	*ids;
	struct alloc_table	*allocs;
	struct alloc_entry	 e;
	struct policy_context	 ctx;
	struct policy_decision	 d;
	struct msg		*msgs;
	char			*ptext, *itext, err[512], subj[16], team[16];
	size_t			 plen, ilen, i, j, nruns, allow = 0, deny = 0,
				 norule = 0, npr;
	double			*runs, t0, *loads, total = 0;
	int			 nrules = 1000, nallocs = 10000, nprin = 2000, ch;
	long			 ndec = 1000000;

	while ((ch = getopt(argc, argv, "r:a:p:n:")) != -1) {
		switch (ch) {
		case 'r':
			nrules = atoi(optarg);
			break;
		case 'a':
			nallocs = atoi(optarg);
			break;
		case 'p':
			nprin = atoi(optarg);
			break;
		case 'n':
			ndec = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: bench_policy [-r rules] "
			    "[-a allocations] [-p principals] [-n decisions]\n");
			return 2;
		}
	}
	ptext = make_policy(nrules, &plen);
	itext = make_principals(nprin, &ilen);
	if ((ids = identity_parse(itext, ilen, "generated", err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "bench_policy: %s\n", err);
		return 1;
	}

	/* Loading: parse, check against the principals, free the old one. */
	if ((loads = calloc(20, sizeof(double))) == NULL)
		return 1;
	old = NULL;
	for (i = 0; i < 20; i++) {
		t0 = now_ns();
		pol = policy_parse(ptext, plen, "generated", err, sizeof(err));
		if (pol == NULL) {
			fprintf(stderr, "bench_policy: %s\n", err);
			return 1;
		}
		if (policy_check_principals(pol, ids, err, sizeof(err)) == -1) {
			fprintf(stderr, "bench_policy: %s\n", err);
			return 1;
		}
		policy_free(old);
		old = pol;
		loads[i] = (now_ns() - t0) / 1e6;
	}
	pol = old;
	qsort(loads, 20, sizeof(double), cmp_double);

	if ((allocs = alloc_table_new()) == NULL)
		return 1;
	/* Until there are that many distinct (subject, team) records. */
	while (alloc_table_count(allocs) < (size_t)nallocs) {
		snprintf(subj, sizeof(subj), "YP-%u", rnd(NSUBJECTS));
		snprintf(team, sizeof(team), "team-%u", rnd(NTEAMS));
		memset(&e, 0, sizeof(e));
		e.subject = subj;
		e.team = team;
		e.worker = "";
		e.from_ms = 0;
		e.until_ms = rnd(10) == 0 ? 1000 : 0;	/* some have ended */
		if (alloc_table_put(allocs, &e) == -1)
			return 1;
	}
	if ((msgs = calloc(NMESSAGES, sizeof(*msgs))) == NULL)
		return 1;
	for (i = 0; i < NMESSAGES; i++)
		make_message(&msgs[i]);
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = allocs;
	ctx.now_ms = 1795000000000LL;

	nruns = (size_t)(ndec / RUN);
	if ((runs = calloc(nruns, sizeof(double))) == NULL)
		return 1;
	npr = identity_count(ids);
	for (i = 0; i < nruns; i++) {
		/* The pairs are chosen before the clock starts. */
		const struct principal *who[RUN];
		struct msg *what[RUN];

		for (j = 0; j < RUN; j++) {
			who[j] = identity_at(ids, rnd(npr));
			what[j] = &msgs[rnd(NMESSAGES)];
		}
		t0 = now_ns();
		for (j = 0; j < RUN; j++) {
			switch (policy_check_deliver(pol, who[j],
			    &what[j]->env, &ctx, &d)) {
			case POLICY_ALLOW:
				allow++;
				break;
			case POLICY_DENY:
				deny++;
				break;
			default:
				norule++;
				break;
			}
		}
		runs[i] = (now_ns() - t0) / RUN;
		total += runs[i] * RUN;
	}
	qsort(runs, nruns, sizeof(double), cmp_double);

	printf("bench_policy: %zu rules, %zu allocation records, %zu "
	    "principals, %zu decisions\n", policy_nrules(pol),
	    alloc_table_count(allocs), npr, nruns * RUN);
	printf("decision (policy_check_deliver): median %.0f ns, p90 %.0f ns, "
	    "p99 %.0f ns, mean %.0f ns\n", runs[nruns / 2],
	    runs[nruns * 90 / 100], runs[nruns * 99 / 100],
	    total / (nruns * RUN));
	printf("verdicts: allow %zu, deny %zu, no rule %zu\n", allow, deny,
	    norule);
	printf("load and swap (parse %zu bytes + check principals + free "
	    "old): median %.2f ms, max %.2f ms\n", plen, loads[10], loads[19]);
	policy_free(pol);
	alloc_table_free(allocs);
	identity_free(ids);
	free(msgs);
	free(runs);
	free(loads);
	free(ptext);
	free(itext);
	return 0;
}
