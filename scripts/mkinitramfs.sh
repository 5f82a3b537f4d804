#!/usr/bin/env bash
# mkinitramfs.sh OUT RUN [FILE...] - pack the test host's initramfs.
#
# OUT   the gzip'd newc cpio archive to write
# RUN   a shell script, installed as /run.sh: the payload
# FILE  copied into /vm/ (the module, images, static programs)
#
# VM_TREE, when set, names folders (separated by ':') copied as they are
# into the root (the Python of scripts/vm-pytree.sh: /usr, /lib, /lib64;
# plmcd's of tests/plmcd/vm-tree.sh).
#
# The archive holds busybox-static (one link per applet), /init, /run.sh
# and /vm/. /init mounts proc, sysfs and devtmpfs, loads /vm/plmc.ko when
# it is there, runs /run.sh, dumps the kernel log between markers, prints
# "plmc-vm: end" and powers off. Whatever happens, the guest stops.
set -euo pipefail

[ $# -ge 2 ] || {
	echo "usage: $0 OUT RUN [FILE...]" >&2
	exit 2
}
out=$1
run=$2
shift 2

bb=/bin/busybox
# ldd says "not a dynamic executable" (status 1) for a static binary.
if [ ! -x "$bb" ] || ldd "$bb" >/dev/null 2>&1; then
	echo "$0: $bb missing or not static (install busybox-static)" >&2
	exit 1
fi

stage=$(mktemp -d "${TMPDIR:-/tmp}/plmc-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT

chmod 755 "$stage" # the guest's /: other uids must get through it
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,vm,root}
cp "$bb" "$stage/bin/busybox"
# One link per applet; never one named busybox, which would replace the
# binary with a link to itself.
for a in $("$bb" --list); do
	[ "$a" = busybox ] && continue
	ln -sf busybox "$stage/bin/$a"
done

cat >"$stage/init" <<'EOF'
#!/bin/sh
export PATH=/bin HOME=/root
echo
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
echo "plmc-vm: kernel $(uname -r), $(nproc) cpus," \
	"pku: $(grep -c -w pku /proc/cpuinfo) cpus"
if [ -f /vm/plmc.ko ]; then
	if insmod /vm/plmc.ko; then
		echo "plmc-vm: plmc.ko loaded, /dev/plmc: $(ls -l /dev/plmc 2>&1)"
	else
		echo "plmc-vm: insmod plmc.ko failed"
	fi
fi
sh /run.sh
echo "--- dmesg begin ---"
dmesg
echo "--- dmesg end ---"
echo "plmc-vm: end"
poweroff -f
EOF
chmod 755 "$stage/init"
install -m 755 "$run" "$stage/run.sh"
for f in "$@"; do
	install -m 755 "$f" "$stage/vm/"
done
# VM_TREE may name several folders, separated by ':' (Python's, plmcd's)
IFS=: read -r -a trees <<<"${VM_TREE:-}"
for t in "${trees[@]}"; do
	[ -n "$t" ] && cp -a "$t/." "$stage/"
done

(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$out.tmp"
mv "$out.tmp" "$out"
