# tools/install.mk: make install, make uninstall, make install-test.
#
#   make install [DESTDIR=/stage] [PREFIX=/usr/local]
#   make uninstall (same DESTDIR and PREFIX)
#
# Installs libpl (static, and shared with a versioned soname), the headers,
# plmc.pc, the libmemcached-compatible library (libplmemcached.a, its
# header, plmc-memcached.pc), the kvcore image, plctl, plmcd, the man pages, the systemd unit,
# the udev rule, a sysusers.d entry for the group plmc, a modules-load.d
# entry, and the module sources for DKMS in /usr/src/plmc-VERSION. See
# docs/install.md. Directories are variables, so a distribution can move
# them (LIBDIR=$(PREFIX)/lib/x86_64-linux-gnu, ...).
#
# libpl/build.mk links build/libpl.so with soname libpl.so; the installed
# library is linked here again from the same objects with soname libpl.so.0
# so that programs record the ABI version, not the development link.

PREFIX ?= /usr/local
DESTDIR ?=
# The one version number, kept in kmod/dkms.conf (dkms needs it literally).
PLMC_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$$/\1/p' \
	kmod/dkms.conf)
ifeq ($(PLMC_VERSION),)
$(error tools/install.mk: no PACKAGE_VERSION in kmod/dkms.conf)
endif
PLMC_SOMAJOR := $(firstword $(subst ., ,$(PLMC_VERSION)))

BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
PLMCLIBDIR ?= $(PREFIX)/lib/plmc
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/plmc
# systemd reads units from /usr/local/lib/systemd/system too; udev,
# sysusers.d and modules-load.d read only /usr/lib and /etc.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
# A PREFIX other than /usr and /usr/local (a user's own, e.g.
# $HOME/.local) keeps every file under it, the system-wide ones too (the
# udev rule, sysusers.d and modules-load.d entries under PREFIX/lib, the
# DKMS tree under PREFIX/src), so that a user may install there without
# root; nothing reads them there, and make install says so.
SYSTEM_PREFIX := $(filter /usr /usr/local,$(PREFIX))
SYSCONF_DIR := $(if $(SYSTEM_PREFIX),/etc,$(PREFIX)/lib)
SYSCONF_OR_USR := $(if $(filter /usr,$(PREFIX)),/usr/lib,$(SYSCONF_DIR))
UDEVRULESDIR ?= $(SYSCONF_OR_USR)/udev/rules.d
SYSUSERSDIR ?= $(SYSCONF_OR_USR)/sysusers.d
MODULESLOADDIR ?= $(SYSCONF_OR_USR)/modules-load.d
DKMSDIR ?= $(if $(SYSTEM_PREFIX),/usr/src,$(PREFIX)/src)/plmc-$(PLMC_VERSION)

INSTALL ?= install
DEST := $(DESTDIR)

LIBPL_SO_REAL := libpl.so.$(PLMC_VERSION)
LIBPL_SONAME := libpl.so.$(PLMC_SOMAJOR)
INST_B := $(B)/install

