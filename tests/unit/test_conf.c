/*
 * Unit tests for cgi/lib/conf.c (configuration file + environment) and
 * cgi/lib/log.c's log_escape.
 *
 * Every test starts and ends with all SHIPTRACK_* variables unset, so the
 * environment of whoever runs `make check` cannot leak in.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "num.h"

#ifndef LOCALSTATEDIR
#error LOCALSTATEDIR must come from the build, as for conf.c
#endif
#ifndef SYSCONFDIR
#error SYSCONFDIR must come from the build, as for conf.c
#endif

static const char *const env_vars[] = {
	"SHIPTRACK_CONFIG", "SHIPTRACK_DATABASE", "SHIPTRACK_WEBHOOK_SECRET",
	"SHIPTRACK_WEBHOOK_SECRET_V2",
	"SHIPTRACK_AFTERSHIP_WEBHOOK_SECRET", "SHIPTRACK_API_TOKEN",
	"SHIPTRACK_LOOKUP_SECRET", "SHIPTRACK_CARRIER_API_KEY",
	"SHIPTRACK_CARRIER_API_URL", "SHIPTRACK_MAX_BODY",
	"SHIPTRACK_DURABILITY", "SHIPTRACK_CORS_ORIGIN", "SHIPTRACK_NOTIFY_URL",
	"SHIPTRACK_NOTIFY_SECRET", "SHIPTRACK_SMTP_URL", "SHIPTRACK_SMTP_USER",
	"SHIPTRACK_SMTP_PASSWORD", "SHIPTRACK_MAIL_FROM",
	"SHIPTRACK_BUSY_TIMEOUT", "SHIPTRACK_READ_TIMEOUT",
	"SHIPTRACK_LOG_LEVEL", "SHIPTRACK_PUBLIC_URL", "SHIPTRACK_STALE_DAYS",
	"SHIPTRACK_DEFAULT_LOCALE",
};

static void
clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_vars) / sizeof(env_vars[0]); i++)
		unsetenv(env_vars[i]);
}

/* Per-test state: the temp file written, if any. */
struct fx {
	char path[64];
	bool have_file;
	struct conf c;
	bool loaded;
	char err[512];
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	clear_env();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	if (f->loaded)
		conf_free(&f->c);
	if (f->have_file)
		unlink(f->path);
	free(f);
	clear_env();
	return 0;
}

/* Write text to a fresh temp file; its path is f->path. */
static const char *
write_conf(struct fx *f, const char *text)
{
	size_t len = strlen(text);
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/shiptrack-conf-test-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	f->have_file = true;
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
	return f->path;
}

/* conf_load that must succeed. */
static struct conf *
load_ok(struct fx *f, const char *path)
{
	f->err[0] = '\0';
	if (conf_load(&f->c, path, f->err, sizeof(f->err)) != 0)
		fail_msg("conf_load failed: %s", f->err);
	f->loaded = true;
	return &f->c;
}

/* conf_load that must fail; returns the message. */
static const char *
load_fail(struct fx *f, const char *path)
{
	f->err[0] = '\0';
	if (conf_load(&f->c, path, f->err, sizeof(f->err)) == 0) {
		f->loaded = true;
		fail_msg("conf_load accepted a bad configuration");
	}
	assert_true(f->err[0] != '\0');
	return f->err;
}

static void
assert_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) == NULL)
		fail_msg("\"%s\" does not contain \"%s\"", hay, needle);
}

static void
assert_not_contains(const char *hay, const char *needle)
{
	if (strstr(hay, needle) != NULL)
		fail_msg("\"%s\" contains \"%s\"", hay, needle);
}

/* "PATH:LINE" as an error message must name it. */
static void
assert_names_line(const char *msg, const char *path, int line)
{
	char where[128];

	snprintf(where, sizeof(where), "%s:%d", path, line);
	assert_contains(msg, where);
}

/* ---- defaults ---------------------------------------------------------- */

