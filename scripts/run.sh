#!/usr/bin/env bash
# run.sh - `make run`: the demo (tools/plmc-demo.c). With /dev/plmc on this
# machine it runs here; otherwise the module is built for the test host's
# kernel and the demo boots in it (QEMU TCG, real PKU), its output shown
# on this terminal. Exits with the demo's status.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"

demo="$B/vm/plmc-demo"
[ -x "$demo" ] || die "missing $demo (make run builds it)"

if [ -c /dev/plmc ]; then
	echo "run: /dev/plmc is here: running the demo on this machine"
	exec "$demo" "$@"
fi

vm_kver
vm_build_kmod
payload="$B/vm/run-demo.sh"
cat >"$payload" <<'EOS'
#!/bin/sh
# The test host's payload for `make run`.
cd /tmp
/vm/plmc-demo
echo "plmc-demo: exit $?"
EOS
initrd="$B/vm/initrd-demo.gz"
"$ROOT/scripts/mkinitramfs.sh" "$initrd" "$payload" "$KO" "$demo"
echo "run: no /dev/plmc here: booting the test host ($KVER, TCG, -cpu max)"
log="$B/vm/demo-console.log"
start=$(date +%s)
rc=0
# Only the guest's own lines: not the firmware's, nor the kernel log.
vm_boot "$initrd" "$log" >/dev/null || rc=$?
sed -n '/^plmc-vm: kernel/,/^--- dmesg begin ---$/p' "$log" | sed '$d'
echo "run: the test host ran $(($(date +%s) - start)) s (console: $log)"
if [ "$rc" != 0 ]; then
	echo "run: qemu exited with status $rc"
	exit 1
fi
if grep -a -Eq "$VM_KERNEL_BAD" "$log"; then
	echo "run: kernel trouble in the console:"
	grep -a -E -A12 "$VM_KERNEL_BAD" "$log" | head -n 40
	exit 1
fi
grep -a -q '^plmc-demo: exit 0$' "$log" || exit 1
