#!/usr/bin/env bash
# vm-pytree.sh OUT PKG EVIL - a minimal Python for the test host.
#
# OUT   a folder, made anew: a root tree the initramfs takes as it is
#       (scripts/mkinitramfs.sh, VM_TREE)
# PKG   build/python/plmc: the plmc package with its extension
# EVIL  an extension module whose text holds WRPKRU (tests/vm/python/evil.c)
#
# Debian's python3 with the shared libraries it links (ld.so, libc, libm,
# libz, libexpat), the few pure-Python modules its start-up needs with -S
# (encodings), and three of Debian's extension modules (lib-dynload: _json,
# _contextvars, resource), which the guest imports after attach: dlopen of clean,
# write-denied files. The package goes to /vm/py/plmc, the bad module to
# /vm/py/evil*.so.
set -euo pipefail
[ $# = 3 ] || {
	echo "usage: $0 OUT PKG EVIL" >&2
	exit 2
}
out=$1 pkg=$2 evil=$3
py=$(readlink -f /usr/bin/python3)
ver=$(basename "$py") # python3.11
lib=/usr/lib/$ver

rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/$lib/lib-dynload" "$out/vm/py"
cp "$py" "$out/usr/bin/python3"
# Every shared library python3 links, at the path ld.so looks for it.
for so in $(ldd "$py" | grep -o '/[^ ]*'); do
	mkdir -p "$out/$(dirname "$so")"
	cp -L "$so" "$out/$so"
done
cp -r "$lib/encodings" "$out/$lib/"
cp "$lib/os.py" "$out/$lib/" # the landmark python3 finds its prefix by
rm -rf "$out/$lib/encodings/__pycache__"
for m in _json _contextvars resource; do
	cp "$lib"/lib-dynload/"$m".cpython-*.so "$out/$lib/lib-dynload/"
done
cp -r "$pkg" "$out/vm/py/plmc"
# The standard modules the package itself imports (threading, resource,
# ...), found by importing it here as the guest does (-S): a module the
# package starts to use cannot be forgotten here.
/usr/bin/python3 -S -c '
import sys
sys.path.insert(0, sys.argv[1])
import plmc
for m in list(sys.modules.values()):
    f = getattr(m, "__file__", None) or ""
    if f.startswith(sys.argv[2] + "/"):
        print(f)
' "$(dirname "$pkg")" "$lib" | while read -r f; do
	mkdir -p "$out/$(dirname "$f")"
	cp "$f" "$out/$f"
done
cp "$evil" "$out/vm/py/"
