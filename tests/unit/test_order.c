/*
 * Unit tests for cgi/lib/order.c: the status fold (DESIGN.md "Order
 * state"), the stage rules, and the name tables.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "order.h"

#define T0 1746489600000LL	/* 2025-05-06T00:00:00Z */
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The text of the last OS_OTHER status_of() returned. */
static const char *other_text;

/* Fold a copy, so the caller's array keeps its order for later shuffles. */
static enum order_status
status_of(const struct order_event *evs, size_t n)
{
	struct order_event tmp[32];

	assert_true(n <= NELEM(tmp));
	memcpy(tmp, evs, n * sizeof(*evs));
	return order_status_of(tmp, n, &other_text);
}

static enum order_status
status_of_one(const char *type)
{
	struct order_event ev = { T0, type, "evt_1", NULL };

	return order_status_of(&ev, 1, &other_text);
}

/* Deterministic PRNG so failures reproduce. */
static uint32_t rng_state = 12345;

static uint32_t
rng(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void
shuffle(struct order_event *evs, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rng() % i;
		struct order_event t = evs[i - 1];
		evs[i - 1] = evs[j];
		evs[j] = t;
	}
}

/* The fold of evs must be want, for the given order and many shuffles. */
static void
assert_status_any_order(struct order_event *evs, size_t n,
    enum order_status want)
{
	struct order_event work[32];

	assert_true(n <= NELEM(work));
	assert_int_equal(status_of(evs, n), want);
	memcpy(work, evs, n * sizeof(*evs));
	for (int round = 0; round < 300; round++) {
		enum order_status got;

		shuffle(work, n);
		got = status_of(work, n);
		if (got != want)
			fail_msg("round %d: got %s, want %s", round,
			    order_status_name(got), order_status_name(want));
	}
}

/* ---- type effects ------------------------------------------------------ */

static void
test_type_mapping(void **state)
{
	static const struct {
		const char *type;
		enum order_status status;
	} set[] = {
		{ "ORDER_SUBMISSION_STARTED", OS_PROCESSING },
		{ "ORDER_SUBMISSION_SUCCEEDED", OS_PROCESSING },
		{ "ORDER_PLACED", OS_SUCCEEDED },
		{ "TRACKING_OBTAINED", OS_SUCCEEDED },
		{ "ORDER_FAILED", OS_FAILED },
		{ "PAYMENT_FAILED", OS_FAILED },
		{ "ORDER_CANCEL_STARTED", OS_CANCELLATION_IN_PROGRESS },
		{ "ORDER_CANCEL_SUCCEEDED", OS_CANCELLED },
		{ "checkout_intent.completed", OS_SUCCEEDED },
		{ "checkout_intent.order_failed", OS_FAILED },
		{ "checkout_intent.offer_failed", OS_FAILED },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(set); i++) {
		enum order_status got = status_of_one(set[i].type);
		if (got != set[i].status)
			fail_msg("%s alone: got %s, want %s", set[i].type,
			    order_status_name(got),
			    order_status_name(set[i].status));
		assert_int_not_equal(order_type_effect(set[i].type).kind,
		    EFFECT_NONE);
		assert_true(order_type_effect(set[i].type).rank > 0);
	}
}

static void
test_types_without_status(void **state)
{
	static const char *const none[] = {
		"PAYMENT_SUCCEEDED", "PAYMENT_REFUNDED", "REFUND_CREATED",
		"PRODUCT_UPDATED", "PRODUCT_DELETED", "SHOPIFY_APP_INSTALLED",
		"WEBHOOK_URL_VERIFICATION", "shipment.created", "shipment.updated",
		"product.updated", "SOMETHING_NEW", "", "order_placed",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(none); i++) {
		struct type_effect e = order_type_effect(none[i]);
		assert_int_equal(e.kind, EFFECT_NONE);
		assert_int_equal(e.rank, 0);
		assert_int_equal(status_of_one(none[i]), OS_PENDING);
	}
	assert_int_equal(order_type_effect(NULL).kind, EFFECT_NONE);
	/* No events at all. */
	{
		struct order_event none_ev[1] = { { T0, "ORDER_FAILED", "x", NULL } };
		assert_int_equal(order_status_of(none_ev, 0, &other_text), OS_PENDING);
	}
}

