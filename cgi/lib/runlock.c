/*
 * runlock: see runlock.h.  The record is rewritten in place (truncate,
 * write, no fsync): it is advice for observers, and a crash ends the run
 * that wrote it anyway.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "db.h"
#include "runlock.h"

/* Locks every node sees, when the database has them (runlock_db.c). */
static bool
in_database(const char *database)
{
	return (db_uri_caps(database) & DB_HAS_SESSION_LOCKS) != 0;
}

int
runlock_path(char *buf, size_t bufsz, const char *database, const char *name)
{
	int n = snprintf(buf, bufsz, "%s.%s.lock", database, name);

	return (n < 0 || (size_t)n >= bufsz) ? -1 : 0;
}

static void
write_record(int fd, int64_t now_ms)
{
	char rec[64];
	int n = snprintf(rec, sizeof(rec), "%ld %" PRId64 "\n", (long)getpid(),
	    now_ms);

	if (ftruncate(fd, 0) == 0 && n > 0)
		(void)!pwrite(fd, rec, (size_t)n, 0);
}

enum runlock_rc
runlock_take(struct runlock *l, const char *database, const char *name,
    int64_t now_ms, char *err, size_t errsz)
{
	char path[4096];
	int fd, e;

	l->fd = -1;
	l->db = NULL;
	if (in_database(database))
		return runlock_db_take(l, database, name, err, errsz);
	if (runlock_path(path, sizeof(path), database, name) < 0)
		return snprintf(err, errsz, "database path too long"), RUNLOCK_ERROR;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return snprintf(err, errsz, "%s: %s", path, strerror(errno)),
		    RUNLOCK_ERROR;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return RUNLOCK_BUSY;
		return snprintf(err, errsz, "%s: %s", path, strerror(e)),
		    RUNLOCK_ERROR;
	}
	write_record(fd, now_ms);
	l->fd = fd;
	return RUNLOCK_TAKEN;
}

void
runlock_release(struct runlock *l)
{
	if (l->db != NULL)
		runlock_db_release(l);
	if (l->fd >= 0)
		close(l->fd);	/* closing the last descriptor drops the flock */
	l->fd = -1;
}

static void
read_record(int fd, struct runlock_state *s)
{
	char rec[64];
	ssize_t n = pread(fd, rec, sizeof(rec) - 1, 0);
	long pid;
	int64_t since;

	if (n <= 0)
		return;
	rec[n] = '\0';
	if (sscanf(rec, "%ld %" SCNd64, &pid, &since) == 2 && pid > 0 && since > 0) {
		s->pid = pid;
		s->since_ms = since;
	}
}

int
runlock_probe(const char *database, const char *name, struct runlock_state *s,
    char *err, size_t errsz)
{
	char path[4096];
	int fd;

	memset(s, 0, sizeof(*s));
	if (in_database(database))
		return runlock_db_probe(database, name, s, err, errsz);
	if (runlock_path(path, sizeof(path), database, name) < 0)
		return snprintf(err, errsz, "database path too long"), -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 0;
		return snprintf(err, errsz, "%s: %s", path, strerror(errno)), -1;
	}
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		flock(fd, LOCK_UN);	/* nobody holds it */
	else if (errno == EWOULDBLOCK) {
		s->held = true;
		read_record(fd, s);
	} else {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
