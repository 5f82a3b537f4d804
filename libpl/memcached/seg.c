// SPDX-License-Identifier: MIT
/*
 * libpl/memcached/seg.c - a plmc segment of this host as a server.
 *
 * A process attaches to at most one store (it lives at a fixed address),
 * so every handle naming a segment must name the same one. The first
 * handle to use it attaches (plmc_attach, PLMC_USE_AUTO: the module, or
 * the none backend where there is no /dev/plmc); the last one freed
 * detaches, unless the program had attached it itself.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <plmc.h>
#include "mc.h"

static pthread_mutex_t seg_lock = PTHREAD_MUTEX_INITIALIZER;
static char seg_name[256];
static unsigned seg_users; /* handles holding it */
static int seg_ours;	   /* we attached it, so we detach it */

memcached_return_t mc_seg_open(memcached_st *m, memcached_instance_st *s)
{
	memcached_return_t rc = MEMCACHED_SUCCESS;

	if (m->seg_ref)
		return MEMCACHED_SUCCESS;
	pthread_mutex_lock(&seg_lock);
	if (seg_users && strcmp(seg_name, s->hostname)) {
		rc = mc_error(m, MEMCACHED_CONNECTION_FAILURE,
			      "plmc segment %s: this process is attached to "
			      "%s (one segment per process)",
			      s->hostname, seg_name);
	} else if (!seg_users) {
		int had = plmc_backend() != NULL;
		int r = plmc_attach(s->hostname, PLMC_USE_AUTO);

		if (r) {
			rc = mc_error(m, MEMCACHED_CONNECTION_FAILURE,
				      "plmc segment %s: %s", s->hostname,
				      plmc_strerror(r));
		} else {
			snprintf(seg_name, sizeof(seg_name), "%s", s->hostname);
			seg_ours = !had;
		}
	}
	if (rc == MEMCACHED_SUCCESS) {
		seg_users++;
		m->seg_ref = 1;
	}
	pthread_mutex_unlock(&seg_lock);
	return rc;
}

void mc_seg_release(memcached_st *m)
{
	if (!m->seg_ref)
		return;
	m->seg_ref = 0;
	pthread_mutex_lock(&seg_lock);
	if (seg_users && !--seg_users && seg_ours) {
		plmc_detach();
		seg_ours = 0;
	}
	pthread_mutex_unlock(&seg_lock);
}

/* A store status or error as the code a memcached server's reply gives. */
memcached_return_t mc_seg_rc(memcached_st *m, int rc)
{
	switch (rc) {
	case PLMC_OK:
	case PLMC_STORED:
	case PLMC_DELETED:
	case PLMC_TOUCHED:
		return MEMCACHED_SUCCESS;
	case PLMC_NOT_STORED:
		return MEMCACHED_NOTSTORED;
	case PLMC_EXISTS:
		return MEMCACHED_DATA_EXISTS;
	case PLMC_NOT_FOUND:
		return MEMCACHED_NOTFOUND;
	case PLMC_E_KEY:
		return mc_error(m, MEMCACHED_BAD_KEY_PROVIDED, "plmc: %s",
				plmc_strerror(rc));
	case PLMC_E_TOOBIG:
		return mc_error(m, MEMCACHED_E2BIG, "plmc: %s",
				plmc_strerror(rc));
	case PLMC_E_NOMEM:
		return mc_error(m, MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE,
				"plmc: %s", plmc_strerror(rc));
	case PLMC_E_NONNUMERIC:
		return mc_error(m, MEMCACHED_CLIENT_ERROR,
				"plmc: cannot increment or decrement a "
				"non-numeric value");
	case PLMC_E_INVAL:
	case PLMC_E_FAULT:
		return mc_error(m, MEMCACHED_INVALID_ARGUMENTS, "plmc: %s",
				plmc_strerror(rc));
	case PLMC_E_DETACHED:
		return mc_error(m, MEMCACHED_CONNECTION_FAILURE, "plmc: %s",
				plmc_strerror(rc));
	default:
		return mc_error(m, MEMCACHED_SERVER_ERROR, "plmc: %s",
				plmc_strerror(rc));
	}
}
