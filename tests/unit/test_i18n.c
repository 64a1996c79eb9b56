/*
 * Unit tests for cgi/lib/i18n.c: language tags, Accept-Language, the
 * fallback chain (language, default_locale, English, the key), every
 * compiled-in catalog, placeholders, countries' zones and the e-mails'
 * dates in each language.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"

extern const char *const i18n_catalog_lang[];
extern const int i18n_catalog_count;

/* 2025-03-01T09:00:00Z, a Saturday (CET, UTC+1 in Berlin). */
#define WINTER_MS 1740819600000LL
/* 2025-07-01T12:00:00Z, a Tuesday (EDT, UTC-4 in New York). */
#define SUMMER_MS 1751371200000LL

static void
test_tags(void **state)
{
	(void)state;
	assert_string_equal(i18n_lang("de"), "de");
	assert_string_equal(i18n_lang("DE-at"), "de");
	assert_string_equal(i18n_lang("pt_BR"), "pt");
	assert_null(i18n_lang("xx"));
	assert_null(i18n_lang("d"));
	assert_null(i18n_lang(""));
	assert_null(i18n_lang(NULL));
	assert_null(i18n_lang("de\r\n"));
	assert_null(i18n_lang("deutschland"));
	assert_true(i18n_supported("nl-BE"));
	assert_false(i18n_supported("ja"));
	assert_non_null(strstr(i18n_languages(), "en"));
	assert_non_null(strstr(i18n_languages(), "pt"));
}

static void
test_accept_language(void **state)
{
	(void)state;
	assert_string_equal(i18n_pick("de-AT,de;q=0.9,en;q=0.8", "en"), "de");
	assert_string_equal(i18n_pick("ja, fr;q=0.5, es;q=0.7", "en"), "es");
	assert_string_equal(i18n_pick("ja,zh;q=0.9", "it"), "it");
	assert_string_equal(i18n_pick("*", "nl"), "nl");
	assert_string_equal(i18n_pick("", "en"), "en");
	assert_string_equal(i18n_pick(NULL, "en"), "en");
	assert_string_equal(i18n_pick("fr;q=0, pt;q=0.1", "en"), "pt");
	assert_string_equal(i18n_pick("  it ; q=0.4 ,nl;q=0.3", "en"), "it");
}

static void
test_every_catalog_parses_and_speaks_its_language(void **state)
{
	(void)state;
	assert_true(i18n_catalog_count >= 7);
	for (int i = 0; i < i18n_catalog_count; i++) {
		const char *lang = i18n_catalog_lang[i];

		/* A key found in the language itself, not by falling back. */
		assert_string_not_equal(i18n_text(lang, "email.subject.delivered"),
		    "email.subject.delivered");
		if (strcmp(lang, "en") != 0)
			assert_string_not_equal(i18n_text(lang, "email.subject.delivered"),
			    i18n_text("en", "email.subject.delivered"));
	}
	assert_string_equal(i18n_text("de", "stage.delivered"), "Zugestellt");
	assert_string_equal(i18n_text("fr", "stage.delivered"), "Livrée");
	assert_string_equal(i18n_text("es", "email.greeting"), "Hola:");
}

static void
test_fallback_chain(void **state)
{
	(void)state;
	i18n_set_default("nl");
	assert_string_equal(i18n_text("ja", "stage.delivered"), "Bezorgd");
	assert_string_equal(i18n_text(NULL, "stage.delivered"), "Bezorgd");
	assert_string_equal(i18n_text("it", "stage.delivered"), "Consegnato");
	i18n_set_default("xx");	/* not a catalog: English */
	assert_string_equal(i18n_text("ja", "stage.delivered"), "Delivered");
	assert_string_equal(i18n_text("de", "no.such.key"), "no.such.key");
	i18n_set_default("en");
}

