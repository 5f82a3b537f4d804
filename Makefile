# plmc - memcached as a protected library.
#
#   make            what is installed (image, libpl, the compatible library,
#                   plctl, plmcd, the Python module) into build/
#   make tests      the test programs too (make test builds them first)
#   make kmod       plmc.ko against KDIR
#   make test       host unit tests, plmcd against memcached, a bounded fuzz
#                   run, the VM suite (installs what it needs)
#   make crash-test crash injection (KILLS=10000 for the full run)
#   make run        the demo: on /dev/plmc if present, else in the test host
#   make vm-test    the VM suite alone
#   make compat-test the libmemcached-compatible library against Debian's
#                   libmemcached (same program, same output; ketama)
#   make cluster-test twemproxy in front of three plmcd nodes, one killed
#                   and restarted mid-run (docs/cluster.md)
#   make install    libpl, headers, plmc.pc, tools, man pages, DKMS tree
#                   (DESTDIR, PREFIX=/usr/local); make install-python
#   make deb        the Debian packages into build/deb/ (deb-test: build,
#                   install, use and remove them in a throwaway root)
#   make bench      plmc against memcached, side by side (bounded)
#
# Each folder keeps its own rules in build.mk; this file only ties them.

B := $(CURDIR)/build
CC := gcc
CSTD := -std=gnu11
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS_USER := $(CSTD) -O2 -g $(WARN) -I$(CURDIR)/include -D_GNU_SOURCE -pthread

# The Debian kernel whose image and headers are installed (the test host's),
# or the running kernel's build tree on a real host with the module.
KVER ?= $(shell scripts/kver.sh)
KDIR ?= $(if $(wildcard /lib/modules/$(shell uname -r)/build/Makefile),$(if $(wildcard /boot/vmlinuz-$(shell uname -r)),/lib/modules/$(shell uname -r)/build),)
ifeq ($(KDIR),)
KDIR := /lib/modules/$(KVER)/build
endif

.PHONY: all tests kmod test unit-test vm-test run deps clean
all:

include kvcore/build.mk
include libpl/build.mk
include libpl/memcached/build.mk
include tools/build.mk
include tests/unit/build.mk
include tests/vm/build.mk
include tools/plmcd/build.mk
include tests/plmcd/build.mk
include tests/compat/build.mk
include tests/plctl/build.mk
include tests/fuzz/build.mk
include python/build.mk
include tests/vm/python/build.mk
include tests/cluster/build.mk
include bench/build.mk
include tools/install.mk
include tests/crash/build.mk

all: $(ALL_TARGETS)

# The test programs (VM payload, attack suite, crash driver, differential
# clients, bench): built by make test, not by a plain make.
tests: $(ALL_TARGETS) $(TEST_TARGETS)

kmod:
	$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod W=1 modules

deps:
	scripts/deps.sh

test: deps
	$(MAKE) all tests
	$(MAKE) unit-test
	$(MAKE) plmcd-test
	$(MAKE) compat-test
	$(MAKE) python-test
	$(MAKE) cluster-test
	$(MAKE) plctl-test
	$(MAKE) fuzz-test
	$(MAKE) install-test
	$(MAKE) deb-test
	$(MAKE) crash-test
	$(MAKE) vm-test

vm-test: deps all tests
	scripts/vm-test.sh

run: deps all $(B)/vm/plmc-demo
	scripts/run.sh

clean:
	rm -rf $(B)
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean >/dev/null 2>&1
