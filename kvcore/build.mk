# kvcore: the protected image (gate + store), freestanding, linked at
# PLMC_BASE. Outputs: kvcore.elf, kvcore.img (checked flat binary),
# kvcore-bad.img (one stray WRPKRU: the check must reject it), imgcheck.
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

ALL_TARGETS += $(B)/kvcore.elf $(B)/kvcore.img $(B)/imgcheck
TEST_TARGETS += $(B)/kvcore-bad.img

KV_OBJS := $(patsubst kvcore/%.c,$(B)/kvcore/%.o,$(KV_SRCS)) \
	$(B)/kvcore/gate.o
KV_BAD_OBJS := $(patsubst kvcore/%.c,$(B)/kvcore/bad/%.o,$(KV_SRCS)) \
	$(B)/kvcore/gate.o

$(B)/kvcore/%.o: kvcore/%.c $(KV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -c -o $@ $<

$(B)/kvcore/bad/%.o: kvcore/%.c $(KV_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -DPLMC_BAD_IMAGE -c -o $@ $<

$(B)/kvcore/gate.o: kvcore/gate.S kvcore/gate_asm.h
	@mkdir -p $(dir $@)
	$(CC) $(KV_CFLAGS) -c -o $@ $<

$(B)/kvcore.elf: $(KV_OBJS) kvcore/kvcore.ld
	$(CC) $(KV_CFLAGS) $(KV_LDFLAGS) -o $@ $(KV_OBJS)

$(B)/kvcore-bad.elf: $(KV_BAD_OBJS) kvcore/kvcore.ld
	$(CC) $(KV_CFLAGS) $(KV_LDFLAGS) -o $@ $(KV_BAD_OBJS)

# Flat image; the check runs on a temporary name so a bad image never
# lands as kvcore.img.
$(B)/kvcore.img: $(B)/kvcore.elf $(B)/imgcheck kvcore/check-image.sh
	objcopy -O binary -j .image $< $@.tmp
	kvcore/check-image.sh $(B)/imgcheck $< $@.tmp
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
