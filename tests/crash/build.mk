# Crash injection (issue 4): build/crash, the driver (tests/crash/crash.c);
# scripts/crash-inject runs it.
#
#   make crash-test                bounded host run: >= 500 kills and every
#                                  crash point at least once (~20 s)
#   make crash-test KILLS=10000    the full run
#                                  (then a run with tenants: KILLS_TENANTS)
#
# Host runs use the none backend (libpl's watcher marks the dead); the VM
# suite can run the same binary on the module.

KILLS ?= 500
KILLS_TENANTS ?= 200 # a second run on a store with 4 tenants (-T 4)
CRASH_BIN := $(B)/crash

TEST_TARGETS += $(CRASH_BIN)

$(CRASH_BIN): tests/crash/crash.c $(B)/libpl.a \
		$(wildcard include/*.h include/plmc/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_USER) -o $@ $< $(B)/libpl.a

.PHONY: crash-test
crash-test: $(CRASH_BIN)
	PLMC_BACKEND=none scripts/crash-inject --bin $(CRASH_BIN) \
		--kills $(KILLS)
	PLMC_BACKEND=none scripts/crash-inject --bin $(CRASH_BIN) \
		--kills $(KILLS_TENANTS) --tenants 4
