/* SPDX-License-Identifier: MIT */
/*
 * libpl/image.S - the kvcore image, built into libpl.
 *
 * create hands these bytes to the module (kmod) or writes them into the
 * shm file (none); attach under kmod takes the gate's entry offset from
 * this copy's header. PL_IMAGE_PATH is set by libpl/build.mk.
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

	.section .note.GNU-stack, "", @progbits
