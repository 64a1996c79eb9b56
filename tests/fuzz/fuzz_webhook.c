/*
 * fuzz_webhook: the receiver's path after the body is read, as
 * webhook.c runs it: verify the signature -> parse the envelope -> apply
 * in one group commit (inbox.h, batch.h), or keep a refused signed body as
 * evidence, against an in-memory SQLite database emptied for each input.
 *
 * Input: one or more segments separated by FUZZ_SEP ("\n\xff\xfe\n"; a
 * JSON body can hold no 0xff byte, so the separator never cuts a valid
 * body).  Each segment is a control byte and a body:
 *
 *   bits 0-1  sender: 0 Rye gen 1, 1 Rye gen 2, 2 AfterShip push,
 *             3 Rye gen 1 with a rotation list ("old new"), signed by new
 *   bits 2-3  signature: 0 and 1 the right one (so most inputs reach the
 *             parser), 2 made with a wrong secret, 3 taken from the input
 *             (the segment's bytes up to the first '\n' are the header)
 *   bit 4     write the right signature differently (upper-case hex for
 *             gen 2; two signatures, a wrong one first, otherwise)
 *   bit 5     deliver the segment twice: the second must be a duplicate
 *
 * Besides the sanitizers, the harness checks the promises it can see:
 * a right signature verifies and a wrong one does not; an accepted or
 * refused body is stored without a storage error; a redelivery is a
 * duplicate; and the same distinct Rye events applied in reverse order
 * give byte-identical operator views apart from receive and update times
 * and the notification log (DESIGN.md: "the status is a function of the
 * set of stored events").
 *
 * tests/fuzz/replay.c runs this file without libFuzzer (make check).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "codec.h"
#include "event.h"
#include "inbox.h"
#include "log.h"
#include "sig.h"
#include "store.h"
#include "view.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define SECRET		"whsec_test_secret_7f3a9c"
#define OLD_SECRET	"whsec_old_secret_0000"
#define WRONG_SECRET	"whsec_not_the_secret"
#define FUZZ_SEP	"\n\xff\xfe\n"
#define MAX_SEGMENTS	6
#define MAX_SIGNATURE_HEADER 1024	/* as webhook.c */
#define MAX_BODY	(1024 * 1024)	/* the default max_body */

/* Stop with a message the fuzzer records as a crash. */
#define MUST(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_webhook: " __VA_ARGS__);		\
		fprintf(stderr, "\n");					\
		abort();						\
	}								\
} while (0)

struct segment {
	unsigned ctl;
	const char *body;
	size_t len;
	enum sig_scheme scheme;
	bool accepted;		/* stored as a new event */
	char id[EVENT_MAX_ID + 1];
	char order[EVENT_MAX_ID + 1];
};

/*
 * Two databases for the whole run (forward, and reverse for the order
 * check), emptied before each input (store_empty): opening and migrating
 * a fresh one per input costs more than the input itself.  An emptied
 * database is in the state of a fresh one (the migrations insert no
 * rows; ids start again), so each input runs alone.
 */
struct db {
	struct app app;
	struct store *st;
	struct batch *batch;
};
static struct db forward, reverse;

static void
open_db(struct db *d)
{
	char err[512];

	MUST(store_open(&d->st, ":memory:", STORE_READWRITE, DURABILITY_NORMAL,
	    1000, err, sizeof(err)) == 0, "store_open: %s", err);
	memset(&d->app, 0, sizeof(d->app));
	d->app.conf_ok = true;
	d->app.mode = STORE_READWRITE;
	d->app.st = d->st;	/* app_store() hands this to the batch */
	MUST((d->batch = inbox_open(&d->app, 64, 1, false)) != NULL, "inbox_open");
}

static void
reset(struct db *d)
{
	MUST(store_empty(d->st) == STORE_OK, "emptying the database");
}

static void
close_db(struct db *d)
{
	inbox_close(d->batch, &d->app);
	store_close(d->st);
	memset(d, 0, sizeof(*d));
}

static void
close_all(void)
{
	close_db(&forward);
	close_db(&reverse);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz-webhook", LL_ERROR);
	open_db(&forward);
	open_db(&reverse);
	atexit(close_all);	/* so LeakSanitizer sees only real leaks */
	return 0;
}

