# kvcore: the protected image (gate + store), freestanding, linked at
# PLMC_BASE. Outputs: kvcore.elf, kvcore.img (checked flat binary, the
# production image), kvcore-test.img (the same sources with
# -DPLMC_TEST_IMAGE: it also serves the test-only ops PLMC_OP_CLOCK and
# PLMC_OP_CRASH; a store runs it only when its creator asks), kvcore-bad.img
# (one stray WRPKRU: the check must reject it), imgcheck.
#
# Both good images link the same gate.o first in .text (kvcore.ld), so the
# gate's entries sit at the same offsets in both: libpl relies on that
# under kmod, where it cannot read the image it attached to.
#
# Building kvcore.img runs kvcore/check-image.sh, which fails the build on
# undefined symbols, relocations, writable or extra allocated sections, a
# size over PLMC_IMAGE_MAX, or a plmc_image_check() failure.

KV_SRCS := $(wildcard kvcore/*.c)
KV_HDRS := $(wildcard kvcore/*.h include/*.h include/plmc/*.h)
KV_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-I$(CURDIR)/include -ffreestanding -nostdlib -fpie -fno-plt \
	-fno-stack-protector -mgeneral-regs-only -mno-red-zone \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fno-jump-tables \
	-fcf-protection=none -fno-tree-loop-distribute-patterns \
	-fno-builtin -fvisibility=hidden
KV_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-T,kvcore/kvcore.ld -Wl,--no-undefined -Wl,-z,noexecstack

ALL_TARGETS += $(B)/kvcore.elf $(B)/kvcore.img $(B)/kvcore-test.img \
	$(B)/imgcheck
TEST_TARGETS += $(B)/kvcore-bad.img

KV_OBJS := $(patsubst kvcore/%.c,$(B)/kvcore/%.o,$(KV_SRCS)) \
	$(B)/kvcore/gate.o
KV_BAD_OBJS := $(patsubst kvcore/%.c,$(B)/kvcore/bad/%.o,$(KV_SRCS)) \
	$(B)/kvcore/gate.o
KV_TEST_OBJS := $(patsubst kvcore/%.c,$(B)/kvcore/test/%.o,$(KV_SRCS)) \
	$(B)/kvcore/gate.o

$(B)/kvcore/%.o: kvcore/%.c $(KV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -c -o $@ $<

$(B)/kvcore/bad/%.o: kvcore/%.c $(KV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -DPLMC_BAD_IMAGE -c -o $@ $<

$(B)/kvcore/test/%.o: kvcore/%.c $(KV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -DPLMC_TEST_IMAGE -c -o $@ $<

$(B)/kvcore/gate.o: kvcore/gate.S kvcore/gate_asm.h
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -c -o $@ $<

$(B)/kvcore.elf: $(KV_OBJS) kvcore/kvcore.ld
	$(CC) $(KV_CFLAGS) $(KV_LDFLAGS) -o $@ $(KV_OBJS)

$(B)/kvcore-test.elf: $(KV_TEST_OBJS) kvcore/kvcore.ld
	$(CC) $(KV_CFLAGS) $(KV_LDFLAGS) -o $@ $(KV_TEST_OBJS)

$(B)/kvcore-bad.elf: $(KV_BAD_OBJS) kvcore/kvcore.ld
	$(CC) $(KV_CFLAGS) $(KV_LDFLAGS) -o $@ $(KV_BAD_OBJS)

# Flat image; the check runs on a temporary name so a bad image never
# lands as kvcore.img.
$(B)/kvcore.img: $(B)/kvcore.elf $(B)/imgcheck kvcore/check-image.sh
	objcopy -O binary -j .image $< $@.tmp
	kvcore/check-image.sh $(B)/imgcheck $< $@.tmp
	mv $@.tmp $@

$(B)/kvcore-test.img: $(B)/kvcore-test.elf $(B)/kvcore.elf $(B)/imgcheck \
		kvcore/check-image.sh
	objcopy -O binary -j .image $< $@.tmp
	kvcore/check-image.sh $(B)/imgcheck $< $@.tmp
	for e in plmc_entry_pku plmc_entry_none; do \
		[ "$$(nm $< | grep " $$e$$")" = \
		  "$$(nm $(B)/kvcore.elf | grep " $$e$$")" ] || \
		{ echo "kvcore-test.img: $$e moved" >&2; exit 1; }; done
	mv $@.tmp $@

# The bad image only has to be a well-formed image with a stray WRPKRU;
# the check must say so (and nothing else).
$(B)/kvcore-bad.img: $(B)/kvcore-bad.elf $(B)/imgcheck
	objcopy -O binary -j .image $< $@.tmp
	$(B)/imgcheck --expect wrpkru $@.tmp
	mv $@.tmp $@

$(B)/imgcheck: tools/imgcheck.c include/plmc/image.h include/plmc/layout.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_USER) -o $@ $<
