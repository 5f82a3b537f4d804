// SPDX-License-Identifier: MIT
/*
 * plmcd/stats.c - memcached's "stats" family over the store's figures:
 * stats, stats settings, stats slabs, stats items, stats sizes, stats
 * reset. Names and order follow memcached 1.6.18; a figure the store has
 * no meaning for is left out rather than made up (docs/plmcd.md).
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <plmc.h>
#include "plmcd.h"

#define STAT_U(b, name, v) \
	buf_printf(b, "STAT %s %llu\r\n", name, (unsigned long long)(v))
#define STAT_S(b, name, v) buf_printf(b, "STAT %s %s\r\n", name, v)

static int store_stats(struct plmc_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return plmc_stats(st);
}

void stats_store_rc(int rc)
{
	if (rc == PLMC_E_TOOBIG)
		__atomic_add_fetch(&g_server.store_too_large, 1,
				   __ATOMIC_RELAXED);
	else if (rc == PLMC_E_NOMEM)
		__atomic_add_fetch(&g_server.store_no_memory, 1,
				   __ATOMIC_RELAXED);
}

static void rusage(struct buf *b)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	buf_printf(b, "STAT rusage_user %ld.%06ld\r\n", (long)ru.ru_utime.tv_sec,
		   (long)ru.ru_utime.tv_usec);
	buf_printf(b, "STAT rusage_system %ld.%06ld\r\n",
		   (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec);
}

/* The connections' buffers, as memcached's read_buf_* and
 * response_obj_* figures (main.c fills them; zero in the fuzz target). */
static void stats_buffers(struct buf *b)
{
	struct server_bufs sb = {0};

	if (g_server.bufs)
		g_server.bufs(&sb);
	STAT_U(b, "response_obj_oom", g_server.response_obj_oom);
	STAT_U(b, "response_obj_count", sb.out_count);
	STAT_U(b, "response_obj_bytes", sb.out_bytes);
	STAT_U(b, "read_buf_count", sb.in_count);
	STAT_U(b, "read_buf_bytes", sb.in_bytes);
	STAT_U(b, "read_buf_bytes_free", sb.in_free);
	STAT_U(b, "read_buf_oom", g_server.read_buf_oom);
	/* descriptors kept beyond -c: listeners, epolls, the store */
	STAT_U(b, "reserved_fds", 64 + g_server.threads);
}

static void stats_commands(struct buf *b, const struct plmc_stats *st)
{
	STAT_U(b, "cmd_get", st->cmd_get);
	STAT_U(b, "cmd_set", st->cmd_set);
	STAT_U(b, "cmd_flush", st->cmd_flush);
	STAT_U(b, "cmd_touch", st->cmd_touch);
	STAT_U(b, "cmd_meta", g_server.cmd_meta);
	STAT_U(b, "get_hits", st->get_hits);
	STAT_U(b, "get_misses", st->get_misses);
	STAT_U(b, "get_expired", st->get_expired);
	STAT_U(b, "get_flushed", st->get_flushed);
	STAT_U(b, "delete_misses", st->delete_misses);
	STAT_U(b, "delete_hits", st->delete_hits);
	STAT_U(b, "incr_misses", st->incr_misses);
	STAT_U(b, "incr_hits", st->incr_hits);
	STAT_U(b, "decr_misses", st->decr_misses);
	STAT_U(b, "decr_hits", st->decr_hits);
	STAT_U(b, "cas_misses", st->cas_misses);
	STAT_U(b, "cas_hits", st->cas_hits);
	STAT_U(b, "cas_badval", st->cas_badval);
	STAT_U(b, "touch_hits", st->touch_hits);
	STAT_U(b, "touch_misses", st->touch_misses);
	STAT_U(b, "store_too_large", g_server.store_too_large);
	STAT_U(b, "store_no_memory", g_server.store_no_memory);
	auth_stats(b);
	if (g_opt.idle_timeout) /* memcached shows it only then */
		STAT_U(b, "idle_kicks", g_server.idle_kicks);
}

/* The store's page mover, shown as memcached shows its own: only with
 * slab_reassign. */
static void stats_mover(struct buf *b, const struct plmc_stats *st)
{
	if (!g_opt.slab_reassign)
		return;
	STAT_U(b, "slab_reassign_rescues", st->slab_reassign_rescues);
	STAT_U(b, "slab_reassign_chunk_rescues",
	       st->slab_reassign_chunk_rescues);
	STAT_U(b, "slab_reassign_evictions_nomem",
	       st->slab_reassign_evictions_nomem);
	STAT_U(b, "slab_reassign_inline_reclaim",
	       st->slab_reassign_inline_reclaim);
	STAT_U(b, "slab_reassign_busy_items", st->slab_reassign_busy_items);
	STAT_U(b, "slab_reassign_busy_deletes", st->slab_reassign_busy_deletes);
	STAT_U(b, "slab_reassign_running", st->slab_reassign_running);
	STAT_U(b, "slabs_moved", st->slabs_moved);
}

