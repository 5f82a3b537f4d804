/* SPDX-License-Identifier: MIT */
/*
 * hist.h - log-linear latency histogram in nanoseconds.
 *
 * 32 sub-buckets per power of two: any value is recorded within ~3% of
 * itself, from 1 ns to 2^40 ns, in 41 * 32 counters (10 KiB). Add is a
 * shift, a mask and an increment: cheap enough to time 50 ns operations.
 */
#ifndef PLBENCH_HIST_H
#define PLBENCH_HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 5
#define HIST_SUB (1u << HIST_SUB_BITS)
#define HIST_EXP 41

struct hist {
	uint64_t n, sum;
	uint64_t c[HIST_EXP][HIST_SUB];
};

static inline void hist_add(struct hist *h, uint64_t v)
{
	unsigned e = 0, s = (unsigned)v;

	if (v >= HIST_SUB) {
		/* e >= 1: v >> (e - 1) lies in [HIST_SUB, 2 * HIST_SUB) */
		e = 63 - __builtin_clzll(v) - HIST_SUB_BITS + 1;
		if (e >= HIST_EXP) {
			e = HIST_EXP - 1;
			v = ((uint64_t)HIST_SUB << e) - 1;
		}
		s = (unsigned)(v >> (e - 1)) & (HIST_SUB - 1);
	}
	h->c[e][s]++;
	h->n++;
	h->sum += v;
}

/* Smallest value of bucket (e, s): the inverse of hist_add. */
static inline uint64_t hist_low(unsigned e, unsigned s)
{
	if (!e)
		return s;
	return ((uint64_t)(HIST_SUB | s)) << (e - 1);
}

static inline void hist_merge(struct hist *d, const struct hist *s)
{
	d->n += s->n;
	d->sum += s->sum;
	for (unsigned e = 0; e < HIST_EXP; e++)
		for (unsigned i = 0; i < HIST_SUB; i++)
			d->c[e][i] += s->c[e][i];
}

static inline uint64_t hist_pct(const struct hist *h, double pct)
{
	uint64_t want = (uint64_t)((double)h->n * pct / 100.0), seen = 0;

	for (unsigned e = 0; e < HIST_EXP; e++)
		for (unsigned s = 0; s < HIST_SUB; s++) {
			seen += h->c[e][s];
			if (seen > want)
				return hist_low(e, s);
		}
	return 0;
}

static inline double hist_mean(const struct hist *h)
{
	return h->n ? (double)h->sum / (double)h->n : 0.0;
}

#endif
