/*
 * app: what every shiptrack program sets up once per process: the
 * configuration, the log, and the database handle.
 *
 * A FastCGI program must keep answering even when its configuration or
 * database is broken (else the web server respawns it in a loop and the
 * client sees a bare 500): app_init() records the problem instead of
 * exiting, and app_store() retries the open on each request until it
 * works.  A program that reads through a read-only handle and writes
 * seldom (api.fcgi) opens a read-write one, the writer, the same way on
 * first use (app_writer()).
 */
#ifndef SHIPTRACK_APP_H
#define SHIPTRACK_APP_H

#include <stdbool.h>

#include "conf.h"
#include "store.h"

struct app {
	struct conf conf;
	bool conf_ok;
	char conf_err[512];
	enum store_mode mode;
	struct store *st;
	struct store *writer;	/* read-write, for a read-only program */
};

/* Load configuration (path may be NULL) and set up logging. */
void app_init(struct app *a, const char *program, const char *path,
    enum store_mode mode);
/* The open store, opening it now if needed; NULL (logged) if it cannot be. */
struct store *app_store(struct app *a);
/* The same for a read-write handle beside it. */
struct store *app_writer(struct app *a);
void app_free(struct app *a);

#endif
