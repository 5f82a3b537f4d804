#!/bin/sh
# Print the newest Debian kernel version with both an image in /boot and a
# build tree (headers) in /lib/modules: the test host's kernel.
for img in $(ls -1 /boot/vmlinuz-* 2>/dev/null | sort -rV); do
	v=${img#/boot/vmlinuz-}
	if [ -f "/lib/modules/$v/build/Makefile" ]; then
		echo "$v"
		exit 0
	fi
done
exit 1
