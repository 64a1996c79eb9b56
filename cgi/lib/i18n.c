/*
 * i18n: see i18n.h.  Three parts: finding a catalog for a language tag,
 * looking texts up and filling their placeholders, and writing a date in
 * a country's time zone.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "i18n.h"

/* From gen-i18n.sh: the languages and their catalogs, NULL-terminated. */
extern const char *const i18n_catalog_lang[];
extern const char *const i18n_catalog_json[];
extern const int i18n_catalog_count;

#define LANGS_MAX 32
#define TAG_MAX 8		/* a primary language subtag is 2 to 8 letters */
#define ACCEPT_ITEMS_MAX 32

static json_object *catalogs[LANGS_MAX];
static char language_list[LANGS_MAX * 4];
static pthread_once_t loaded = PTHREAD_ONCE_INIT;
static const char *default_lang = I18N_FALLBACK;

/* ---- languages ------------------------------------------------------------ */

static int
catalog_count(void)
{
	return i18n_catalog_count < LANGS_MAX ? i18n_catalog_count : LANGS_MAX;
}

/* The catalog index for a tag's primary subtag ("de-AT" -> de), or -1. */
static int
index_of(const char *tag, size_t len)
{
	char primary[TAG_MAX + 1];
	size_t n = 0;

	if (tag == NULL)
		return -1;
	while (n < len && tag[n] != '\0' && tag[n] != '-' && tag[n] != '_') {
		if (n == TAG_MAX || !isalpha((unsigned char)tag[n]))
			return -1;
		primary[n] = (char)tolower((unsigned char)tag[n]);
		n++;
	}
	if (n < 2)
		return -1;
	primary[n] = '\0';
	for (int i = 0; i < catalog_count(); i++)
		if (strcmp(i18n_catalog_lang[i], primary) == 0)
			return i;
	return -1;
}

const char *
i18n_lang(const char *tag)
{
	int i = index_of(tag, (size_t)-1);

	return i < 0 ? NULL : i18n_catalog_lang[i];
}

bool
i18n_supported(const char *tag)
{
	return i18n_lang(tag) != NULL;
}

void
i18n_set_default(const char *tag)
{
	const char *lang = i18n_lang(tag);

	default_lang = lang != NULL ? lang : I18N_FALLBACK;
}

static void
load(void)
{
	size_t used = 0;

	for (int i = 0; i < catalog_count(); i++) {
		/* A catalog that does not parse is skipped: its texts fall back. */
		catalogs[i] = json_tokener_parse(i18n_catalog_json[i]);
		used += (size_t)snprintf(language_list + used, sizeof(language_list) - used,
		    "%s%s", i ? ", " : "", i18n_catalog_lang[i]);
		if (used >= sizeof(language_list))
			used = sizeof(language_list) - 1;
	}
}

const char *
i18n_languages(void)
{
	pthread_once(&loaded, load);
	return language_list;
}

/* ---- Accept-Language ------------------------------------------------------- */

/* One "tag;q=0.8" item: its catalog index (or -1) and its weight. */
static int
accept_item(const char *s, size_t len, double *q)
{
	const char *semi = memchr(s, ';', len);
	size_t taglen = semi != NULL ? (size_t)(semi - s) : len;

	*q = 1.0;
	while (taglen > 0 && isspace((unsigned char)*s))
		s++, taglen--, len--;
	while (taglen > 0 && isspace((unsigned char)s[taglen - 1]))
		taglen--;
	if (semi != NULL) {
		const char *p = semi + 1, *end = s + len;

		while (p < end && isspace((unsigned char)*p))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			char num[8] = { 0 };

			memcpy(num, p + 2, (size_t)(end - p - 2) < 7 ? (size_t)(end - p - 2) : 7);
			*q = strtod(num, NULL);
		}
	}
	return index_of(s, taglen);
}

const char *
i18n_pick(const char *accept, const char *fallback)
{
	double best_q = 0, q;
	int best = -1, items = 0;

	while (accept != NULL && *accept != '\0' && items++ < ACCEPT_ITEMS_MAX) {
		const char *comma = strchr(accept, ',');
		size_t len = comma != NULL ? (size_t)(comma - accept) : strlen(accept);
		int i = accept_item(accept, len, &q);

		if (i >= 0 && q > best_q) {
			best = i;
			best_q = q;
		}
		accept = comma != NULL ? comma + 1 : NULL;
	}
	return best >= 0 ? i18n_catalog_lang[best] : fallback;
}

/* ---- texts -------------------------------------------------------------------- */