/* The header a sender would send, per the control byte. */
static void
make_header(const struct segment *s, const char *secret, char *out, size_t outsz)
{
	unsigned char mac[SIG_MAC_LEN];
	char enc[2 * SIG_MAC_LEN + 1];

	sig_hmac_sha256(secret, strlen(secret), s->body, s->len, mac);
	if (s->scheme == SIG_RYE_V2) {
		static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
		const char *digits = s->ctl & 0x10 ? upper : lower;
		for (size_t i = 0; i < SIG_MAC_LEN; i++) {
			enc[2 * i] = digits[mac[i] >> 4];
			enc[2 * i + 1] = digits[mac[i] & 15];
		}
		enc[2 * SIG_MAC_LEN] = '\0';
		snprintf(out, outsz, "v0=%s", enc);
	} else {
		char first[64];

		codec_b64_encode(mac, sizeof(mac), enc, sizeof(enc), false);
		if (s->ctl & 0x10) {
			/* Two signatures, the first made with another secret. */
			sig_hmac_sha256(WRONG_SECRET, strlen(WRONG_SECRET), s->body,
			    s->len, mac);
			codec_b64_encode(mac, sizeof(mac), first, sizeof(first), false);
			snprintf(out, outsz, "%s, %s", first, enc);
		} else
			snprintf(out, outsz, "%s", enc);
	}
}

static enum sig_scheme
scheme_of(unsigned ctl)
{
	static const enum sig_scheme by_bits[4] = {
		SIG_RYE_V1, SIG_RYE_V2, SIG_AFTERSHIP, SIG_RYE_V1 };

	return by_bits[ctl & 3];
}

static void
submit_event(struct batch *b, struct event *ev, const struct segment *s,
    bool *duplicate)
{
	struct inbox_item it = {
		.kind = INBOX_EVENT, .ev = ev, .body = s->body, .len = s->len,
	};
	enum store_rc rc = inbox_submit(b, &it);

	MUST(rc == STORE_OK, "storing accepted event %s failed (rc %d)", ev->id, rc);
	*duplicate = it.duplicate;
}

/*
 * One delivery, as webhook.c's handle() after read_body().  Returns true
 * when the event was stored as new.
 */
static bool
deliver(struct batch *b, struct segment *s, bool check_sig)
{
	static const char *const codes[] = {
		[EVENT_INVALID_JSON] = "invalid_json",
		[EVENT_MISSING_FIELD] = "missing_field",
		[EVENT_INVALID_FIELD] = "invalid_field",
	};
	char header[MAX_SIGNATURE_HEADER + 64], why[160];
	const char *secrets = (s->ctl & 3) == 3 ? OLD_SECRET " " SECRET : SECRET;
	unsigned mode = (s->ctl >> 2) & 3;
	bool verified, duplicate = false, fresh = false;
	struct event ev;
	enum event_rc rc;

	if (mode == 3) {
		/* The header comes from the input: up to '\n' (or NUL). */
		const char *nl = memchr(s->body, '\n', s->len);
		size_t hlen = nl ? (size_t)(nl - s->body) : s->len;
		if (hlen >= sizeof(header))
			hlen = sizeof(header) - 1;
		memcpy(header, s->body, hlen);
		header[hlen] = '\0';
		if (nl != NULL) {
			s->len -= (size_t)(nl + 1 - s->body);
			s->body = nl + 1;
		} else
			s->len = 0;
	} else
		make_header(s, mode == 2 ? WRONG_SECRET : SECRET, header, sizeof(header));
	if (strlen(header) > MAX_SIGNATURE_HEADER)
		return false;	/* 401 before the body is read */
	verified = sig_verify(s->scheme, secrets, header, s->body, s->len);
	if (check_sig && mode < 2)
		MUST(verified, "a right signature did not verify (header %s)", header);
	if (mode == 2)
		MUST(!verified, "a signature made with a wrong secret verified");
	if (!verified)
		return false;	/* 401, nothing stored */
	if (mode == 3)
		s->ctl &= ~0x1cu;	/* split off: a replay signs it properly */

	rc = event_parse(s->scheme, s->body, s->len, &ev, why, sizeof(why));
	if (rc == EVENT_HANDSHAKE) {
		MUST(ev.challenge != NULL && strlen(ev.challenge) <= 512,
		    "handshake without a usable challenge");
	} else if (rc != EVENT_OK) {
		struct inbox_item it = {
			.kind = INBOX_REJECT, .scheme = sig_scheme_name(s->scheme),
			.reason = why, .body = s->body, .len = s->len,
		};
		MUST(rc < sizeof(codes) / sizeof(codes[0]) && codes[rc] != NULL,
		    "event_parse returned %d", rc);
		MUST(why[0] != '\0', "refusal without a reason");
		MUST(inbox_submit(b, &it) == STORE_OK, "storing a rejected body failed");
	} else {
		MUST(ev.id != NULL && ev.type != NULL && ev.id[0] != '\0',
		    "accepted event without id or type");
		MUST(strlen(ev.id) <= EVENT_MAX_ID && strlen(ev.type) <= EVENT_MAX_TYPE,
		    "accepted event with an overlong id or type");
		submit_event(b, &ev, s, &duplicate);
		fresh = !duplicate;
		if (fresh) {
			snprintf(s->id, sizeof(s->id), "%s", ev.id);
			snprintf(s->order, sizeof(s->order), "%s",
			    ev.order_id ? ev.order_id : "");
		}
		if (s->ctl & 0x20) {
			/* Rye redelivers: same bytes, same answer, no effect. */
			submit_event(b, &ev, s, &duplicate);
			MUST(duplicate, "redelivery of %s was not a duplicate", ev.id);
		}
	}
	event_free(&ev);
	return fresh;
}

