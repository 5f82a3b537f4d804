# tools/plmcd: the store over memcached's text protocol.
PLMCD := $(B)/plmcd
PLMCD_SRC := $(wildcard tools/plmcd/*.c)
ALL_TARGETS += $(PLMCD)
# TLS (-Z) with Debian's OpenSSL, SASL (-S) with Cyrus SASL
PLMCD_LIBS := -lssl -lcrypto -lsasl2

$(PLMCD): $(PLMCD_SRC) tools/plmcd/plmcd.h include/plmc.h $(B)/libpl.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_USER) -DPLMC_VERSION='"$(PLMC_VERSION)"' -o $@ \
		$(PLMCD_SRC) $(B)/libpl.a $(PLMCD_LIBS)
