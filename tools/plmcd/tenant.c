// SPDX-License-Identifier: MIT
/*
 * tools/plmcd/tenant.c - which tenant a connection's commands run for
 * (docs/tenants.md).
 *
 * plmcd is a proxy of a store with tenants: the store lets an entry
 * marked PLMC_TENANT_PROXY (or the owner, or root) choose, per thread
 * slot, the tenant its calls run for. A worker thread serves many
 * connections, so before a connection's commands run the thread's
 * choice is set to that connection's tenant: one gate call (about as
 * much as a nop) per batch of commands, made every time rather than
 * cached, so it holds whichever slot the thread has now. The store, not
 * plmcd, keeps the tenants apart; plmcd only decides which connection
 * is which tenant.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "plmcd.h"
#include <plmc.h>

int tenant_enter(struct conn *c)
{
	uint32_t t;

	if (c->has_tenant < 0)
		return -1; /* a user the map does not name */
	if (c->has_tenant)
		t = c->tenant;
	else if (g_opt.tenant_set)
		t = g_opt.tenant;
	else if (g_opt.tenant_map)
		t = PLMC_TENANT_SELF; /* not logged in yet: runs nothing */
	else
		return 0; /* no tenants: plmcd's own key space */
	return plmc_as_tenant(t) == PLMC_OK ? 0 : -1;
}

/*
 * The map is -o tenant_map's string, USER:ID pairs joined by ':' (a
 * user name holds no ':'). Walked per lookup: once per connection.
 */
static int map_next(const char **p, const char **user, size_t *ulen,
		    uint32_t *id)
{
	const char *s = *p, *colon = strchr(s, ':');
	char *end;
	unsigned long v;

	if (!*s || !colon || colon == s)
		return -1;
	errno = 0;
	v = strtoul(colon + 1, &end, 10);
	if (errno || end == colon + 1 || v >= 0xffffffffUL ||
	    (*end && (*end != ':' || !end[1])))
		return -1;
	*user = s;
	*ulen = (size_t)(colon - s);
	*id = (uint32_t)v;
	*p = *end ? end + 1 : end;
	return 0;
}

int tenant_map_ok(const char *map)
{
	const char *p = map, *u;
	size_t n;
	uint32_t id;

	while (*p)
		if (map_next(&p, &u, &n, &id))
			return -1;
	return p == map ? -1 : 0;
}

int tenant_map_user(struct conn *c, const char *user)
{
	const char *p = g_opt.tenant_map, *u;
	size_t n;
	uint32_t id;

	while (p && *p && !map_next(&p, &u, &n, &id)) {
		if (strlen(user) == n && !memcmp(user, u, n)) {
			c->tenant = id;
			c->has_tenant = 1;
			return 0;
		}
	}
	return -1;
}
