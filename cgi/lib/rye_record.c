/*
 * rye_record: see rye_record.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "codec.h"
#include "rye_record.h"
#include "text.h"

static const struct {
	const char *state, *status;
} intent_states[] = {
	{ "completed", "SUCCEEDED" },
	{ "failed", "FAILED" },
	{ "placing_order", "PROCESSING" },
	{ "requires_action", "ACTION_REQUIRED" },
	{ "retrieving_offer", "PENDING" },
	{ "awaiting_confirmation", "PENDING" },
};

static bool
is_word(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= max && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] == '\0';
}

int
rye_record_intent_status(const char *state, char *out, size_t outsz)
{
	size_t n;

	if (!is_word(state, 64) || (n = strlen(state)) >= outsz)
		return -1;
	for (size_t i = 0; i < sizeof(intent_states) / sizeof(intent_states[0]); i++)
		if (strcmp(state, intent_states[i].state) == 0) {
			snprintf(out, outsz, "%s", intent_states[i].status);
			return 0;
		}
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(state[i] >= 'a' && state[i] <= 'z' ?
		    state[i] - 'a' + 'A' : state[i]);
	return 0;
}

int
rye_record_event_type(const char *type_name, char *out, size_t outsz)
{
	static const char suffix[] = "OrderEvent";
	size_t n, o = 0;

	if (!is_word(type_name, 100))
		return -1;
	n = strlen(type_name);
	if (n > sizeof(suffix) - 1 && strcmp(type_name + n - (sizeof(suffix) - 1),
	    suffix) == 0)
		n -= sizeof(suffix) - 1;
	for (size_t i = 0; i < n; i++) {
		char c = type_name[i];
		bool upper = c >= 'A' && c <= 'Z';

		if (upper && i > 0 && type_name[i - 1] != '_' && o + 1 < outsz)
			out[o++] = '_';
		if (o + 1 >= outsz)
			return -1;
		out[o++] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	}
	out[o] = '\0';
	return o > 0 ? 0 : -1;
}

/* --- digests --------------------------------------------------------------- */

/* Facts as SHA-256 input: each value with its NUL, a lone 0x01 for "none". */
struct facts_hash {
	struct codec_part parts[64];
	size_t n;
};

/* Hash what is collected into out and start again (so long lists fit). */
static void
flush(struct facts_hash *h, unsigned char md[CODEC_SHA256_LEN])
{
	struct codec_part chain[65];

	chain[0] = (struct codec_part){ md, CODEC_SHA256_LEN };
	memcpy(chain + 1, h->parts, h->n * sizeof(h->parts[0]));
	if (!codec_sha256(chain, h->n + 1, md))
		memset(md, 0, CODEC_SHA256_LEN);
	h->n = 0;
}

static void
add(struct facts_hash *h, unsigned char md[CODEC_SHA256_LEN], const char *v)
{
	if (h->n == sizeof(h->parts) / sizeof(h->parts[0]))
		flush(h, md);
	h->parts[h->n++] = v != NULL ? (struct codec_part){ v, strlen(v) + 1 } :
	    (struct codec_part){ "\001", 1 };
}

static void
finish(struct facts_hash *h, unsigned char md[CODEC_SHA256_LEN], char *out)
{
	flush(h, md);
	codec_hex_encode(md, RYE_DIGEST_LEN / 2, out);
	out[RYE_DIGEST_LEN] = '\0';
}

void
rye_record_intent_digest(const struct rye_intent *i, char out[RYE_DIGEST_LEN + 1])
{
	struct facts_hash h = { .n = 0 };
	unsigned char md[CODEC_SHA256_LEN] = { 0 };
	const char *v[] = { "intent", i->id, i->state, i->reference_id, i->order_id,
	    i->failure_code, i->email, i->postal_code, i->country };

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
		add(&h, md, v[k]);
	finish(&h, md, out);
}

