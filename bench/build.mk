# bench/: the load generator, one binary for every contender.
PLBENCH := $(B)/plbench
ALL_TARGETS += $(PLBENCH)

$(PLBENCH): bench/plbench.c bench/hist.h bench/mcproto.h bench/local.h include/plmc.h $(B)/libpl.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_USER) -Ibench -o $@ bench/plbench.c $(B)/libpl.a -llmdb -lm

.PHONY: bench bench-full bench-profile
bench: deps all
	bench/run.sh quick

bench-full: deps all
	bench/run.sh full

bench-profile: deps all
	bench/profile.sh
