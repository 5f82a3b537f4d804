# libpl/memcached: the libmemcached-compatible client library.
#
# build/compat/libmemcached.a holds these objects and libpl's, so a program
# written for libmemcached builds with
#   cc -Iinclude/compat app.c -Lbuild/compat -lmemcached -lpthread
# (its header: include/compat/libmemcached/memcached.h).

COMPAT_SRCS := $(wildcard libpl/memcached/*.c)
COMPAT_OBJS := $(patsubst libpl/memcached/%.c,$(B)/compat/%.o,$(COMPAT_SRCS))
COMPAT_HDRS := libpl/memcached/mc.h include/compat/libmemcached/memcached.h \
	       include/plmc.h
COMPAT_CFLAGS := $(CFLAGS_USER) -fPIC -I$(CURDIR)/include/compat
COMPAT_LIB := $(B)/compat/libmemcached.a

ALL_TARGETS += $(COMPAT_LIB)

$(COMPAT_OBJS): $(B)/compat/%.o: libpl/memcached/%.c $(COMPAT_HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(COMPAT_CFLAGS) -c -o $@ $<

$(COMPAT_LIB): $(COMPAT_OBJS) $(LIBPL_OBJS)
	@rm -f $@
	ar rcs $@ $^