static void
test_cancel_effect_kinds(void **state)
{
	(void)state;
	assert_int_equal(order_type_effect("ORDER_CANCEL_STARTED").kind,
	    EFFECT_CANCEL_START);
	assert_int_equal(order_type_effect("ORDER_CANCEL_FAILED").kind,
	    EFFECT_CANCEL_FAIL);
	/* A cancel failure with no cancel in progress changes nothing. */
	assert_int_equal(status_of_one("ORDER_CANCEL_FAILED"), OS_PENDING);
}

static void
test_rank_follows_design_list(void **state)
{
	/* DESIGN.md's list, in order: later in the list wins ties. */
	static const char *const list[] = {
		"ORDER_SUBMISSION_STARTED", "ORDER_SUBMISSION_SUCCEEDED",
		"ORDER_PLACED", "TRACKING_OBTAINED", "ORDER_FAILED",
		"PAYMENT_FAILED", "ORDER_CANCEL_STARTED",
		"ORDER_CANCEL_SUCCEEDED", "ORDER_CANCEL_FAILED",
		"checkout_intent.completed", "checkout_intent.order_failed",
		"checkout_intent.offer_failed",
	};

	(void)state;
	for (size_t i = 1; i < NELEM(list); i++)
		if (order_type_effect(list[i - 1]).rank >=
		    order_type_effect(list[i]).rank)
			fail_msg("%s does not rank below %s", list[i - 1], list[i]);
}

/* ---- the fold ---------------------------------------------------------- */

