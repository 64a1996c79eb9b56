/*
 * poll_jobs: one shipment's requests in the carrier pass (see
 * poll_pass.c's comment for what the meta.codes mean): a create (maybe
 * once more without a slug, after 4010/4012), a lookup of numbers that
 * already exist (4003; 50 per list request), a get by id (and a create
 * again after a 4004).  Each answer comes back to its on_*() callback,
 * which applies it or decides what its meta.code means.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "poll_pass.h"

/* One shipment's request: create (maybe twice), get, or waiting for a lookup. */
struct job {
	struct carrier_pass *p;
	struct carrier_ship sh;
	const char *slug;	/* sent with the create; NULL: detect */
	bool slug_dropped;	/* retried without a slug after 4010/4012 */
	bool recreated;		/* created again after a 4004 */
};

/* A lookup of up to CARRIER_LOOKUP_MAX numbers whose create said 4003. */
struct lookup {
	struct carrier_pass *p;
	struct job *jobs[CARRIER_LOOKUP_MAX];
	size_t n;
};

static void on_create(void *arg, const struct carrier_result *res);

/* --- the shipment's own tracking ---------------------------------------------- */

/* The tracking of a create, get or lookup answer for this shipment. */
static void
apply_own(struct carrier_pass *p, const struct carrier_ship *sh,
    const struct carrier_tracking *t, long *counter)
{
	pass_apply(p, sh->id, sh->order_id, t, true, counter);
}

/*
 * An answer that brought the shipment's own tracking: applied and
 * counted in *counter.  false when the request did not succeed.
 */
static bool
took_own(struct carrier_pass *p, const struct job *j,
    const struct carrier_result *res, long *counter, const char *none)
{
	if (res->outcome != CARRIER_OK)
		return false;
	if (res->resp->ntrackings > 0)
		apply_own(p, &j->sh, &res->resp->trackings[0], counter);
	else
		pass_record_error(p, &j->sh, false, "%s", none);
	return true;
}

/* --- register: create, and what its answers lead to ---------------------- */

static struct job *
job_new(struct carrier_pass *p, const struct carrier_ship *sh)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j != NULL) {
		j->p = p;
		j->sh = *sh;
	}
	return j;
}

static void
queue_create(struct carrier_pass *p, struct job *j)
{
	struct carrier_new n = {
		.tracking_number = j->sh.tracking_number,
		.slug = j->slug_dropped ? NULL : j->slug,
		.order_id = j->sh.order_id[0] ? j->sh.order_id : NULL,
	};

	if (carrier_create(p->c, &n, on_create, j) < 0) {
		pass_record_error(p, &j->sh, false, "cannot build the create request");
		free(j);
	}
}

static void
want_lookup(struct carrier_pass *p, struct job *j)
{
	if (p->npend == p->cappend) {
		size_t cap = p->cappend ? 2 * p->cappend : 64;
		struct job **grown = realloc(p->pend, cap * sizeof(*grown));
		if (grown == NULL) {
			pass_record_error(p, &j->sh, false, "out of memory");
			free(j);
			return;
		}
		p->pend = grown;
		p->cappend = cap;
	}
	p->pend[p->npend++] = j;
}

/* The refusals of a create, by meta.code; true when the job lives on. */
static bool
create_refused(struct carrier_pass *p, struct job *j, const struct carrier_result *res)
{
	switch (res->code) {
	case AS_ALREADY_EXISTS:
		want_lookup(p, j);
		return true;
	case AS_BAD_SLUG:
	case AS_NO_COURIER:
		if (j->slug != NULL && !j->slug_dropped) {
			log_info("shipment %lld: %d with slug %s; once more without",
			    (long long)j->sh.id, res->code, j->slug);
			j->slug_dropped = true;
			queue_create(p, j);
			return true;
		}
		pass_record_error(p, &j->sh, false, "AfterShip cannot tell the courier "
		    "(%d: %s)", res->code, res->message);
		return false;
	case AS_INVALID_NUMBER:
	case AS_MISSING_NUMBER:
	case AS_BAD_FORMAT:
		pass_record_error(p, &j->sh, true, "AfterShip rejected the tracking number "
		    "(%d: %s); it is not polled any more", res->code, res->message);
		return false;
	case AS_NEEDS_POSTAL:
	case AS_NEEDS_COUNTRY:
		pass_record_error(p, &j->sh, false, "the courier needs more details than "
		    "shiptrack has (%d: %s)", res->code, res->message);
		return false;
	default:
		pass_record_error(p, &j->sh, false, "AfterShip refused the tracking "
		    "(%d: %s)", res->code, res->message);
		return false;
	}
}

