# tests/fuzz: libFuzzer target for plmcd's parser (clang, ASan, UBSan).
FUZZ_PROTO := $(B)/fuzz/fuzz_proto
FUZZ_FLAGS := -g -O1 -Wall -Werror -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I$(CURDIR)/include -D_GNU_SOURCE -pthread

FUZZ_SRC := tests/fuzz/fuzz_proto.c tests/fuzz/store_stub.c tools/plmcd/opts.c \
	tools/plmcd/admin.c tools/plmcd/bin.c tools/plmcd/detail.c tools/plmcd/dump.c \
	tools/plmcd/watch.c tools/plmcd/tenant.c \
	tools/plmcd/proto.c tools/plmcd/meta.c tools/plmcd/stats.c \
	tools/plmcd/buf.c tools/plmcd/sock.c tools/plmcd/auth.c tools/plmcd/sasl.c tools/plmcd/tls.c

$(FUZZ_PROTO): $(FUZZ_SRC) tools/plmcd/plmcd.h include/plmc.h include/plmc/gate.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(FUZZ_SRC) $(PLMCD_LIBS)

# Bounded run for make test; `make fuzz FUZZ_SECONDS=600` for a long one.
FUZZ_SECONDS ?= 20
.PHONY: fuzz fuzz-test
fuzz-test fuzz: $(FUZZ_PROTO)
	@mkdir -p $(B)/fuzz/corpus
	@if $(FUZZ_PROTO) -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
		-print_final_stats=1 -dict=tests/fuzz/proto.dict \
		$(B)/fuzz/corpus tests/fuzz/corpus \
		>$(B)/fuzz/log 2>&1; then \
		grep -E 'stat::number_of_executed_runs|DONE' $(B)/fuzz/log | tail -2; \
		echo "fuzz: no crash in $(FUZZ_SECONDS) s"; \
	else \
		tail -40 $(B)/fuzz/log; echo "fuzz: FAILED (crash input in ./crash-*)"; exit 1; \
	fi