static int
put_upper(struct buf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i] >= 'a' && s[i] <= 'z' ? (char)(s[i] - 32) : s[i];

		if (buf_append(b, &c, 1) < 0)
			return -1;
	}
	return 0;
}

static void
test_expand(void **state)
{
	const struct i18n_var v[] = { { "order", "ord<1>" }, { "unused", "x" } };
	struct buf b;

	(void)state;
	buf_init(&b, 1024);
	assert_int_equal(i18n_expand(&b, "de", "email.subject.shipped", v, 2, put_upper), 0);
	/* put sees the catalog's words and the value alike */
	assert_string_equal(b.data, "IHRE BESTELLUNG ORD<1> WURDE VERSANDT");
	buf_reset(&b);
	/* a placeholder without a value stays visible */
	assert_int_equal(i18n_expand(&b, "en", "email.subject.shipped", NULL, 0, put_upper), 0);
	assert_string_equal(b.data, "YOUR ORDER {ORDER} HAS SHIPPED");
	buf_free(&b);
	buf_init(&b, 8);	/* too small: -1 */
	assert_int_equal(i18n_expand(&b, "en", "email.subject.shipped", v, 1, put_upper), -1);
	buf_free(&b);
}

static void
test_country_zones(void **state)
{
	(void)state;
	assert_string_equal(i18n_country_zone("DE"), "Europe/Berlin");
	assert_string_equal(i18n_country_zone("deu"), "Europe/Berlin");
	assert_string_equal(i18n_country_zone("us"), "America/New_York");
	assert_string_equal(i18n_country_zone("BRA"), "America/Sao_Paulo");
	assert_null(i18n_country_zone("XX"));
	assert_null(i18n_country_zone("D"));
	assert_null(i18n_country_zone("GERMANY"));
	assert_null(i18n_country_zone(NULL));
}

static void
check_date(const char *lang, int64_t ms, const char *country, const char *want)
{
	char out[I18N_DATE_MAX];

	assert_int_equal(i18n_datetime(lang, ms, country, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
test_dates_in_each_language_and_zone(void **state)
{
	char small[10];

	(void)state;
	setenv("TZ", "Asia/Tokyo", 1);
	check_date("en", WINTER_MS, NULL, "Saturday, March 1, 2025, 09:00 UTC");
	check_date("de", WINTER_MS, "DE", "Samstag, 1. März 2025, 10:00 Uhr CET");
	check_date("fr", WINTER_MS, "FR", "samedi 1 mars 2025 à 10:00 CET");
	check_date("es", WINTER_MS, "ES", "sábado, 1 de marzo de 2025, 10:00 CET");
	check_date("it", WINTER_MS, "IT", "sabato 1 marzo 2025, 10:00 CET");
	check_date("nl", WINTER_MS, "NL", "zaterdag 1 maart 2025, 10:00 CET");
	check_date("pt", WINTER_MS, "BR", "sábado, 1 de março de 2025, 06:00 UTC-03:00");
	check_date("en", SUMMER_MS, "US", "Tuesday, July 1, 2025, 08:00 EDT");
	check_date("en", SUMMER_MS, "GB", "Tuesday, July 1, 2025, 13:00 BST");
	check_date("de", SUMMER_MS, "XX", "Dienstag, 1. Juli 2025, 12:00 Uhr UTC");
	/* The process's own zone is left as it was. */
	assert_string_equal(getenv("TZ"), "Asia/Tokyo");
	unsetenv("TZ");
	check_date("en", WINTER_MS, "JP", "Saturday, March 1, 2025, 18:00 JST");
	assert_null(getenv("TZ"));
	assert_int_equal(i18n_datetime("en", WINTER_MS, NULL, small, sizeof(small)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_accept_language),
		cmocka_unit_test(test_every_catalog_parses_and_speaks_its_language),
		cmocka_unit_test(test_fallback_chain),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_country_zones),
		cmocka_unit_test(test_dates_in_each_language_and_zone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
