/*
 * outbox_run: the cron step that empties the notification outbox
 * (`shiptrack notify`, run after shiptrack-poll).
 *
 *   runlock "<database>.notify.lock" (runlock.h; taken by the caller,
 *   non-blocking: a second run leaves)
 *   -> until nothing is due or --limit rows are done:
 *        claim one row with a lease (store_outbox.h)
 *        -> build its message (outbox.h), send each pending channel (outbox_send.h)
 *        -> record every attempt and the new states, give the lease back
 *
 * Each pending channel of a row ends an attempt as one of:
 *   skipped  not configured: no notify_url; no smtp_url or mail_from; no
 *            contact address for the order (recorded with the reason)
 *   sent     2xx, or the SMTP server took the message
 *   failed   a permanent refusal (410 Gone, SMTP 5xx), a value that cannot
 *            go into a mail header, or the give-up time has come
 *   pending  anything else; the next attempt is due after
 *            notify_retry_seconds * 2^(attempts-1) (capped at 6 hours), or
 *            Retry-After if later, but never after the give-up time
 *            (created + notify_give_up_hours), when one last attempt is made.
 * A row whose first attempt would come after its give-up time is failed
 * unsent: stale news helps nobody.
 *
 * The lease (notify_lease_seconds) must outlast the longest a row can
 * take, notify_timeout per configured channel; outbox_run_check_conf()
 * insists.  A run killed mid-row leaves its lease to run out; the next
 * claim records that attempt as interrupted and sends again, with the same
 * webhook-id (at least once; receivers de-duplicate on the id).
 */
#ifndef SHIPTRACK_OUTBOX_RUN_H
#define SHIPTRACK_OUTBOX_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

struct outbox_run_opts {
	long limit;		/* rows at most; 0: no limit */
};

struct outbox_run_stats {
	long rows;		/* rows claimed */
	long sent, skipped, retry, failed;	/* channel outcomes */
	long reclaimed;		/* abandoned leases found */
};

/* 0, or -1 with the problem (keys named, never values) in err. */
int outbox_run_check_conf(const struct conf *c, char *err, size_t errsz);

/* Deliver what is due.  STORE_OK, or the store error that stopped the run. */
enum store_rc outbox_run(const struct conf *c, struct store *st,
    const struct outbox_run_opts *o, struct outbox_run_stats *s);

#endif
