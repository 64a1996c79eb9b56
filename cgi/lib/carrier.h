/*
 * carrier: the AfterShip Tracking API client, on libcurl's multi
 * interface (shared/spec/aftership.md is the contract it follows).
 *
 * Two halves.  carrier_parse.c (with carrier_tracking.c) is pure: it
 * reads a base URL into the API family it implies (legacy /v4 or dated
 * /tracking/YYYY-MM: key header, wrapped bodies, cursor or page
 * pagination), builds request URLs and bodies, and reads answers into
 * plain structs, tolerating nulls everywhere, every documented date
 * form, unknown subtags, both "*_iso3" and "*_country_region", and
 * wrapped ({"tracking": ..}) as well as unwrapped answers.  It needs no
 * network and is unit-tested.
 *
 * carrier.c (with carrier_queue.c) runs requests concurrently on one
 * curl multi handle: at most `concurrency` transfers, each endpoint
 * paced by its own token bucket (ratelimit.h),
 * X-RateLimit-Remaining/Reset observed, 429 waited out until Reset or
 * Retry-After, 5xx/timeouts/dropped connections/cut bodies retried with
 * exponential backoff and jitter, every retry bounded.  Each request
 * ends in exactly one call of its done callback, with the outcome
 * classified (carrier_outcome) so the caller decides what the codes
 * mean for its shipment.  Bodies are capped at CARRIER_MAX_BODY, JSON
 * depth at CARRIER_MAX_DEPTH, kept strings at the CARRIER_MAX_*
 * lengths.  The API key goes only into its request header: never into
 * URLs, logs or errors.
 *
 * Strings in the parsed structs point into the answer's JSON tree and live
 * as long as the struct they came with.
 */
#ifndef SHIPTRACK_CARRIER_H
#define SHIPTRACK_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"
#include "timefmt.h"

#define CARRIER_MAX_BODY	(8u << 20)
#define CARRIER_MAX_DEPTH	32
#define CARRIER_MAX_CHECKPOINTS	500
#define CARRIER_MAX_ID		64
#define CARRIER_MAX_NUMBER	64
#define CARRIER_MAX_SLUG	64
#define CARRIER_MAX_TEXT	1000	/* messages, subtag messages */
#define CARRIER_MAX_LOCATION	300
#define CARRIER_MAX_DATE	40
#define CARRIER_MAX_CURSOR	512
#define CARRIER_LIST_LIMIT	200	/* trackings per list page */
#define CARRIER_LOOKUP_MAX	50	/* tracking_numbers= per request */
#define CARRIER_MAX_URL		8192
#define CARRIER_MAX_LINK	1000	/* courier_tracking_link */
#define CARRIER_MAX_PICKUP	500	/* pickup_location, pickup_note */
#define CARRIER_MAX_SIGNER	200	/* signed_by */

/* --- the API family a base URL implies ------------------------------- */

struct carrier_api {
	bool legacy;		/* /v4 */
	char version[8];	/* "YYYY-MM"; "" for /v4 */
	bool wrapped;		/* request bodies in {"tracking": ...} */
	bool cursor;		/* list pages by cursor, else by page number */
	const char *key_header;	/* "as-api-key" or "aftership-api-key" */
};

/* 0, or -1 when base is not an http(s) URL ending in /v4 or /tracking/YYYY-MM. */
int carrier_api_parse(const char *base, struct carrier_api *out);

/* --- requests -------------------------------------------------------- */

enum carrier_op { CARRIER_CREATE, CARRIER_GET, CARRIER_LIST, CARRIER_OP__MAX };

struct carrier_new {
	const char *tracking_number;
	const char *slug;	/* NULL: let AfterShip detect the courier */
	const char *order_id;	/* our order id, echoed back by AfterShip */
};