static void
test_pending_when_only_payment(void **state)
{
	struct order_event evs[] = {
		{ T0, "PAYMENT_SUCCEEDED", "evt_pay", NULL },
		{ T0 + 5, "PRODUCT_UPDATED", "evt_p", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_PENDING);
}

static void
test_typical_sequence(void **state)
{
	struct order_event evs[] = {
		{ T0 + 0, "PAYMENT_SUCCEEDED", "evt_a", NULL },
		{ T0 + 1000, "ORDER_SUBMISSION_STARTED", "evt_b", NULL },
		{ T0 + 2000, "ORDER_SUBMISSION_SUCCEEDED", "evt_c", NULL },
		{ T0 + 3000, "ORDER_PLACED", "evt_d", NULL },
		{ T0 + 4000, "TRACKING_OBTAINED", "evt_e", NULL },
		{ T0 + 5000, "TRACKING_OBTAINED", "evt_f", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
	/* Only the first three: processing. */
	assert_status_any_order(evs, 3, OS_PROCESSING);
}

static void
test_latest_wins_regardless_of_input_order(void **state)
{
	/* A failure that comes in late but happened early loses. */
	struct order_event evs[] = {
		{ T0 + 9000, "ORDER_PLACED", "evt_z", NULL },
		{ T0 + 1000, "ORDER_FAILED", "evt_a", NULL },
		{ T0 + 500, "ORDER_SUBMISSION_STARTED", "evt_m", NULL },
		{ T0 + 20000, "PAYMENT_SUCCEEDED", "evt_q", NULL },	/* no status */
	};
	struct order_event evs2[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_z", NULL },
		{ T0 + 9000, "ORDER_FAILED", "evt_a", NULL },
		{ T0 + 500, "ORDER_SUBMISSION_STARTED", "evt_m", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
	assert_status_any_order(evs2, NELEM(evs2), OS_FAILED);
}

static void
test_older_event_does_not_move_state_back(void **state)
{
	struct order_event evs[] = {
		{ T0 + 3000, "ORDER_PLACED", "evt_3", NULL },
		/* Redelivered late, but older. */
		{ T0 + 1000, "ORDER_SUBMISSION_STARTED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_SUBMISSION_SUCCEEDED", "evt_2", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
}

static void
test_tie_placed_vs_failed(void **state)
{
	struct order_event evs[] = {
		{ T0, "ORDER_PLACED", "evt_a", NULL },
		{ T0, "ORDER_FAILED", "evt_b", NULL },
	};
	/* The ids favour ORDER_PLACED: the list order must decide first. */
	struct order_event evs2[] = {
		{ T0, "ORDER_PLACED", "evt_z", NULL },
		{ T0, "ORDER_FAILED", "evt_a", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_FAILED);
	assert_status_any_order(evs2, NELEM(evs2), OS_FAILED);
}

static void
test_tie_submission_succeeded_vs_placed(void **state)
{
	struct order_event evs[] = {
		{ T0, "ORDER_SUBMISSION_SUCCEEDED", "evt_z", NULL },
		{ T0, "ORDER_PLACED", "evt_a", NULL },
	};
	struct order_event evs2[] = {
		{ T0, "ORDER_SUBMISSION_STARTED", "evt_z", NULL },
		{ T0, "ORDER_SUBMISSION_SUCCEEDED", "evt_y", NULL },
		{ T0, "TRACKING_OBTAINED", "evt_a", NULL },
		{ T0, "PAYMENT_SUCCEEDED", "evt_zz", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
	assert_status_any_order(evs2, NELEM(evs2), OS_SUCCEEDED);
}

static void
test_tie_placed_vs_cancel(void **state)
{
	struct order_event evs[] = {
		{ T0, "ORDER_CANCEL_SUCCEEDED", "evt_a", NULL },
		{ T0, "TRACKING_OBTAINED", "evt_b", NULL },
		{ T0, "ORDER_PLACED", "evt_c", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_CANCELLED);
}

static void
test_event_cmp_order(void **state)
{
	struct order_event a = { T0, "ORDER_PLACED", "evt_b", NULL };
	struct order_event b = { T0, "ORDER_PLACED", "evt_c", NULL };
	struct order_event c = { T0, "ORDER_FAILED", "evt_a", NULL };
	struct order_event d = { T0 + 1, "PAYMENT_SUCCEEDED", "evt_0", NULL };
	struct order_event e = { T0, "PAYMENT_SUCCEEDED", "evt_z", NULL };

	(void)state;
	/* createdAt first. */
	assert_true(order_event_cmp(&c, &d) < 0);
	assert_true(order_event_cmp(&d, &c) > 0);
	/* Then the list rank: no-status types sort before status types. */
	assert_true(order_event_cmp(&e, &a) < 0);
	assert_true(order_event_cmp(&a, &c) < 0);
	assert_true(order_event_cmp(&c, &a) > 0);
	/* Then the id. */
	assert_true(order_event_cmp(&a, &b) < 0);
	assert_true(order_event_cmp(&b, &a) > 0);
	assert_int_equal(order_event_cmp(&a, &a), 0);
}

static void
test_sort_is_total_and_stable_across_shuffles(void **state)
{
	struct order_event evs[] = {
		{ T0, "ORDER_PLACED", "evt_b", NULL },
		{ T0, "ORDER_PLACED", "evt_a", NULL },
		{ T0, "PAYMENT_SUCCEEDED", "evt_c", NULL },
		{ T0 - 1, "ORDER_FAILED", "evt_d", NULL },
		{ T0, "ORDER_FAILED", "evt_e", NULL },
		{ T0 + 1, "SOMETHING", "evt_f", NULL },
	};
	static const char *const want[] = {
		"evt_d", "evt_c", "evt_a", "evt_b", "evt_e", "evt_f",
	};

	(void)state;
	for (int round = 0; round < 100; round++) {
		shuffle(evs, NELEM(evs));
		order_status_of(evs, NELEM(evs), &other_text);	/* sorts in place */
		for (size_t i = 0; i < NELEM(want); i++)
			assert_string_equal(evs[i].id, want[i]);
	}
}

/* ---- cancellation ------------------------------------------------------ */

static void
test_cancel_started(void **state)
{
	struct order_event evs[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_CANCELLATION_IN_PROGRESS);
}

static void
test_cancel_succeeded(void **state)
{
	struct order_event evs[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 3000, "ORDER_CANCEL_SUCCEEDED", "evt_3", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_CANCELLED);
}

static void
test_cancel_failed_reverts_to_succeeded(void **state)
{
	struct order_event evs[] = {
		{ T0 + 0, "PAYMENT_SUCCEEDED", "evt_0", NULL },
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
}

static void
test_cancel_failed_reverts_to_processing(void **state)
{
	struct order_event evs[] = {
		{ T0 + 1000, "ORDER_SUBMISSION_SUCCEEDED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_PROCESSING);
}

static void
test_cancel_failed_reverts_to_pending(void **state)
{
	struct order_event evs[] = {
		{ T0 + 1000, "PAYMENT_SUCCEEDED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_PENDING);
}

static void
test_cancel_failed_same_ms_as_start(void **state)
{
	/* The list puts CANCEL_FAILED after CANCEL_STARTED. */
	struct order_event evs[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_FAILED", "evt_a", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_b", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
}

static void
test_cancel_failed_without_start(void **state)
{
	struct order_event placed[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
	};
	struct order_event processing[] = {
		{ T0 + 1000, "ORDER_SUBMISSION_STARTED", "evt_1", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
	};
	/* A failure older than the start does not end the cancellation. */
	struct order_event before[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 1500, "ORDER_CANCEL_FAILED", "evt_0", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
	};

	(void)state;
	assert_status_any_order(placed, NELEM(placed), OS_SUCCEEDED);
	assert_status_any_order(processing, NELEM(processing), OS_PROCESSING);
	assert_status_any_order(before, NELEM(before), OS_CANCELLATION_IN_PROGRESS);
}

static void
test_cancel_failed_after_cancelled(void **state)
{
	struct order_event evs[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 3000, "ORDER_CANCEL_SUCCEEDED", "evt_3", NULL },
		{ T0 + 4000, "ORDER_CANCEL_FAILED", "evt_4", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_CANCELLED);
}

static void
test_repeated_cancel_start(void **state)
{
	/* Two starts, then a failure: back to before the first start. */
	struct order_event evs[] = {
		{ T0 + 1000, "ORDER_PLACED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 2500, "ORDER_CANCEL_STARTED", "evt_2b", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
	};
	/* Two rounds: cancel fails, later placed again, cancel fails again. */
	struct order_event evs2[] = {
		{ T0 + 1000, "ORDER_SUBMISSION_STARTED", "evt_1", NULL },
		{ T0 + 2000, "ORDER_CANCEL_STARTED", "evt_2", NULL },
		{ T0 + 3000, "ORDER_CANCEL_FAILED", "evt_3", NULL },
		{ T0 + 4000, "ORDER_PLACED", "evt_4", NULL },
		{ T0 + 5000, "ORDER_CANCEL_STARTED", "evt_5", NULL },
		{ T0 + 6000, "ORDER_CANCEL_FAILED", "evt_6", NULL },
	};

	(void)state;
	assert_status_any_order(evs, NELEM(evs), OS_SUCCEEDED);
	assert_status_any_order(evs2, NELEM(evs2), OS_SUCCEEDED);
	assert_status_any_order(evs2, 3, OS_PROCESSING);
	assert_status_any_order(evs2, 5, OS_CANCELLATION_IN_PROGRESS);
}

/* ---- generation 2 ------------------------------------------------------ */

static void
test_gen2_types(void **state)
{
	struct order_event done[] = {
		{ T0 + 1000, "checkout_intent.completed", "evt_1", NULL },
		{ T0 + 2000, "shipment.created", "evt_2", NULL },
		{ T0 + 3000, "shipment.updated", "evt_3", NULL },
	};
	struct order_event failed[] = {
		{ T0 + 1000, "product.updated", "evt_1", NULL },
		{ T0 + 2000, "checkout_intent.order_failed", "evt_2", NULL },
	};
	struct order_event offer[] = {
		{ T0 + 2000, "checkout_intent.offer_failed", "evt_2", NULL },
		{ T0 + 1000, "checkout_intent.completed", "evt_1", NULL },
	};
	/* Same ms: order_failed comes after completed in the list. */
	struct order_event tie[] = {
		{ T0, "checkout_intent.order_failed", "evt_a", NULL },
		{ T0, "checkout_intent.completed", "evt_b", NULL },
	};

	(void)state;
	assert_status_any_order(done, NELEM(done), OS_SUCCEEDED);
	assert_status_any_order(failed, NELEM(failed), OS_FAILED);
	assert_status_any_order(offer, NELEM(offer), OS_FAILED);
	assert_status_any_order(tie, NELEM(tie), OS_FAILED);
}

/* ---- stage ------------------------------------------------------------- */

static enum order_stage
stage(enum order_status st, size_t n, ...)
{
	enum carrier_tag tags[16];
	va_list ap;

	assert_true(n <= NELEM(tags));
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		tags[i] = (enum carrier_tag)va_arg(ap, int);
	va_end(ap);
	return order_stage_of(st, n ? tags : NULL, n);
}

#define assert_stage(got, want) do { \
	enum order_stage g_ = (got), w_ = (want); \
	if (g_ != w_) \
		fail_msg("stage %s, want %s", order_stage_name(g_), \
		    order_stage_name(w_)); \
} while (0)

static void
test_stage_without_shipments(void **state)
{
	(void)state;
	assert_stage(stage(OS_PENDING, 0), STAGE_PROCESSING);
	assert_stage(stage(OS_PROCESSING, 0), STAGE_PROCESSING);
	assert_stage(stage(OS_SUCCEEDED, 0), STAGE_PLACED);
	assert_stage(stage(OS_FAILED, 0), STAGE_FAILED);
	assert_stage(stage(OS_CANCELLED, 0), STAGE_CANCELLED);
}

static void
test_stage_failed_and_cancelled_beat_shipments(void **state)
{
	(void)state;
	assert_stage(stage(OS_FAILED, 1, TAG_IN_TRANSIT), STAGE_FAILED);
	assert_stage(stage(OS_FAILED, 2, TAG_DELIVERED, TAG_DELIVERED), STAGE_FAILED);
	assert_stage(stage(OS_CANCELLED, 1, TAG_DELIVERED), STAGE_CANCELLED);
	assert_stage(stage(OS_CANCELLED, 1, TAG_EXCEPTION), STAGE_CANCELLED);
}

static void
test_stage_single_shipment(void **state)
{
	static const struct {
		enum carrier_tag tag;
		enum order_stage stage;
	} map[] = {
		{ TAG_PENDING, STAGE_SHIPPED },
		{ TAG_INFO_RECEIVED, STAGE_SHIPPED },
		{ TAG_IN_TRANSIT, STAGE_IN_TRANSIT },
		{ TAG_OUT_FOR_DELIVERY, STAGE_OUT_FOR_DELIVERY },
		{ TAG_ATTEMPT_FAIL, STAGE_ATTEMPT_FAILED },
		{ TAG_DELIVERED, STAGE_DELIVERED },
		{ TAG_AVAILABLE_FOR_PICKUP, STAGE_AVAILABLE_FOR_PICKUP },
		{ TAG_EXCEPTION, STAGE_EXCEPTION },
		{ TAG_EXPIRED, STAGE_EXPIRED },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(map); i++) {
		/* The status does not matter once there is a shipment. */
		assert_stage(stage(OS_SUCCEEDED, 1, map[i].tag), map[i].stage);
		assert_stage(stage(OS_PENDING, 1, map[i].tag), map[i].stage);
		assert_stage(stage(OS_PROCESSING, 1, map[i].tag), map[i].stage);
	}
}

static void
test_stage_several_shipments(void **state)
{
	(void)state;
	/* All delivered. */
	assert_stage(stage(OS_SUCCEEDED, 3, TAG_DELIVERED, TAG_DELIVERED,
	    TAG_DELIVERED), STAGE_DELIVERED);
	/* Some delivered. */
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_DELIVERED, TAG_IN_TRANSIT),
	    STAGE_PARTIALLY_DELIVERED);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_PENDING, TAG_DELIVERED),
	    STAGE_PARTIALLY_DELIVERED);
	/* Any exception wins, even over delivered parcels. */
	assert_stage(stage(OS_SUCCEEDED, 3, TAG_DELIVERED, TAG_EXCEPTION,
	    TAG_DELIVERED), STAGE_EXCEPTION);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_ATTEMPT_FAIL, TAG_EXCEPTION),
	    STAGE_EXCEPTION);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_EXCEPTION, TAG_OUT_FOR_DELIVERY),
	    STAGE_EXCEPTION);
	/* A failed attempt is trouble too. */
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_DELIVERED, TAG_ATTEMPT_FAIL),
	    STAGE_ATTEMPT_FAILED);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_IN_TRANSIT, TAG_ATTEMPT_FAIL),
	    STAGE_ATTEMPT_FAILED);
	/* Carrier knows nothing yet. */
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_PENDING, TAG_INFO_RECEIVED),
	    STAGE_SHIPPED);
	/* The most advanced parcel still moving. */
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_IN_TRANSIT, TAG_OUT_FOR_DELIVERY),
	    STAGE_OUT_FOR_DELIVERY);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_OUT_FOR_DELIVERY, TAG_IN_TRANSIT),
	    STAGE_OUT_FOR_DELIVERY);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_PENDING, TAG_IN_TRANSIT),
	    STAGE_IN_TRANSIT);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_IN_TRANSIT,
	    TAG_AVAILABLE_FOR_PICKUP), STAGE_AVAILABLE_FOR_PICKUP);
	/* Expired only when nothing else is left. */
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_EXPIRED, TAG_EXPIRED),
	    STAGE_EXPIRED);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_EXPIRED, TAG_IN_TRANSIT),
	    STAGE_IN_TRANSIT);
	assert_stage(stage(OS_SUCCEEDED, 2, TAG_INFO_RECEIVED, TAG_EXPIRED),
	    STAGE_SHIPPED);
}