static const char *
lookup(int i, const char *key)
{
	json_object *v;

	pthread_once(&loaded, load);
	if (i < 0 || catalogs[i] == NULL ||
	    !json_object_object_get_ex(catalogs[i], key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

const char *
i18n_text(const char *lang, const char *key)
{
	const char *s;

	if ((s = lookup(index_of(lang, (size_t)-1), key)) != NULL ||
	    (s = lookup(index_of(default_lang, (size_t)-1), key)) != NULL ||
	    (s = lookup(index_of(I18N_FALLBACK, (size_t)-1), key)) != NULL)
		return s;
	return key;
}

static const char *
var_value(const struct i18n_var *vars, size_t nvars, const char *name, size_t len)
{
	for (size_t i = 0; i < nvars; i++)
		if (strlen(vars[i].name) == len && strncmp(vars[i].name, name, len) == 0)
			return vars[i].value != NULL ? vars[i].value : "";
	return NULL;
}

int
i18n_expand(struct buf *b, const char *lang, const char *key,
    const struct i18n_var *vars, size_t nvars,
    int (*put)(struct buf *, const char *, size_t))
{
	const char *s = i18n_text(lang, key), *open, *close, *v;

	while ((open = strchr(s, '{')) != NULL && (close = strchr(open, '}')) != NULL) {
		if (put(b, s, (size_t)(open - s)) < 0)
			return -1;
		v = var_value(vars, nvars, open + 1, (size_t)(close - open - 1));
		/* An unknown placeholder stays as written: a visible mistake, not a lost word. */
		if (v != NULL ? put(b, v, strlen(v)) < 0 :
		    put(b, open, (size_t)(close - open + 1)) < 0)
			return -1;
		s = close + 1;
	}
	return put(b, s, strlen(s));
}

/* ---- dates ---------------------------------------------------------------------- */

/*
 * Country -> IANA zone.  Countries with several zones take the one most of
 * their people live in (US: New York, CA: Toronto, BR: Sao Paulo, AU:
 * Sydney, MX: Mexico City, RU: Moscow...).
 */
static const struct {
	char a2[3], a3[4];
	const char *zone;
} zones[] = {
	{ "AE", "ARE", "Asia/Dubai" }, { "AR", "ARG", "America/Argentina/Buenos_Aires" },
	{ "AT", "AUT", "Europe/Vienna" }, { "AU", "AUS", "Australia/Sydney" },
	{ "BE", "BEL", "Europe/Brussels" }, { "BG", "BGR", "Europe/Sofia" },
	{ "BR", "BRA", "America/Sao_Paulo" }, { "CA", "CAN", "America/Toronto" },
	{ "CH", "CHE", "Europe/Zurich" }, { "CL", "CHL", "America/Santiago" },
	{ "CN", "CHN", "Asia/Shanghai" }, { "CO", "COL", "America/Bogota" },
	{ "CZ", "CZE", "Europe/Prague" }, { "DE", "DEU", "Europe/Berlin" },
	{ "DK", "DNK", "Europe/Copenhagen" }, { "EE", "EST", "Europe/Tallinn" },
	{ "ES", "ESP", "Europe/Madrid" }, { "FI", "FIN", "Europe/Helsinki" },
	{ "FR", "FRA", "Europe/Paris" }, { "GB", "GBR", "Europe/London" },
	{ "GR", "GRC", "Europe/Athens" }, { "HK", "HKG", "Asia/Hong_Kong" },
	{ "HR", "HRV", "Europe/Zagreb" }, { "HU", "HUN", "Europe/Budapest" },
	{ "ID", "IDN", "Asia/Jakarta" }, { "IE", "IRL", "Europe/Dublin" },
	{ "IL", "ISR", "Asia/Jerusalem" }, { "IN", "IND", "Asia/Kolkata" },
	{ "IS", "ISL", "Atlantic/Reykjavik" }, { "IT", "ITA", "Europe/Rome" },
	{ "JP", "JPN", "Asia/Tokyo" }, { "KR", "KOR", "Asia/Seoul" },
	{ "LT", "LTU", "Europe/Vilnius" }, { "LU", "LUX", "Europe/Luxembourg" },
	{ "LV", "LVA", "Europe/Riga" }, { "MX", "MEX", "America/Mexico_City" },
	{ "MY", "MYS", "Asia/Kuala_Lumpur" }, { "NL", "NLD", "Europe/Amsterdam" },
	{ "NO", "NOR", "Europe/Oslo" }, { "NZ", "NZL", "Pacific/Auckland" },
	{ "PE", "PER", "America/Lima" }, { "PH", "PHL", "Asia/Manila" },
	{ "PL", "POL", "Europe/Warsaw" }, { "PT", "PRT", "Europe/Lisbon" },
	{ "RO", "ROU", "Europe/Bucharest" }, { "RU", "RUS", "Europe/Moscow" },
	{ "SA", "SAU", "Asia/Riyadh" }, { "SE", "SWE", "Europe/Stockholm" },
	{ "SG", "SGP", "Asia/Singapore" }, { "SI", "SVN", "Europe/Ljubljana" },
	{ "SK", "SVK", "Europe/Bratislava" }, { "TH", "THA", "Asia/Bangkok" },
	{ "TR", "TUR", "Europe/Istanbul" }, { "TW", "TWN", "Asia/Taipei" },
	{ "UA", "UKR", "Europe/Kyiv" }, { "US", "USA", "America/New_York" },
	{ "UY", "URY", "America/Montevideo" }, { "VN", "VNM", "Asia/Ho_Chi_Minh" },
	{ "ZA", "ZAF", "Africa/Johannesburg" },
};

const char *
i18n_country_zone(const char *country)
{
	size_t n = country != NULL ? strlen(country) : 0;

	if (n != 2 && n != 3)
		return NULL;
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++)
		if (strcasecmp(n == 2 ? zones[i].a2 : zones[i].a3, country) == 0)
			return zones[i].zone;
	return NULL;
}

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * t as local time in zone, and the zone's abbreviation then.  libc knows
 * zones only through TZ, so TZ is set and restored around one
 * localtime_r(), under a lock.  -1 if the zone's file is not installed
 * (glibc would silently use UTC under the zone's name).
 */
static int
zone_time(const char *zone, time_t t, struct tm *tm, char *abbr, size_t abbrsz)
{
	const char *dir = getenv("TZDIR"), *old;
	char path[256], *saved = NULL;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", dir != NULL ? dir : "/usr/share/zoneinfo", zone);
	if (access(path, R_OK) != 0)
		return -1;
	pthread_mutex_lock(&tz_lock);
	if ((old = getenv("TZ")) != NULL && (saved = strdup(old)) == NULL)
		goto out;
	if (setenv("TZ", zone, 1) == 0) {
		tzset();
		if (localtime_r(&t, tm) != NULL) {
			snprintf(abbr, abbrsz, "%s", tm->tm_zone != NULL ? tm->tm_zone : "");
			rc = 0;
		}
	}
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
out:
	pthread_mutex_unlock(&tz_lock);
	free(saved);
	return rc;
}

/* The zone's name for a reader: "CET", or "UTC-03:00" where the zone's
 * abbreviation is only a number. */
static void
zone_label(const char *abbr, long gmtoff, char *out, size_t outsz)
{
	long m = labs(gmtoff) / 60;

	if (isalpha((unsigned char)abbr[0]))
		snprintf(out, outsz, "%s", abbr);
	else if (gmtoff == 0)
		snprintf(out, outsz, "UTC");
	else
		snprintf(out, outsz, "UTC%c%02ld:%02ld", gmtoff < 0 ? '-' : '+', m / 60, m % 60);
}

static int
put_raw(struct buf *b, const char *s, size_t n)
{
	return buf_append(b, s, n);
}

int
i18n_datetime(const char *lang, int64_t ms, const char *country, char *out,
    size_t outsz)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
	const char *zone = i18n_country_zone(country);
	char abbr[32], label[40], wd[24], mo[24], day[12], year[12], clock[24];
	struct tm tm;
	struct buf b;
	int rc;

	if (zone == NULL || zone_time(zone, t, &tm, abbr, sizeof(abbr)) < 0) {
		if (gmtime_r(&t, &tm) == NULL)
			return -1;
		snprintf(abbr, sizeof(abbr), "UTC");
	}
	zone_label(abbr, tm.tm_gmtoff, label, sizeof(label));
	snprintf(wd, sizeof(wd), "email.weekday.%d", tm.tm_wday);
	snprintf(mo, sizeof(mo), "email.month.%d", tm.tm_mon + 1);
	snprintf(day, sizeof(day), "%d", tm.tm_mday);
	snprintf(year, sizeof(year), "%d", tm.tm_year + 1900);
	snprintf(clock, sizeof(clock), "%02d:%02d", tm.tm_hour, tm.tm_min);
	const struct i18n_var vars[] = {
		{ "weekday", i18n_text(lang, wd) }, { "month", i18n_text(lang, mo) },
		{ "day", day }, { "year", year }, { "time", clock }, { "zone", label },
	};
	buf_init(&b, outsz - 1);
	rc = i18n_expand(&b, lang, "email.date", vars, sizeof(vars) / sizeof(vars[0]), put_raw);
	if (rc == 0)
		snprintf(out, outsz, "%s", b.data != NULL ? b.data : "");
	buf_free(&b);
	return rc;
}
