# Python on the real module (tests/vm/python/): vm_python, a shell payload
# the suite runs like the other /vm/vm_* programs, and the Python tree the
# test host's root takes (scripts/vm-pytree.sh: Debian's python3 and the
# libraries it links, the plmc package, and evil, an extension module whose
# text holds WRPKRU). After python/build.mk: it needs PY_MOD and PY_EXT.

ifneq ($(PY_EXT),)
VM_PYTREE := $(B)/vm/pytree
VM_PY_EVIL := $(B)/vm/evil$(PY_EXT)

TEST_TARGETS += $(B)/vm/vm_python $(VM_PYTREE).stamp

$(B)/vm/vm_python: tests/vm/python/vm_python.sh
	@mkdir -p $(@D)
	install -m 755 $< $@

$(VM_PY_EVIL): tests/vm/python/evil.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) -O2 $(WARN) -fPIC -shared $(PY_INC) -o $@ $<

$(VM_PYTREE).stamp: scripts/vm-pytree.sh $(PY_MOD) $(PY_FILES) $(VM_PY_EVIL)
	scripts/vm-pytree.sh $(VM_PYTREE) $(PY_B) $(VM_PY_EVIL)
	touch $@
endif
