# The VM suite's payload: every tests/vm/*.c is one static test program,
# and tools/plmc-demo.c the demo, all linked with libpl.a into $(B)/vm/.
# scripts/vm-test.sh and scripts/run.sh pack them into the test host.
#
# They are built by `make tests` (and so by make test, vm-test and
# .ci/run), not by a plain `make`, which builds only what is installed.

VM_SRCS := $(wildcard tests/vm/*.c)
VM_TESTS := $(patsubst tests/vm/%.c,$(B)/vm/%,$(VM_SRCS))
# The attack suite (tests/attacks/atk_*.c, issue 6): same payload, same
# harness (attacks.h includes harness.h).
ATK_SRCS := $(wildcard tests/attacks/atk_*.c)
ATK_PROGS := $(patsubst tests/attacks/%.c,$(B)/vm/%,$(ATK_SRCS))
# A share of the host's store tests (Check programs from tests/unit/),
# run on the real module: every command, the settings, 4x2 stress, the
# meta op (its one-winner races through the real gate), page moves, the
# item walk (lock-free reads and reclaim through the real gate), the
# table's growth (its small scale: STRESS_OPS is set there), processes
# and threads sharing a store (with exit_is_a_detach: the module counts
# no death for a normal exit, and one for _exit).
VM_UNITS := $(patsubst %,$(B)/vm/ut_%,test_cmds test_settings test_stress \
	      test_limits test_evict test_meta test_move test_walk test_table \
	      test_procs)
# The libraries atk_dlopen loads after attach (tests/attacks/xlib.c): no
# libc, no dependencies, so the static test program can dlopen them.
XLIBS := $(patsubst %,$(B)/vm/xlib_%.so,clean wrpkru xrstor)
# The one dynamically linked attack program (tests/attacks/lazy/): lazy
# binding through ld.so's XRSTOR after attach (SECURITY.md hole 11). It
# runs against the host's ld.so and libc, which scripts/vm-test.sh copies
# into the test host's root ($(B)/vm/lazytree), and /vm/xlib_lazy.so.
LAZY_PROGS := $(B)/vm/atk_lazy $(B)/vm/xlib_lazy.so
VM_PROGS := $(VM_TESTS) $(ATK_PROGS) $(VM_UNITS) $(B)/vm/plmc-demo \
	    $(B)/vm/crash_driver $(XLIBS) $(LAZY_PROGS)
VM_CFLAGS := $(CFLAGS_USER) -static
VM_DEPS := $(B)/libpl.a tests/vm/harness.h \
	   $(wildcard include/*.h include/plmc/*.h)

TEST_TARGETS += $(VM_PROGS)

.PHONY: vm-progs
vm-progs: $(VM_PROGS)

$(VM_TESTS): $(B)/vm/%: tests/vm/%.c $(VM_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -o $@ $< $(B)/libpl.a -lpthread

$(ATK_PROGS): $(B)/vm/%: tests/attacks/%.c tests/attacks/attacks.h \
		tests/attacks/park.h $(VM_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -o $@ $< $(B)/libpl.a -lpthread

$(XLIBS): $(B)/vm/xlib_%.so: tests/attacks/xlib.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -nostdlib -O2 -Wall -Werror \
		-DXLIB_$(shell echo $* | tr a-z A-Z) -o $@ $<

$(B)/vm/xlib_lazy.so: tests/attacks/lazy/lazylib.c
	@mkdir -p $(dir $@)
	$(CC) -shared -fPIC -nostdlib -O2 -mavx -Wall -Werror \
		-Wl,-soname,xlib_lazy.so -o $@ $<

# -z lazy: each first call goes through the resolver (not bound at load).
$(B)/vm/atk_lazy: tests/attacks/lazy/atk_lazy.c tests/attacks/attacks.h \
		$(B)/vm/xlib_lazy.so $(VM_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_USER) -mavx -Wl,-z,lazy -Wl,-rpath,/vm -o $@ $< \
		$(B)/vm/xlib_lazy.so $(B)/libpl.a -lpthread

$(VM_UNITS): $(B)/vm/ut_%: tests/unit/%.c tests/unit/util.h $(VM_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) $(shell pkg-config --cflags check 2>/dev/null) \
		-o $@ $< $(B)/libpl.a \
		$(shell pkg-config --static --libs check 2>/dev/null || \
			echo -lcheck -lsubunit -lm -lrt) -lpthread

$(B)/vm/plmc-demo: tools/plmc-demo.c $(VM_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -o $@ $< $(B)/libpl.a -lpthread

# The crash-injection driver (tests/crash/crash.c), run on the real module.
$(B)/vm/crash_driver: tests/crash/crash.c $(VM_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(VM_CFLAGS) -o $@ $< $(B)/libpl.a -lpthread

# The pku backend's run in the test host without the module
# (tests/vm/run-pku.sh): pku_stray (tests/vm/pku_stray.c, above) and the
# host unit tests that exercise the store through the gate, linked
# statically into $(B)/vm-pku/ so the module's suite does not pick them up.
# test_evict is left out: a minute under TCG, and eviction does not depend
# on the backend.
PKU_UNIT := ops cmds args limits segments slots procs recover race
PKU_UNIT_BINS := $(patsubst %,$(B)/vm-pku/test_%,$(PKU_UNIT))
PKU_UNIT_LIBS := $(shell pkg-config --static --libs check 2>/dev/null || \
		   echo -lcheck -lsubunit -lm -lrt)

TEST_TARGETS += $(PKU_UNIT_BINS)

$(PKU_UNIT_BINS): $(B)/vm-pku/%: tests/unit/%.c $(B)/libpl.a \
		$(wildcard tests/unit/*.h libpl/*.h include/*.h include/plmc/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -static -o $@ $< $(B)/libpl.a $(PKU_UNIT_LIBS) \
		-lpthread
