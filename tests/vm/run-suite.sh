#!/bin/sh
# The VM suite's payload (/run.sh in the test host's initramfs): run every
# /vm/vm_* program, each under a time limit, and print one summary line.
#
# Each program prints "PASS name [(note)]" or "FAIL name: reason" per test.
# A program that exits non-zero, is killed or runs past its limit without
# having printed a FAIL adds one FAIL line of its own, so a crash is never
# silent. The last line is exactly "N passed, N failed".
#
# Then the attack programs (/vm/atk_*, tests/attacks/) run the same way;
# their "ROW attack|expected|observed|result" lines become one table, and
# their "KNOWN-GAP name: reason" lines (holes SECURITY.md documents) are
# shown but not counted.
LIMIT=${VM_PROG_LIMIT:-240}
out=/tmp/suite.out
: >"$out"
if [ ! -c /dev/plmc ]; then
	echo "FAIL suite.module: /dev/plmc missing after insmod" | tee -a "$out"
fi
for t in /vm/vm_* /vm/atk_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	cd /tmp || exit 1
	timeout "$LIMIT" "$t" >/tmp/prog.out 2>&1
	rc=$?
	grep -v '^ROW ' /tmp/prog.out
	cat /tmp/prog.out >>"$out"
	if [ "$rc" != 0 ] && ! grep -q '^FAIL ' /tmp/prog.out; then
		echo "FAIL $n: exited with status $rc" | tee -a "$out"
	fi
done
# A share of the host's store tests (Check programs, /vm/ut_*), on the
# module: one PASS/FAIL line each, with Check's own count. Sized for TCG.
for t in /vm/ut_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t" | sed 's/^ut_test_//')
	cd /tmp || exit 1
	STRESS_OPS=${VM_STRESS_OPS:-1500} CK_DEFAULT_TIMEOUT=200 \
		timeout "$LIMIT" "$t" >/tmp/ut.out 2>&1
	rc=$?
	sum=$(grep -a 'Checks:' /tmp/ut.out | tail -1)
	if [ "$rc" = 0 ]; then
		echo "PASS unit.$n ($sum)" | tee -a "$out"
	else
		grep -a ':[FE]:' /tmp/ut.out | head -10
		echo "FAIL unit.$n: status $rc ($sum)" | tee -a "$out"
	fi
done
# Crash injection on the real module (tests/crash/crash.c): kills at random
# instants and at every named crash point, a checked round after each. Its
# own summary stays in /tmp; one PASS/FAIL line goes to the suite.
if [ -x /vm/crash_driver ]; then
	cd /tmp || exit 1
	timeout "$LIMIT" /vm/crash_driver -k "${VM_CRASH_KILLS:-500}" \
		>/tmp/crash.out 2>&1
	rc=$?
	totals=$(grep '^crash: kills' /tmp/crash.out | cut -c8-)
	if [ "$rc" = 0 ] && grep -q '^crash: [0-9]* passed, 0 failed' /tmp/crash.out
	then
		echo "PASS crash.recovery_on_module ($totals)" | tee -a "$out"
	else
		grep -E '^(FAIL|E )' /tmp/crash.out | head -20
		tail -5 /tmp/crash.out
		echo "FAIL crash.recovery_on_module: status $rc ($totals)" |
			tee -a "$out"
	fi
	# The same on a store with 4 tenants (docs/tenants.md): each range
	# acts for one, read back as its tenant and missed by another.
	timeout "$LIMIT" /vm/crash_driver -k "${VM_CRASH_TENANT_KILLS:-150}" \
		-T 4 >/tmp/crash-t.out 2>&1
	rc=$?
	totals=$(grep '^crash: kills' /tmp/crash-t.out | cut -c8-)
	if [ "$rc" = 0 ] &&
		grep -q '^crash: [0-9]* passed, 0 failed' /tmp/crash-t.out
	then
		echo "PASS crash.tenants_on_module ($totals)" | tee -a "$out"
	else
		grep -E '^(FAIL|E )' /tmp/crash-t.out | head -20
		tail -5 /tmp/crash-t.out
		echo "FAIL crash.tenants_on_module: status $rc ($totals)" |
			tee -a "$out"
	fi
fi
if grep -q '^ROW ' "$out"; then
	echo "--- attack table ---"
	grep '^ROW ' "$out" | cut -c5- |
		awk -F'|' '{ printf "%-34s %-24s %-10s %s\n", $1, $2, $4, $3 }
			BEGIN { printf "%-34s %-24s %-10s %s\n", "attack",
				"expected", "result", "observed" }'
	echo "--- $(grep -c '^ROW ' "$out") attacks," \
		"$(grep -c '^KNOWN-GAP ' "$out") known gaps ---"
fi
p=$(grep -c '^PASS ' "$out")
f=$(grep -c '^FAIL ' "$out")
echo "$p passed, $f failed"