static void
test_stage_independent_of_shipment_order(void **state)
{
	enum carrier_tag tags[] = {
		TAG_IN_TRANSIT, TAG_DELIVERED, TAG_PENDING, TAG_OUT_FOR_DELIVERY,
	};
	enum order_stage want = order_stage_of(OS_SUCCEEDED, tags, NELEM(tags));

	(void)state;
	assert_stage(want, STAGE_PARTIALLY_DELIVERED);
	for (int round = 0; round < 50; round++) {
		for (size_t i = NELEM(tags); i > 1; i--) {
			size_t j = rng() % i;
			enum carrier_tag t = tags[i - 1];
			tags[i - 1] = tags[j];
			tags[j] = t;
		}
		assert_stage(order_stage_of(OS_SUCCEEDED, tags, NELEM(tags)), want);
	}
}

/* ---- observations of the Rye pass --------------------------------------- */

static void
test_observation_sets_its_status(void **state)
{
	const struct order_event evs[] = {
		{ T0, "ORDER_PLACED", "evt_a", NULL },
		{ T0 + 1000, "rye1.order.observed", "obs:1", "PROCESSING" },
	};

	(void)state;
	assert_int_equal(status_of(evs, NELEM(evs)), OS_PROCESSING);
	/* A later event moves on from what the API said. */
	{
		const struct order_event more[] = {
			evs[0], evs[1], { T0 + 2000, "ORDER_FAILED", "evt_b", NULL },
		};
		assert_int_equal(status_of(more, NELEM(more)), OS_FAILED);
	}
}

