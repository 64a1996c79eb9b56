/*
 * rye_open: opening the Rye client (its options checked before anything
 * is set up, the key put into header lines and nowhere else) and closing
 * it (the key wiped).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "ratelimit.h"
#include "rye.h"
#include "rye_int.h"
#include "timefmt.h"

/* --- opening and closing ----------------------------------------------------- */

void
rye_opts_default(struct rye_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->base_url = "https://api.rye.com";
	o->graphql_url = "https://graphql.api.rye.com/v1/query";
	o->auth_scheme = "Bearer";
	o->rate = 10;
	o->graphql_rate = 100;
	o->timeout_s = 30;
	o->max_retries = 3;
	o->max_waits = 5;
}

/* The options a client cannot work with; NULL when they are fine. */
static const char *
opts_problem(const struct rye_opts *o)
{
	const char *s = o->auth_scheme;

	if (o->api_key == NULL || *o->api_key == '\0')
		return "rye_api_key is not set";
	if (strlen(o->api_key) > 1024)
		return "rye_api_key is too long";
	for (const char *p = o->api_key; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return "rye_api_key contains blanks or control characters";
	if (rye_url_check(o->base_url) < 0)
		return "rye_api_url must be an http(s) URL without query or fragment";
	if (rye_url_check(o->graphql_url) < 0)
		return "rye_graphql_url must be an http(s) URL without query or fragment";
	if (s == NULL || *s == '\0' || strlen(s) > 20 || strspn(s,
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != strlen(s))
		return "rye_auth_scheme must be a word such as Bearer or Basic";
	if (!(o->rate > 0 && o->rate <= 1000) ||
	    !(o->graphql_rate > 0 && o->graphql_rate <= 1000))
		return "rye_rate must be a number of requests per second, above 0";
	if (o->timeout_s < 1 || o->timeout_s > 3600)
		return "the Rye request timeout must be 1 to 3600 s";
	if (o->max_retries < 0 || o->max_retries > 10 || o->max_waits < 0 ||
	    o->max_waits > 20)
		return "the Rye retry and wait counts must be 0-10 and 0-20";
	return NULL;
}

/* "Authorization: <scheme> <key>" plus the fixed lines. */
static struct curl_slist *
headers(const char *scheme, const char *key, bool post)
{
	struct curl_slist *l;
	size_t len = strlen(scheme) + strlen(key) + 24;
	char *auth = malloc(len);

	if (auth == NULL)
		return NULL;
	snprintf(auth, len, "Authorization: %s %s", scheme, key);
	l = apiclient_headers(auth, post);
	/* curl copied the line; wipe ours. */
	memset(auth, 0, len);
	free(auth);
	return l;
}


struct rye *
rye_open(const struct rye_opts *o, char *err, size_t errsz)
{
	struct rye *c;
	const char *problem = opts_problem(o);
	int64_t now = rye_mono_ms();

	if (problem != NULL) {
		snprintf(err, errsz, "%s", problem);
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->o = *o;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsz, "cannot initialise libcurl");
		goto err;
	}
	c->global = true;
	if ((c->base = strdup(o->base_url)) == NULL || (c->gql = strdup(o->graphql_url)) ==
	    NULL || (c->key = strdup(o->api_key)) == NULL ||
	    (c->hdr_rest = headers(o->auth_scheme, o->api_key, false)) == NULL ||
	    (c->hdr_gql = headers("Basic", o->api_key, true)) == NULL ||
	    rye_easy_setup(c) < 0) {
		snprintf(err, errsz, "out of memory");
		goto err;
	}
	c->o.api_key = c->o.base_url = c->o.graphql_url = c->o.auth_scheme = NULL;
	c->rate[API_REST] = o->rate;
	c->rate[API_GQL] = o->graphql_rate;
	for (int i = 0; i < API__MAX; i++)
		ratelimit_init(&c->rl[i], c->rate[i], now);
	c->rnd = ratelimit_seed(timefmt_now_ms(), (long)getpid());
	return c;
err:
	rye_close(c);
	return NULL;
}

void
rye_close(struct rye *c)
{
	if (c == NULL)
		return;
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->hdr_rest);
	curl_slist_free_all(c->hdr_gql);
	if (c->global)
		curl_global_cleanup();
	if (c->key != NULL) {
		memset(c->key, 0, strlen(c->key));
		free(c->key);
	}
	free(c->base);
	free(c->gql);
	free(c);
}