/* Items reclaimed by crawls, over every class. */
static uint64_t crawler_reclaimed(void)
{
	struct plmc_class_stats cs[64];
	size_t n = 0;
	uint64_t sum = 0;

	if (plmc_class_stats(cs, 64, &n) == 0)
		for (size_t i = 0; i < n && i < 64; i++)
			sum += cs[i].crawler_reclaimed;
	return sum;
}

/*
 * memcached 1.6.18's "stats", field for field and in its order (its
 * t/stats.t counts them). A figure of an internal plmcd does not have
 * is the count of an event that cannot happen here: 0 (lrutail_reflocked,
 * the *_oom counters, napi ids). The store's own figures are in
 * "stats plmc".
 */
static void stats_general(struct buf *b, const struct plmc_stats *st)
{
	buf_printf(b, "STAT pid %d\r\n", (int)getpid());
	STAT_U(b, "uptime", st->time - g_server.start_time);
	STAT_U(b, "time", st->time);
	STAT_S(b, "version", PLMCD_VERSION);
	STAT_S(b, "libevent", "none");
	STAT_U(b, "pointer_size", 64);
	rusage(b);
	STAT_U(b, "max_connections", g_server.maxconns);
	STAT_U(b, "curr_connections", g_server.curr_connections);
	STAT_U(b, "total_connections", g_server.total_connections);
	STAT_U(b, "rejected_connections", g_server.rejected_connections);
	STAT_U(b, "connection_structures", g_server.curr_connections);
	stats_buffers(b);
	stats_commands(b, st);
	STAT_U(b, "bytes_read", g_server.bytes_read);
	STAT_U(b, "bytes_written", g_server.bytes_written);
	STAT_U(b, "limit_maxbytes", st->limit_maxbytes);
	/* plmcd never stops accepting: past -c it answers and closes */
	STAT_U(b, "accepting_conns", 1);
	STAT_U(b, "listen_disabled_num", g_server.listen_disabled_num);
	STAT_U(b, "time_in_listen_disabled_us", 0);
	STAT_U(b, "threads", g_server.threads);
	STAT_U(b, "conn_yields", g_server.conn_yields);
	STAT_U(b, "hash_power_level", __builtin_ctzll(st->hash_buckets | 1ULL << 63));
	STAT_U(b, "hash_bytes", st->hash_buckets * 8);
	STAT_U(b, "hash_is_expanding", 0);
	stats_mover(b, st);
	if (crawler_on) {
		STAT_U(b, "lru_crawler_running", crawler_running());
		STAT_U(b, "lru_crawler_starts", g_server.crawler_starts);
	}
	if (g_opt.lru_maintainer)
		STAT_U(b, "lru_maintainer_juggles", st->lru_maintainer_juggles);
	STAT_U(b, "malloc_fails", 0);
	STAT_U(b, "log_worker_dropped", g_server.log_dropped);
	STAT_U(b, "log_worker_written", g_server.log_written);
	STAT_U(b, "log_watcher_skipped", g_server.log_skipped);
	STAT_U(b, "log_watcher_sent", g_server.log_sent);
	STAT_U(b, "log_watchers", g_server.log_watchers);
	tls_stats(b); /* where memcached puts them, with -Z only */
	STAT_U(b, "unexpected_napi_ids", 0);
	STAT_U(b, "round_robin_fallback", 0);
	STAT_U(b, "bytes", st->bytes);
	STAT_U(b, "curr_items", st->curr_items);
	STAT_U(b, "total_items", st->total_items);
	STAT_U(b, "slab_global_page_pool", st->slab_global_page_pool);
	STAT_U(b, "expired_unfetched", st->expired_unfetched);
	STAT_U(b, "evicted_unfetched", st->evicted_unfetched);
	if (g_opt.lru_maintainer)
		STAT_U(b, "evicted_active", st->evicted_active);
	STAT_U(b, "evictions", st->evictions);
	STAT_U(b, "reclaimed", st->reclaimed);
	STAT_U(b, "crawler_reclaimed", crawler_reclaimed());
	STAT_U(b, "crawler_items_checked", g_server.crawler_checked);
	STAT_U(b, "lrutail_reflocked", 0); /* no LRU tail, no item refcounts */
	/* The store's segmented LRU (docs/store.md), shown as memcached
	 * shows it: with its maintainer on. Readers queue no bumps, so
	 * none is dropped. */
	if (!g_opt.lru_maintainer)
		return;
	STAT_U(b, "moves_to_cold", st->moves_to_cold);
	STAT_U(b, "moves_to_warm", st->moves_to_warm);
	STAT_U(b, "moves_within_lru", st->moves_within_lru);
	STAT_U(b, "direct_reclaims", st->direct_reclaims);
	STAT_U(b, "lru_bumps_dropped", 0);
}

