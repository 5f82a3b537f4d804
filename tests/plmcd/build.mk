# tests/plmcd: plmcd against memcached (differential), memcapable, and
# memcached's own t/ suite.
MCDIFF := $(B)/tests/mcdiff
TEST_TARGETS += $(MCDIFF)

$(MCDIFF): tests/plmcd/mcdiff.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_USER) -o $@ $<

.PHONY: plmcd-test plmcd-suite
plmcd-test: $(MCDIFF) $(PLMCD)
	tests/plmcd/run.sh
	tests/plmcd/memcached-suite.sh
	MC_TLS=1 tests/plmcd/memcached-suite.sh

# memcached 1.6.18's own t/ suite against plmcd (fetched with apt-get source),
# then again over TLS (SSL_TEST=1, as memcached's make test_tls).
plmcd-suite: $(PLMCD)
	tests/plmcd/memcached-suite.sh
	MC_TLS=1 tests/plmcd/memcached-suite.sh
