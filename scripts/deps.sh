#!/bin/sh
# Install every Debian package plmc needs to build, test and benchmark.
# Quick and quiet when everything is present (one dpkg-query); otherwise one
# apt-get update and one install of what is missing. Runs as root, or
# through sudo when that exists.
set -eu

PKGS="build-essential make pkg-config check liburcu-dev
qemu-system-x86 linux-image-amd64 linux-headers-amd64
busybox-static cpio gzip memcached libmemcached-tools libmemcached-dev gnuplot-nox
clang libclang-rt-14-dev python3 python3-dev python3-pytest python3-pymemcache valgrind
liblmdb-dev
libfaketime
nutcracker
groff-base man-db
libssl-dev openssl libsasl2-dev libsasl2-modules sasl2-bin libio-socket-ssl-perl"

# A second test-host kernel, only when asked for (make vm-test KERNEL=6.12):
# the default path checks nothing more.
case "${KERNEL:-}" in
6.12*) PKGS="$PKGS linux-image-6.12-amd64 linux-headers-6.12-amd64 xz-utils" ;;
esac
# The Debian packages (make deb, make deb-test) only: their build tools,
# lintian, and dkms for installing plmc-dkms.
case "${DEB:-}" in
1) PKGS="$PKGS debhelper dh-dkms dh-python dkms lintian" ;;
esac

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done

# memcached's own t/ suite (make plmcd-test) runs from Debian's source
# package, fetched here, where the network is (plmc-iso has none).
"$(dirname "$0")/../tests/plmcd/fetch-memcached.sh" ||
	echo "deps: memcached's source not fetched; make plmcd-test will fail" >&2

if [ -z "$missing" ]; then
	exit 0
fi

echo "deps: installing:$missing"
if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: not root and no sudo; install:$missing" >&2
	exit 1
fi

$SUDO apt-get update -q
# shellcheck disable=SC2086 # one word per package: split on purpose
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
	--no-install-recommends $missing