/* "stats plmc": the store's own figures (backend, deaths, attachments). */
static void stats_plmc(struct buf *b, const struct plmc_stats *st)
{
	STAT_S(b, "plmc_backend", plmc_backend());
	STAT_U(b, "plmc_generation", st->generation);
	STAT_U(b, "plmc_deaths", st->deaths);
	STAT_U(b, "plmc_attached", st->nattach);
}

/* memcached's "stats settings" order; plmc's own last. Settings of
 * memcached internals plmcd does not have are left out (docs/plmcd.md
 * names them and why). */
static void stats_settings(struct buf *b, const struct plmc_stats *st)
{
	STAT_U(b, "maxbytes", st->limit_maxbytes);
	STAT_U(b, "maxconns", g_server.maxconns);
	STAT_U(b, "tcpport", g_server.tcpport);
	STAT_U(b, "udpport", 0);
	STAT_S(b, "inter", g_opt.addr && g_server.tcpport ? g_opt.addr : "NULL");
	STAT_U(b, "verbosity", g_opt.verbose);
	STAT_S(b, "evictions", "on");
	STAT_S(b, "domain_socket", g_opt.unix_path ? g_opt.unix_path : "NULL");
	buf_printf(b, "STAT umask %o\r\n", g_opt.unix_mask);
	STAT_S(b, "shutdown_command", g_opt.enable_shutdown ? "yes" : "no");
	buf_printf(b, "STAT growth_factor %.2f\r\n",
		   (double)st->growth_factor / 1000);
	STAT_U(b, "chunk_size", st->chunk_size);
	STAT_U(b, "num_threads", g_server.threads);
	buf_printf(b, "STAT stat_key_prefix %c\r\n", detail_delim);
	STAT_S(b, "detail_enabled", detail_on ? "yes" : "no");
	STAT_U(b, "reqs_per_event", g_opt.reqs_per_event);
	STAT_S(b, "cas_enabled", g_opt.no_cas ? "no" : "yes");
	STAT_U(b, "tcp_backlog", g_opt.backlog);
	STAT_S(b, "binding_protocol", g_opt.proto == PROTO_BINARY ? "binary" :
			g_opt.proto == PROTO_ASCII ? "ascii" : "auto-negotiate");
	STAT_S(b, "auth_enabled_sasl", g_opt.sasl ? "yes" : "no");
	STAT_S(b, "auth_enabled_ascii", g_opt.auth_file ? g_opt.auth_file : "no");
	STAT_U(b, "item_size_max", st->item_size_max);
	STAT_S(b, "maxconns_fast", "yes");
	STAT_U(b, "hashpower_init",
	       __builtin_ctzll(st->hash_buckets | 1ULL << 63));
	STAT_S(b, "slab_reassign", g_opt.slab_reassign ? "yes" : "no");
	STAT_U(b, "slab_automove", st->slab_automove); /* the store's */
	STAT_U(b, "slab_chunk_max", st->slab_page_size);
	STAT_S(b, "lru_crawler", crawler_on ? "yes" : "no");
	STAT_S(b, "flush_enabled", g_opt.no_flush ? "no" : "yes");
	STAT_S(b, "dump_enabled", g_opt.no_dump ? "no" : "yes");
	STAT_S(b, "hash_algorithm", "siphash13"); /* keyed per store */
	/* The store's segmented LRU (always on: every client's); its
	 * maintainer step runs in plmcd's page mover thread unless -o
	 * no_lru_maintainer. TEMP is on once a temporary_ttl is set. */
	STAT_S(b, "lru_maintainer_thread",
	       g_opt.lru_maintainer && g_opt.slab_reassign ? "yes" : "no");
	STAT_S(b, "lru_segmented", "yes");
	STAT_U(b, "hot_lru_pct", st->hot_lru_pct);
	STAT_U(b, "warm_lru_pct", st->warm_lru_pct);
	STAT_S(b, "temp_lru", st->temporary_ttl ? "yes" : "no");
	STAT_U(b, "temporary_ttl", st->temporary_ttl ? st->temporary_ttl : 61);
	STAT_U(b, "idle_timeout", g_opt.idle_timeout);
	STAT_U(b, "watcher_logbuf_size", watch_bufsize); /* bytes, as there */
	/* bytes, as memcached shows it */
	STAT_U(b, "read_buf_mem_limit",
	       (uint64_t)g_opt.read_buf_mem_limit << 20);
	STAT_S(b, "track_sizes", "no"); /* "stats sizes" is disabled */
	STAT_S(b, "inline_ascii_response", "no"); /* dead in 1.6 too */
	tls_settings(b);
	/* -N and -e are refused: never set (memcached prints its NULL
	 * pointers as glibc does) */
	STAT_S(b, "num_napi_ids", "(null)");
	STAT_S(b, "memory_file", "(null)");
	STAT_S(b, "plmc_eviction", "clock");
}

