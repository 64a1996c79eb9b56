/*
 * rye: the Rye API client (shared/spec/rye-api.md is the contract):
 * gen-2 REST reads (checkout intents, their shipments, shipments, the
 * events list) and the gen-1 GraphQL `orderByID` query.
 *
 * Two halves, like carrier.h.  The pure one: rye_url.c (request URLs
 * and the GraphQL body), rye_parse.c with rye_objects.c and rye_raw.c
 * (answers into plain structs, their raw text, error bodies) and
 * rye_limits.c (the RateLimit structured-field headers, Retry-After, the
 * pager's stop rules); no network, unit-tested.  Every answer is read
 * strict-but-lenient: nulls and wrong types are ignored field by field,
 * only a missing or unusable id is fatal for its object.  Bodies are
 * capped at RYE_MAX_BODY, JSON depth at RYE_MAX_DEPTH, strings at the
 * RYE_MAX_* lengths, arrays at RYE_PAGE_MAX (a longer page is refused:
 * skipping items would lose them) and RYE_MAX_TRACKING_EVENTS etc. (the
 * rest is dropped, and a `truncated` flag says so).
 *
 * rye.c (with rye_open.c) sends requests one at a time, synchronously,
 * on one reused curl easy handle.  Why not a multi interface like the carrier: Rye allows 10
 * reads/s per account, so a 9/s bucket is the bottleneck and one request
 * in flight (tens of ms on loopback, ~100-200 ms to Rye) already nearly
 * fills it; a synchronous call returns the answer where the Rye pass
 * needs it (page -> intents -> shipments), with no callbacks and no
 * queue to drain on stop.  Pacing: a one-token bucket per API at
 * RATELIMIT_HEADROOM of the rate (ratelimit.h), lowered when
 * RateLimit-Policy says the account's quota is smaller; `RateLimit: r=0;
 * t=N` holds the bucket N s; a 429 waits 1-2 s, then 2-4, 4-8 s ... (or
 * what Retry-After / the body's retryAfter asks), 5xx/408/timeouts/cut
 * bodies back off from 0.5 s with jitter; every retry and wait is bounded
 * by a count and by the run's deadline: a wait that would end past it is
 * not started, the call returns at once.  The key goes only into the
 * Authorization header: never into URLs, logs or messages.
 *
 * A call fills a struct rye_answer, always (free it with rye_answer_free
 * whatever the result).  Strings in it point into its JSON tree or, for
 * raw text, into its copy of the body, and live as long as it.  Every
 * object read (intent, shipment, event, gen-1 order and its events) comes
 * with its raw text: the exact bytes of that object in the answer, for
 * the Rye pass to store as Rye sent them (rye_record.h).
 *
 * Besides one object by id, two lists take up to RYE_IDS_MAX ids at once
 * (the spec's `id` and `ids` array filters): the Rye pass fetches the
 * intents and shipments its new events name a page at a time, not one
 * request each.
 */
#ifndef SHIPTRACK_RYE_H
#define SHIPTRACK_RYE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "buf.h"

#define RYE_MAX_BODY		(4u << 20)
#define RYE_MAX_DEPTH		32
#define RYE_MAX_ID		128	/* ci_…, evt_…, shipment ids, UUIDs */
#define RYE_MAX_TOKEN		64	/* states, statuses, types, codes */
#define RYE_MAX_NAME		200	/* carrier, buyer names, __typename */
#define RYE_MAX_EMAIL		254
#define RYE_MAX_POSTAL		32
#define RYE_MAX_NUMBER		100	/* tracking numbers, marketplace order ids */
#define RYE_MAX_TEXT		1000	/* messages, descriptions, reasons */
#define RYE_MAX_LINK		2048	/* tracking URLs */
#define RYE_MAX_DATE		40
#define RYE_MAX_CURSOR		512
#define RYE_PAGE_MAX		100	/* items per page, the API's own maximum */
#define RYE_MAX_TRACKING_EVENTS	500	/* per shipment */
#define RYE_MAX_ORDER_IDS	50	/* gen-1 marketplaceOrderIds */
#define RYE_MAX_ORDER_SHIPMENTS	100	/* gen-1 shipments per order */
#define RYE_MAX_ORDER_EVENTS	500	/* gen-1 events per order */
#define RYE_MAX_URL		4096
#define RYE_IDS_MAX		RYE_PAGE_MAX	/* ids per by-id list request */