static void
test_observation_wins_ties(void **state)
{
	/* At equal times the API's word wins over any event type. */
	const struct order_event evs[] = {
		{ T0, "ORDER_CANCEL_SUCCEEDED", "evt_z", NULL },
		{ T0, "rye1.order.observed", "obs:a", "SUCCEEDED" },
	};
	struct order_event o = evs[1];

	(void)state;
	assert_int_equal(order_event_effect(&o).rank,
	    order_type_effect("checkout_intent.offer_failed").rank + 1);
	for (int round = 0; round < 10; round++) {
		struct order_event tmp[2] = { evs[round % 2], evs[1 - round % 2] };
		assert_int_equal(order_status_of(tmp, 2, &other_text), OS_SUCCEEDED);
	}
}

static void
test_unknown_status_kept_with_its_text(void **state)
{
	const struct order_event evs[] = {
		{ T0, "ORDER_PLACED", "evt_a", NULL },
		{ T0 + 1000, "rye1.order.observed", "obs:1", "PARTIALLY_CANCELLED" },
	};

	(void)state;
	other_text = NULL;
	assert_int_equal(status_of(evs, NELEM(evs)), OS_OTHER);
	assert_non_null(other_text);
	assert_string_equal(other_text, "PARTIALLY_CANCELLED");
	/* Known again: no text. */
	{
		const struct order_event more[] = {
			evs[0], evs[1], { T0 + 2000, "ORDER_PLACED", "evt_b", NULL },
		};
		assert_int_equal(status_of(more, NELEM(more)), OS_SUCCEEDED);
		assert_null(other_text);
	}
	/* Its stage: processing, unless shipments say more. */
	assert_int_equal(order_stage_of(OS_OTHER, NULL, 0), STAGE_PROCESSING);
	{
		enum carrier_tag t = TAG_IN_TRANSIT;
		assert_int_equal(order_stage_of(OS_OTHER, &t, 1), STAGE_IN_TRANSIT);
	}
}

