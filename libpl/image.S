/* SPDX-License-Identifier: MIT */
/*
 * libpl/image.S - the kvcore images, built into libpl.
 *
 * pl_image is the production image; pl_image_test the same store built
 * with PLMC_TEST_IMAGE (it also serves PLMC_OP_CLOCK and PLMC_OP_CRASH).
 * create hands the one its caller chose to the module (kmod) or writes it
 * into the shm file (none); attach under kmod takes the gate's entry
 * offset from the copy whose size the module reports (both images have
 * their gate at the same offsets: kvcore/build.mk). PL_IMAGE_PATH and
 * PL_TEST_IMAGE_PATH are set by libpl/build.mk.
 */
	.section .rodata.pl_image, "a"
	.balign 64
	.globl pl_image
	.hidden pl_image
	.type pl_image, @object
pl_image:
	.incbin PL_IMAGE_PATH
	.globl pl_image_end
	.hidden pl_image_end
pl_image_end:
	.size pl_image, pl_image_end - pl_image

	.balign 64
	.globl pl_image_test
	.hidden pl_image_test
	.type pl_image_test, @object
pl_image_test:
	.incbin PL_TEST_IMAGE_PATH
	.globl pl_image_test_end
	.hidden pl_image_test_end
pl_image_test_end:
	.size pl_image_test, pl_image_test_end - pl_image_test

	.section .note.GNU-stack, "", @progbits
