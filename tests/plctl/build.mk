# tests/plctl: plctl's stats, top and list on a live store.
.PHONY: plctl-test
plctl-test: $(B)/plctl $(PLMCD) $(COMPAT_TB)/ketama-plmc
	tests/plctl/run.sh

# tests/vm/vm_plctl.c compiles plctl in (the same views on the module).
$(B)/vm/vm_plctl: tools/plctl.c
