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

# plmcd with TLS and -Y on the real module (tests/plmcd/vm/vm_plmcd.sh, run
# by the VM suite like the other /vm/vm_* programs) and the root tree it
# needs (tests/plmcd/vm-tree.sh: plmcd, openssl, their libraries, fresh
# certificates), which scripts/vm-test.sh packs when vm_plmcd runs.
VM_PLMCD_TREE := $(B)/vm/plmcdtree
TEST_TARGETS += $(B)/vm/vm_plmcd $(VM_PLMCD_TREE).stamp

$(B)/vm/vm_plmcd: tests/plmcd/vm/vm_plmcd.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(VM_PLMCD_TREE).stamp: tests/plmcd/vm-tree.sh tests/plmcd/make-certs.sh $(PLMCD)
	rm -rf $(VM_PLMCD_TREE)
	tests/plmcd/vm-tree.sh $(VM_PLMCD_TREE) $(PLMCD)
	touch $@