static void
test_defaults(void **state)
{
	struct fx *f = *state;
	const char *path = write_conf(f, "");
	struct conf *c = load_ok(f, path);

	assert_string_equal(c->database, LOCALSTATEDIR "/lib/shiptrack/shiptrack.db");
	assert_null(c->webhook_secret);
	assert_null(c->webhook_secret_v2);	/* the receiver falls back to webhook_secret */
	assert_null(c->aftership_webhook_secret);
	assert_null(c->api_token);
	assert_null(c->lookup_secret);
	assert_null(c->carrier_api_key);
	assert_string_equal(c->carrier_api_url,
	    "https://api.aftership.com/tracking/2025-07");
	assert_int_equal(c->max_body, 1048576);
	assert_int_equal(c->durability, DURABILITY_FULL);
	assert_null(c->cors_origin);
	assert_null(c->notify_url);
	assert_null(c->notify_secret);
	assert_null(c->smtp_url);
	assert_null(c->mail_from);
	assert_non_null(c->source);
	assert_string_equal(c->source, path);
}

static void
test_default_path(void **state)
{
	(void)state;
	assert_string_equal(conf_default_path(), SYSCONFDIR "/shiptrack.conf");
}

static void
test_missing_default_file_is_fine(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	if (access(conf_default_path(), F_OK) == 0) {
		/* Someone installed one: we must not read or touch it here. */
		skip();
	}
	setenv("SHIPTRACK_API_TOKEN", "tok-from-env-0123456", 1);
	c = load_ok(f, NULL);
	assert_null(c->source);
	assert_string_equal(c->api_token, "tok-from-env-0123456");
	assert_int_equal(c->max_body, 1048576);
}

static void
test_missing_explicit_file_is_error(void **state)
{
	struct fx *f = *state;
	const char *msg;

	msg = load_fail(f, "/nonexistent/dir/shiptrack-test.conf");
	assert_contains(msg, "/nonexistent/dir/shiptrack-test.conf");
}

static void
test_missing_file_from_env_is_error(void **state)
{
	struct fx *f = *state;
	const char *msg;

	setenv("SHIPTRACK_CONFIG", "/nonexistent/dir/from-env.conf", 1);
	msg = load_fail(f, NULL);
	assert_contains(msg, "/nonexistent/dir/from-env.conf");
}

static void
test_config_from_env(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	setenv("SHIPTRACK_CONFIG", write_conf(f, "max_body = 4242\n"), 1);
	c = load_ok(f, NULL);
	assert_int_equal(c->max_body, 4242);
	assert_string_equal(c->source, f->path);
}

static void
test_explicit_path_beats_config_env(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	/* SHIPTRACK_CONFIG names a missing file: it must not even be opened. */
	setenv("SHIPTRACK_CONFIG", "/nonexistent/dir/from-env.conf", 1);
	c = load_ok(f, write_conf(f, "max_body = 77\n"));
	assert_int_equal(c->max_body, 77);
}

/* ---- file syntax ------------------------------------------------------- */

static void
test_file_syntax(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = load_ok(f, write_conf(f,
	    "# shiptrack test configuration\n"
	    "\n"
	    "database = /tmp/x.db\n"
	    "   # an indented comment\n"
	    "\t\n"
	    "max_body=2048\n"
	    "  api_token   =   tok#not-a-comment==  \n"
	    "durability = normal\n"
	    "carrier_api_url = https://api.aftership.com/v4\n"
	    "lookup_secret = a=b=c=0123456789abcdef\n"
	    "cors_origin = https://shop.example\n"
	    "busy_timeout = 0\n"
	    "# webhook_secret = commented-out\n"
	    "mail_from = Shop <shop@example.com>"	/* no final newline */
	    ));
	assert_string_equal(c->database, "/tmp/x.db");
	assert_int_equal(c->max_body, 2048);
	assert_string_equal(c->api_token, "tok#not-a-comment==");
	assert_int_equal(c->durability, DURABILITY_NORMAL);
	assert_string_equal(c->carrier_api_url, "https://api.aftership.com/v4");
	assert_string_equal(c->lookup_secret, "a=b=c=0123456789abcdef");
	assert_string_equal(c->cors_origin, "https://shop.example");
	assert_int_equal(c->busy_timeout, 0);
	assert_null(c->webhook_secret);
	assert_string_equal(c->mail_from, "Shop <shop@example.com>");
}

static void
test_crlf_file(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = load_ok(f, write_conf(f,
	    "# written on Windows\r\n"
	    "\r\n"
	    "api_token = tok_0123456789abcdef\r\n"
	    "max_body = 99\r\n"));
	assert_string_equal(c->api_token, "tok_0123456789abcdef");
	assert_int_equal(c->max_body, 99);
}

