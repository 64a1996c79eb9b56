/*
 * stats: see stats.h.  Gathering fills one JSON object; every form (the
 * API's body, the CLI's lines, the metrics text: stats_prom.c) is written
 * from it, so a count is read in exactly one place.
 */
#include "config.h"

#include <string.h>

#include "stats.h"
#include "store_carrier.h"
#include "store_outbox.h"
#include "timefmt.h"

static const char *const lock_names[STATS_LOCKS] = {
	RUNLOCK_POLL, RUNLOCK_NOTIFY, RUNLOCK_RYE,
};
static const char *const notify_states[] = { "pending", "failed", "sent", "skipped" };
#define NSTATES (sizeof(notify_states) / sizeof(notify_states[0]))

const char *
stats_notify_state(size_t i)
{
	return i < NSTATES ? notify_states[i] : NULL;
}

/* ---- run locks ------------------------------------------------------------ */

void
stats_locks(const struct conf *c, int64_t now_ms, struct stats_lock out[STATS_LOCKS])
{
	for (int i = 0; i < STATS_LOCKS; i++) {
		struct stats_lock *l = &out[i];

		memset(l, 0, sizeof(*l));
		l->name = lock_names[i];
		l->age_s = -1;
		l->ok = runlock_probe(c->database, l->name, &l->s, l->error,
		    sizeof(l->error)) == 0;
		if (!l->ok || !l->s.held || l->s.since_ms <= 0)
			continue;
		l->age_s = now_ms > l->s.since_ms ? (now_ms - l->s.since_ms) / 1000 : 0;
		l->stuck = l->age_s > STATS_STUCK_INTERVALS * c->poll_interval;
	}
}

static json_object *
lock_json(const struct stats_lock *l)
{
	json_object *o = json_object_new_object();
	bool held = l->ok && l->s.held;
	char since[TIMEFMT_ISO_LEN];

	if (held && l->s.since_ms > 0)
		timefmt_iso_utc(l->s.since_ms, since);
	json_object_object_add(o, "held", l->ok ? json_object_new_boolean(held) : NULL);
	json_object_object_add(o, "since", held && l->s.since_ms > 0 ?
	    json_object_new_string(since) : NULL);
	json_object_object_add(o, "ageSeconds", l->age_s >= 0 ?
	    json_object_new_int64(l->age_s) : NULL);
	json_object_object_add(o, "pid", held && l->s.pid > 0 ?
	    json_object_new_int64(l->s.pid) : NULL);
	json_object_object_add(o, "stuck", json_object_new_boolean(l->stuck));
	json_object_object_add(o, "error", l->ok ? NULL : json_object_new_string(l->error));
	return o;
}

/* ---- gathering ------------------------------------------------------------- */

static int
count_add(void *arg, const char *group, const char *key, int64_t n)
{
	json_object *root = arg, *g;

	if (strcmp(group, "stale") == 0 || strcmp(group, "stored") == 0) {
		json_object_object_add(root, strcmp(key, "orders") == 0 ?
		    "stale" : strcmp(key, "events") == 0 ? "events" :
		    "rejectedDeliveries", json_object_new_int64(n));
		return 0;
	}
	if (!json_object_object_get_ex(root, group, &g))
		return -1;
	json_object_object_add(g, key, json_object_new_int64(n));
	return 0;
}

/* "poll.startedAt" -> lastPoll.startedAt */
static int
meta_add(void *arg, const char *key, const char *value)
{
	const char *dot = strchr(key, '.');

	json_object_object_add(arg, dot ? dot + 1 : key,
	    value ? json_object_new_string(value) : NULL);
	return 0;
}

/* {"pending":0,"failed":0,"sent":0,"skipped":0}, filled by count_add. */
static json_object *
notify_counts_new(void)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < NSTATES; i++)
		json_object_object_add(o, notify_states[i], json_object_new_int64(0));
	return o;
}

/* A group from meta, or null when it has no rows. */
static enum store_rc
meta_group(struct store *st, json_object *root, const char *name,
    const char *prefix)
{
	json_object *g = json_object_new_object();
	enum store_rc rc = store_meta_prefix(st, prefix, meta_add, g);

	if (rc != STORE_OK || json_object_object_length(g) == 0) {
		json_object_put(g);
		g = NULL;
	}
	json_object_object_add(root, name, g);
	return rc;
}

