/*
 * fuzz_config: the configuration file parser (conf.c), through its only
 * entry point: the input is written to a temporary file named as an
 * explicit --config, and conf_load() reads it.
 *
 * The environment is cleared of SHIPTRACK_* first, so only the file
 * counts.  Besides the sanitizers (LeakSanitizer included: a failed load
 * must free what it set), the harness checks what DESIGN.md and conf.h
 * promise: a failed load says why, in one printable line that names
 * the file; a successful load keeps every number inside its
 * bounds and every string non-empty, without line breaks.
 *
 * tests/fuzz/replay.c runs this file without libFuzzer (make check).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MUST(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_config: " __VA_ARGS__);		\
		fprintf(stderr, "\n");					\
		abort();						\
	}								\
} while (0)

extern char **environ;

static char path[256];

static void
cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	(void)argc;
	(void)argv;
	log_init("fuzz-config", LL_ERROR);
	/* Only the file counts: drop every SHIPTRACK_* variable. */
	for (size_t i = 0; environ[i] != NULL;) {
		if (strncmp(environ[i], "SHIPTRACK_", 10) == 0) {
			char name[128];
			size_t n = strcspn(environ[i], "=");
			snprintf(name, sizeof(name), "%.*s", (int)n, environ[i]);
			unsetenv(name);
		} else
			i++;
	}
	snprintf(path, sizeof(path), "%s/fuzz-config-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	MUST((fd = mkstemp(path)) >= 0, "mkstemp %s", path);
	close(fd);
	atexit(cleanup);
	return 0;
}

static void
check_long(long v, long lo, long hi, const char *name)
{
	MUST(v >= lo && v <= hi, "%s = %ld outside [%ld, %ld]", name, v, lo, hi);
}

static void
check_str(const char *s, const char *name)
{
	if (s == NULL)
		return;
	MUST(*s != '\0', "%s set to the empty string (empty means unset)", name);
	/*
	 * Not "\r": conf.c keeps a carriage return (or any other control
	 * character) inside a value; see tests/fuzz/README.md (findings).
	 */
	MUST(strchr(s, '\n') == NULL, "%s holds a line break", name);
}

static void
check_loaded(const struct conf *c)
{
	check_str(c->database, "database");
	MUST(c->database != NULL, "loaded without a database");
	check_str(c->webhook_secret, "webhook_secret");
	check_str(c->webhook_secret_v2, "webhook_secret_v2");
	check_str(c->aftership_webhook_secret, "aftership_webhook_secret");
	check_str(c->api_token, "api_token");
	check_str(c->lookup_secret, "lookup_secret");
	check_str(c->carrier_api_url, "carrier_api_url");
	check_str(c->cors_origin, "cors_origin");
	check_str(c->notify_url, "notify_url");
	check_str(c->smtp_url, "smtp_url");
	check_str(c->log_level, "log_level");
	check_long(c->max_body, 1, 64L * 1024 * 1024, "max_body");
	check_long(c->read_timeout, 1, 3600, "read_timeout");
	check_long(c->busy_timeout, 0, 600000, "busy_timeout");
	check_long(c->threads, 1, 256, "threads");
	check_long(c->stale_days, 1, 365, "stale_days");
	MUST(c->durability == DURABILITY_FULL || c->durability == DURABILITY_NORMAL,
	    "durability %d", (int)c->durability);
	MUST(c->source != NULL && strcmp(c->source, path) == 0,
	    "source is not the file read");
}

/*
 * A failed load: one printable line (a value taken from the file could
 * otherwise forge log lines), naming where the problem is.  Only the key
 * is ever echoed, and only when it looks like one; that the message
 * never holds a value is left to tests/unit/test_conf.c, as telling a
 * value from the fixed text around it needs knowing the input's intent.
 */
static void
check_error(const char *err)
{
	MUST(err[0] != '\0', "failed without a message");
	for (const char *e = err; *e != '\0'; e++)
		MUST((unsigned char)*e >= 0x20 && *e != 0x7f,
		    "control character in the message: %s", err);
	MUST(strncmp(err, path, strlen(path)) == 0 || strchr(err, ':') != NULL,
	    "message without a place: %s", err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf c;
	char err[512];
	FILE *f;

	if (size > 64 * 1024)
		return 0;
	MUST((f = fopen(path, "wb")) != NULL, "fopen %s", path);
	MUST(size == 0 || fwrite(data, 1, size, f) == size, "write %s", path);
	MUST(fclose(f) == 0, "close %s", path);
	err[0] = '\0';
	if (conf_load(&c, path, err, sizeof(err)) == 0) {
		check_loaded(&c);
		conf_free(&c);
		MUST(c.source == NULL && c.database == NULL, "conf_free left pointers");
	} else
		check_error(err);
	return 0;
}
