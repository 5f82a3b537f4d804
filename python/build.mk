# python: the CPython package plmc (python/plmc/*.py) and its extension
# plmc._plmc (python/_plmc.c) built against Debian's python3, into
# build/python/plmc/ (PYTHONPATH=build/python imports it).
#
# The extension carries its own copy of libpl and of the
# libmemcached-compatible library (position-independent objects, linked
# in), and exports only PyInit__plmc, so it needs no libpl.so at run time
# and never clashes with a libmemcached loaded beside it.

PYTHON3 ?= /usr/bin/python3
PY_CONFIG := $(PYTHON3)-config
PY_EXT := $(shell $(PY_CONFIG) --extension-suffix 2>/dev/null)
PY_INC := $(shell $(PY_CONFIG) --includes 2>/dev/null)
PY_B := $(B)/python/plmc
PY_MOD := $(PY_B)/_plmc$(PY_EXT)
PY_SRCS := $(wildcard python/plmc/*.py)
PY_FILES := $(patsubst python/plmc/%,$(PY_B)/%,$(PY_SRCS))

ifneq ($(PY_EXT),)
ALL_TARGETS += $(PY_MOD) $(PY_FILES)
endif

$(B)/python/_plmc.o: python/_plmc.c $(COMPAT_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 -g $(WARN) -fPIC -D_GNU_SOURCE -pthread \
		-I$(CURDIR)/include -I$(CURDIR)/include/compat $(PY_INC) \
		-fno-strict-aliasing -c -o $@ $<

$(B)/python/plmc.map:
	@mkdir -p $(@D)
	printf '{ global: PyInit__plmc; local: *; };\n' > $@

$(PY_MOD): $(B)/python/_plmc.o $(COMPAT_OBJS) $(LIBPL_OBJS) $(B)/python/plmc.map
	@mkdir -p $(@D)
	$(CC) -shared -pthread -Wl,--version-script=$(B)/python/plmc.map \
		-Wl,-z,noexecstack -Wl,-z,relro -Wl,-z,now -o $@ \
		$(B)/python/_plmc.o $(COMPAT_OBJS) $(LIBPL_OBJS)

$(PY_B)/%.py: python/plmc/%.py
	@mkdir -p $(@D)
	cp $< $@

.PHONY: python python-test
python: $(PY_MOD) $(PY_FILES)

# tests/python (pytest): against memcached and Debian's libmemcached.
python-test: $(PY_MOD) $(PY_FILES) $(B)/plctl $(PLMCD) $(COMPAT_TB)/ketama-deb
	tests/python/run.sh

# make install-python [DESTDIR=] [PYTHONDIR=]: the package into Python's
# site folder (Debian's python3 reads /usr/local/lib/python3.X/dist-packages
# and, for Debian packages, /usr/lib/python3/dist-packages). A PREFIX that
# is the user's base (PREFIX=$HOME/.local) gets the user's site folder
# (~/.local/lib/python3.X/site-packages: Debian's python3 reads no
# dist-packages there). Where the python3 does not look, a note says so.
PY_VER := $(shell $(PYTHON3) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
PY_USER := $(shell $(PYTHON3) -c 'import site; print(site.getuserbase(), site.getusersitepackages())' 2>/dev/null)
PYTHONDIR ?= $(if $(and $(PY_USER),$(filter $(abspath $(firstword $(PY_USER))),$(abspath $(PREFIX)))),$(lastword $(PY_USER)),$(PREFIX)/lib/python$(PY_VER)/dist-packages)

.PHONY: install-python uninstall-python
install-python: $(PY_MOD) $(PY_FILES)
	$(INSTALL) -d $(DESTDIR)$(PYTHONDIR)/plmc
	$(INSTALL) -m 0644 $(PY_SRCS) $(DESTDIR)$(PYTHONDIR)/plmc
	$(INSTALL) -m 0644 $(PY_MOD) $(DESTDIR)$(PYTHONDIR)/plmc
	@if [ -z "$(DESTDIR)" ] && ! $(PYTHON3) -c 'import os, sys; \
		sys.exit(os.path.realpath(sys.argv[1]) not in \
			 [os.path.realpath(p) for p in sys.path])' "$(PYTHONDIR)"; then \
		echo "note: $(PYTHON3) does not look in $(PYTHONDIR): run it with" \
			"PYTHONPATH=$(PYTHONDIR), or give PYTHONDIR= a folder it reads"; fi

uninstall-python:
	rm -f $(patsubst python/plmc/%,$(DESTDIR)$(PYTHONDIR)/plmc/%,$(PY_SRCS)) \
		$(DESTDIR)$(PYTHONDIR)/plmc/$(notdir $(PY_MOD))
	rm -rf $(DESTDIR)$(PYTHONDIR)/plmc/__pycache__
	-rmdir $(DESTDIR)$(PYTHONDIR)/plmc 2>/dev/null
