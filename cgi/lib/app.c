/* app: see app.h. */
#include "config.h"

#include <signal.h>
#include <stdio.h>

#include "app.h"
#include "log.h"

void
app_init(struct app *a, const char *program, const char *path,
    enum store_mode mode)
{
	enum log_level level = LL_INFO;

	/* A client that goes away mid-answer must not kill the worker. */
	signal(SIGPIPE, SIG_IGN);
	log_init(program, level);
	a->mode = mode;
	a->st = NULL;
	a->writer = NULL;
	a->conf_ok = conf_load(&a->conf, path, a->conf_err, sizeof(a->conf_err)) == 0;
	if (!a->conf_ok) {
		log_error("configuration: %s", a->conf_err);
		return;
	}
	store_set_password_file(a->conf.database_password_file);
	if (a->conf.log_level != NULL && log_parse_level(a->conf.log_level, &level) == 0)
		log_set_level(level);
}

struct store *
app_store(struct app *a)
{
	char err[512];

	if (a->st != NULL || !a->conf_ok)
		return a->st;
	if (store_open(&a->st, a->conf.database, a->mode, a->conf.durability,
	    a->conf.busy_timeout, err, sizeof(err)) < 0)
		log_error("%s", err);
	else
		store_set_stale_rules(a->st, &a->conf.stale);
	return a->st;
}

struct store *
app_writer(struct app *a)
{
	char err[512];

	if (a->writer == NULL && a->conf_ok &&
	    store_open(&a->writer, a->conf.database, STORE_READWRITE,
	    a->conf.durability, a->conf.busy_timeout, err, sizeof(err)) < 0)
		log_error("%s", err);
	return a->writer;
}

void
app_free(struct app *a)
{
	store_close(a->st);
	store_close(a->writer);
	a->st = NULL;
	a->writer = NULL;
	if (a->conf_ok)
		conf_free(&a->conf);
	a->conf_ok = false;
}