struct carrier_query {
	int64_t updated_min_ms;	/* < 0: no updated_at_min */
	const char *cursor;	/* next_cursor of the last page (>= 2024-10), or */
	long page;		/* the 1-based page (older versions, /v4) */
	const char *const *numbers;	/* tracking_numbers=, up to CARRIER_LOOKUP_MAX */
	size_t nnumbers;
};

/* Request bodies and URLs (pure).  0, or -1 if too long or out of memory. */
int carrier_body_create(const struct carrier_api *api, const struct carrier_new *n,
    struct buf *out);
int carrier_url_get(const char *base, const char *id, struct buf *out);
int carrier_url_list(const char *base, const struct carrier_query *q,
    struct buf *out);
int carrier_url_create(const char *base, struct buf *out);

/* "UPS", "FedEx", "Amazon Logistics", ... -> AfterShip slug; NULL: detect. */
const char *carrier_slug_for(const char *carrier_name);

/* --- answers --------------------------------------------------------- */

struct carrier_checkpoint {
	const char *time_raw;		/* checkpoint_time, else created_at */
	struct timeval_iso time;
	bool time_ok;
	const char *tag, *subtag, *message;	/* NULL when absent */
	char location[CARRIER_MAX_LOCATION + 1];	/* "" when none */
};

/*
 * A delivery estimate by who made it: the courier's own (AfterShip's
 * courier_estimated_delivery_date, or latest_estimated_delivery when its
 * source names the carrier) or AfterShip's prediction
 * (aftership_estimated_delivery_date, or latest_estimated_delivery when
 * its source names AfterShip).  Bounds are dates or date-times as given,
 * in UTC where the offset was known; one date is both bounds; "" when
 * there is no estimate of that kind.
 */
enum carrier_est { EST_CARRIER, EST_PREDICTED, EST__MAX };
struct carrier_estimate {
	char earliest[CARRIER_MAX_DATE], latest[CARRIER_MAX_DATE];
};

struct carrier_tracking {
	const char *id, *legacy_id, *tracking_number, *slug, *order_id;
	const char *tag;		/* one of the nine, or NULL */
	const char *subtag, *subtag_message;
	const char *expected_delivery;	/* as given: a date or a date-time */
	char delivered_at[CARRIER_MAX_DATE];	/* UTC if the offset is known, else as given; "" */
	struct carrier_estimate est[EST__MAX];
	const char *pickup_location;	/* where to collect it, as given; NULL: none */
	const char *pickup_note;
	const char *signed_by;		/* who signed for it */
	const char *tracking_link;	/* courier_tracking_link: https only, else NULL */
	int64_t updated_ms;		/* updated_at */
	bool has_updated;
	struct carrier_checkpoint *cp;
	size_t ncp;
};

/* Read one tracking object.  0, or -1 if it has neither id nor number. */
int  carrier_tracking_parse(json_object *obj, struct carrier_tracking *t);
void carrier_tracking_free(struct carrier_tracking *t);

struct carrier_response {
	int http;
	int code;			/* meta.code; 0 if none */
	char message[256];		/* meta.message, control characters dropped */
	char type[64];			/* meta.type */
	json_object *root;
	struct carrier_tracking *trackings;	/* one for create/get, a page for list */
	size_t ntrackings;
	/* list pagination, either form */
	bool has_next;
	char next_cursor[CARRIER_MAX_CURSOR + 1];
	long page, limit, count;
};

/*
 * Parse an answer body.  0 when the envelope was read (a JSON error answer
 * too); -1 when the body is not the JSON envelope (plain-text 5xx, a cut
 * body), with r->http and r->message set all the same.
 */
int  carrier_response_parse(enum carrier_op op, int http, const char *body,
    size_t len, struct carrier_response *r);
void carrier_response_free(struct carrier_response *r);