static void
test_secret_list_kept_as_given(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = load_ok(f, write_conf(f,
	    "webhook_secret = whsec_old_0123456789 whsec_new_0123456789\n"
	    "webhook_secret_v2 = whsec_v2_old_0123456 whsec_v2_new_0123456\n"
	    "aftership_webhook_secret = as_one_0123456789ab  as_two_0123456789ab\n"));
	assert_string_equal(c->webhook_secret, "whsec_old_0123456789 whsec_new_0123456789");
	assert_string_equal(c->webhook_secret_v2, "whsec_v2_old_0123456 whsec_v2_new_0123456");
	assert_string_equal(c->aftership_webhook_secret,
	    "as_one_0123456789ab  as_two_0123456789ab");
	conf_free(c);
	f->loaded = false;

	setenv("SHIPTRACK_WEBHOOK_SECRET", "env_a_0123456789ab env_b_0123456789ab"
	    " env_c_0123456789ab", 1);
	setenv("SHIPTRACK_WEBHOOK_SECRET_V2", "env_v2_0123456789ab", 1);
	c = load_ok(f, f->path);
	assert_string_equal(c->webhook_secret, "env_a_0123456789ab env_b_0123456789ab"
	    " env_c_0123456789ab");
	assert_string_equal(c->webhook_secret_v2, "env_v2_0123456789ab");
}

static void
test_empty_value_unsets_string(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = load_ok(f, write_conf(f, "api_token =\ncors_origin =   \n"));
	assert_null(c->api_token);
	assert_null(c->cors_origin);
}

/* ---- environment ------------------------------------------------------- */

static void
test_env_wins(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f,
	    "webhook_secret = from-file-0123456789\n"
	    "max_body = 100\n"
	    "durability = full\n"
	    "database = /tmp/file.db\n"
	    "api_token = file-token-0123456789\n");
	setenv("SHIPTRACK_WEBHOOK_SECRET", "from-env-0123456789", 1);
	setenv("SHIPTRACK_MAX_BODY", "200", 1);
	setenv("SHIPTRACK_DURABILITY", "normal", 1);
	setenv("SHIPTRACK_LOOKUP_SECRET", "env-only-0123456789", 1);
	c = load_ok(f, f->path);
	assert_string_equal(c->webhook_secret, "from-env-0123456789");
	assert_int_equal(c->max_body, 200);
	assert_int_equal(c->durability, DURABILITY_NORMAL);
	assert_string_equal(c->lookup_secret, "env-only-0123456789");
	/* Keys the environment does not name keep the file's value. */
	assert_string_equal(c->database, "/tmp/file.db");
	assert_string_equal(c->api_token, "file-token-0123456789");
}

static void
test_env_empty_unsets_file_value(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f, "api_token = file-token-0123456789\n");
	setenv("SHIPTRACK_API_TOKEN", "", 1);
	c = load_ok(f, f->path);
	assert_null(c->api_token);
}

static void
test_env_bad_values(void **state)
{
	struct fx *f = *state;
	const char *msg;

	write_conf(f, "");
	setenv("SHIPTRACK_MAX_BODY", "12abc", 1);
	msg = load_fail(f, f->path);
	assert_contains(msg, "SHIPTRACK_MAX_BODY");
	unsetenv("SHIPTRACK_MAX_BODY");

	setenv("SHIPTRACK_DURABILITY", "sometimes", 1);
	msg = load_fail(f, f->path);
	assert_contains(msg, "SHIPTRACK_DURABILITY");
	unsetenv("SHIPTRACK_DURABILITY");

	/* And it loads again once the bad variable is gone. */
	load_ok(f, f->path);
}

/* ---- environment values are trimmed like the file's --------------------- */

static void
test_env_values_trimmed(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	write_conf(f, "api_token = file-token-0123456789\n");
	setenv("SHIPTRACK_LOOKUP_SECRET", "  lookup-0123456789abc \t", 1);
	setenv("SHIPTRACK_MAX_BODY", " 200 ", 1);
	setenv("SHIPTRACK_DURABILITY", "\tnormal ", 1);
	c = load_ok(f, f->path);
	assert_string_equal(c->lookup_secret, "lookup-0123456789abc");
	assert_int_equal(c->max_body, 200);
	assert_int_equal(c->durability, DURABILITY_NORMAL);
	assert_string_equal(c->api_token, "file-token-0123456789");
}