static void
test_observed_cancellation_can_fail_back(void **state)
{
	const struct order_event evs[] = {
		{ T0, "rye1.order.observed", "obs:1", "ACTION_REQUIRED" },
		{ T0 + 1000, "rye1.order.observed", "obs:2", "CANCELLATION_IN_PROGRESS" },
		{ T0 + 2000, "ORDER_CANCEL_FAILED", "evt_f", NULL },
	};

	(void)state;
	assert_int_equal(status_of(evs, NELEM(evs)), OS_OTHER);
	assert_string_equal(other_text, "ACTION_REQUIRED");
}

static void
test_shipment_tag_rule(void **state)
{
	static const struct {
		const char *rye;
		enum carrier_tag tag;
	} rye[] = {
		{ "ordered", TAG_PENDING }, { "shipped", TAG_IN_TRANSIT },
		{ "delayed", TAG_IN_TRANSIT }, { "out_for_delivery", TAG_OUT_FOR_DELIVERY },
		{ "delivered", TAG_DELIVERED }, { "canceled", TAG_PENDING },
		{ "lost_in_space", TAG_PENDING },
	};

	(void)state;
	/* Before AfterShip knows the parcel, Rye's status gives the tag. */
	for (size_t i = 0; i < NELEM(rye); i++) {
		assert_int_equal(shipment_tag_of("Pending", false, rye[i].rye), rye[i].tag);
		assert_int_equal(shipment_tag_of(NULL, false, rye[i].rye), rye[i].tag);
		/* AfterShip's data stored but saying only Pending: still Rye's. */
		assert_int_equal(shipment_tag_of("Pending", true, rye[i].rye), rye[i].tag);
		/* Once AfterShip says more, its tag is the parcel's. */
		assert_int_equal(shipment_tag_of("InfoReceived", true, rye[i].rye),
		    TAG_INFO_RECEIVED);
		assert_int_equal(shipment_tag_of("Exception", true, rye[i].rye),
		    TAG_EXCEPTION);
	}
	/* No Rye status: AfterShip's tag, whatever it is. */
	assert_int_equal(shipment_tag_of("InTransit", false, NULL), TAG_IN_TRANSIT);
	assert_int_equal(shipment_tag_of(NULL, false, NULL), TAG_PENDING);
}

