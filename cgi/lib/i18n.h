/*
 * i18n: the shopper's language, for the e-mails.
 *
 * The words are the shopper page's: the catalogs web/i18n/<lang>.json
 * (flat keys, "{name}" placeholders) are compiled in by gen-i18n.sh as
 * strings and parsed with json-c on first use, once per process.  So the
 * page and the e-mails cannot drift apart, and tests/i18n_check.py holds
 * every catalog to the keys of en.json.
 *
 * A text is looked up in the asked language, then the default language
 * (default_locale, set once with i18n_set_default()), then English, and is
 * the key itself only if even English lacks it.  Languages are named by
 * their primary subtag ("de"; "de-AT" and "DE" mean the same).
 *
 * Dates for an e-mail are written in the order's country's time zone when
 * the country is known (a table of the common countries; a country with
 * several zones takes its most populous one), else in UTC, and the zone is
 * always named.  The conversion sets TZ for a moment: call it from
 * single-threaded programs only (shiptrack notify).
 */
#ifndef SHIPTRACK_I18N_H
#define SHIPTRACK_I18N_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define I18N_FALLBACK "en"
#define I18N_DATE_MAX 160

/* The catalog's code for a language tag ("de-AT" -> "de"), or NULL when
 * there is no catalog for it. */
const char *i18n_lang(const char *tag);
bool i18n_supported(const char *tag);

/* "de, en, es, ..." for messages; a static string. */
const char *i18n_languages(void);

/* The language texts fall back to before English (default_locale). */
void i18n_set_default(const char *tag);

/* The best catalog for an Accept-Language header value (q-values
 * honoured), else fallback. */
const char *i18n_pick(const char *accept, const char *fallback);

/* The text for key in lang (then the default, then English); never NULL. */
const char *i18n_text(const char *lang, const char *key);

/* One "{name}" placeholder's value. */
struct i18n_var {
	const char *name, *value;
};

/*
 * Append the text for key to b with its placeholders filled; every piece,
 * the catalog's words and the values alike, goes through put (which
 * escapes for HTML, or strips control characters for text).  0, or -1 when
 * b is full or memory ran out.
 */
int i18n_expand(struct buf *b, const char *lang, const char *key,
    const struct i18n_var *vars, size_t nvars,
    int (*put)(struct buf *, const char *, size_t));

/* The IANA zone of a country (ISO 3166 alpha-2 or alpha-3, any case), or
 * NULL when the table does not know it. */
const char *i18n_country_zone(const char *country);

/*
 * A moment (ms since the epoch) as the e-mails write it, in lang, in the
 * country's zone (NULL or unknown: UTC), with the zone named:
 * "Saturday, March 1, 2025, 10:00 CET".  0, or -1 if it does not fit.
 */
int i18n_datetime(const char *lang, int64_t ms, const char *country,
    char *out, size_t outsz);

#endif
