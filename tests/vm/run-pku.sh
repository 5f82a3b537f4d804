#!/bin/sh
# The pku backend's payload (/run.sh of a test host booted without
# plmc.ko): the host unit tests in /vm/test_* with PLMC_BACKEND=pku (AUTO
# picks pku there), then /vm/pku_stray. One summary line at the end.
#
# The same payload serves the boot without PKU (-cpu max,pku=off, plmc.ko
# offered to insmod, /vm/nopku_check packed instead of /vm/pku_stray): the
# module must have refused to load, and the unit tests run with AUTO,
# which falls back to the none backend there.
#
# Check's own "N%: Checks: ..." lines are shown indented, so CI's totals
# (which read them at the start of a line) count each check once, here.
LIMIT=${VM_PROG_LIMIT:-240}
out=/tmp/pku.out
: >"$out"
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
if [ -c /dev/plmc ] || grep -q '^plmc ' /proc/modules; then
	echo "FAIL pku.setup: the module is loaded" | tee -a "$out"
fi
nopku=0
[ -x /vm/nopku_check ] && nopku=1
if [ $nopku = 1 ]; then
	dmesg >/tmp/dmesg
else
	export PLMC_BACKEND=pku
fi
export CK_TIMEOUT_MULTIPLIER=20
for t in /vm/test_*; do
	[ -x "$t" ] || continue
	n=$(basename "$t")
	cd /tmp || exit 1
	t0=$(date +%s)
	timeout "$LIMIT" "$t" >/tmp/prog.out 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	grep -v '^plmc: backend \(pku\|none\)' /tmp/prog.out | sed 's/^/  /'
	line=$(grep -E '^[0-9]+%: Checks: ' /tmp/prog.out | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL unit.$n: no Check summary (status $rc)" | tee -a "$out"
		continue
	fi
	# "100%: Checks: 8, Failures: 0, Errors: 0"
	set -- $(echo "$line" | tr -d ',')
	np=$(($3 - $5 - $7))
	nf=$(($5 + $7))
	i=0
	while [ $i -lt $np ]; do echo "PASS unit.$n" >>"$out"; i=$((i + 1)); done
	i=0
	while [ $i -lt $nf ]; do echo "FAIL unit.$n" >>"$out"; i=$((i + 1)); done
	echo "unit.$n: $np of $3 checks passed (status $rc, ${secs} s)"
	[ "$rc" != 0 ] && [ "$nf" = 0 ] &&
		echo "FAIL unit.$n: exited with status $rc" | tee -a "$out"
done
rm -f /dev/shm/plmc.ut-* /dev/shm/.plmc.ut-*
cd /tmp || exit 1
if [ $nopku = 1 ]; then
	timeout "$LIMIT" /vm/nopku_check >/tmp/prog.out 2>&1
	rc=$?
	cat /tmp/prog.out | tee -a "$out"
	[ "$rc" != 0 ] && ! grep -q '^FAIL ' /tmp/prog.out &&
		echo "FAIL nopku_check: exited with status $rc" | tee -a "$out"
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	echo "$p passed, $f failed"
	exit 0
fi
timeout "$LIMIT" /vm/pku_stray >/tmp/prog.out 2>&1
rc=$?
grep -v '^plmc: backend pku' /tmp/prog.out
cat /tmp/prog.out >>"$out"
if [ "$rc" != 0 ] && ! grep -q '^FAIL ' /tmp/prog.out; then
	echo "FAIL pku_stray: exited with status $rc" | tee -a "$out"
fi
# Attach says on stderr what it does not protect against.
said=$(grep -a -m1 '^plmc: backend pku' /tmp/prog.out)
case "$said" in
*"hostile client"*) echo "PASS pku.announced ($said)" | tee -a "$out" ;;
*) echo "FAIL pku.announced: no warning on stderr" | tee -a "$out" ;;
esac
p=$(grep -c '^PASS ' "$out")
f=$(grep -c '^FAIL ' "$out")
echo "$p passed, $f failed"