/* One meta value as root.lastSuccessfulPoll (the first row only). */
static int
last_ok_add(void *arg, const char *key, const char *value)
{
	(void)key;
	json_object_object_add(arg, "lastSuccessfulPoll",
	    value ? json_object_new_string(value) : NULL);
	return 1;
}

static enum store_rc
gather_store(struct store *st, int64_t now_ms, json_object *root)
{
	enum store_rc rc = store_stats(st, now_ms, count_add, root);

	if (rc == STORE_OK)
		rc = meta_group(st, root, "lastPoll", "poll.");
	if (rc == STORE_OK)
		rc = store_notify_counts(st, count_add, root);
	if (rc == STORE_OK)
		rc = store_notify_delayed(st, count_add, root);
	json_object_object_add(root, "lastSuccessfulPoll", NULL);
	if (rc == STORE_OK)
		rc = store_meta_prefix(st, META_POLL_OK, last_ok_add, root);
	/* shiptrack-poll's Rye pass: its last run and last success (poll_rye.c). */
	if (rc == STORE_OK)
		rc = meta_group(st, root, "rye", "rye.");
	return rc;
}

enum store_rc
stats_gather_with(struct store *st, const struct conf *c, int64_t now_ms,
    json_object **out, enum store_rc (*more)(void *arg, struct store *st),
    void *arg)
{
	json_object *root = json_object_new_object(), *locks;
	struct stats_lock l[STATS_LOCKS];
	enum store_rc rc;

	json_object_object_add(root, "status", json_object_new_object());
	json_object_object_add(root, "stage", json_object_new_object());
	json_object_object_add(root, "notifications", notify_counts_new());
	json_object_object_add(root, "delayed", json_object_new_object());
	if ((rc = store_read_begin(st)) == STORE_OK) {
		rc = gather_store(st, now_ms, root);
		if (rc == STORE_OK && more != NULL)
			rc = more(arg, st);
		store_read_end(st);
	}
	if (rc != STORE_OK) {
		json_object_put(root);
		*out = NULL;
		return rc;
	}
	stats_locks(c, now_ms, l);
	locks = json_object_new_object();
	for (int i = 0; i < STATS_LOCKS; i++)
		json_object_object_add(locks, l[i].name, lock_json(&l[i]));
	json_object_object_add(root, "locks", locks);
	*out = root;
	return STORE_OK;
}

enum store_rc
stats_gather(struct store *st, const struct conf *c, int64_t now_ms,
    json_object **out)
{
	return stats_gather_with(st, c, now_ms, out, NULL, NULL);
}

/* ---- for people -------------------------------------------------------------- */

#define PRINT_WIDTH 30

static void
print_value(FILE *f, json_object *v)
{
	if (v == NULL)
		fputs("-\n", f);
	else if (json_object_is_type(v, json_type_boolean))
		fputs(json_object_get_boolean(v) ? "yes\n" : "no\n", f);
	else
		fprintf(f, "%s\n", json_object_get_string(v));
}

/* A run lock on one line: "not running", "running since T (N s, pid P)"... */
static void
print_lock(FILE *f, json_object *l)
{
	json_object *held = json_object_object_get(l, "held");
	json_object *err = json_object_object_get(l, "error");

	if (held == NULL)
		fprintf(f, "cannot tell: %s\n", err ? json_object_get_string(err) : "?");
	else if (!json_object_get_boolean(held))
		fputs("not running\n", f);
	else
		fprintf(f, "%srunning since %s (%s s, pid %s)\n",
		    json_object_get_boolean(json_object_object_get(l, "stuck")) ?
		    "STUCK: " : "",
		    json_object_get_string(json_object_object_get(l, "since")),
		    json_object_get_string(json_object_object_get(l, "ageSeconds")),
		    json_object_get_string(json_object_object_get(l, "pid")));
}

static void
print_object(FILE *f, json_object *o, int indent)
{
	if (json_object_object_length(o) == 0)
		fprintf(f, "%*s(none)\n", indent, "");
	json_object_object_foreach(o, key, v) {
		int width = PRINT_WIDTH - indent;
		bool group = v != NULL && json_object_is_type(v, json_type_object);

		if (group && !json_object_object_get_ex(v, "held", NULL)) {
			fprintf(f, "%*s%s:\n", indent, "", key);
			print_object(f, v, indent + 2);
			continue;
		}
		fprintf(f, "%*s%-*s ", indent, "", width > 1 ? width : 1, key);
		if (group)
			print_lock(f, v);
		else
			print_value(f, v);
	}
}

void
stats_print(FILE *f, json_object *stats)
{
	print_object(f, stats, 0);
}
