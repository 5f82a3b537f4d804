// SPDX-License-Identifier: MIT
/*
 * tests/install/example.c - the smallest plmc client, built only from an
 * installed tree (pkg-config plmc): create a store, attach, set, get,
 * check the value, destroy. Argument: the store name.
 */
#include <stdio.h>
#include <string.h>
#include <plmc.h>

static int fail(const char *what, int rc)
{
	fprintf(stderr, "example: %s: %s\n", what, plmc_strerror(rc));
	return 1;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "example";
	char buf[64];
	size_t len = 0;
	uint32_t flags = 0;
	uint64_t cas = 0;
	int rc;

	rc = plmc_create(name, 4 << 20, 0600, PLMC_USE_AUTO);
	if (rc < 0)
		return fail("create", rc);
	rc = plmc_attach(name, PLMC_USE_AUTO);
	if (rc < 0)
		return fail("attach", rc);
	rc = plmc_set("greeting", 8, "hello", 5, 42, 0);
	if (rc != PLMC_STORED)
		return fail("set", rc);
	rc = plmc_get("greeting", 8, buf, sizeof(buf), &len, &flags, &cas);
	if (rc != PLMC_OK)
		return fail("get", rc);
	if (len != 5 || memcmp(buf, "hello", 5) || flags != 42 || !cas) {
		fprintf(stderr, "example: got %.*s flags %u cas %llu\n",
			(int)len, buf, flags, (unsigned long long)cas);
		return 1;
	}
	printf("%s: greeting=%.*s flags=%u backend=%s\n", name, (int)len, buf,
	       flags, plmc_backend());
	plmc_detach();
	rc = plmc_destroy(name, 0, PLMC_USE_AUTO);
	if (rc < 0)
		return fail("destroy", rc);
	return 0;
}