/*
 * The operator view without receive and update times, as text.  The
 * notifications go too: they record the stage changes as they happened,
 * so their number and times follow arrival order by design.
 */
static char *
view_text(struct store *st, const char *order_id)
{
	json_object *v = NULL, *events;
	enum store_rc rc = view_order(st, order_id, VIEW_OPERATOR, &v);
	char *text;

	MUST(rc == STORE_OK, "view of order %s: rc %d", order_id, rc);
	json_object_object_del(v, "updatedAt");
	json_object_object_del(v, "notifications");
	if (json_object_object_get_ex(v, "events", &events))
		for (size_t i = 0; i < json_object_array_length(events); i++)
			json_object_object_del(json_object_array_get_idx(events, i),
			    "receivedAt");
	text = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	json_object_put(v);
	MUST(text != NULL, "out of memory");
	return text;
}

/*
 * The distinct events accepted above, applied again in reverse order to a
 * fresh database, must give the same views.
 */
static void
check_order_independence(struct segment *seg, size_t n)
{
	struct segment again[MAX_SEGMENTS];
	size_t m = 0;

	for (size_t i = 0; i < n; i++) {
		if (!seg[i].accepted)
			continue;
		/*
		 * An AfterShip push is applied to the shipments known when it
		 * arrives; one that comes before the Rye event announcing its
		 * tracking number is kept, filed under no order, and left to
		 * the poller.  Arrival order matters there by design.
		 */
		if (seg[i].scheme == SIG_AFTERSHIP)
			return;
		m++;
	}
	if (m < 2)
		return;
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (seg[i].accepted && seg[j].accepted &&
			    strcmp(seg[i].id, seg[j].id) == 0)
				return;	/* cannot be: the second is a duplicate */
	reset(&reverse);
	for (size_t k = n; k-- > 0;)
		if (seg[k].accepted) {
			again[k] = seg[k];
			again[k].ctl &= 3;	/* signed, delivered once */
			MUST(deliver(reverse.batch, &again[k], false),
			    "event %s not accepted again", seg[k].id);
		}
	for (size_t i = 0; i < n; i++) {
		char *x, *y;
		if (!seg[i].accepted || seg[i].order[0] == '\0')
			continue;
		x = view_text(forward.st, seg[i].order);
		y = view_text(reverse.st, seg[i].order);
		MUST(strcmp(x, y) == 0, "order %s depends on arrival order:\n"
		    "  forward: %s\n  reverse: %s", seg[i].order, x, y);
		free(x);
		free(y);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct segment seg[MAX_SEGMENTS];
	const char *p = (const char *)data, *end = p + size;
	size_t n = 0, seplen = sizeof(FUZZ_SEP) - 1;

	if (size > MAX_BODY)
		return 0;	/* 413 before anything else */
	while (p < end && n < MAX_SEGMENTS) {
		const char *q = p, *stop = end;
		/* Find the separator (memmem is a GNU extension). */
		for (; q + seplen <= end; q++)
			if (memcmp(q, FUZZ_SEP, seplen) == 0) {
				stop = q;
				break;
			}
		if (stop > p) {		/* an empty segment has no control byte */
			memset(&seg[n], 0, sizeof(seg[n]));
			seg[n].ctl = (unsigned char)*p;
			seg[n].scheme = scheme_of(seg[n].ctl);
			seg[n].body = p + 1;
			seg[n].len = (size_t)(stop - p - 1);
			n++;
		}
		p = stop == end ? end : stop + seplen;
	}
	reset(&forward);
	for (size_t i = 0; i < n; i++)
		seg[i].accepted = deliver(forward.batch, &seg[i], true);
	check_order_independence(seg, n);
	return 0;
}
