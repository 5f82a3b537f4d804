#!/bin/sh
# Print the test host's kernel version: by default the one Debian's
# linux-image-amd64 metapackage installs (bookworm: 6.1), so another kernel
# installed beside it does not change what `make test` boots. KERNEL=6.12
# picks the newest installed version starting with that prefix instead.
# Either way the version needs an image in /boot and headers in
# /lib/modules/VER/build.
usable() { [ -f "/boot/vmlinuz-$1" ] && [ -f "/lib/modules/$1/build/Makefile" ]; }

if [ -z "${KERNEL:-}" ]; then
	v=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null |
		sed -n 's/^linux-image-\([^ ,]*\).*/\1/p')
	if [ -n "$v" ] && usable "$v"; then
		echo "$v"
		exit 0
	fi
fi
for img in $(ls -1 /boot/vmlinuz-"${KERNEL:-}"* 2>/dev/null | sort -rV); do
	v=${img#/boot/vmlinuz-}
	if usable "$v"; then
		echo "$v"
		exit 0
	fi
done
exit 1
