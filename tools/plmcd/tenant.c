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
#include "plmcd.h"
#include <plmc.h>

int tenant_enter(struct conn *c)
{
	uint32_t t;

	if (c->has_tenant)
		t = c->tenant;
	else if (g_opt.tenant_set)
		t = g_opt.tenant;
	else
		return 0; /* no tenants: plmcd's own key space */
	return plmc_as_tenant(t) == PLMC_OK ? 0 : -1;
}