static int store_classes(struct plmc_class_stats *cs, size_t *n)
{
	return plmc_class_stats(cs, 64, n) < 0 ? -1 : 0;
}

#define CLS_U(b, id, name, v)                                                  \
	buf_printf(b, "STAT %u:%s %llu\r\n", id, name, (unsigned long long)(v))
#define ITEM_U(b, id, name, v)                                                 \
	buf_printf(b, "STAT items:%u:%s %llu\r\n", id, name,                   \
		   (unsigned long long)(v))

/* memcached's rows: the command counters are the store's (every
 * client's, local ones too), per class, from plmc_class_stats. */
static void stats_slabs(struct buf *b, const struct plmc_stats *st)
{
	struct plmc_class_stats cs[64];
	size_t n = 0, i;

	if (store_classes(cs, &n) == 0)
		for (i = 0; i < n && i < 64; i++) {
			const struct plmc_class_stats *c = &cs[i];

			CLS_U(b, c->id, "chunk_size", c->chunk_size);
			CLS_U(b, c->id, "chunks_per_page", c->chunks_per_page);
			CLS_U(b, c->id, "total_pages", c->total_pages);
			CLS_U(b, c->id, "total_chunks", c->total_chunks);
			CLS_U(b, c->id, "used_chunks", c->used_chunks);
			CLS_U(b, c->id, "free_chunks", c->free_chunks);
			CLS_U(b, c->id, "free_chunks_end", c->free_chunks_end);
			CLS_U(b, c->id, "get_hits", c->get_hits);
			CLS_U(b, c->id, "cmd_set", c->cmd_set);
			CLS_U(b, c->id, "delete_hits", c->delete_hits);
			CLS_U(b, c->id, "incr_hits", c->incr_hits);
			CLS_U(b, c->id, "decr_hits", c->decr_hits);
			CLS_U(b, c->id, "cas_hits", c->cas_hits);
			CLS_U(b, c->id, "cas_badval", c->cas_badval);
			CLS_U(b, c->id, "touch_hits", c->touch_hits);
		}
	STAT_U(b, "active_slabs", st->active_slabs);
	STAT_U(b, "total_malloced", st->total_malloced);
}

/* A class's segment rows, where memcached puts them (with its
 * maintainer on; number_temp with a temporary_ttl only). */
static void stats_items_lru(struct buf *b, const struct plmc_class_stats *c,
			    const struct plmc_stats *st)
{
	ITEM_U(b, c->id, "number_hot", c->number_hot);
	ITEM_U(b, c->id, "number_warm", c->number_warm);
	ITEM_U(b, c->id, "number_cold", c->number_cold);
	if (st->temporary_ttl)
		ITEM_U(b, c->id, "number_temp", c->number_temp);
	ITEM_U(b, c->id, "age_hot", c->age_hot);
	ITEM_U(b, c->id, "age_warm", c->age_warm);
}

