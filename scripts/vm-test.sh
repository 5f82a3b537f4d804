#!/usr/bin/env bash
# vm-test.sh - the VM suite: plmc.ko and the static test programs in the
# test host (QEMU TCG, -cpu max: real PKU), one line per test, a summary.
#
# Run by `make vm-test` after `make tests`. Exits non-zero on any failed
# test, a missing summary, kernel trouble in the console, or a timeout.
# The console is kept in build/vm/console.log. A second boot, without the
# module, runs the pku backend's tests (build/vm/console-pku.log).
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

# boot_judged INITRD LOG LABEL: boot the test host (VM_CPU as set), time
# it, judge its console (lib.sh: vm_judge) and print its summary as
# "LABEL: N passed, N failed". Exits 1 on failure.
boot_judged() {
	local initrd=$1 log=$2 label=$3 start rc=0
	start=$(date +%s)
	vm_boot "$initrd" "$log" || rc=$?
	echo "vm: the test host ran $(($(date +%s) - start)) s"
	if ! vm_judge "$log" || [ "$rc" != 0 ]; then
		[ "$rc" != 0 ] && echo "vm: qemu exited with status $rc"
		exit 1
	fi
	grep -a -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1 | sed "s/^/$label: /"
}

vm_kver
vm_build_kmod

# VM_ONLY="atk_gate vm_basic ...": pack only the programs named (while
# iterating on a few tests; crash_driver runs only when named). Unset or
# empty: all of them, as make test does.
VM_ONLY=${VM_ONLY:-}
progs=()
for p in "$B"/vm/vm_* "$B"/vm/atk_* "$B"/vm/ut_* "$B"/vm/crash_driver; do
	[ -x "$p" ] || continue
	if [ -n "$VM_ONLY" ] && [[ " $VM_ONLY " != *" $(basename "$p") "* ]]; then
		continue
	fi
	progs+=("$p")
done
[ ${#progs[@]} -gt 0 ] || die "no test programs in $B/vm${VM_ONLY:+ matching VM_ONLY=$VM_ONLY} (run make tests)"
[ -n "$VM_ONLY" ] && echo "vm: VM_ONLY: only ${#progs[@]} programs"
for f in "$B/kvcore.img" "$B/kvcore-bad.img"; do
	[ -f "$f" ] || die "missing $f (run make tests)"
done

# The attack suite's O_DIRECT attack needs a block device: the RAM disk.
# Debian ships 6.1's modules plain and 6.12's xz-compressed, which
# busybox's insmod cannot read: unpack it.
brd="/lib/modules/$KVER/kernel/drivers/block/brd.ko"
if [ ! -f "$brd" ] && [ -f "$brd.xz" ]; then
	mkdir -p "$B/vm/mod-$KVER"
	xz -dc "$brd.xz" >"$B/vm/mod-$KVER/brd.ko"
	brd="$B/vm/mod-$KVER/brd.ko"
fi
[ -f "$brd" ] && progs+=("$brd")
# The libraries atk_dlopen loads after attach (tests/attacks/xlib.c).
for s in "$B"/vm/xlib_*.so; do
	[ -f "$s" ] && progs+=("$s")
done

# Python (tests/vm/python/vm_python.sh) needs its tree in the root.
pytree=""
[[ " ${progs[*]} " == *"/vm_python "* ]] && [ -d "$B/vm/pytree" ] &&
	pytree="$B/vm/pytree"
# plmcd (tests/plmcd/vm/vm_plmcd.sh) needs its own: plmcd, openssl, libs
[[ " ${progs[*]} " == *"/vm_plmcd "* ]] && [ -d "$B/vm/plmcdtree" ] &&
	pytree="$pytree:$B/vm/plmcdtree"

# atk_lazy (tests/attacks/lazy/) is linked dynamically: the shared
# libraries it needs from the host (ld.so, libc), at the paths ld.so
# looks in; its own library is /vm/xlib_lazy.so.
if [[ " ${progs[*]} " == *"/atk_lazy "* ]]; then
	lt="$B/vm/lazytree"
	rm -rf "$lt"
	for so in $(ldd "$B/vm/atk_lazy" | grep -v xlib_lazy | grep -o '/[^ ]*'); do
		mkdir -p "$lt/$(dirname "$so")"
		cp -L "$so" "$lt/$so"
	done
	pytree="$pytree:$lt"
fi

initrd="$B/vm/initrd-test.gz"
VM_TREE=$pytree "$ROOT/scripts/mkinitramfs.sh" "$initrd" "$ROOT/tests/vm/run-suite.sh" \
	"$KO" "$B/kvcore.img" "$B/kvcore-bad.img" "${progs[@]}"
echo "vm: booting $KVER under TCG with ${#progs[@]} test programs" \
	"(limit ${VM_TIMEOUT} s)"

boot_judged "$initrd" "$B/vm/console.log" "vm suite"

# VM_ONLY names the programs of the first boot: the later boots are left
# out unless VM_PKU=1 asks for them too.
if [ -n "$VM_ONLY" ] && [ "${VM_PKU:-0}" != 1 ]; then
	echo "vm: VM_ONLY: the pku and no-PKU boots are left out (VM_PKU=1 runs them)"
	exit 0
fi

# The pku backend, in a test host booted without the module: unit tests
# through the gate and the stray-access tests (tests/vm/run-pku.sh).
pku=()
for p in "$B"/vm-pku/test_* "$B/vm/pku_stray"; do
	[ -x "$p" ] || die "missing $p (run make tests)"
	pku+=("$p")
done
initrd="$B/vm/initrd-pku.gz"
"$ROOT/scripts/mkinitramfs.sh" "$initrd" "$ROOT/tests/vm/run-pku.sh" \
	"$B/kvcore.img" "${pku[@]}"
echo "vm: booting $KVER without the module: pku backend, ${#pku[@]} programs"
boot_judged "$initrd" "$B/vm/console-pku.log" "vm pku"

# A CPU without PKU (-cpu max,pku=off), plmc.ko offered to insmod: the
# module must refuse to load and say why; libpl falls back to the none
# backend, says so, and the same unit tests pass through it
# (tests/vm/run-pku.sh in its nopku mode; tests/vm/nopku_check.c).
nopku=("$B/vm/nopku_check")
for p in "$B"/vm-pku/test_*; do
	nopku+=("$p")
done
initrd="$B/vm/initrd-nopku.gz"
"$ROOT/scripts/mkinitramfs.sh" "$initrd" "$ROOT/tests/vm/run-pku.sh" \
	"$KO" "$B/kvcore.img" "${nopku[@]}"
echo "vm: booting $KVER on a CPU without PKU (pku=off): ${#nopku[@]} programs"
VM_CPU=max,pku=off boot_judged "$initrd" "$B/vm/console-nopku.log" "vm no-pku"
echo "vm-test: all passed"
