// SPDX-License-Identifier: MIT
/*
 * libpl/slabs_stub.c - TEMPORARY: plmc_slabs_reassign() and
 * plmc_slabs_automove() until the store's slab moves land (branch
 * store-cache adds the real ones to libpl; the merge deletes this file).
 * Both answer that the store cannot move pages yet.
 */
#include <errno.h>
#include "plmc.h"

int plmc_slabs_reassign(int src, int dst)
{
	(void)src;
	(void)dst;
	return -EOPNOTSUPP;
}

int plmc_slabs_automove(int mode)
{
	(void)mode;
	return -EOPNOTSUPP;
}