void
rye_record_shipment_digest(const struct rye_shipment *s, char out[RYE_DIGEST_LEN + 1])
{
	struct facts_hash h = { .n = 0 };
	unsigned char md[CODEC_SHA256_LEN] = { 0 };
	const char *v[] = { "shipment", s->id, s->checkout_intent_id, s->status,
	    s->tracking_number, s->carrier_name, s->tracking_url,
	    s->estimated_delivery, s->delivered_at };

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
		add(&h, md, v[k]);
	for (size_t k = 0; k < s->nevents; k++) {
		const struct rye_tracking_event *e = &s->events[k];
		add(&h, md, e->time_utc ? e->time_utc : e->time_local);
		add(&h, md, e->display_date);
		add(&h, md, e->display_time);
		add(&h, md, e->status);
		add(&h, md, e->description);
	}
	finish(&h, md, out);
}

void
rye_record_order_digest(const struct rye_order *o, char out[RYE_DIGEST_LEN + 1])
{
	struct facts_hash h = { .n = 0 };
	unsigned char md[CODEC_SHA256_LEN] = { 0 };
	const char *v[] = { "order1", o->id, o->status, o->marketplace, o->email,
	    o->postal_code, o->country };

	for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
		add(&h, md, v[k]);
	for (size_t k = 0; k < o->nshipments; k++) {
		add(&h, md, o->shipments[k].carrier_name);
		add(&h, md, o->shipments[k].tracking_number);
		add(&h, md, o->shipments[k].tracking_url);
	}
	for (size_t k = 0; k < o->nevents; k++) {
		add(&h, md, o->events[k].id);
		add(&h, md, o->events[k].type_name);
	}
	finish(&h, md, out);
}

/* --- ids ---------------------------------------------------------------- */

int
rye_record_obs_id(char *out, size_t outsz, const char *kind, const char *id,
    const char *digest, long k)
{
	int n = snprintf(out, outsz, "obs:%s:%s:%s:%ld", kind, id, digest, k);

	return n > 0 && (size_t)n < outsz ? 0 : -1;
}

bool
rye_record_obs_digest(const char *obs_id, char out[RYE_DIGEST_LEN + 1])
{
	const char *k, *d;

	if (obs_id == NULL || strncmp(obs_id, "obs:", 4) != 0 ||
	    (k = strrchr(obs_id, ':')) == NULL || k - obs_id < RYE_DIGEST_LEN + 5)
		return false;
	d = k - RYE_DIGEST_LEN;
	if (d[-1] != ':')
		return false;
	memcpy(out, d, RYE_DIGEST_LEN);
	out[RYE_DIGEST_LEN] = '\0';
	return true;
}

/* --- bodies ------------------------------------------------------------- */

/* s as a JSON string literal. */
static int
put_string(struct buf *out, const char *s)
{
	json_object *j = json_object_new_string(s);
	const char *t;
	int rc = -1;

	if (j == NULL)
		return -1;
	t = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (t != NULL)
		rc = buf_append(out, t, strlen(t));
	json_object_put(j);
	return rc;
}

static int
put(struct buf *out, const char *text)
{
	return buf_append(out, text, strlen(text));
}

int
rye_record_observation(struct buf *out, const char *id, const char *type,
    const char *created_at, const char *source_type, const char *source_id,
    const char *raw, size_t raw_len)
{
	buf_reset(out);
	if (put(out, "{\"id\":") < 0 || put_string(out, id) < 0 ||
	    put(out, ",\"object\":\"observation\",\"type\":") < 0 ||
	    put_string(out, type) < 0 || put(out, ",\"createdAt\":") < 0 ||
	    put_string(out, created_at) < 0 || put(out, ",\"source\":{\"type\":") < 0 ||
	    put_string(out, source_type) < 0 || put(out, ",\"id\":") < 0 ||
	    put_string(out, source_id) < 0 || put(out, "},\"data\":") < 0 ||
	    buf_append(out, raw, raw_len) < 0 || put(out, "}") < 0)
		return -1;
	return 0;
}

int
rye_record_order_event(struct buf *out, const char *id, const char *request_id,
    const char *created_at, const char *raw, size_t raw_len)
{
	buf_reset(out);
	if (put(out, "{\"id\":") < 0 || put_string(out, id) < 0 ||
	    put(out, ",\"object\":\"order_event\",\"requestId\":") < 0 ||
	    put_string(out, request_id) < 0 || put(out, ",\"createdAt\":") < 0 ||
	    put_string(out, created_at) < 0 || put(out, ",\"data\":") < 0 ||
	    buf_append(out, raw, raw_len) < 0 || put(out, "}") < 0)
		return -1;
	return 0;
}