/* ---- names ------------------------------------------------------------- */

static void
test_status_names(void **state)
{
	static const char *const names[OS_OTHER] = {
		"PENDING", "PROCESSING", "SUCCEEDED", "FAILED",
		"CANCELLATION_IN_PROGRESS", "CANCELLED",
	};
	enum order_status s;

	(void)state;
	for (int i = 0; i < OS_OTHER; i++) {
		assert_string_equal(order_status_name((enum order_status)i), names[i]);
		s = OS__MAX;
		assert_int_equal(order_status_parse(names[i], &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(order_status_parse("BOGUS", &s), -1);
	/* A status Rye adds has no name here: its text travels with it. */
	assert_string_equal(order_status_name(OS_OTHER), "PENDING");
	assert_int_equal(order_status_parse("", &s), -1);
	assert_int_equal(order_status_parse("PENDING ", &s), -1);
}

static void
test_stage_names(void **state)
{
	static const char *const names[STAGE__MAX] = {
		"processing", "placed", "shipped", "in_transit",
		"out_for_delivery", "available_for_pickup", "attempt_failed",
		"exception", "delivered", "partially_delivered", "expired",
		"failed", "cancelled",
	};
	enum order_stage s;

	(void)state;
	for (int i = 0; i < STAGE__MAX; i++) {
		assert_string_equal(order_stage_name((enum order_stage)i), names[i]);
		s = STAGE__MAX;
		assert_int_equal(order_stage_parse(names[i], &s), 0);
		assert_int_equal(s, i);
	}
	assert_int_equal(order_stage_parse("bogus", &s), -1);
	assert_int_equal(order_stage_parse("", &s), -1);
	assert_int_equal(order_stage_parse("in-transit", &s), -1);
}

static void
test_carrier_tags(void **state)
{
	static const char *const names[TAG__MAX] = {
		"Pending", "InfoReceived", "InTransit", "OutForDelivery",
		"AttemptFail", "Delivered", "AvailableForPickup", "Exception",
		"Expired",
	};

	(void)state;
	for (int i = 0; i < TAG__MAX; i++) {
		assert_string_equal(carrier_tag_name((enum carrier_tag)i), names[i]);
		assert_int_equal(carrier_tag_parse(names[i]), i);
	}
	/* Unknown, NULL and differently spelt tags read as Pending. */
	assert_int_equal(carrier_tag_parse("Bogus"), TAG_PENDING);
	assert_int_equal(carrier_tag_parse(""), TAG_PENDING);
	assert_int_equal(carrier_tag_parse(NULL), TAG_PENDING);
	assert_int_equal(carrier_tag_parse("intransit"), TAG_PENDING);
	assert_int_equal(carrier_tag_parse("InTransit_003"), TAG_PENDING);
}

static void
test_final_tags(void **state)
{
	(void)state;
	for (int i = 0; i < TAG__MAX; i++) {
		bool want = i == TAG_DELIVERED || i == TAG_EXPIRED;
		if (carrier_tag_is_final((enum carrier_tag)i) != want)
			fail_msg("%s final: %d", carrier_tag_name((enum carrier_tag)i),
			    !want);
	}
}

/* Stalled: stale by its tag's days, or the estimate passed with no scan since. */
static void
test_stalled(void **state)
{
	const int64_t day = 86400000, now = 100 * day;
	struct stale_rules r;

	(void)state;
	assert_int_equal(stale_rules_init(&r, 7, STALE_RULES_DEFAULT), 0);
	/* In transit, scanned 3 days ago, no estimate: moving. */
	assert_false(shipment_is_stalled(&r, TAG_IN_TRANSIT, now - 3 * day, true, 0, -1, now));
	/* ... 8 days ago: stale, so stalled. */
	assert_true(shipment_is_stalled(&r, TAG_IN_TRANSIT, now - 8 * day, true, 0, -1, now));
	/* The estimate passed a day ago, the last scan before it: stalled. */
	assert_true(shipment_is_stalled(&r, TAG_IN_TRANSIT, now - 3 * day, true, 0,
	    now - day, now));
	/* ... but a scan after the estimate passed: late, yet moving. */
	assert_false(shipment_is_stalled(&r, TAG_IN_TRANSIT, now - day / 2, true, 0,
	    now - day, now));
	/* No scan at all, estimate passed: stalled. */
	assert_true(shipment_is_stalled(&r, TAG_PENDING, 0, false, now - day, now - 1, now));
	/* The estimate still ahead: not. */
	assert_false(shipment_is_stalled(&r, TAG_IN_TRANSIT, now - day, true, 0, now + 1, now));
	/* Final tags never stall. */
	assert_false(shipment_is_stalled(&r, TAG_DELIVERED, now - 30 * day, true, 0,
	    now - 20 * day, now));
	assert_false(shipment_is_stalled(&r, TAG_EXPIRED, now - 30 * day, true, 0, -1, now));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_mapping),
		cmocka_unit_test(test_stalled),
		cmocka_unit_test(test_types_without_status),
		cmocka_unit_test(test_cancel_effect_kinds),
		cmocka_unit_test(test_rank_follows_design_list),
		cmocka_unit_test(test_pending_when_only_payment),
		cmocka_unit_test(test_typical_sequence),
		cmocka_unit_test(test_latest_wins_regardless_of_input_order),
		cmocka_unit_test(test_older_event_does_not_move_state_back),
		cmocka_unit_test(test_tie_placed_vs_failed),
		cmocka_unit_test(test_tie_submission_succeeded_vs_placed),
		cmocka_unit_test(test_tie_placed_vs_cancel),
		cmocka_unit_test(test_event_cmp_order),
		cmocka_unit_test(test_sort_is_total_and_stable_across_shuffles),
		cmocka_unit_test(test_cancel_started),
		cmocka_unit_test(test_cancel_succeeded),
		cmocka_unit_test(test_cancel_failed_reverts_to_succeeded),
		cmocka_unit_test(test_cancel_failed_reverts_to_processing),
		cmocka_unit_test(test_cancel_failed_reverts_to_pending),
		cmocka_unit_test(test_cancel_failed_same_ms_as_start),
		cmocka_unit_test(test_cancel_failed_without_start),
		cmocka_unit_test(test_cancel_failed_after_cancelled),
		cmocka_unit_test(test_repeated_cancel_start),
		cmocka_unit_test(test_gen2_types),
		cmocka_unit_test(test_stage_without_shipments),
		cmocka_unit_test(test_stage_failed_and_cancelled_beat_shipments),
		cmocka_unit_test(test_stage_single_shipment),
		cmocka_unit_test(test_stage_several_shipments),
		cmocka_unit_test(test_stage_independent_of_shipment_order),
		cmocka_unit_test(test_observation_sets_its_status),
		cmocka_unit_test(test_observation_wins_ties),
		cmocka_unit_test(test_unknown_status_kept_with_its_text),
		cmocka_unit_test(test_observed_cancellation_can_fail_back),
		cmocka_unit_test(test_shipment_tag_rule),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_stage_names),
		cmocka_unit_test(test_carrier_tags),
		cmocka_unit_test(test_final_tags),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