/* --- results ---------------------------------------------------------- */

enum rye_result {
	RYE_OK,			/* 2xx, read */
	RYE_NOT_FOUND,		/* 404 with Rye's error body; orderByID null */
	RYE_UNAUTHORIZED,	/* 401/403 (GraphQL: also UNAUTHENTICATED/FORBIDDEN): stop the run */
	RYE_RATE_LIMITED,	/* 429 after the allowed waits, or a wait past the deadline */
	RYE_UNAVAILABLE,	/* 5xx/408/timeout/connection, after the retries */
	RYE_REFUSED,		/* another 4xx (400, 409, 422); GraphQL errors */
	RYE_INVALID,		/* unreadable: not JSON, wrong shape, no id, over a cap */
	RYE_STOPPED,		/* not sent or abandoned: the deadline passed or stop was set */
	RYE_FAILED,		/* internal (memory, bad argument), or a 404 that is not Rye's */
	RYE_RESULT__MAX
};
const char *rye_result_name(enum rye_result r);

/* What a status and a readable (JSON object) body mean, before retries. */
enum rye_result rye_classify(int http, bool json_object_body);

/* --- parsed objects ----------------------------------------------------- */

struct rye_intent {
	const char *raw;		/* the object's text in the answer */
	size_t raw_len;			/* (not NUL-terminated) */
	const char *id, *state, *created_at, *reference_id, *order_id;
	const char *failure_code, *failure_message;	/* failed */
	const char *email, *postal_code, *country;	/* buyer */
	const char *first_name, *last_name;
};

struct rye_tracking_event {
	/* current form */
	const char *status, *description;
	const char *city, *province, *country;		/* location {…} */
	const char *time_local, *time_utc;		/* timestamp {…} */
	/* older form */
	const char *display_date, *display_time;
	const char *location;				/* when location is a string */
};

struct rye_shipment {
	const char *raw;		/* the object's text in the answer */
	size_t raw_len;
	const char *id, *checkout_intent_id, *marketplace_order_id, *external_id;
	const char *status;				/* as given, any value */
	const char *created_at, *updated_at, *shipped_at, *delivered_at;
	bool has_tracking;				/* a tracking object was there */
	const char *tracking_number, *carrier_name, *tracking_url;
	const char *estimated_delivery;	/* deliveryDate.estimated, else estimatedDeliveryDate */
	struct rye_tracking_event *events;
	size_t nevents;
	bool events_truncated;				/* more than RYE_MAX_TRACKING_EVENTS */
};

struct rye_event {
	const char *id, *type, *created_at, *source_type, *source_id;
	const char *raw;		/* the event's JSON text exactly as on the page */
	size_t raw_len;			/* (not NUL-terminated) */
};

struct rye_page_info {
	bool has_next;
	const char *end_cursor, *start_cursor;
};

struct rye_order_shipment {
	const char *carrier_name, *tracking_number, *tracking_url;
};

struct rye_order_event {
	const char *type_name, *id, *created_at, *reason;
	const char *raw;		/* the event's text in the answer */
	size_t raw_len;
};

struct rye_order {
	const char *raw;		/* data.orderByID's text in the answer */
	size_t raw_len;
	const char *id, *status, *marketplace;
	const char **marketplace_order_ids;
	size_t nmarketplace_order_ids;
	struct rye_order_shipment *shipments;
	size_t nshipments;
	struct rye_order_event *events;
	size_t nevents;
	bool truncated;		/* an array was longer than its RYE_MAX_ORDER_* */
	/* cart.buyerIdentity, when the answer has it */
	const char *email, *postal_code, *country;
};

/* Read one object.  0, or -1 when it is not an object or has no usable id. */
int  rye_intent_parse(json_object *o, struct rye_intent *out);
int  rye_shipment_parse(json_object *o, struct rye_shipment *out);
void rye_shipment_free(struct rye_shipment *s);
int  rye_order_parse(json_object *o, struct rye_order *out);
void rye_order_free(struct rye_order *o);

/* --- answers ------------------------------------------------------------ */

