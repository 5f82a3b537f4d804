# bench/: the load generator, one binary for every contender.
PLBENCH := $(B)/plbench
TEST_TARGETS += $(PLBENCH)

$(PLBENCH): bench/plbench.c bench/hist.h bench/mcproto.h bench/local.h include/plmc.h $(B)/libpl.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_USER) -Ibench -o $@ bench/plbench.c $(B)/libpl.a -llmdb -lm

.PHONY: bench bench-full bench-profile
bench: deps all $(PLBENCH)
	bench/run.sh quick

bench-full: deps all $(PLBENCH)
	bench/run.sh full

bench-profile: deps all $(PLBENCH)
	bench/profile.sh
