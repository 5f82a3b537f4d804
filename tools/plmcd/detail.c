// SPDX-License-Identifier: MIT
/*
 * plmcd/detail.c - memcached's per-prefix statistics ("stats detail
 * on|off|dump", -D <char>): gets, hits, sets and deletes counted per key
 * prefix (the key up to the delimiter; keys without one are not
 * counted). plmcd keeps them, not the store: they are the server's view
 * of its clients' commands, reset with "stats reset".
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "plmc.h"
#include "plmcd.h"

#define DETAIL_BUCKETS 256

struct prefix {
	struct prefix *next;
	uint64_t get, hit, set, del;
	size_t len;
	char name[];
};

static struct prefix *table[DETAIL_BUCKETS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
int detail_on;			/* read unlocked: a switch, not a count */
char detail_delim = ':';

static unsigned bucket(const char *s, size_t n)
{
	uint32_t h = 2166136261u;

	while (n--)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h % DETAIL_BUCKETS;
}

/* The prefix's entry, created on first use; NULL without a delimiter
 * (or out of memory: the figure is then not kept). Caller holds lock. */
static struct prefix *find(const char *key, size_t klen)
{
	const char *d = memchr(key, detail_delim, klen);
	struct prefix **head, *p;
	size_t n;

	if (!d)
		return NULL;
	n = (size_t)(d - key);
	head = &table[bucket(key, n)];
	for (p = *head; p; p = p->next)
		if (p->len == n && !memcmp(p->name, key, n))
			return p;
	p = calloc(1, sizeof(*p) + n + 1);
	if (!p)
		return NULL;
	memcpy(p->name, key, n);
	p->len = n;
	p->next = *head;
	*head = p;
	return p;
}

void detail_record(const char *key, size_t klen, enum detail_op op, int hit)
{
	struct prefix *p;

	if (!__atomic_load_n(&detail_on, __ATOMIC_RELAXED))
		return;
	pthread_mutex_lock(&lock);
	p = find(key, klen);
	if (p) {
		if (op == DETAIL_GET) {
			p->get++;
			p->hit += hit != 0;
		} else if (op == DETAIL_SET) {
			p->set++;
		} else {
			p->del++;
		}
	}
	pthread_mutex_unlock(&lock);
}

void detail_reset(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < DETAIL_BUCKETS; i++) {
		while (table[i]) {
			struct prefix *p = table[i];

			table[i] = p->next;
			free(p);
		}
	}
	pthread_mutex_unlock(&lock);
}

void detail_dump(struct buf *b)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < DETAIL_BUCKETS; i++)
		for (struct prefix *p = table[i]; p; p = p->next)
			buf_printf(b, "PREFIX %s get %llu hit %llu set %llu "
				   "del %llu\r\n", p->name,
				   (unsigned long long)p->get,
				   (unsigned long long)p->hit,
				   (unsigned long long)p->set,
				   (unsigned long long)p->del);
	pthread_mutex_unlock(&lock);
	buf_add(b, "END\r\n", 5);
}

/* "stats detail <what>" */
void detail_command(struct buf *b, const char *what)
{
	if (what && !strcmp(what, "on")) {
		__atomic_store_n(&detail_on, 1, __ATOMIC_RELAXED);
		buf_add(b, "OK\r\n", 4);
	} else if (what && !strcmp(what, "off")) {
		__atomic_store_n(&detail_on, 0, __ATOMIC_RELAXED);
		buf_add(b, "OK\r\n", 4);
	} else if (what && !strcmp(what, "dump")) {
		detail_dump(b);
	} else {
		buf_printf(b, "CLIENT_ERROR usage: stats detail on|off|dump\r\n");
	}
}
