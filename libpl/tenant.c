// SPDX-License-Identifier: MIT
/*
 * libpl/tenant.c - the tenant calls (docs/tenants.md): one gate op,
 * PLMC_OP_TENANT, with the command in req.flags. The store decides who
 * may do what (owner, root, proxy) from what the client cannot forge;
 * nothing here is a check that matters.
 */
#include <string.h>
#include "pl.h"

_Static_assert(sizeof(struct plmc_tenant) == 96, "plmc_tenant layout");

int plmc_tenant_list(struct plmc_tenant *out, size_t n, size_t *count)
{
	struct plmc_req r = {
		.out = (__u64)(uintptr_t)out,
		.buflen = n,
		.flags = PLMC_TOP_LIST,
	};
	long rc;

	if (!out && n)
		return PLMC_E_INVAL;
	rc = pl_call(PLMC_OP_TENANT, &r);
	if (rc < 0)
		return (int)rc;
	if (count)
		*count = (size_t)rc;
	return PLMC_OK;
}

int plmc_tenant_set(uint32_t id, uint64_t quota, uint32_t flags)
{
	struct plmc_req r = {
		.vlen = quota,
		.cas = flags,
		.klen = id,
		.flags = PLMC_TOP_SET,
	};

	return (int)pl_call(PLMC_OP_TENANT, &r);
}

int plmc_as_tenant(uint32_t id)
{
	struct plmc_req r = {.klen = id, .flags = PLMC_TOP_AS};

	return (int)pl_call(PLMC_OP_TENANT, &r);
}

int plmc_flush_store(int32_t delay)
{
	struct plmc_req r = {.exptime = delay, .flags = PLMC_TOP_FLUSH};

	return (int)pl_call(PLMC_OP_TENANT, &r);
}
