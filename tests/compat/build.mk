# tests/compat: the libmemcached-compatible library against Debian's
# libmemcached. mcapi is one program built twice (enums too: every
# enumerator by name and number); ketama maps and checks
# keys over several servers; extra checks what only plmc's library does
# (tests/compat/run.sh).
COMPAT_TB := $(B)/tests/compat
COMPAT_TESTS := $(COMPAT_TB)/mcapi-deb $(COMPAT_TB)/mcapi-plmc \
	$(COMPAT_TB)/ketama-deb $(COMPAT_TB)/ketama-plmc $(COMPAT_TB)/extra \
	$(COMPAT_TB)/enums-deb $(COMPAT_TB)/enums-plmc
COMPAT_TCFLAGS := $(CSTD) -O2 -g $(WARN) -D_GNU_SOURCE -pthread

$(COMPAT_TB)/%-deb: tests/compat/%.c
	@mkdir -p $(@D)
	$(CC) $(COMPAT_TCFLAGS) -o $@ $< -lmemcached

$(COMPAT_TB)/%-plmc: tests/compat/%.c $(COMPAT_LIB)
	@mkdir -p $(@D)
	$(CC) $(COMPAT_TCFLAGS) -I$(CURDIR)/include/compat -o $@ $< \
		-L$(B)/compat -lmemcached

$(COMPAT_TB)/extra: tests/compat/extra.c $(COMPAT_LIB)
	@mkdir -p $(@D)
	$(CC) $(COMPAT_TCFLAGS) -I$(CURDIR)/include/compat -I$(CURDIR)/include \
		-o $@ $< -L$(B)/compat -lmemcached

# The library on the real module, in the VM suite (packed as build/vm/vm_*).
# Static, without glibc's getaddrinfo warning: libpl/memcached/net.c looks
# the resolver up at run time (the program names only a segment).
TEST_TARGETS += $(B)/vm/vm_compat
$(B)/vm/vm_compat: tests/compat/vm_compat.c $(COMPAT_LIB) $(VM_DEPS)
	@mkdir -p $(@D)
	$(CC) $(VM_CFLAGS) -I$(CURDIR)/include/compat -o $@ $< \
		-L$(B)/compat -lmemcached -lpthread

.PHONY: compat-test
compat-test: $(COMPAT_TESTS) $(PLMCD) $(B)/plctl
	tests/compat/run.sh
