# tests/plmcd: plmcd against memcached (differential) and memcapable.
MCDIFF := $(B)/tests/mcdiff
TEST_TARGETS += $(MCDIFF)

$(MCDIFF): tests/plmcd/mcdiff.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_USER) -o $@ $<

.PHONY: plmcd-test
plmcd-test: $(MCDIFF) $(PLMCD)
	tests/plmcd/run.sh
