/*
 * inbox: what the webhook receiver commits, through the group commit
 * (batch.h), and the counts that go with it.
 *
 * An item is one of:
 *   INBOX_EVENT   a verified, parsed event: a Rye event (apply.h) or an
 *                 AfterShip push (apply_carrier.h); a repeated id is a
 *                 duplicate, with no other effect;
 *   INBOX_REJECT  a signed body the receiver refused, kept as evidence;
 *   INBOX_FLUSH   nothing but the counts waiting in metrics.h.
 * Every commit also stores the counts waiting in metrics.h and counts
 * what it commits (accepted, duplicate, rejected by code) in the same
 * transaction, kept only if it commits.
 *
 * A request that committed nothing (a refusal) leaves its count waiting:
 * inbox_flush_due(), after each request, stores it in a transaction of
 * its own once nothing has been committed for METRICS_FLUSH_SECONDS, and
 * inbox_close() at exit; a CGI process (one request each) does that only
 * if no process did in the last METRICS_FLUSH_SECONDS, so a flood of
 * refused requests cannot make the receiver write once per request (those
 * counts are then not kept).
 *
 * webhook.c and the fuzz harness (tests/fuzz/fuzz_webhook.c) both commit
 * through here, so the harness runs the receiver's own dispatch.
 */
#ifndef SHIPTRACK_INBOX_H
#define SHIPTRACK_INBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "batch.h"
#include "event.h"
#include "store.h"

enum inbox_kind { INBOX_EVENT, INBOX_REJECT, INBOX_FLUSH };

struct inbox_item {
	enum inbox_kind kind;
	const struct event *ev;		/* INBOX_EVENT */
	const char *scheme, *reason;	/* INBOX_REJECT */
	const char *code;		/* INBOX_REJECT: the error code answered (metrics) */
	const char *body;
	size_t len;
	bool duplicate;			/* INBOX_EVENT: valid once inbox_submit() returns */
	struct batch_item b;		/* the group commit's part */
};

/* The receiver's group commit (batch_new()'s arguments). */
struct batch *inbox_open(struct app *a, size_t max_per_commit, size_t threads,
    bool long_lived);
/* At exit: the counts still waiting stored, a log line, the batch freed. */
void inbox_close(struct batch *b, struct app *a);

/* Queue it, wait for its commit; returns its result. */
enum store_rc inbox_submit(struct batch *b, struct inbox_item *it);

/* After each request: the counts no commit carried, if they are due. */
void inbox_flush_due(struct batch *b);

#endif