static void
test_env_blank_is_unset(void **state)
{
	static const char *const blanks[] = { " ", "   ", "\t", " \t ", "\n", "\r\n" };
	struct fx *f = *state;

	write_conf(f, "api_token = file-token-0123456789\n");
	for (size_t i = 0; i < sizeof(blanks) / sizeof(blanks[0]); i++) {
		struct conf *c;

		/* A blank token is no token: "Bearer  " must not match it. */
		setenv("SHIPTRACK_API_TOKEN", blanks[i], 1);
		setenv("SHIPTRACK_WEBHOOK_SECRET", blanks[i], 1);
		c = load_ok(f, f->path);
		assert_null(c->api_token);
		assert_null(c->webhook_secret);
		conf_free(c);
		f->loaded = false;
	}
}

/* ---- secrets: at least 16 bytes, refused with the key, never the value --- */

static const char *const secret_keys[] = {
	"api_token", "lookup_secret", "webhook_secret", "webhook_secret_v2",
	"aftership_webhook_secret", "notify_secret",
};

/* "api_token" -> "SHIPTRACK_API_TOKEN" */
static void
env_name(const char *key, char *out, size_t outsz)
{
	size_t n = (size_t)snprintf(out, outsz, "SHIPTRACK_");

	for (; *key != '\0' && n + 1 < outsz; key++)
		out[n++] = (char)(*key >= 'a' && *key <= 'z' ? *key - 32 : *key);
	out[n] = '\0';
}

static void
test_short_secret_in_file_refused(void **state)
{
	struct fx *f = *state;
	char text[128];

	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
		const char *msg;

		if (f->have_file)
			unlink(f->path);
		/* 15 bytes: one short. */
		snprintf(text, sizeof(text), "# x\n%s = Sh0rtSecretXYZ1\n", secret_keys[i]);
		msg = load_fail(f, write_conf(f, text));
		assert_names_line(msg, f->path, 2);
		assert_contains(msg, secret_keys[i]);
		assert_contains(msg, "16 bytes");
		assert_not_contains(msg, "Sh0rt");
	}
}

static void
test_short_secret_in_env_refused(void **state)
{
	struct fx *f = *state;
	char var[64];

	write_conf(f, "");
	for (size_t i = 0; i < sizeof(secret_keys) / sizeof(secret_keys[0]); i++) {
		const char *msg;

		env_name(secret_keys[i], var, sizeof(var));
		/* Trimmed first: 15 bytes inside blanks are still 15. */
		setenv(var, "   Sh0rtSecretXYZ1   ", 1);
		msg = load_fail(f, f->path);
		assert_contains(msg, var);
		assert_contains(msg, secret_keys[i]);
		assert_not_contains(msg, "Sh0rt");
		unsetenv(var);
	}
	load_ok(f, f->path);
}

static void
test_secret_of_16_bytes_accepted(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = load_ok(f, write_conf(f,
	    "api_token = 0123456789abcdef\n"
	    "lookup_secret = 0123456789abcdef\n"
	    "webhook_secret = 0123456789abcdef fedcba9876543210\n"
	    "aftership_webhook_secret = 0123456789abcdef\n"
	    "notify_secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n"));
	assert_string_equal(c->api_token, "0123456789abcdef");
	assert_string_equal(c->webhook_secret, "0123456789abcdef fedcba9876543210");
}

static void
test_each_secret_of_a_list_checked(void **state)
{
	static const char *const bad[] = {
		"webhook_secret = whsec_long_enough_01 whsec_short\n",
		"webhook_secret = whsec_short whsec_long_enough_01\n",
		"webhook_secret =   whsec_long_enough_01   x   whsec_long_enough_02\n",
		"aftership_webhook_secret = as_long_enough_0123 as_short\n",
		"webhook_secret_v2 = whsec_long_enough_01 whsec_v2\n",
	};
	struct fx *f = *state;
	struct conf *c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *msg;

		if (f->have_file)
			unlink(f->path);
		msg = load_fail(f, write_conf(f, bad[i]));
		assert_names_line(msg, f->path, 1);
		assert_contains(msg, "16 bytes");
		assert_not_contains(msg, "whsec_");
		assert_not_contains(msg, "as_");
	}
	unlink(f->path);
	/* Blanks around and between the items are fine. */
	c = load_ok(f, write_conf(f,
	    "webhook_secret =   whsec_long_enough_01    whsec_long_enough_02  \n"));
	assert_string_equal(c->webhook_secret, "whsec_long_enough_01    whsec_long_enough_02");
}

