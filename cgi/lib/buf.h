/*
 * buf: a growable byte buffer with a hard maximum (curl's habit: every
 * growable buffer has a ceiling).  Always NUL-terminated so a body can be
 * handed to a parser that wants a C string; the length is authoritative.
 */
#ifndef SHIPTRACK_BUF_H
#define SHIPTRACK_BUF_H

#include <stddef.h>

struct buf {
	char *data;
	size_t len, cap, max;
};

void buf_init(struct buf *b, size_t max);
/* 0, or -1 if it would exceed max or memory ran out (b unchanged). */
int  buf_append(struct buf *b, const void *p, size_t n);
int  buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
