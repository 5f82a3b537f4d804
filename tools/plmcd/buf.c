// SPDX-License-Identifier: MIT
/*
 * plmcd/buf.c - growable byte buffers for connection input and output.
 * Consumed bytes are dropped lazily: the live part moves to the front only
 * when room is needed, so a reply burst costs one memmove at most.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plmcd.h"

int buf_reserve(struct buf *b, size_t more)
{
	size_t live = b->len - b->off, cap;
	char *p;

	if (b->cap - b->len >= more)
		return 0;
	if (b->off) {
		memmove(b->p, b->p + b->off, live);
		b->off = 0;
		b->len = live;
		if (b->cap - b->len >= more)
			return 0;
	}
	cap = b->cap ? b->cap : 4096;
	while (cap - live < more)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p)
		return -ENOMEM;
	if (b->acct)
		*b->acct += cap - b->cap;
	b->p = p;
	b->cap = cap;
	return 0;
}

int buf_add(struct buf *b, const void *p, size_t n)
{
	if (!n)
		return 0; /* b->p may still be NULL */
	if (buf_reserve(b, n))
		return -ENOMEM;
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (buf_reserve(b, 512))
		return -ENOMEM;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		return -EINVAL; /* our formats are all short */
	b->len += n;
	return 0;
}

void buf_consume(struct buf *b, size_t n)
{
	b->off += n;
	if (b->off == b->len)
		b->off = b->len = 0;
}

void buf_free(struct buf *b)
{
	size_t *acct = b->acct;

	if (acct && b->cap)
		*acct -= b->cap;
	free(b->p);
	memset(b, 0, sizeof(*b));
	b->acct = acct;
}

/* Every connection's queued output as last accounted: each worker adds
 * its own connections' changes; relaxed, as a bound needs no order. */
static uint64_t out_queued;

int out_full(const struct conn *c)
{
	size_t q = c->out.len - c->out.off;
	uint64_t all;

	if (q > PLMCD_OUT_HIGH)
		return 1;
	if (!q)
		return 0;
	all = __atomic_load_n(&out_queued, __ATOMIC_RELAXED);
	if (q > c->out_counted)
		all += q - c->out_counted; /* what it queued since */
	return all > PLMCD_OUT_TOTAL;
}

void out_account(struct conn *c, int closing)
{
	size_t q = closing ? 0 : c->out.len - c->out.off;

	if (q == c->out_counted)
		return;
	/* unsigned wrap-around adds a negative change */
	__atomic_add_fetch(&out_queued, (uint64_t)q - c->out_counted,
			   __ATOMIC_RELAXED);
	c->out_counted = q;
}