static void
test_outgoing_credentials_not_length_checked(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	/* What others issue us is theirs to judge. */
	c = load_ok(f, write_conf(f, "carrier_api_key = k1\nsmtp_password = pw\n"));
	assert_string_equal(c->carrier_api_key, "k1");
	assert_string_equal(c->smtp_password, "pw");
}

static void
test_source_has_secret(void **state)
{
	static const struct { const char *text; bool secret; } cases[] = {
		{ "max_body = 10\ncors_origin = https://shop.example\n", false },
		{ "# api_token = commented-out-0123456789\n", false },
		{ "api_token =\n", false },
		{ "api_token = tok_0123456789abcdef\n", true },
		{ "webhook_secret = whsec_0123456789abcdef\n", true },
		{ "smtp_password = pw\n", true },
		{ "carrier_api_key = k1\n", true },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conf *c;

		if (f->have_file)
			unlink(f->path);
		c = load_ok(f, write_conf(f, cases[i].text));
		if (c->source_has_secret != cases[i].secret)
			fail_msg("source_has_secret %d for \"%s\"", c->source_has_secret,
			    cases[i].text);
		conf_free(c);
		f->loaded = false;
	}
	/* A secret from the environment is not in the file. */
	setenv("SHIPTRACK_API_TOKEN", "tok_0123456789abcdef", 1);
	unlink(f->path);
	assert_false(load_ok(f, write_conf(f, "max_body = 10\n"))->source_has_secret);
}

/* ---- cors_origin ------------------------------------------------------- */

static void
test_cors_origin_accepted(void **state)
{
	static const char *const good[] = {
		"*", "https://shop.example", "http://localhost", "http://localhost:8080",
		"https://shop.example:8443", "http://127.0.0.1:1", "https://[::1]:65535",
		"https://xn--bcher-kva.example", "https://a-b.c-d.example",
	};
	struct fx *f = *state;
	char text[600];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct conf *c;

		if (f->have_file)
			unlink(f->path);
		snprintf(text, sizeof(text), "cors_origin = %s\n", good[i]);
		c = load_ok(f, write_conf(f, text));
		assert_string_equal(c->cors_origin, good[i]);
		conf_free(c);
		f->loaded = false;
	}
	/* The longest accepted: CONF_ORIGIN_MAX bytes. */
	unlink(f->path);
	snprintf(text, sizeof(text), "cors_origin = https://%0*d.example\n",
	    CONF_ORIGIN_MAX - (int)strlen("https://.example"), 0);
	assert_int_equal(strlen(load_ok(f, write_conf(f, text))->cors_origin),
	    CONF_ORIGIN_MAX);
}

static void
test_cors_origin_refused(void **state)
{
	static const char *const bad[] = {
		"https://shop.example/", "https://shop.example/path", "shop.example",
		"//shop.example", "ftp://shop.example", "HTTPS://shop.example",
		"https://Shop.Example", "https://shop.example:443", "http://shop.example:80",
		"https://shop.example:0", "https://shop.example:65536",
		"https://shop.example:08443", "https://shop.example:", "https://",
		"https://shop example", "https://a.example https://b.example",
		"https://a.example,https://b.example", "null", "**", "https://[::1",
		"https://user@shop.example", "https://shop.example?x", "https://shop.example#x",
		"https://shop_example", "https://[]",
	};
	struct fx *f = *state;
	char text[1200];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *msg;

		if (f->have_file)
			unlink(f->path);
		snprintf(text, sizeof(text), "# x\ncors_origin = %s\n", bad[i]);
		f->err[0] = '\0';
		if (conf_load(&f->c, write_conf(f, text), f->err, sizeof(f->err)) == 0) {
			f->loaded = true;
			fail_msg("accepted cors_origin \"%s\"", bad[i]);
		}
		msg = f->err;
		assert_names_line(msg, f->path, 2);
		assert_contains(msg, "cors_origin");
	}
	/* Too long, from the file and from the environment (the reported bug). */
	unlink(f->path);
	snprintf(text, sizeof(text), "cors_origin = https://%0*d.example\n",
	    CONF_ORIGIN_MAX + 1 - (int)strlen("https://.example"), 0);
	assert_contains(load_fail(f, write_conf(f, text)), "cors_origin");
	unlink(f->path);
	write_conf(f, "");
	snprintf(text, sizeof(text), "https://%0900d.example", 0);
	setenv("SHIPTRACK_CORS_ORIGIN", text, 1);
	assert_contains(load_fail(f, f->path), "SHIPTRACK_CORS_ORIGIN");
}