# Every function plmc.h declares gets a man3 page of its own: a .so link
# to libpl.3 (tests/install checks libpl.3 names each one).
PAREN := (
MAN_LINKS := $(shell sed -n \
	's/^[a-z][a-z ]*[ *]\(plmc_[a-z0-9_]*\)$(PAREN).*/\1/p' include/plmc.h)
# Sources only: plmc.mod.c is kbuild output of a `make kmod` in the tree.
KMOD_SRCS := $(filter-out %.mod.c,$(wildcard kmod/*.c kmod/*.h kmod/*.S)) \
	     kmod/Kbuild
PLMC_HDRS := $(wildcard include/plmc/*.h)

INSTALL_INPUTS := $(B)/libpl.a $(INST_B)/$(LIBPL_SO_REAL) $(B)/plctl \
		  $(B)/plmcd $(B)/kvcore.img $(INST_B)/libplmemcached.a
# The libmemcached-compatible library (docs/compat.md), installed under
# plmc's own names so it never shadows a real libmemcached: the archive
# holds only its own objects (libpl comes through plmc.pc), the header
# goes under plmc/compat/ and plmc-memcached.pc points there.
COMPAT_INC := $(INCLUDEDIR)/plmc/compat/libmemcached

.PHONY: install uninstall install-test

$(INST_B)/$(LIBPL_SO_REAL): $(LIBPL_OBJS) libpl/libpl.map
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,--version-script=libpl/libpl.map \
		-Wl,-soname,$(LIBPL_SONAME) -Wl,-z,noexecstack -o $@ \
		$(LIBPL_OBJS)

$(INST_B)/libplmemcached.a: $(COMPAT_OBJS)
	@mkdir -p $(@D)
	@rm -f $@
	ar rcs $@ $^

UNIT_OLD := \# Install to /etc/systemd/system/ (make install will)
UNIT_NEW := \# Installed by make install in $(SYSTEMDUNITDIR)
# A folder under PREFIX as ${prefix}/... (pkg-config --define-prefix).
PC_REL = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))

install: $(INSTALL_INPUTS)
	$(INSTALL) -d $(DEST)$(BINDIR) $(DEST)$(LIBDIR) $(DEST)$(PKGCONFIGDIR) \
		$(DEST)$(INCLUDEDIR)/plmc $(DEST)$(PLMCLIBDIR) \
		$(DEST)$(MANDIR)/man3 $(DEST)$(MANDIR)/man7 \
		$(DEST)$(MANDIR)/man8 $(DEST)$(DOCDIR) $(DEST)$(SYSTEMDUNITDIR) \
		$(DEST)$(UDEVRULESDIR) $(DEST)$(SYSUSERSDIR) \
		$(DEST)$(MODULESLOADDIR) $(DEST)$(DKMSDIR)/kmod \
		$(DEST)$(DKMSDIR)/include/plmc $(DEST)$(COMPAT_INC)
	$(INSTALL) -m 0755 $(B)/plctl $(B)/plmcd $(DEST)$(BINDIR)
	$(INSTALL) -m 0644 $(INST_B)/libplmemcached.a $(DEST)$(LIBDIR)
	$(INSTALL) -m 0644 include/compat/libmemcached/memcached.h \
		$(DEST)$(COMPAT_INC)
	$(INSTALL) -m 0644 $(B)/libpl.a $(DEST)$(LIBDIR)
	$(INSTALL) -m 0755 $(INST_B)/$(LIBPL_SO_REAL) $(DEST)$(LIBDIR)
	ln -sf $(LIBPL_SO_REAL) $(DEST)$(LIBDIR)/$(LIBPL_SONAME)
	ln -sf $(LIBPL_SONAME) $(DEST)$(LIBDIR)/libpl.so
	$(INSTALL) -m 0644 include/plmc.h $(DEST)$(INCLUDEDIR)
	$(INSTALL) -m 0644 $(PLMC_HDRS) $(DEST)$(INCLUDEDIR)/plmc
	$(INSTALL) -m 0644 $(B)/kvcore.img $(DEST)$(PLMCLIBDIR)
	$(INSTALL) -m 0644 docs/man/libpl.3 $(DEST)$(MANDIR)/man3
	$(INSTALL) -m 0644 docs/man/plmc.7 $(DEST)$(MANDIR)/man7
	$(INSTALL) -m 0644 docs/man/plctl.8 docs/man/plmcd.8 \
		$(DEST)$(MANDIR)/man8
	for f in $(MAN_LINKS); do \
		echo '.so man3/libpl.3' > $(DEST)$(MANDIR)/man3/$$f.3 || exit 1; \
		chmod 0644 $(DEST)$(MANDIR)/man3/$$f.3; \
	done
	$(INSTALL) -m 0644 docs/install.md README.md LICENSE $(DEST)$(DOCDIR)
	$(INSTALL) -m 0644 kmod/99-plmc.rules $(DEST)$(UDEVRULESDIR)
	$(INSTALL) -m 0644 kmod/dkms.conf $(DEST)$(DKMSDIR)
	$(INSTALL) -m 0644 $(KMOD_SRCS) $(DEST)$(DKMSDIR)/kmod
	$(INSTALL) -m 0644 $(PLMC_HDRS) $(DEST)$(DKMSDIR)/include/plmc
	# The generated ones go straight into DESTDIR: they name PREFIX, and
	# a shared intermediate in build/ would race between two installs.
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call PC_REL,$(LIBDIR))' \
		'includedir=$(call PC_REL,$(INCLUDEDIR))' \
		'imagedir=$(call PC_REL,$(PLMCLIBDIR))' '' 'Name: plmc' \
		'Description: plmc client runtime (memcached as a protected library)' \
		'Version: $(PLMC_VERSION)' \
		'Libs: -L$${libdir} -lpl' 'Libs.private: -pthread' \
		'Cflags: -I$${includedir}' > $(DEST)$(PKGCONFIGDIR)/plmc.pc
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(call PC_REL,$(LIBDIR))' \
		'includedir=$(call PC_REL,$(INCLUDEDIR))' '' \
		'Name: plmc-memcached' \
		'Description: libmemcached-compatible client over plmc segments and memcached servers' \
		'Version: $(PLMC_VERSION)' 'Requires: plmc' \
		'Libs: -L$${libdir} -lplmemcached' \
		'Cflags: -I$${includedir}/plmc/compat' \
		> $(DEST)$(PKGCONFIGDIR)/plmc-memcached.pc
	sed -e 's|^ExecStart=[^ ]*/plmcd |ExecStart=$(BINDIR)/plmcd |' \
	    -e 's|^$(UNIT_OLD)|$(UNIT_NEW)|' tools/plmcd/plmcd.service \
		> $(DEST)$(SYSTEMDUNITDIR)/plmcd.service
	grep -q '^ExecStart=$(BINDIR)/plmcd ' \
		$(DEST)$(SYSTEMDUNITDIR)/plmcd.service
	printf '%s\n' 'g plmc - - -' \
		'u plmcd - "plmcd (plmc store over memcached protocol)" /nonexistent /usr/sbin/nologin' \
		'm plmcd plmc' > $(DEST)$(SYSUSERSDIR)/plmc.conf
	echo 'plmc' > $(DEST)$(MODULESLOADDIR)/plmc.conf
	chmod 0644 $(DEST)$(PKGCONFIGDIR)/plmc.pc \
		$(DEST)$(PKGCONFIGDIR)/plmc-memcached.pc \
		$(DEST)$(SYSTEMDUNITDIR)/plmcd.service \
		$(DEST)$(SYSUSERSDIR)/plmc.conf $(DEST)$(MODULESLOADDIR)/plmc.conf
	$(LDCONFIG_STEP)
	@$(if $(SYSTEM_PREFIX),:,echo 'note: PREFIX=$(PREFIX): the udev rule,' \
		'sysusers.d and modules-load.d entries and the DKMS tree are' \
		'under $(PREFIX) (udev, systemd and dkms do not read them' \
		'there); docs/install.md')

# Into the live system (no DESTDIR), the dynamic linker's cache must learn
# libpl.so.0, or programs linked with -lpl do not start; as root, run
# ldconfig, else say so. A staging root (DESTDIR) is a package's business.
define LDCONFIG_STEP
	@if [ -n '$(DESTDIR)' ]; then :; \
	elif [ -z '$(SYSTEM_PREFIX)' ]; then echo 'note: $(LIBDIR) is' \
		'not in the dynamic linker'"'"'s path: LD_LIBRARY_PATH=$(LIBDIR)'; \
	elif [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		echo ldconfig; ldconfig; \
	else echo 'note: run ldconfig as root, so that programs find' \
		'$(LIBDIR)/$(LIBPL_SONAME)'; fi
endef

# Files one by one (never a glob over a shared folder), then the folders
# only plmc uses. On the live system, DKMS first: while dkms has
# plmc/VERSION registered, removing its source folder would leave
# plmc.ko in /lib/modules and dkms status and remove failing; dkms remove
# takes the modules out of every kernel and forgets the version.
uninstall:
	@if [ -z '$(DESTDIR)' ] && [ -n '$(SYSTEM_PREFIX)' ] && \
	    command -v dkms >/dev/null && \
	    dkms status -m plmc -v $(PLMC_VERSION) 2>/dev/null | grep -q .; \
	then echo 'dkms remove plmc/$(PLMC_VERSION) --all'; \
		dkms remove plmc/$(PLMC_VERSION) --all || exit 1; fi
	rm -f $(DEST)$(BINDIR)/plctl $(DEST)$(BINDIR)/plmcd \
		$(DEST)$(LIBDIR)/libpl.a $(DEST)$(LIBDIR)/libpl.so \
		$(DEST)$(LIBDIR)/$(LIBPL_SONAME) \
		$(DEST)$(LIBDIR)/$(LIBPL_SO_REAL) \
		$(DEST)$(PKGCONFIGDIR)/plmc.pc $(DEST)$(INCLUDEDIR)/plmc.h \
		$(DEST)$(LIBDIR)/libplmemcached.a \
		$(DEST)$(PKGCONFIGDIR)/plmc-memcached.pc \
		$(DEST)$(COMPAT_INC)/memcached.h \
		$(patsubst include/%,$(DEST)$(INCLUDEDIR)/%,$(PLMC_HDRS)) \
		$(DEST)$(PLMCLIBDIR)/kvcore.img \
		$(DEST)$(MANDIR)/man3/libpl.3 $(DEST)$(MANDIR)/man7/plmc.7 \
		$(DEST)$(MANDIR)/man8/plctl.8 $(DEST)$(MANDIR)/man8/plmcd.8 \
		$(patsubst %,$(DEST)$(MANDIR)/man3/%.3,$(MAN_LINKS)) \
		$(DEST)$(DOCDIR)/install.md $(DEST)$(DOCDIR)/README.md \
		$(DEST)$(DOCDIR)/LICENSE \
		$(DEST)$(SYSTEMDUNITDIR)/plmcd.service \
		$(DEST)$(UDEVRULESDIR)/99-plmc.rules \
		$(DEST)$(SYSUSERSDIR)/plmc.conf \
		$(DEST)$(MODULESLOADDIR)/plmc.conf
	rm -rf $(DEST)$(DKMSDIR)
	rmdir $(DEST)$(COMPAT_INC) $(DEST)$(INCLUDEDIR)/plmc/compat \
		$(DEST)$(INCLUDEDIR)/plmc $(DEST)$(PLMCLIBDIR) $(DEST)$(DOCDIR) \
		2>/dev/null || true
	$(PRUNE_STEP)
	$(LDCONFIG_STEP)

# The folders make install made, emptied by uninstall, go too, up to
# (not including) the root they were made under, but only in a root that
# is plmc's alone: a staging root (DESTDIR) or a PREFIX of the user's own.
# /usr and /usr/local's folders stay (other packages own them too).
INSTALL_DIRS = $(BINDIR) $(LIBDIR) $(PKGCONFIGDIR) $(INCLUDEDIR) \
	$(MANDIR)/man3 $(MANDIR)/man7 $(MANDIR)/man8 $(DOCDIR) \
	$(SYSTEMDUNITDIR) $(UDEVRULESDIR) $(SYSUSERSDIR) $(MODULESLOADDIR) \
	$(DKMSDIR) $(PLMCLIBDIR)
PRUNE_TOP = $(if $(DESTDIR),$(DESTDIR),$(PREFIX))
define PRUNE_STEP
	@if [ -n '$(DESTDIR)' ] || [ -z '$(SYSTEM_PREFIX)' ]; then \
		for d in $(patsubst %,$(DEST)%,$(INSTALL_DIRS)); do \
			while [ "$$d" != '$(PRUNE_TOP)' ] && \
			      [ "$${d#$(PRUNE_TOP)/}" != "$$d" ] && \
			      { [ ! -e "$$d" ] || rmdir "$$d" 2>/dev/null; }; do \
				d=$${d%/*}; done; \
		done; fi
endef

install-test: $(INSTALL_INPUTS)
	tests/install/run.sh

# make deb: the Debian packages (debian/), built by dpkg-buildpackage -b
# -us -uc in a copy of the source tree under build/deb/, so that its
# output (the .debs, .buildinfo, .changes, lintian's report) stays in
# build/deb/ and not in the folder above the tree.
# make deb-test: build them, then install, use and remove them in a
# throwaway root (tests/deb/run.sh).
DEB_B := $(B)/deb
DEB_SRC := $(DEB_B)/plmc-$(PLMC_VERSION)

.PHONY: deb deb-test
deb:
	DEB=1 scripts/deps.sh
	rm -rf $(DEB_B)
	mkdir -p $(DEB_SRC)
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -co --exclude-standard -z | \
			xargs -0 tar -cf - | tar -xf - -C $(DEB_SRC); \
	else \
		tar -cf - --exclude=./build . | tar -xf - -C $(DEB_SRC); \
	fi
	cd $(DEB_SRC) && dpkg-buildpackage -b -us -uc
	lintian --fail-on error,warning \
		$(DEB_B)/plmc_$(PLMC_VERSION)_amd64.changes \
		>$(DEB_B)/lintian.txt 2>&1; rc=$$?; \
		grep -v 'root privileges' $(DEB_B)/lintian.txt; exit $$rc
	ls $(DEB_B)/*.deb

deb-test: all
	DEB=1 scripts/deps.sh
	tests/deb/run.sh