/*
 * The paging guard of one list sync.  A service that always offers a next
 * page (has_next_page with a fresh cursor, or a count that keeps running
 * ahead) would keep a run going for ever, holding the run lock, so that
 * every later run leaves quietly.  carrier_pager_next() reads each page's
 * answer and says whether to ask for the next one: not after max_pages
 * pages, and not after a page that repeats an earlier one -- the same
 * next_cursor again (cursor form), or the same trackings again (page form,
 * where the client numbers the pages itself and only the content can
 * show a loop).  Repeats are found with Brent's cycle detection: one saved
 * key compared with the pages after it, so constant memory, exact string
 * comparison, and a cycle of any length is caught within a few rounds.
 */
enum carrier_paging {
	CARRIER_PAGE_NEXT,	/* ask for the next page */
	CARRIER_PAGE_LAST,	/* that was the last page: the list is complete */
	CARRIER_PAGE_CAPPED,	/* max_pages answered, and the service offers more */
	CARRIER_PAGE_REPEATED,	/* the service answered a page it answered before */
};

struct carrier_pager {
	long pages, max_pages;	/* answered so far; the cap (>= 1) */
	long power, steps;	/* Brent: pages compared with the saved key */
	bool saved_set;
	char saved[CARRIER_MAX_CURSOR + 2 * CARRIER_MAX_ID + 32];
};

void carrier_pager_init(struct carrier_pager *p, long max_pages);
enum carrier_paging carrier_pager_next(struct carrier_pager *p,
    const struct carrier_response *r);

/*
 * What an answer means, before any retry (pure).  The engine retries
 * RATE_LIMITED and UNAVAILABLE itself; callers see the final outcome.
 */
enum carrier_outcome {
	CARRIER_OK,		/* 2xx: apply */
	CARRIER_REFUSED,	/* a 4xx with a meta.code the caller interprets */
	CARRIER_UNAUTHORIZED,	/* 401: the key was refused; stop the run */
	CARRIER_RATE_LIMITED,	/* 429 (after waiting and retrying, when final) */
	CARRIER_UNAVAILABLE,	/* 5xx, timeout, connection, unreadable body */
	CARRIER_STOPPED,	/* not sent or abandoned: the run is stopping */
	CARRIER_FAILED,		/* anything else: too large, odd status, internal */
	CARRIER_OUTCOME__MAX
};
enum carrier_outcome carrier_classify(int http, bool parsed);
const char *carrier_outcome_name(enum carrier_outcome o);

/* AfterShip meta.codes the poller treats specially. */
enum {
	AS_ALREADY_EXISTS = 4003, AS_NOT_FOUND = 4004, AS_INVALID_NUMBER = 4005,
	AS_MISSING_NUMBER = 4007, AS_NEEDS_POSTAL = 4009, AS_BAD_SLUG = 4010,
	AS_NEEDS_COUNTRY = 4011, AS_NO_COURIER = 4012, AS_BAD_FORMAT = 4017,
};

/*
 * Rate-limit headers.  Feeds one header line ("Name: value\r\n") into h;
 * unknown lines are ignored.  Values: -1 when absent or not a number (a
 * sign, inner blanks, trailing junk).  The server is not trusted with
 * sizes: numbers saturate instead of overflowing, counts at
 * CARRIER_MAX_HEADER_COUNT and seconds (a delay or a Unix time, either)
 * at CARRIER_MAX_HEADER_S, so that "Retry-After: 9223372036854775807"
 * reads as "very long" and times 1000 plus any clock reading still fits
 * an int64_t.  How long a wait is worth it is the client's decision.
 */
#define CARRIER_MAX_HEADER_COUNT	1000000000L
#define CARRIER_MAX_HEADER_S	253402300799LL	/* 9999-12-31T23:59:59Z */

struct carrier_headers {
	long limit, remaining;	/* X-RateLimit-Limit, -Remaining */
	int64_t reset_s;	/* X-RateLimit-Reset: Unix seconds */
	int64_t retry_after_s;	/* Retry-After as delay-seconds */
	int64_t retry_at_s;	/* Retry-After as an HTTP-date: Unix seconds */
	char api_version[16];
	bool json;		/* Content-Type application/json */
};
void carrier_headers_init(struct carrier_headers *h);
void carrier_header_line(struct carrier_headers *h, const char *line, size_t len);