/* ---- errors ------------------------------------------------------------ */

static void
test_unknown_key(void **state)
{
	struct fx *f = *state;
	const char *msg;

	write_conf(f,
	    "# comment\n"
	    "max_body = 10\n"
	    "webhok_secret = whsec_typo\n");
	msg = load_fail(f, f->path);
	assert_names_line(msg, f->path, 3);
	assert_contains(msg, "webhok_secret");
	assert_not_contains(msg, "whsec_typo");
}

static void
test_keys_are_case_sensitive(void **state)
{
	struct fx *f = *state;
	const char *msg;

	msg = load_fail(f, write_conf(f, "Max_Body = 10\n"));
	assert_names_line(msg, f->path, 1);
	assert_contains(msg, "Max_Body");
}

static void
test_missing_equals(void **state)
{
	struct fx *f = *state;
	const char *msg;

	write_conf(f, "\nmax_body 10\n");
	msg = load_fail(f, f->path);
	assert_names_line(msg, f->path, 2);
}

static void
test_bad_number(void **state)
{
	static const char *const bad[] = {
		"10k", "ten", "", " ", "+10", "-1", "0", "1.5", "0x10", "1e6",
		"67108865", "99999999999999999999999999",
	};
	struct fx *f = *state;
	char text[128];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *msg;

		if (f->have_file)
			unlink(f->path);
		snprintf(text, sizeof(text), "# x\n\nmax_body = %s\n", bad[i]);
		msg = load_fail(f, write_conf(f, text));
		assert_names_line(msg, f->path, 3);
		assert_contains(msg, "max_body");
	}
}

static void
test_number_range_bounds(void **state)
{
	struct fx *f = *state;
	struct conf *c;

	c = load_ok(f, write_conf(f, "max_body = 1\n"));
	assert_int_equal(c->max_body, 1);
	conf_free(c);
	f->loaded = false;
	unlink(f->path);
	c = load_ok(f, write_conf(f, "max_body = 67108864\n"));
	assert_int_equal(c->max_body, 67108864L);
}

static void
test_durability_values(void **state)
{
	static const char *const bad[] = { "FULL", "Normal", "off", "fast", "" };
	struct fx *f = *state;
	struct conf *c;
	char text[64];

	c = load_ok(f, write_conf(f, "durability = normal\n"));
	assert_int_equal(c->durability, DURABILITY_NORMAL);
	conf_free(c);
	f->loaded = false;
	unlink(f->path);
	c = load_ok(f, write_conf(f, "durability = full\n"));
	assert_int_equal(c->durability, DURABILITY_FULL);
	conf_free(c);
	f->loaded = false;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *msg;

		unlink(f->path);
		snprintf(text, sizeof(text), "durability = %s\n", bad[i]);
		msg = load_fail(f, write_conf(f, text));
		assert_names_line(msg, f->path, 1);
		assert_contains(msg, "durability");
	}
}

static void
test_empty_database_is_error(void **state)
{
	struct fx *f = *state;
	const char *msg;

	msg = load_fail(f, write_conf(f, "database =\n"));
	assert_contains(msg, "database");
}

static void
test_bad_log_level(void **state)
{
	struct fx *f = *state;
	const char *msg;

	msg = load_fail(f, write_conf(f, "log_level = loud\n"));
	assert_contains(msg, "log_level");
}

/* default_locale: English unless set, and only a language with a catalog. */
static void
test_default_locale(void **state)
{
	struct fx *f = *state;
	const struct conf *c;
	const char *msg;

	c = load_ok(f, write_conf(f, ""));
	assert_string_equal(c->default_locale, "en");
	conf_free(&f->c);
	f->loaded = false;
	unlink(f->path);
	c = load_ok(f, write_conf(f, "default_locale = de\n"));
	assert_string_equal(c->default_locale, "de");
	conf_free(&f->c);
	f->loaded = false;
	setenv("SHIPTRACK_DEFAULT_LOCALE", "pt-BR", 1);
	c = load_ok(f, f->path);
	assert_string_equal(c->default_locale, "pt-BR");
	conf_free(&f->c);
	f->loaded = false;
	setenv("SHIPTRACK_DEFAULT_LOCALE", "xx", 1);
	msg = load_fail(f, f->path);
	assert_contains(msg, "default_locale: must be one of");
	assert_contains(msg, "de");
	unsetenv("SHIPTRACK_DEFAULT_LOCALE");
	unlink(f->path);
	msg = load_fail(f, write_conf(f, "default_locale = klingon\n"));
	assert_contains(msg, "default_locale");
}

