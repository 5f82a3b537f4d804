#!/usr/bin/env bash
# vm-tree.sh OUT PLMCD - add plmcd to the test host's root tree (the one
# scripts/vm-pytree.sh makes; tests/plmcd/vm/vm_plmcd.sh runs in it):
# plmcd as /usr/bin/plmcd, Debian's openssl as the TLS client, every
# shared library the two link at the path ld.so looks for it, and
# certificates made now (tests/plmcd/make-certs.sh; never committed) in
# /vm/plmcd-certs.
set -euo pipefail
[ $# = 2 ] || {
	echo "usage: $0 OUT PLMCD" >&2
	exit 2
}
out=$1 plmcd=$2
mkdir -p "$out/usr/bin" "$out/vm"
cp "$plmcd" "$out/usr/bin/plmcd"
cp "$(readlink -f /usr/bin/openssl)" "$out/usr/bin/openssl"
for so in $( (ldd "$plmcd"; ldd /usr/bin/openssl) | grep -o '/[^ ]*' | sort -u); do
	mkdir -p "$out/$(dirname "$so")"
	cp -L "$so" "$out/$so"
done
rm -rf "$out/vm/plmcd-certs"
"$(dirname "$0")/make-certs.sh" "$out/vm/plmcd-certs"
