# shellcheck shell=bash
# scripts/lib.sh - the test host's common steps, sourced by vm-test.sh and
# run.sh: build plmc.ko for the test host's kernel, pack an initramfs, boot
# it under QEMU and judge the console.
#
# The test host is QEMU with TCG and `-cpu max`: the only place here with
# real PKU (KVM on this machine cannot expose it). Its kernel is Debian's
# installed image, so the module is built against the matching headers.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-$ROOT/build}
VM_TIMEOUT=${VM_TIMEOUT:-600}

die() {
	echo "$0: $*" >&2
	exit 1
}

# The kernel the test host boots: an image in /boot with headers.
vm_kver() {
	KVER=$("$ROOT/scripts/kver.sh") ||
		die "no kernel with both /boot/vmlinuz-* and headers (run make deps)"
	[ -r "/boot/vmlinuz-$KVER" ] || die "/boot/vmlinuz-$KVER is not readable"
}

# Build plmc.ko for $KVER from a copy of kmod/ in $B/kmod-$KVER/, so a build
# for the real host in kmod/ stays apart. The copy is a small tree of its
# own (kmod/ and include/ side by side) because kmod/Kbuild finds the shared
# headers at $(src)/../include. Any compiler or modpost warning fails.
# Sets KO to the module's path.
vm_build_kmod() {
	kb="$B/kmod-$KVER"
	mkdir -p "$kb/kmod" "$kb/include"
	# Sources only: a stale object copied from kmod/ could be from another
	# kernel. cp -p keeps times, so an unchanged file is not rebuilt.
	rm -f "$kb"/kmod/*.c "$kb"/kmod/*.h "$kb"/kmod/*.S "$kb/kmod/Kbuild"
	for f in "$ROOT"/kmod/*.c "$ROOT"/kmod/*.h "$ROOT"/kmod/*.S \
		"$ROOT/kmod/Kbuild"; do
		[ -e "$f" ] && cp -p "$f" "$kb/kmod/"
	done
	rm -rf "$kb/include"
	cp -pR "$ROOT/include" "$kb/include"
	log="$kb/build.log"
	if ! make -C "/lib/modules/$KVER/build" M="$kb/kmod" W=1 modules \
		>"$log" 2>&1; then
		cat "$log" >&2
		die "plmc.ko failed to build for $KVER"
	fi
	# make's own note about a parent's -jN is not the module's warning.
	if grep -a -Ei 'warning:|error:' "$log" |
		grep -a -v 'warning: jobserver unavailable' >/dev/null; then
		grep -a -Ei -B2 -A4 'warning:|error:' "$log" >&2
		# Objects that built with warnings must not look up to date
		# next time, or the warning would pass unseen.
		rm -f "$kb"/kmod/*.o "$kb"/kmod/*.ko
		die "plmc.ko built with warnings for $KVER (see $log)"
	fi
	KO="$kb/kmod/plmc.ko"
	[ -f "$KO" ] || die "no $KO after the build"
	echo "vm: built $(basename "$KO") for $KVER"
}

# The test host has two NUMA nodes, a CPU and 512 MiB each, so placement
# can be checked (tests/vm/vm_numa.c); VM_NUMA=1 boots one node. One socket
# per CPU: two nodes sharing a socket's cache make the kernel WARN.
vm_numa_args() {
	if [ "${VM_NUMA:-2}" = 2 ]; then
		echo "-smp 2,sockets=2,cores=1,threads=1" \
			"-object memory-backend-ram,id=m0,size=512M" \
			"-object memory-backend-ram,id=m1,size=512M" \
			"-numa node,nodeid=0,cpus=0,memdev=m0" \
			"-numa node,nodeid=1,cpus=1,memdev=m1"
	else
		echo "-smp 2"
	fi
}

# vm_boot INITRD LOG: boot the test host, console to stdout and LOG.
# Returns qemu's status under timeout (124: it ran past $VM_TIMEOUT s).
# VM_CPU picks the CPU model (default max: real PKU; max,pku=off: none).
vm_boot() {
	local rc
	# shellcheck disable=SC2046 # one word per option: split on purpose
	timeout "$VM_TIMEOUT" qemu-system-x86_64 -M q35 -cpu "${VM_CPU:-max}" -m 1G \
		$(vm_numa_args) -nographic -no-reboot -nic none -kernel "/boot/vmlinuz-$KVER" \
		-initrd "$1" -append "console=ttyS0 quiet panic=-1" \
		</dev/null 2>&1 | tr -d '\r' | tee "$2"
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ]; then
		echo "vm: FAILED: the test host ran past ${VM_TIMEOUT} s" | tee -a "$2"
	fi
	return "$rc"
}

# Kernel trouble in a console log: oops, BUG, WARN, panic, lockdep, hung.
VM_KERNEL_BAD='Oops|BUG:|WARNING:|kernel BUG|Call Trace:|general protection fault|Kernel panic|RIP: 0010|list_add corruption|hung_task|INFO: task'

# vm_judge LOG: 0 when the suite ran to its end cleanly, else 1. Prints the
# reason and the module's kernel lines on failure.
vm_judge() {
	log=$1
	bad=0
	summary=$(grep -a -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$summary" ]; then
		echo "vm: FAILED: no summary line (timeout, crash or panic)"
		bad=1
	elif [ "${summary##*, }" != "0 failed" ]; then
		echo "vm: FAILED: $summary"
		bad=1
	fi
	if ! grep -a -q '^plmc-vm: end$' "$log"; then
		echo "vm: FAILED: the guest did not reach its end marker"
		bad=1
	fi
	if grep -a -Eq "$VM_KERNEL_BAD" "$log"; then
		echo "vm: FAILED: kernel trouble in the console:"
		grep -a -E -A12 "$VM_KERNEL_BAD" "$log" | head -n 60
		bad=1
	fi
	if [ $bad != 0 ]; then
		# From the guest's dmesg dump, or from the console when the
		# guest never got that far; each line once.
		echo "vm: module's kernel lines:"
		grep -a -E '^\[ *[0-9]+\.[0-9]+\] .*plmc' "$log" |
			awk '!seen[$0]++' | grep . || echo "  (none)"
		echo "vm: console log: $log"
	fi
	return $bad
}