/* ---- secrets stay out of messages -------------------------------------- */

#define SECRET "whsec_TopSecretValue123"

static void
test_secret_not_in_value_errors(void **state)
{
	static const char *const lines[] = {
		"max_body = " SECRET "\n",
		"busy_timeout = " SECRET "\n",
		"durability = " SECRET "\n",
		"log_level = " SECRET "\n",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		const char *msg;

		if (f->have_file)
			unlink(f->path);
		msg = load_fail(f, write_conf(f, lines[i]));
		assert_not_contains(msg, "TopSecret");
	}
	unlink(f->path);
	write_conf(f, "");
	setenv("SHIPTRACK_MAX_BODY", SECRET, 1);
	assert_not_contains(load_fail(f, f->path), "TopSecret");
	unsetenv("SHIPTRACK_MAX_BODY");
	setenv("SHIPTRACK_DURABILITY", SECRET, 1);
	assert_not_contains(load_fail(f, f->path), "TopSecret");
}

static void
test_secret_not_in_missing_equals_error(void **state)
{
	struct fx *f = *state;
	const char *msg;

	/* The separator forgotten: the whole line is neither key nor value. */
	msg = load_fail(f, write_conf(f, "webhook_secret " SECRET "\n"));
	assert_names_line(msg, f->path, 1);
	assert_not_contains(msg, "TopSecret");
}

static void
test_secret_not_in_error_when_separator_mistyped(void **state)
{
	struct fx *f = *state;
	const char *msg;

	/*
	 * Base64 secrets end in '=' padding.  With the '=' separator
	 * forgotten (or written as ':'), everything before the secret's own
	 * padding is taken as the "key", and the unknown-key message must
	 * still not echo the secret.
	 */
	msg = load_fail(f, write_conf(f, "webhook_secret " SECRET "==\n"));
	assert_names_line(msg, f->path, 1);
	assert_not_contains(msg, "TopSecret");

	unlink(f->path);
	msg = load_fail(f, write_conf(f, "lookup_secret: " SECRET "=\n"));
	assert_names_line(msg, f->path, 1);
	assert_not_contains(msg, "TopSecret");

	/* A secret alone on a line looks like a key with digits. */
	unlink(f->path);
	msg = load_fail(f, write_conf(f, "TopSecret42abc=\n"));
	assert_names_line(msg, f->path, 1);
	assert_not_contains(msg, "TopSecret");
}

/* ---- num_parse_long --------------------------------------------------- */

