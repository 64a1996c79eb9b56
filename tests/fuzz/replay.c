/*
 * replay: run a fuzz harness over files without libFuzzer, so the crash
 * inputs kept in tests/fuzz/regress/ and the seed corpora stay tests in
 * the ordinary build (gcc, `make check`, the sanitizer build in CI).
 *
 *   replay_webhook FILE_OR_DIR...
 *
 * Each argument is a file, or a directory whose regular files are run in
 * name order.  The harness aborts on any broken promise, and the
 * sanitizers (when built with them) report what they see, so reaching
 * the end is the pass: one "NAME ... ok" line per file, then a count.
 */
#include "config.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t size = 0, cap = 0, got;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	do {
		if (size == cap) {
			uint8_t *p = realloc(data, cap = cap ? 2 * cap : 4096);
			if (p == NULL) {
				fclose(f);
				free(data);
				return -1;
			}
			data = p;
		}
		got = fread(data + size, 1, cap - size, f);
		size += got;
	} while (got > 0);
	fclose(f);
	/* An exact-size copy, so a read past the input is caught as in libFuzzer. */
	{
		uint8_t *exact = malloc(size ? size : 1);
		if (exact == NULL) {
			free(data);
			return -1;
		}
		if (size > 0)
			memcpy(exact, data, size);
		free(data);
		/* Name it first: if the harness aborts, the log says on what. */
		printf("%s (%zu bytes) ... ", path, size);
		fflush(stdout);
		LLVMFuzzerTestOneInput(exact, size);
		free(exact);
	}
	printf("ok\n");
	fflush(stdout);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (d == NULL) {
		perror(dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char path[4096];
		struct stat sb;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));
			if (p == NULL) {
				rc = -1;
				break;
			}
			names = p;
		}
		if ((names[n] = strdup(path)) == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0 && run_file(names[i]) == 0)
			(*count)++;
		else
			rc = -1;
		free(names[i]);
	}
	free(names);
	return rc;
}

int
main(int argc, char *argv[])
{
	int count = 0, rc = 0;

	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		struct stat sb;

		if (stat(argv[i], &sb) != 0) {
			perror(argv[i]);
			rc = 1;
		} else if (S_ISDIR(sb.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				rc = 1;
		} else if (run_file(argv[i]) == 0)
			count++;
		else
			rc = 1;
	}
	printf("# %d inputs replayed\n", count);
	return rc;
}
