/*
 * decide: the broker's publish decisions, replayed without publishing.
 * See decide.h for the contracts.
 *
 * The first half (explain_run) is pure and mirrors daemon/broker.c step by
 * step: handle_publish (validation, size, the sender's clearance, the
 * publish rule, the broker-owned header fields, an Allocation's named team
 * or worker), decide_recipients (every principal but the sender, then the
 * duty principals in the duty pass if no one may receive it) and
 * record_decision (redact_pack for what is withheld, fields_shared for
 * what the audit row says is shared).  A change to one of those is a
 * change here too.
 *
 * Pure: the nwd tool links it too, for the offline "nwd policy explain",
 * so the offline answer is the daemon's answer.  explain.c answers an
 * auditor's Explain frame with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "envelope.h"
#include "decide.h"
#include "identity.h"
#include "policy.h"
#include "redact.h"


/* As broker.c's BROKER_FRAME_HEADROOM: room in a frame around an envelope. */
#define EXPLAIN_FRAME_HEADROOM	4096

/* One explanation being built. */
struct run {
	const struct explain_world	*w;
	const struct principal		*sender;	/* borrowed, w->ids' */
	Nwd__V1__Envelope		*env;		/* owned copy */
	char *const			*to;		/* borrowed */
	size_t				 nto;
	Nwd__V1__ExplainResult		*r;		/* borrowed */
	uint32_t			 recipients;
};

/* Appends a copy of s to a repeated string field. */
static int
strv_push(char ***v, size_t *n, const char *s)
{
	char **nv;

	if ((nv = realloc(*v, (*n + 1) * sizeof(char *))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(s)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/* Replaces a string field of a result or unpacked message with a copy. */
static int
set_string(char **slot, const char *v)
{
	char *copy;

	if ((copy = strdup(v != NULL ? v : "")) == NULL)
		return -1;
	if (*slot != NULL && *slot != protobuf_c_empty_string)
		free(*slot);
	*slot = copy;
	return 0;
}

static Nwd__V1__ExplainDecision *
decision_new(const char *principal, const char *role)
{
	Nwd__V1__ExplainDecision *d;

	if ((d = malloc(sizeof(*d))) == NULL)
		return NULL;
	nwd__v1__explain_decision__init(d);
	if (set_string(&d->principal, principal) == -1 ||
	    set_string(&d->role, role) == -1) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return NULL;
	}
	return d;
}

static int
decision_add(Nwd__V1__ExplainResult *r, Nwd__V1__ExplainDecision *d)
{
	Nwd__V1__ExplainDecision **nv;

	if ((nv = realloc(r->decisions, (r->n_decisions + 1) *
	    sizeof(*nv))) == NULL) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return -1;
	}
	r->decisions = nv;
	nv[r->n_decisions++] = d;
	return 0;
}

/*
 * A private copy of env that the run may change (the broker sets the
 * header fields it owns), allocated so that free_unpacked releases it.
 */
static Nwd__V1__Envelope *
envelope_copy(const Nwd__V1__Envelope *env)
{
	Nwd__V1__Envelope	*copy;
	uint8_t			*buf;
	size_t			 len;

	len = nwd__v1__envelope__get_packed_size(env);
	if ((buf = malloc(len > 0 ? len : 1)) == NULL)
		return NULL;
	nwd__v1__envelope__pack(env, buf);
	copy = nwd__v1__envelope__unpack(NULL, len, buf);
	free(buf);
	return copy;
}

/* Lists the top-level body fields present and not wholly withheld, as
 * broker.c's fields_shared() writes them into the audit row. */
static int
fields_shared(const Nwd__V1__Envelope *env,
    const Nwd__V1__ExplainDecision *d, char ***v, size_t *n)
{
	const ProtobufCMessage		*body = envelope_body(env);
	const ProtobufCFieldDescriptor	*fd;
	const char			*p;
	size_t				 i, k;
	int				 hidden;

	if (body == NULL)
		return 0;
	for (i = 0; i < body->descriptor->n_fields; i++) {
		fd = &body->descriptor->fields[i];
		p = (const char *)body + fd->offset;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(const size_t *)((const char *)body +
			    fd->quantifier_offset) == 0)
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_STRING) {
			if (*(char *const *)p == NULL ||
			    **(char *const *)p == '\0')
				continue;
		} else if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (*(void *const *)p == NULL)
				continue;
		}
		/* Scalars are always counted: their zero is a value too. */
		hidden = 0;
		for (k = 0; k < d->n_fields_withheld; k++)
			if (strcmp(d->fields_withheld[k], fd->name) == 0)
				hidden = 1;
		if (!hidden && strv_push(v, n, fd->name) == -1)
			return -1;
	}
	return 0;
}