enum rye_op {
	RYE_GET_INTENT, RYE_LIST_SHIPMENTS, RYE_GET_SHIPMENT, RYE_LIST_EVENTS,
	RYE_ORDER_BY_ID,
	RYE_LIST_INTENTS,	/* /checkout-intents?id=…&id=… */
	RYE_FIND_SHIPMENTS,	/* /shipments?ids=…&ids=… */
	RYE_OP__MAX
};
const char *rye_op_name(enum rye_op op);

struct rye_answer {
	enum rye_result result;
	int http;			/* 0: no answer */
	char message[300];		/* human text, always set; no secrets */
	char error_name[64];		/* REST "name"; GraphQL extensions.code */
	long retry_after_s;		/* 429 body retryAfter, -1 if none */
	/* by op: */
	struct rye_intent intent;		/* RYE_GET_INTENT */
	struct rye_shipment shipment;		/* RYE_GET_SHIPMENT */
	struct rye_shipment *shipments;		/* RYE_LIST_SHIPMENTS, RYE_FIND_SHIPMENTS */
	size_t nshipments;
	struct rye_intent *intents;		/* RYE_LIST_INTENTS */
	size_t nintents;
	struct rye_event *events;		/* RYE_LIST_EVENTS */
	size_t nevents;
	struct rye_page_info page;		/* the two lists */
	struct rye_order order;			/* RYE_ORDER_BY_ID */
	size_t skipped;			/* list items dropped: not an object, no id */
	/* owned */
	json_object *root;
	struct buf body;		/* the answer's body as received (the raw answer text) */
};

void rye_answer_init(struct rye_answer *a);
void rye_answer_free(struct rye_answer *a);

/*
 * Read an answer body for op into a (freed first).  Sets a->result by
 * rye_classify() and the shape: a 2xx whose body is no JSON object, or
 * lacks what op needs (an id, a data array), is RYE_INVALID; a gen-1
 * answer with errors is RYE_REFUSED (RYE_UNAUTHORIZED for
 * UNAUTHENTICATED/FORBIDDEN), with orderByID null RYE_NOT_FOUND.
 * Returns 0 when the body was JSON, -1 when not (a cut body, an HTML
 * error page): the caller may retry that.
 */
int rye_answer_parse(enum rye_op op, int http, const char *body, size_t len,
    struct rye_answer *a);

/* --- requests (pure) --------------------------------------------------- */

/* base: the REST base without its "/api/v1" (which is accepted and dropped). */
int rye_url_intent(const char *base, const char *id, struct buf *out);
int rye_url_shipment(const char *base, const char *id, struct buf *out);
int rye_url_shipments(const char *base, const char *intent_id, const char *after,
    int limit, struct buf *out);
int rye_url_events(const char *base, const char *after, int limit, struct buf *out);
/* By ids: `id` (intents) or `ids` (shipments) repeated, limit = n; -1 if too long. */
int rye_url_intents_by_id(const char *base, const char *const *ids, size_t n,
    struct buf *out);
int rye_url_shipments_by_id(const char *base, const char *const *ids, size_t n,
    struct buf *out);
/* The gen-1 query, as rye-api.md gives it, and its request body. */
extern const char rye_order_query[];
int rye_body_order_by_id(const char *id, struct buf *out);
/* 0, or -1 when base is not an http(s) URL without query, fragment or blanks. */
int rye_url_check(const char *url);

/* --- rate-limit headers ------------------------------------------------- */

/*
 * `RateLimit: "default";r=7;t=1` and `RateLimit-Policy: "default";q=10;w=1`
 * (RFC 8941 lists of items with parameters; several policies may be
 * listed: the tightest counts), gen-1's Ratelimit-Remaining/-Reset, and
 * Retry-After (seconds or an HTTP date).  Values -1 when absent or
 * unreadable; all clamped to [0, RYE_MAX_HEADER_S] seconds or a sane count.
 */
#define RYE_MAX_HEADER_S	86400L
struct rye_headers {
	long remaining, reset_s;	/* RateLimit r, t */
	long quota, window_s;		/* RateLimit-Policy q, w */
	long gql_remaining, gql_reset;	/* gen-1 Ratelimit-Remaining, -Reset */
	long retry_after_s;
	bool json;
};
void rye_headers_init(struct rye_headers *h);
/* Feed one header line ("Name: value\r\n"); now_s for Retry-After dates. */
void rye_header_line(struct rye_headers *h, const char *line, size_t len, int64_t now_s);
/*
 * One structured-field list value: parameters a and b of its tightest
 * member (smallest a, then longest b; by_ratio: smallest a/b, b absent
 * = 1, b = 0 skipped).  0, or -1 when no member has a usable a.
 */