/*
 * How long a 429 asks the client to wait, in ms from now_ms (wall clock):
 * Retry-After (seconds or a date), else X-RateLimit-Reset (plus a little
 * grace, in case clocks differ), else a second.  Never negative; at most
 * about CARRIER_MAX_HEADER_S * 1000 for any now_ms from 0 to that, so the
 * caller can add it to a clock reading without overflow.
 */
#define CARRIER_RESET_GRACE_MS	50
int64_t carrier_retry_wait_ms(const struct carrier_headers *h, int64_t now_ms);

/* --- the client ------------------------------------------------------- */

enum carrier_bucket { BUCKET_CREATE, BUCKET_LIST, BUCKET_GET, BUCKET__MAX };

struct carrier_opts {
	const char *base_url;
	const char *api_key;
	long timeout_s;			/* whole request; connect at most 10 s of it */
	int concurrency;		/* transfers at once */
	long limit[BUCKET__MAX];	/* the service's limits, requests/s */
	long legacy_limit;		/* /v4: one limit per account */
	int max_retries;		/* 5xx, timeouts, cut bodies */
	int max_waits;			/* 429s waited out per request */
	long max_wait_s;		/* a longer 429 wait ends the request */
	int64_t deadline_ms;		/* wall ms: a 429 wait ending later is not
					   waited out either; 0: none */
};

struct carrier_result {
	enum carrier_outcome outcome;
	int http, code;			/* code: meta.code, 0 if none */
	const char *message;		/* human text for logs and poll errors */
	const struct carrier_response *resp;	/* OK and REFUSED: the parsed answer */
	int64_t rate_reset_ms;		/* RATE_LIMITED: when the service allows more */
};

struct carrier_stats {
	long sent[CARRIER_OP__MAX];	/* requests sent, retries included */
	long rate_limited;		/* 429 answers */
	long retries;			/* resent after 5xx, timeout, cut body */
	long failed;			/* requests ending other than OK/REFUSED */
	long ended[CARRIER_OP__MAX][CARRIER_OUTCOME__MAX];	/* by final outcome */
};

struct carrier;
typedef void (*carrier_done_fn)(void *arg, const struct carrier_result *r);
/* Queue more requests when asked; false when there is nothing more for now. */
typedef bool (*carrier_feed_fn)(void *arg);

struct carrier *carrier_open(const struct carrier_opts *o, char *err, size_t errsz);
void carrier_close(struct carrier *c);
const struct carrier_api *carrier_api(const struct carrier *c);

/* Queue a request.  0, or -1 (out of memory, too long): done is not called. */
int carrier_create(struct carrier *c, const struct carrier_new *n,
    carrier_done_fn done, void *arg);
int carrier_get(struct carrier *c, const char *id, carrier_done_fn done, void *arg);
int carrier_list(struct carrier *c, const struct carrier_query *q,
    carrier_done_fn done, void *arg);

/*
 * Run until nothing is queued or in flight and feed (may be NULL) queues
 * nothing more.  Callbacks may queue further requests.  0, or -1 if the
 * multi interface failed.
 */
int  carrier_run(struct carrier *c, carrier_feed_fn feed, void *arg);
/*
 * For a callback busy for a while (applying a page): start what may start
 * now and move transfers along, without finishing any (their answers wait
 * for carrier_run).
 */
void carrier_pump(struct carrier *c);
/* Finish every queued and in-flight request with CARRIER_STOPPED. */
void carrier_stop(struct carrier *c);
/* Finish the queued (not yet started) requests of one kind with CARRIER_STOPPED. */
void carrier_drop_queued(struct carrier *c, enum carrier_op op);
/* Requests of this kind queued or in flight. */
size_t carrier_pending(const struct carrier *c, enum carrier_op op);
const struct carrier_stats *carrier_stats(const struct carrier *c);
const char *carrier_op_name(enum carrier_op op);

#endif