static void
on_create(void *arg, const struct carrier_result *res)
{
	struct job *j = arg;
	struct carrier_pass *p = j->p;

	if (!took_own(p, j, res, &p->n.registered, "the create answer held no tracking") &&
	    !pass_common_outcome(p, &j->sh, res) && create_refused(p, j, res))
		return;	/* queued again, or waiting for a lookup */
	free(j);
}

/* --- lookups of numbers that already exist (4003) ------------------------ */

/* The listed tracking that is this shipment's: same number, same slug if we sent one. */
static const struct carrier_tracking *
find_own(const struct carrier_response *resp, const struct job *j)
{
	const struct carrier_tracking *any = NULL;

	for (size_t i = 0; i < resp->ntrackings; i++) {
		const struct carrier_tracking *t = &resp->trackings[i];
		if (t->tracking_number == NULL ||
		    strcmp(t->tracking_number, j->sh.tracking_number) != 0)
			continue;
		if (j->slug == NULL || j->slug_dropped ||
		    (t->slug != NULL && strcmp(t->slug, j->slug) == 0))
			return t;
		if (any == NULL)
			any = t;
	}
	return any;
}

static void
on_lookup(void *arg, const struct carrier_result *res)
{
	struct lookup *l = arg;
	struct carrier_pass *p = l->p;

	for (size_t i = 0; i < l->n; i++) {
		struct job *j = l->jobs[i];
		const struct carrier_tracking *t;

		if (res->outcome != CARRIER_OK) {
			if (!pass_common_outcome(p, &j->sh, res))
				pass_record_error(p, &j->sh, false, "looking the number up "
				    "failed (%d: %s)", res->code, res->message);
		} else if ((t = find_own(res->resp, j)) != NULL)
			apply_own(p, &j->sh, t, &p->n.registered);
		else
			pass_record_error(p, &j->sh, false, "AfterShip says the tracking "
			    "exists (4003) but does not list it");
		free(j);
	}
	free(l);
}

bool
jobs_lookup(struct carrier_pass *p)
{
	struct lookup *l = calloc(1, sizeof(*l));
	const char *numbers[CARRIER_LOOKUP_MAX];
	struct carrier_query q = { .updated_min_ms = -1, .numbers = numbers };

	if (l == NULL)
		return false;
	l->p = p;
	while (l->n < CARRIER_LOOKUP_MAX && p->npend > 0) {
		struct job *j = p->pend[--p->npend];
		/* The same number twice (two orders) is asked for once. */
		bool dup = false;
		for (size_t i = 0; i < q.nnumbers && !dup; i++)
			dup = strcmp(numbers[i], j->sh.tracking_number) == 0;
		if (!dup)
			numbers[q.nnumbers++] = j->sh.tracking_number;
		l->jobs[l->n++] = j;
	}
	if (carrier_list(p->c, &q, on_lookup, l) < 0) {
		struct carrier_result res = { .outcome = CARRIER_FAILED,
		    .message = "cannot build the lookup request" };
		on_lookup(l, &res);
	}
	return true;
}

/* --- reconcile: get by id ------------------------------------------------ */

static void
on_get(void *arg, const struct carrier_result *res)
{
	struct job *j = arg;
	struct carrier_pass *p = j->p;

	if (!took_own(p, j, res, &p->n.reconciled, "the answer held no tracking") &&
	    !pass_common_outcome(p, &j->sh, res)) {
		if (res->code == AS_NOT_FOUND && !j->recreated && !p->o->dry_run) {
			/* Gone from AfterShip (deleted, expired): register it again. */
			log_info("shipment %lld: tracking %s is gone (4004); "
			    "creating it again", (long long)j->sh.id, j->sh.carrier_id);
			j->recreated = true;
			j->slug = j->sh.carrier_slug[0] ? j->sh.carrier_slug :
			    carrier_slug_for(j->sh.carrier);
			queue_create(p, j);
			return;
		}
		pass_record_error(p, &j->sh, false, "AfterShip refused the fetch (%d: %s)",
		    res->code, res->message);
	}
	free(j);
}

/* --- what the pass asks for ------------------------------------------------- */

bool
jobs_register(struct carrier_pass *p, const struct carrier_ship *sh)
{
	struct job *j = job_new(p, sh);

	if (j == NULL)
		return false;
	j->slug = carrier_slug_for(sh->carrier);
	queue_create(p, j);
	return true;
}

bool
jobs_reconcile(struct carrier_pass *p, const struct carrier_ship *sh)
{
	struct job *j = job_new(p, sh);

	if (j == NULL)
		return false;
	if (carrier_get(p->c, sh->carrier_id, on_get, j) < 0) {
		pass_record_error(p, sh, false, "cannot build the fetch request");
		free(j);
	}
	return true;
}

void
jobs_drop_waiting(struct carrier_pass *p)
{
	for (size_t i = 0; i < p->npend; i++)
		free(p->pend[i]);
	p->npend = 0;
}