int rye_sf_params(const char *v, size_t len, char a, char b, bool by_ratio,
    long *va, long *vb);

/* --- paging protections ------------------------------------------------- */

/*
 * The caller's guard for walking a list: stops at the end the spec names
 * (hasNextPage false, endCursor or data empty), at max_pages, and when a
 * cursor comes back (a server that pages in circles).
 */
enum rye_pager_stop {
	RYE_PAGER_MORE, RYE_PAGER_END, RYE_PAGER_PAGE_CAP, RYE_PAGER_REPEATED_CURSOR
};
struct rye_pager {
	size_t pages, max_pages;
	char after[RYE_MAX_CURSOR + 1];	/* the next page's `after`; "" for the first */
	uint64_t *seen;			/* hashes of the cursors already followed */
	enum rye_pager_stop stop;
};
int  rye_pager_init(struct rye_pager *p, size_t max_pages);
/* Account for one page; true when the next page should be fetched with p->after. */
bool rye_pager_next(struct rye_pager *p, const struct rye_answer *a);
void rye_pager_free(struct rye_pager *p);
const char *rye_pager_stop_name(enum rye_pager_stop s);

/* --- the client ------------------------------------------------------- */

struct rye_opts {
	const char *api_key;
	const char *base_url;		/* gen-2 REST, e.g. https://api.rye.com */
	const char *graphql_url;	/* gen-1, e.g. https://graphql.api.rye.com/v1/query */
	const char *auth_scheme;	/* REST Authorization scheme: "Bearer" or "Basic" */
	double rate;			/* REST reads/s allowed (Rye: 10) */
	double graphql_rate;		/* gen-1 requests/s allowed (Rye: 100) */
	long timeout_s;			/* one HTTP request */
	int max_retries;		/* per call: 5xx, 408, timeouts, cut bodies */
	int max_waits;			/* per call: 429s waited out */
	int64_t deadline_ms;		/* wall ms (timefmt_now_ms) the run must end by; 0: none */
	volatile sig_atomic_t *stop;	/* non-zero: stop now (a signal); may be NULL */
};
/* Rye's documented defaults: Bearer, 10/s, 100/s, 30 s, 3 retries, 5 waits. */
void rye_opts_default(struct rye_opts *o);

struct rye_stats {
	long sent[RYE_OP__MAX];		/* requests sent, retries included */
	long ended[RYE_OP__MAX][RYE_RESULT__MAX];	/* calls by final result */
	long rate_limited;		/* 429 answers */
	long retries;			/* resent after 5xx, timeout, cut body */
	long held;			/* times the server's RateLimit held the bucket */
};

struct rye;
struct rye *rye_open(const struct rye_opts *o, char *err, size_t errsz);
void rye_close(struct rye *c);
void rye_set_deadline(struct rye *c, int64_t deadline_ms);
const struct rye_stats *rye_stats(const struct rye *c);

/*
 * One call each; *a is (re)initialised and must be freed with
 * rye_answer_free whatever the result, which is also a->result.
 * limit: 1..RYE_PAGE_MAX (anything else: RYE_PAGE_MAX); after: NULL or "".
 */
enum rye_result rye_get_intent(struct rye *c, const char *id, struct rye_answer *a);
enum rye_result rye_list_shipments(struct rye *c, const char *intent_id,
    const char *after, int limit, struct rye_answer *a);
enum rye_result rye_get_shipment(struct rye *c, const char *id, struct rye_answer *a);
enum rye_result rye_list_events(struct rye *c, const char *after, int limit,
    struct rye_answer *a);
enum rye_result rye_order_by_id(struct rye *c, const char *id, struct rye_answer *a);
/* 1..RYE_IDS_MAX ids (fewer if the URL would pass RYE_MAX_URL: RYE_FAILED). */
enum rye_result rye_list_intents(struct rye *c, const char *const *ids, size_t n,
    struct rye_answer *a);
enum rye_result rye_find_shipments(struct rye *c, const char *const *ids, size_t n,
    struct rye_answer *a);

#endif
