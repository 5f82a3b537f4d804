# tests/cluster: Debian's twemproxy (nutcracker) in front of three plmcd
# nodes, the ketama clients against the same nodes, a node killed and
# restarted mid-run (tests/cluster/run.sh, about 5 s).
.PHONY: cluster-test
cluster-test: $(PY_MOD) $(PY_FILES) $(B)/plctl $(PLMCD) \
		$(COMPAT_TB)/ketama-deb $(COMPAT_TB)/ketama-plmc
	tests/cluster/run.sh
