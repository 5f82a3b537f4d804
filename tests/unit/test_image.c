// SPDX-License-Identifier: MIT
/*
 * tests/unit/test_image.c - plmc_image_check() on the built images and on
 * hand-made bad ones.
 *
 * The built images come from the environment (tests/unit/build.mk):
 * PLMC_IMG = build/kvcore.img (must pass), PLMC_BAD_IMG =
 * build/kvcore-bad.img (one stray WRPKRU: must fail with
 * PLMC_IMG_WRPKRU). Each crafted case changes one thing in a copy of the
 * good image and expects the one rule it breaks.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <plmc/image.h>

static unsigned char *img;
static size_t img_len;

static unsigned char *load(const char *var, size_t *len)
{
	const char *path = getenv(var);
	unsigned char *b;
	FILE *f;
	long n;

	ck_assert_msg(path != NULL, "%s is not set", var);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	/* Room to grow the copy past the size limit (the "big" case). */
	b = calloc(1, PLMC_IMAGE_MAX + 4096);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_le(n, PLMC_IMAGE_MAX);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static struct plmc_image_hdr *hdr(void)
{
	return (struct plmc_image_hdr *)img;
}

static void setup(void)
{
	img = load("PLMC_IMG", &img_len);
}

static void teardown(void)
{
	free(img);
}

static int check(void)
{
	return plmc_image_check(img, img_len);
}

START_TEST(good_image_passes)
{
	const struct plmc_image_hdr *h = hdr();
	__u32 i;

	ck_assert_int_eq(check(), PLMC_IMG_OK);
	ck_assert_uint_eq(h->image_size, img_len);
	ck_assert_uint_eq(h->nsites, 2);
	for (i = 0; i < h->nsites; i++)
		ck_assert(plmc_image_is_wrpkru(img + h->sites[i]));
	ck_assert(plmc_image_in_text(h, h->entry_pku, 1));
	ck_assert(plmc_image_in_text(h, h->entry_none, 1));
	ck_assert_uint_ne(h->entry_pku, h->entry_none);
}
END_TEST

START_TEST(bad_image_fails_wrpkru)
{
	size_t len;
	unsigned char *bad = load("PLMC_BAD_IMG", &len);

	ck_assert_int_eq(plmc_image_check(bad, len), PLMC_IMG_WRPKRU);
	free(bad);
}
END_TEST

START_TEST(entry_outside_text)
{
	hdr()->entry_pku = hdr()->text_end;
	ck_assert_int_eq(check(), PLMC_IMG_ENTRY);
}
END_TEST

START_TEST(entry_none_in_header)
{
	hdr()->entry_none = 0;
	ck_assert_int_eq(check(), PLMC_IMG_ENTRY);
}
END_TEST

START_TEST(site_not_wrpkru)
{
	hdr()->sites[0] += 1;
	ck_assert_int_eq(check(), PLMC_IMG_SITE);
}
END_TEST

START_TEST(site_outside_text)
{
	hdr()->sites[1] = hdr()->text_end - 1;
	ck_assert_int_eq(check(), PLMC_IMG_SITE);
}
END_TEST

START_TEST(too_many_sites)
{
	hdr()->nsites = PLMC_IMAGE_SITES + 1;
	ck_assert_int_eq(check(), PLMC_IMG_SITE);
}
END_TEST

/* Dropping a site leaves its WRPKRU unregistered. */
START_TEST(unregistered_site)
{
	hdr()->nsites = 1;
	ck_assert_int_eq(check(), PLMC_IMG_WRPKRU);
}
END_TEST

/* WRPKRU bytes in data (after text) count as much as in code. */
START_TEST(wrpkru_in_data)
{
	static const unsigned char w[] = {0x0f, 0x01, 0xef};

	memcpy(img + img_len - 3, w, 3);
	ck_assert_int_eq(check(), PLMC_IMG_WRPKRU);
}
END_TEST

START_TEST(xrstor_bytes)
{
	/* xrstor (%rdi): 0F AE 2F */
	static const unsigned char x[] = {0x0f, 0xae, 0x2f};

	memcpy(img + img_len - 3, x, 3);
	ck_assert_int_eq(check(), PLMC_IMG_XRSTOR);
}
END_TEST

START_TEST(xrstor64_in_text)
{
	/* xrstor64 0x8(%rax) inside the gate's text: 48 0F AE 68 08 */
	static const unsigned char x[] = {0x48, 0x0f, 0xae, 0x68, 0x08};

	memcpy(img + hdr()->text_end - sizeof(x), x, sizeof(x));
	ck_assert_int_eq(check(), PLMC_IMG_XRSTOR);
}
END_TEST

/* 0F AE /5 with a register operand is a fence, not XRSTOR: accepted. */
START_TEST(fence_not_xrstor)
{
	static const unsigned char lfence[] = {0x0f, 0xae, 0xe8};

	memcpy(img + img_len - 3, lfence, 3);
	ck_assert_int_eq(check(), PLMC_IMG_OK);
}
END_TEST

START_TEST(too_big)
{
	img_len = PLMC_IMAGE_MAX + 64;
	hdr()->image_size = img_len;
	ck_assert_int_eq(check(), PLMC_IMG_BIG);
}
END_TEST

START_TEST(size_mismatch)
{
	hdr()->image_size = img_len + 1;
	ck_assert_int_eq(check(), PLMC_IMG_SHORT);
}
END_TEST

START_TEST(shorter_than_header)
{
	ck_assert_int_eq(
		plmc_image_check(img, sizeof(struct plmc_image_hdr) - 1),
		PLMC_IMG_SHORT);
}
END_TEST

START_TEST(bad_magic)
{
	hdr()->magic ^= 1;
	ck_assert_int_eq(check(), PLMC_IMG_MAGIC);
}
END_TEST

START_TEST(bad_hdr_size)
{
	hdr()->hdr_size = 64;
	ck_assert_int_eq(check(), PLMC_IMG_MAGIC);
}
END_TEST

START_TEST(text_past_end)
{
	hdr()->text_end = img_len + 1;
	ck_assert_int_eq(check(), PLMC_IMG_TEXT);
}
END_TEST

START_TEST(text_over_header)
{
	hdr()->text_start = 0;
	ck_assert_int_eq(check(), PLMC_IMG_TEXT);
}
END_TEST

static Suite *image_suite(void)
{
	Suite *s = suite_create("image");
	TCase *tc = tcase_create("check");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, good_image_passes);
	tcase_add_test(tc, bad_image_fails_wrpkru);
	tcase_add_test(tc, entry_outside_text);
	tcase_add_test(tc, entry_none_in_header);
	tcase_add_test(tc, site_not_wrpkru);
	tcase_add_test(tc, site_outside_text);
	tcase_add_test(tc, too_many_sites);
	tcase_add_test(tc, unregistered_site);
	tcase_add_test(tc, wrpkru_in_data);
	tcase_add_test(tc, xrstor_bytes);
	tcase_add_test(tc, xrstor64_in_text);
	tcase_add_test(tc, fence_not_xrstor);
	tcase_add_test(tc, too_big);
	tcase_add_test(tc, size_mismatch);
	tcase_add_test(tc, shorter_than_header);
	tcase_add_test(tc, bad_magic);
	tcase_add_test(tc, bad_hdr_size);
	tcase_add_test(tc, text_past_end);
	tcase_add_test(tc, text_over_header);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(image_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
