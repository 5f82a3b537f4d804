# Host unit tests: every tests/unit/test_*.c is one Check program in
# $(B)/tests/, linked with libpl.a, run on the none backend.
#
#   make unit-test     build and run them all; fails if any test fails

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRCS))
UNIT_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)
UNIT_CFLAGS := $(CFLAGS_USER) $(shell pkg-config --cflags check 2>/dev/null)
# The broken image is kvcore's to build; depend on it where it has a rule.
UNIT_IMGS := $(B)/kvcore.img $(filter $(B)/kvcore-bad.img,$(TEST_TARGETS))

$(UNIT_BINS): $(B)/tests/%: tests/unit/%.c $(B)/libpl.a \
		$(wildcard tests/unit/*.h libpl/*.h include/*.h include/plmc/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(B)/libpl.a $(UNIT_LIBS)

# Each program runs all of its tests (Check forks one child per test) and
# prints its "N%: Checks: ..." line; every program runs even after a failure.
# A failed test exits before its teardown: stores named ut-* are swept after.
# test_slots runs plctl (beside the image in $(B)).
unit-test: $(UNIT_BINS) $(UNIT_IMGS) $(B)/plctl
	@fail=0; for t in $(UNIT_BINS); do \
		echo "== $$(basename $$t)"; \
		env PLMC_BACKEND=none PLMC_IMG=$(B)/kvcore.img \
			PLMC_BAD_IMG=$(B)/kvcore-bad.img $$t || fail=1; \
	done; \
	rm -f /dev/shm/plmc.ut-* /dev/shm/.plmc.ut-*; \
	if [ $$fail = 0 ]; then echo "unit-test: all passed"; \
	else echo "unit-test: FAILED"; fi; exit $$fail

# make difftest N=100: the differential test against memcached over N
# seeds of 20,000 commands (unit-test runs 10).
.PHONY: difftest
difftest: $(B)/tests/test_diff $(UNIT_IMGS)
	env PLMC_BACKEND=none PLMC_IMG=$(B)/kvcore.img \
		DIFF_SEEDS=$(or $(N),100) $(B)/tests/test_diff
