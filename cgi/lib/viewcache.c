/*
 * viewcache: see viewcache.h.  Direct-mapped: an order id hashes (FNV-1a)
 * to one slot and a newer render simply replaces what was there; no
 * lists, no eviction policy to get wrong, and a bounded size.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "viewcache.h"

struct slot {
	char *key;
	char *body;
	size_t len;
	int64_t version, born_ms;
	char etag[VIEWCACHE_ETAG_LEN];
};

struct viewcache {
	pthread_mutex_t mu;
	size_t n;
	struct slot slot[];
};

struct viewcache *
viewcache_new(size_t size)
{
	struct viewcache *vc = calloc(1, sizeof(*vc) + size * sizeof(struct slot));

	if (vc == NULL)
		return NULL;
	vc->n = size;
	pthread_mutex_init(&vc->mu, NULL);
	return vc;
}

static void
slot_clear(struct slot *s)
{
	free(s->key);
	free(s->body);
	memset(s, 0, sizeof(*s));
}

void
viewcache_free(struct viewcache *vc)
{
	if (vc == NULL)
		return;
	for (size_t i = 0; i < vc->n; i++)
		slot_clear(&vc->slot[i]);
	pthread_mutex_destroy(&vc->mu);
	free(vc);
}

static struct slot *
slot_of(struct viewcache *vc, const char *key)
{
	uint64_t h = 14695981039346656037ULL;

	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return &vc->slot[h % vc->n];
}

static bool
fresh(const struct slot *s, const char *key, int64_t version, int64_t now_ms)
{
	return s->key != NULL && strcmp(s->key, key) == 0 &&
	    s->version == version && now_ms >= s->born_ms &&
	    now_ms - s->born_ms < VIEWCACHE_MAX_AGE_MS;
}

int
viewcache_get(struct viewcache *vc, const char *key, int64_t version,
    int64_t now_ms, char **body, size_t *len, char etag[VIEWCACHE_ETAG_LEN])
{
	struct slot *s;
	int hit = 0;

	if (vc == NULL || vc->n == 0)
		return 0;
	pthread_mutex_lock(&vc->mu);
	s = slot_of(vc, key);
	if (fresh(s, key, version, now_ms)) {
		hit = -1;
		if ((*body = malloc(s->len + 1)) != NULL) {
			memcpy(*body, s->body, s->len);
			(*body)[s->len] = '\0';
			*len = s->len;
			memcpy(etag, s->etag, VIEWCACHE_ETAG_LEN);
			hit = 1;
		}
	}
	pthread_mutex_unlock(&vc->mu);
	return hit;
}

void
viewcache_put(struct viewcache *vc, const char *key, int64_t version,
    int64_t now_ms, const char *body, size_t len, const char *etag)
{
	struct slot *s, n = { .len = len, .version = version, .born_ms = now_ms };

	if (vc == NULL || vc->n == 0 || strlen(etag) >= VIEWCACHE_ETAG_LEN)
		return;
	n.key = strdup(key);
	n.body = malloc(len ? len : 1);
	if (n.key == NULL || n.body == NULL) {
		slot_clear(&n);		/* no room: simply not cached */
		return;
	}
	memcpy(n.body, body, len);
	strcpy(n.etag, etag);
	pthread_mutex_lock(&vc->mu);
	s = slot_of(vc, key);
	slot_clear(s);
	*s = n;
	pthread_mutex_unlock(&vc->mu);
}
