# tests/plctl: plctl's stats, top and list on a live store.
.PHONY: plctl-test
plctl-test: $(B)/plctl $(PLMCD) $(COMPAT_TB)/ketama-plmc
	tests/plctl/run.sh
