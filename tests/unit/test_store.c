/*
 * Unit tests for the store's interface (store.h, db.h underneath), on a
 * real SQLite file: a PostgreSQL connection string is refused without
 * being repeated or taken for a file name; the change counter moves with
 * another connection's commits only; store_check() counts; store_empty()
 * leaves a new database; the Rye pass's back-off doubles per failure up
 * to its cap, now that C computes it (store_rules.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "store_rye.h"

static char dir[64];
static char path[128];

static struct store *
open_rw(void)
{
	char err[256];
	struct store *st = NULL;

	if (store_open(&st, path, STORE_READWRITE, DURABILITY_NORMAL, 2000, err,
	    sizeof(err)) < 0)
		fail_msg("store_open: %s", err);
	return st;
}

static int
setup(void **state)
{
	snprintf(dir, sizeof(dir), "/tmp/shiptrack-store-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	*state = open_rw();
	return 0;
}

static int
teardown(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[160];

	store_close(*state);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static void
insert_event(struct store *st, const char *id)
{
	struct event_rec e = {
		.id = id, .scheme = "rye1", .type = "ORDER_PLACED", .order_id = "ord_1",
		.created_at = "2025-03-01T09:00:00Z", .created_ms = 1740819600000,
		.received_at = "2025-03-01T09:00:01Z", .body = "{}", .body_len = 2,
	};

	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(store_event_insert(st, &e), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
}

/* Never a file named after it, never its password in the message. */
static void
test_postgresql_password_not_shown(void **state)
{
	static const char *const uris[] = {
		"postgresql://shiptrack:s3cret-pw@127.0.0.1:1/shiptrack",
		"postgres://shiptrack:s3cret-pw@127.0.0.1:1/shiptrack",
	};
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		struct store *st = (struct store *)1;
		assert_int_equal(chdir(dir), 0);
		assert_int_equal(store_open(&st, uris[i], STORE_READWRITE,
		    DURABILITY_NORMAL, 1000, err, sizeof(err)), -1);
		assert_null(st);
		assert_non_null(strstr(err,
		    "postgresql://shiptrack@127.0.0.1:1/shiptrack: cannot connect"));
		assert_null(strstr(err, "s3cret"));
		assert_int_equal(access("postgresql:", F_OK), -1);
		assert_int_equal(access("postgres:", F_OK), -1);
	}
}

/* Another handle's commit moves it; one's own does not (SQLite's data_version). */
static void
test_change_counter(void **state)
{
	struct store *st = *state, *other = open_rw();
	int64_t v = store_change_counter(st);

	assert_true(v >= 0);
	assert_int_equal(store_change_counter(st), v);
	insert_event(st, "evt_own");
	assert_int_equal(store_change_counter(st), v);
	insert_event(other, "evt_other");
	assert_true(store_change_counter(st) != v);
	store_close(other);
}

static void
test_check_and_empty(void **state)
{
	struct store *st = *state;
	struct store_check ck;
	int64_t n = -1;

	insert_event(st, "evt_a");
	insert_event(st, "evt_b");
	assert_int_equal(store_check(st, &ck), STORE_OK);
	assert_string_equal(ck.integrity, "ok");
	assert_int_equal(ck.schema, store_schema_target());
	assert_int_equal(ck.ncounts, STORE_CHECK_TABLES);
	assert_string_equal(ck.count[0].table, "events");
	assert_int_equal(ck.count[0].rows, 2);
	assert_int_equal(store_event_count(st, &n), STORE_OK);
	assert_int_equal(n, 2);
	assert_int_equal(store_empty(st), STORE_OK);
	assert_int_equal(store_event_count(st, &n), STORE_OK);
	assert_int_equal(n, 0);
	insert_event(st, "evt_a");	/* gone, so not a duplicate */
}

/* Whether order_id is due at now_ms (generation 1). */
static bool
due_at(struct store *st, int64_t now_ms)
{
	struct rye_due d;
	bool due;

	assert_int_equal(store_rye_due_orders(st, 1, now_ms, 10, &d), STORE_OK);
	due = d.n == 1 && strcmp(d.ids[0], "ord_rye") == 0;
	rye_due_free(&d);
	return due;
}

/* base 100 ms: 100, 200, 400, then the cap (500). */
static void
test_rye_backoff(void **state)
{
	static const int64_t wait[] = { 100, 200, 400, 500, 500 };
	struct store *st = *state;
	int64_t now = 1000000;

	assert_int_equal(store_rye_want_order1(st, "ord_rye", now), STORE_OK);
	for (size_t i = 0; i < sizeof(wait) / sizeof(wait[0]); i++) {
		assert_true(due_at(st, now));
		assert_int_equal(store_rye_failed(st, "ord_rye", "boom", now, 100, 500),
		    STORE_OK);
		assert_false(due_at(st, now + wait[i] - 1));
		assert_true(due_at(st, now + wait[i]));
		now += wait[i];
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_postgresql_password_not_shown, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_change_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_and_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rye_backoff, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