static void
test_parse_long_accepts(void **state)
{
	long v = -99;

	(void)state;
	assert_int_equal(num_parse_long("5", 0, 10, &v), 0);
	assert_int_equal(v, 5);
	assert_int_equal(num_parse_long("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(num_parse_long("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(num_parse_long("007", 0, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(num_parse_long("-5", -10, 10, &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(num_parse_long("9223372036854775807", 0, LONG_MAX, &v), 0);
	assert_true(v == LONG_MAX);
}

static void
test_parse_long_rejects(void **state)
{
	static const char *const bad[] = {
		" 5", "5 ", "+5", "5x", "x5", "", "-", "0x5", "5.0", "1e3",
		"\t5", "5\n", "99999999999999999999", "9223372036854775808",
		"-5", "-0",
	};
	long v = 1234;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (num_parse_long(bad[i], 0, LONG_MAX, &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(v, 1234);	/* untouched on failure */
	}
	assert_int_equal(num_parse_long(NULL, 0, 10, &v), -1);
	/* Range, both ends. */
	assert_int_equal(num_parse_long("11", 0, 10, &v), -1);
	assert_int_equal(num_parse_long("0", 1, 10, &v), -1);
	assert_int_equal(num_parse_long("-11", -10, 10, &v), -1);
	assert_int_equal(num_parse_long("-99999999999999999999", LONG_MIN, 0, &v), -1);
	assert_int_equal(num_parse_long("+5", -10, 10, &v), -1);
	assert_int_equal(num_parse_long(" -5", -10, 10, &v), -1);
	assert_int_equal(v, 1234);
}

/* ---- log_escape -------------------------------------------------------- */

static void
test_log_escape_controls(void **state)
{
	char out[128];

	(void)state;
	log_escape(out, sizeof(out), "plain text");
	assert_string_equal(out, "plain text");
	log_escape(out, sizeof(out), "a\nb");
	assert_string_equal(out, "a\\nb");
	log_escape(out, sizeof(out), "a\rb");
	assert_string_equal(out, "a\\rb");
	log_escape(out, sizeof(out), "a\tb");
	assert_string_equal(out, "a\\tb");
	log_escape(out, sizeof(out), "a\\b");
	assert_string_equal(out, "a\\\\b");
	log_escape(out, sizeof(out), "a\x7f" "b");
	assert_string_equal(out, "a\\x7fb");
	log_escape(out, sizeof(out), "a\x01" "b");
	assert_string_equal(out, "a\\x01b");
	log_escape(out, sizeof(out), "\x1b[31mred");
	assert_string_equal(out, "\\x1b[31mred");
	log_escape(out, sizeof(out), "\x1f");
	assert_string_equal(out, "\\x1f");
	/* A forged second log line stays on one line. */
	log_escape(out, sizeof(out), "evt_1\n2025-01-01T00:00:00Z x[1] error: forged");
	assert_null(strchr(out, '\n'));
	assert_string_equal(out, "evt_1\\n2025-01-01T00:00:00Z x[1] error: forged");
	/* UTF-8 and other bytes >= 0x80 pass through unchanged. */
	log_escape(out, sizeof(out), "caf\xc3\xa9");
	assert_string_equal(out, "caf\xc3\xa9");
	log_escape(out, sizeof(out), "");
	assert_string_equal(out, "");
}

static void
test_log_escape_truncation(void **state)
{
	char out[16];

	(void)state;
	memset(out, 'Z', sizeof(out));
	log_escape(out, 5, "abcdefgh");
	assert_string_equal(out, "abcd");
	assert_int_equal(out[5], 'Z');		/* nothing written past dstsz */

	/* An escape that does not fit whole is left out, never split. */
	log_escape(out, 4, "ab\ncd");
	assert_string_equal(out, "ab");
	log_escape(out, 5, "ab\ncd");
	assert_string_equal(out, "ab\\n");
	log_escape(out, 5, "a\x01" "b");
	assert_string_equal(out, "a");
	log_escape(out, 6, "a\x01" "b");
	assert_string_equal(out, "a\\x01");
	log_escape(out, 7, "a\x01" "b");
	assert_string_equal(out, "a\\x01b");
	log_escape(out, 3, "\\\\");
	assert_string_equal(out, "\\\\");

	log_escape(out, 1, "abc");
	assert_string_equal(out, "");
	/* dstsz 0: nothing written at all. */
	out[0] = 'Q';
	log_escape(out, 0, "abc");
	assert_int_equal(out[0], 'Q');
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_default_path),
		T(test_missing_default_file_is_fine),
		T(test_missing_explicit_file_is_error),
		T(test_missing_file_from_env_is_error),
		T(test_config_from_env),
		T(test_explicit_path_beats_config_env),
		T(test_file_syntax),
		T(test_crlf_file),
		T(test_secret_list_kept_as_given),
		T(test_empty_value_unsets_string),
		T(test_env_wins),
		T(test_env_empty_unsets_file_value),
		T(test_env_bad_values),
		T(test_env_values_trimmed),
		T(test_env_blank_is_unset),
		T(test_short_secret_in_file_refused),
		T(test_short_secret_in_env_refused),
		T(test_secret_of_16_bytes_accepted),
		T(test_each_secret_of_a_list_checked),
		T(test_outgoing_credentials_not_length_checked),
		T(test_source_has_secret),
		T(test_cors_origin_accepted),
		T(test_cors_origin_refused),
		T(test_unknown_key),
		T(test_keys_are_case_sensitive),
		T(test_missing_equals),
		T(test_bad_number),
		T(test_number_range_bounds),
		T(test_durability_values),
		T(test_empty_database_is_error),
		T(test_bad_log_level),
		T(test_default_locale),
		T(test_secret_not_in_value_errors),
		T(test_secret_not_in_missing_equals_error),
		T(test_secret_not_in_error_when_separator_mistyped),
		T(test_parse_long_accepts),
		T(test_parse_long_rejects),
		T(test_log_escape_controls),
		T(test_log_escape_truncation),
	};

	clear_env();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
