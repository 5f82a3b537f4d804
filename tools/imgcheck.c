// SPDX-License-Identifier: MIT
/*
 * tools/imgcheck.c - run plmc_image_check() on an image file.
 *
 *   imgcheck FILE                 exit 0 only if the image passes
 *   imgcheck --expect RULE FILE   exit 0 only if the check fails with
 *                                 RULE (short, magic, big, text, entry,
 *                                 site, wrpkru, xrstor) or passes (ok)
 *
 * The same inline check the module runs at create and libpl runs for the
 * none backend; the build runs this on every image it makes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <plmc/image.h>

static const char *const rule_names[] = {
	[PLMC_IMG_OK] = "ok",	      [PLMC_IMG_SHORT] = "short",
	[PLMC_IMG_MAGIC] = "magic",   [PLMC_IMG_BIG] = "big",
	[PLMC_IMG_TEXT] = "text",     [PLMC_IMG_ENTRY] = "entry",
	[PLMC_IMG_SITE] = "site",     [PLMC_IMG_WRPKRU] = "wrpkru",
	[PLMC_IMG_XRSTOR] = "xrstor",
};

/* Read all of @path (up to twice the image limit, to report "big"). */
static unsigned char *read_file(const char *path, size_t *len)
{
	size_t cap = 2 * PLMC_IMAGE_MAX + 1;
	unsigned char *b = malloc(cap);
	FILE *f = fopen(path, "rb");

	if (!b || !f) {
		perror(path);
		free(b);
		if (f)
			fclose(f);
		return NULL;
	}
	*len = fread(b, 1, cap, f);
	fclose(f);
	return b;
}

/* First offset of a WRPKRU that is not a site, or of an XRSTOR. */
static long long first_bad(const unsigned char *b, size_t len, int rc)
{
	const struct plmc_image_hdr *h = (const void *)b;
	size_t i;

	for (i = 0; i + 3 <= len; i++) {
		if (rc == PLMC_IMG_WRPKRU && plmc_image_is_wrpkru(b + i) &&
		    !plmc_image_is_site(h, i))
			return (long long)i;
		if (rc == PLMC_IMG_XRSTOR && plmc_image_is_xrstor(b + i))
			return (long long)i;
	}
	return -1;
}

static void report(const char *path, const unsigned char *b, size_t len, int rc)
{
	const struct plmc_image_hdr *h = (const void *)b;

	if (rc == PLMC_IMG_OK) {
		printf("%s: OK: %zu bytes, text [%#llx, %#llx), entry_pku "
		       "%#llx, entry_none %#llx, %u sites (%#llx %#llx)\n",
		       path, len, (unsigned long long)h->text_start,
		       (unsigned long long)h->text_end,
		       (unsigned long long)h->entry_pku,
		       (unsigned long long)h->entry_none, h->nsites,
		       (unsigned long long)h->sites[0],
		       (unsigned long long)h->sites[1]);
		return;
	}
	printf("%s: REJECTED: %s", path, rule_names[rc]);
	if (rc == PLMC_IMG_WRPKRU || rc == PLMC_IMG_XRSTOR)
		printf(" at offset %#llx", first_bad(b, len, rc));
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *expect = NULL;
	unsigned char *b;
	size_t len;
	int rc;

	if (argc == 4 && !strcmp(argv[1], "--expect")) {
		expect = argv[2];
		argv += 2;
	} else if (argc != 2) {
		fprintf(stderr, "usage: imgcheck [--expect RULE] FILE\n");
		return 2;
	}
	b = read_file(argv[1], &len);
	if (!b)
		return 2;
	rc = plmc_image_check(b, len);
	report(argv[1], b, len, rc);
	free(b);
	if (expect) {
		if (strcmp(expect, rule_names[rc])) {
			fprintf(stderr, "imgcheck: expected %s\n", expect);
			return 1;
		}
		return 0;
	}
	return rc == PLMC_IMG_OK ? 0 : 1;
}
