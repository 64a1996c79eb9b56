/*
 * viewcache: rendered shopper views, reused while the database is
 * unchanged.
 *
 * A tracking page is read far more often than its order changes, and
 * rendering it (four queries, a JSON tree, its serialisation and the
 * ETag's SHA-256) costs api.fcgi about ten times what answering costs.
 * So the answer's bytes and ETag are kept per order id, in a small
 * direct-mapped table, and reused while both hold:
 *   - the store's change counter for this process's handle
 *     (store_change_counter; SQLite's data_version) is the one read
 *     before the view was rendered: any commit by any other connection
 *     (a webhook, the poller, shiptrack, a contact update) changes it,
 *     so whatever wrote, whatever it touched, the entry is dropped;
 *   - the entry is younger than VIEWCACHE_MAX_AGE_MS: the only part of
 *     the view that moves with the clock alone is a shipment's "stale"
 *     flag (days without a scan), and it may lag by that much.
 * Entries are taken per process; the table is guarded by a mutex so a
 * threaded program can share it.  Size 0 disables it (view_cache = 0).
 */
#ifndef SHIPTRACK_VIEWCACHE_H
#define SHIPTRACK_VIEWCACHE_H

#include <stddef.h>
#include <stdint.h>

#define VIEWCACHE_MAX_AGE_MS 1000
#define VIEWCACHE_ETAG_LEN 40

struct viewcache;

/* A table of size entries (0: a cache that keeps nothing); NULL on ENOMEM. */
struct viewcache *viewcache_new(size_t size);
void viewcache_free(struct viewcache *vc);

/*
 * The entry for key if it was stored at version and is fresh at now_ms:
 * copies its body into a new malloc'd buffer (*body, *len; the caller
 * frees it) and its ETag into etag.  Returns 1 on a hit, 0 on a miss, -1
 * on ENOMEM.
 */
int viewcache_get(struct viewcache *vc, const char *key, int64_t version,
    int64_t now_ms, char **body, size_t *len, char etag[VIEWCACHE_ETAG_LEN]);

/* Keep a copy of body and etag for key, rendered at version and now_ms. */
void viewcache_put(struct viewcache *vc, const char *key, int64_t version,
    int64_t now_ms, const char *body, size_t len, const char *etag);

#endif