/* Splits redact_pack's "a,b" into a repeated field. */
static int
split_paths(const char *list, char ***v, size_t *n)
{
	const char	*p = list, *comma;
	char		 path[REDACT_MAX_PATHS * 130];
	size_t		 l;

	while (*p != '\0') {
		comma = strchr(p, ',');
		l = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (l > 0 && l < sizeof(path)) {
			memcpy(path, p, l);
			path[l] = '\0';
			if (strv_push(v, n, path) == -1)
				return -1;
		}
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return 0;
}

static int
wanted(const struct run *run, const char *id)
{
	size_t i;

	if (run->nto == 0)
		return 1;
	for (i = 0; i < run->nto; i++)
		if (strcmp(run->to[i], id) == 0)
			return 1;
	return 0;
}

/* Records one deliver decision, as record_decision() in broker.c would. */
static int
record(struct run *run, const struct principal *p,
    const struct policy_decision *pd, int duty_pass)
{
	Nwd__V1__ExplainDecision	*d;
	uint8_t				*bytes;
	char				 withheld[REDACT_MAX_PATHS * 130];
	size_t				 i, len;

	if (pd->verdict == POLICY_ALLOW)
		run->recipients++;
	if (!wanted(run, p->id))
		return 0;
	if ((d = decision_new(p->id, p->role)) == NULL)
		return -1;
	d->duty_pass = duty_pass;
	switch (pd->verdict) {
	case POLICY_ALLOW:
		d->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED;
		break;
	case POLICY_DENY:
		d->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED;
		break;
	default:
		d->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE;
		break;
	}
	if (set_string(&d->rules, pd->rules) == -1 ||
	    set_string(&d->reason, pd->reason) == -1)
		goto fail;
	if (pd->verdict == POLICY_ALLOW) {
		bytes = redact_pack(run->env, pd->strip, pd->nstrip, &len,
		    withheld, sizeof(withheld));
		if (bytes == NULL)
			goto fail;
		free(bytes);
		if (split_paths(withheld, &d->fields_withheld,
		    &d->n_fields_withheld) == -1 ||
		    fields_shared(run->env, d, &d->fields_shared,
		    &d->n_fields_shared) == -1)
			goto fail;
		for (i = 0; i < pd->nstrip; i++)
			if (strv_push(&d->fields_configured,
			    &d->n_fields_configured, pd->strip[i]) == -1)
				goto fail;
	}
	return decision_add(run->r, d);
fail:
	nwd__v1__explain_decision__free_unpacked(d, NULL);
	return -1;
}

/* The sender is never a candidate for its own message. */
static int
record_sender(struct run *run)
{
	Nwd__V1__ExplainDecision	*d;
	char				 why[256];

	if (run->nto == 0 || !wanted(run, run->sender->id))
		return 0;
	if ((d = decision_new(run->sender->id, run->sender->role)) == NULL)
		return -1;
	d->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE;
	snprintf(why, sizeof(why), "%s is the sender; the broker does not "
	    "decide for a message's own sender", run->sender->id);
	if (set_string(&d->reason, why) == -1) {
		nwd__v1__explain_decision__free_unpacked(d, NULL);
		return -1;
	}
	return decision_add(run->r, d);
}

/* Sets the publish decision to a refusal. */
static int
refuse_publish(Nwd__V1__ExplainDecision *d, const char *rules,
    const char *reason)
{
	d->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED;
	if (set_string(&d->rules, rules) == -1 ||
	    set_string(&d->reason, reason) == -1)
		return -1;
	return 0;
}

/*
 * The publish checks of handle_publish() in broker.c, in its order.
 * Returns 1 if the publish is allowed, 0 if refused, -1 if memory ran out.
 */
static int
judge_publish(const struct explain_world *w, const struct principal *sender,
    const Nwd__V1__Envelope *env, Nwd__V1__ExplainDecision *out)
{
	const Nwd__V1__Header	*h;
	struct policy_context	 ctx;
	struct policy_decision	 d;
	char			 err[320];

	if (env == NULL)
		return refuse_publish(out, "", "publish carries no envelope");
	if (envelope_validate(env, err, sizeof(err)) == -1)
		return refuse_publish(out, "", err);
	h = env->header;
	if (w->max_frame != 0 && nwd__v1__envelope__get_packed_size(env) +
	    EXPLAIN_FRAME_HEADROOM > w->max_frame) {
		snprintf(err, sizeof(err), "envelope is too large to deliver "
		    "within max_frame (%u bytes, less %d for the broker's "
		    "header)", w->max_frame, EXPLAIN_FRAME_HEADROOM);
		return refuse_publish(out, "", err);
	}
	if ((int)h->marking > sender->clearance) {
		snprintf(err, sizeof(err),
		    "marking %s is above the sender's "
		    "clearance %s",
		    envelope_marking_name(h->marking),
		    envelope_marking_name(sender->clearance));
		return refuse_publish(out, "clearance", err);
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = w->allocs;
	ctx.now_ms = w->now_ms;
	if (policy_check_publish(w->policy, sender, env, &ctx, &d) !=
	    POLICY_ALLOW)
		return refuse_publish(out, d.rules, d.reason) == -1 ? -1 : 0;
	out->verdict = NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED;
	if (set_string(&out->rules, d.rules) == -1 ||
	    set_string(&out->reason, d.reason) == -1)
		return -1;
	return 1;
}

/* The broker-owned header fields, and an Allocation's named team and
 * worker (prepare_allocation() in broker.c). */
static int
prepare(struct run *run)
{
	Nwd__V1__Header		*h = run->env->header;
	const Nwd__V1__Allocation *a = run->env->allocation;
	const char		*who[2];
	size_t			 i, k;

	if (set_string(&h->sender, run->sender->id) == -1 ||
	    set_string(&h->originating_agency, run->sender->agency) == -1)
		return -1;
	h->created_unix_ms = run->w->now_ms;
	if (h->kind != NWD__V1__KIND__ALLOCATION || a == NULL)
		return 0;
	who[0] = a->team;
	who[1] = a->worker;
	for (k = 0; k < 2; k++) {
		if (who[k][0] == '\0')
			continue;
		for (i = 0; i < h->n_share_with; i++)
			if (strcmp(h->share_with[i], who[k]) == 0)
				break;
		if (i == h->n_share_with &&
		    strv_push(&h->share_with, &h->n_share_with, who[k]) == -1)
			return -1;
	}
	return 0;
}

/* decide_recipients() in broker.c. */
static int
decide(struct run *run)
{
	const struct explain_world	*w = run->w;
	const struct principal		*p;
	struct policy_context		 ctx;
	struct policy_decision		 d;
	size_t				 i, n = identity_count(w->ids);

	memset(&ctx, 0, sizeof(ctx));
	ctx.allocs = w->allocs;
	ctx.now_ms = w->now_ms;
	for (i = 0; i < n; i++) {
		p = identity_at(w->ids, i);
		if (strcmp(p->id, run->sender->id) == 0) {
			if (record_sender(run) == -1)
				return -1;
			continue;
		}
		policy_check_deliver(w->policy, p, run->env, &ctx, &d);
		if (record(run, p, &d, 0) == -1)
			return -1;
	}
	if (run->recipients > 0)
		return 0;
	/* No dead letters: what reaches no one goes to the duty desk. */
	ctx.duty_pass = 1;
	for (i = 0; i < policy_nduty(w->policy); i++) {
		p = identity_find_id(w->ids, policy_duty_at(w->policy, i));
		if (p == NULL || strcmp(p->id, run->sender->id) == 0)
			continue;
		policy_check_deliver(w->policy, p, run->env, &ctx, &d);
		if (record(run, p, &d, 1) == -1)
			return -1;
	}
	run->r->duty_desk = run->recipients > 0;
	return 0;
}

Nwd__V1__ExplainResult *
explain_run(const struct explain_world *w, const char *sender,
    const Nwd__V1__Envelope *env, char *const *to, size_t nto,
    enum explain_status *status, char *err, size_t errlen)
{
	struct run		 run;
	Nwd__V1__ExplainResult	*r = NULL;
	int			 allowed;
	size_t			 i;

	memset(&run, 0, sizeof(run));
	run.w = w;
	run.to = to;
	run.nto = nto;
	if ((run.sender = identity_find_id(w->ids, sender)) == NULL) {
		snprintf(err, errlen, "no principal '%.64s' in the principal "
		    "map", sender);
		goto not_found;
	}
	for (i = 0; i < nto; i++) {
		if (identity_find_id(w->ids, to[i]) == NULL) {
			snprintf(err, errlen, "no principal '%.64s' in the "
			    "principal map", to[i]);
			goto not_found;
		}
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		goto nomem;
	nwd__v1__explain_result__init(r);
	run.r = r;
	r->at_unix_ms = w->now_ms;
	if (set_string(&r->policy_version, policy_version(w->policy)) == -1 ||
	    set_string(&r->sender, run.sender->id) == -1 ||
	    set_string(&r->agency, run.sender->agency) == -1 ||
	    (r->publish = decision_new(run.sender->id,
	    run.sender->role)) == NULL)
		goto nomem;
	if ((allowed = judge_publish(w, run.sender, env, r->publish)) == -1)
		goto nomem;
	if (allowed) {
		if ((run.env = envelope_copy(env)) == NULL ||
		    prepare(&run) == -1 || decide(&run) == -1)
			goto nomem;
		r->recipients = run.recipients;
		if (run.recipients == 0 && refuse_publish(r->publish,
		    "no-dead-letters", "no principal may receive this "
		    "message, not even the duty desk; nothing was shared") ==
		    -1)
			goto nomem;
	}
	if (run.env != NULL)
		nwd__v1__envelope__free_unpacked(run.env, NULL);
	if (status != NULL)
		*status = EXPLAIN_OK;
	return r;
nomem:
	snprintf(err, errlen, "out of memory");
	if (run.env != NULL)
		nwd__v1__envelope__free_unpacked(run.env, NULL);
	explain_result_free(r);
	if (status != NULL)
		*status = EXPLAIN_NOMEM;
	return NULL;
not_found:
	if (status != NULL)
		*status = EXPLAIN_NOT_FOUND;
	return NULL;
}

void
explain_result_free(Nwd__V1__ExplainResult *r)
{
	if (r != NULL)
		nwd__v1__explain_result__free_unpacked(r, NULL);
}

const char *
explain_verdict_text(Nwd__V1__ExplainVerdict v, int publish)
{
	switch (v) {
	case NWD__V1__EXPLAIN_VERDICT__EXPLAIN_ALLOWED:
		return publish ? "allowed" : "delivered";
	case NWD__V1__EXPLAIN_VERDICT__EXPLAIN_REFUSED:
		return "refused";
	case NWD__V1__EXPLAIN_VERDICT__EXPLAIN_NOT_A_CANDIDATE:
		return "not a candidate";
	default:
		return "unknown";
	}
}
