# libpl: the client runtime, as build/libpl.a and build/libpl.so.
#
# Every object is position-independent so the same objects make both.
# image.S embeds $(B)/kvcore.img and $(B)/kvcore-test.img (kvcore/build.mk)
# with .incbin, so the library is rebuilt whenever an image changes.

LIBPL_SRCS := $(wildcard libpl/*.c)
LIBPL_OBJS := $(patsubst libpl/%.c,$(B)/libpl/%.o,$(LIBPL_SRCS)) \
	      $(B)/libpl/image.o
LIBPL_HDRS := $(wildcard libpl/*.h include/*.h include/plmc/*.h)
LIBPL_CFLAGS := $(CFLAGS_USER) -fPIC

ALL_TARGETS += $(B)/libpl.a $(B)/libpl.so

$(patsubst libpl/%.c,$(B)/libpl/%.o,$(LIBPL_SRCS)): $(B)/libpl/%.o: \
		libpl/%.c $(LIBPL_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(LIBPL_CFLAGS) -c -o $@ $<

$(B)/libpl/image.o: libpl/image.S $(B)/kvcore.img $(B)/kvcore-test.img
	@mkdir -p $(dir $@)
	$(CC) -fPIC -DPL_IMAGE_PATH='"$(B)/kvcore.img"' \
		-DPL_TEST_IMAGE_PATH='"$(B)/kvcore-test.img"' -c -o $@ $<

$(B)/libpl.a: $(LIBPL_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libpl.so: $(LIBPL_OBJS) libpl/libpl.map
	$(CC) -shared -pthread -Wl,--version-script=libpl/libpl.map \
		-Wl,-soname,libpl.so -Wl,-z,noexecstack -o $@ $(LIBPL_OBJS)