static void stats_items(struct buf *b, const struct plmc_stats *st)
{
	struct plmc_class_stats cs[64];
	size_t n = 0, i;

	if (store_classes(cs, &n))
		return;
	for (i = 0; i < n && i < 64; i++) {
		const struct plmc_class_stats *c = &cs[i];

		if (!c->number && !c->evicted && !c->reclaimed)
			continue; /* memcached lists classes that hold items */
		ITEM_U(b, c->id, "number", c->number);
		if (g_opt.lru_maintainer)
			stats_items_lru(b, c, st);
		ITEM_U(b, c->id, "age", c->age);
		ITEM_U(b, c->id, "mem_requested", c->mem_requested);
		ITEM_U(b, c->id, "evicted", c->evicted);
		ITEM_U(b, c->id, "evicted_nonzero", c->evicted_nonzero);
		ITEM_U(b, c->id, "evicted_time", c->evicted_time);
		ITEM_U(b, c->id, "outofmemory", c->outofmemory);
		ITEM_U(b, c->id, "reclaimed", c->reclaimed);
		ITEM_U(b, c->id, "expired_unfetched", c->expired_unfetched);
		ITEM_U(b, c->id, "evicted_unfetched", c->evicted_unfetched);
		if (g_opt.lru_maintainer)
			ITEM_U(b, c->id, "evicted_active", c->evicted_active);
		ITEM_U(b, c->id, "crawler_reclaimed", c->crawler_reclaimed);
		if (!g_opt.lru_maintainer)
			continue;
		ITEM_U(b, c->id, "moves_to_cold", c->moves_to_cold);
		ITEM_U(b, c->id, "moves_to_warm", c->moves_to_warm);
		ITEM_U(b, c->id, "moves_within_lru", c->moves_within_lru);
		ITEM_U(b, c->id, "direct_reclaims", c->direct_reclaims);
	}
}

#define TEN_U(b, id, name, v)                                                  \
	buf_printf(b, "STAT tenant:%u:%s %lld\r\n", id, name, (long long)(v))

/* "stats tenants" (plmc's own, docs/tenants.md): the tenants the store
 * shows this connection, one group of lines each; none without tenants. */
static void stats_tenants(struct buf *b)
{
	static __thread struct plmc_tenant t[PLMC_TENANT_MAX];
	size_t n = 0, i;

	if (plmc_tenant_list(t, PLMC_TENANT_MAX, &n))
		return;
	for (i = 0; i < n && i < PLMC_TENANT_MAX; i++) {
		const struct plmc_tenant *e = &t[i];

		TEN_U(b, e->id, "proxy", !!(e->flags & PLMC_TENANT_PROXY));
		TEN_U(b, e->id, "quota", e->quota);
		TEN_U(b, e->id, "mem", e->mem);
		TEN_U(b, e->id, "bytes", e->bytes);
		TEN_U(b, e->id, "curr_items", e->items);
		TEN_U(b, e->id, "cmd_get", e->cmd_get);
		TEN_U(b, e->id, "get_hits", e->get_hits);
		TEN_U(b, e->id, "cmd_set", e->cmd_set);
		TEN_U(b, e->id, "evictions", e->evictions);
		TEN_U(b, e->id, "outofmemory", e->outofmemory);
		TEN_U(b, e->id, "cmd_flush", e->cmd_flush);
	}
}

/*
 * "stats [what]": fills @b with the reply. Return: 0, or -1 for a
 * subcommand memcached does not know (the caller answers ERROR).
 */
int plmcd_stats(struct buf *b, const char *what)
{
	struct plmc_stats st;

	if (what && !strcmp(what, "reset")) {
		int rc = plmc_stats_reset();

		/* memcached's answer to a command it refuses (its flush_all
		 * under -F): a tenant's connection may not reset the store's
		 * counters. */
		if (rc == PLMC_E_PERM) {
			buf_add(b, "CLIENT_ERROR stats reset not allowed\r\n",
				38);
			return 0;
		}
		if (rc < 0)
			return buf_add(b, "SERVER_ERROR stats reset\r\n", 26), 0;
		detail_reset();
		buf_add(b, "RESET\r\n", 7);
		return 0;
	}
	if (what && !strcmp(what, "conns")) {
		if (g_server.conns)
			g_server.conns(b);
		buf_add(b, "END\r\n", 5);
		return 0;
	}
	if (what && !strcmp(what, "tenants")) {
		stats_tenants(b);
		buf_add(b, "END\r\n", 5);
		return 0;
	}
	if (what && strcmp(what, "settings") && strcmp(what, "slabs") &&
	    strcmp(what, "items") && strcmp(what, "sizes") &&
	    strcmp(what, "plmc"))
		return -1;
	if (store_stats(&st) < 0) {
		buf_add(b, "SERVER_ERROR stats\r\n", 20);
		return 0;
	}
	if (!what)
		stats_general(b, &st);
	else if (!strcmp(what, "settings"))
		stats_settings(b, &st);
	else if (!strcmp(what, "slabs"))
		stats_slabs(b, &st);
	else if (!strcmp(what, "items"))
		stats_items(b, &st);
	else if (!strcmp(what, "plmc"))
		stats_plmc(b, &st);
	else
		STAT_S(b, "sizes_status", "disabled");
	buf_add(b, "END\r\n", 5);
	return 0;
}
