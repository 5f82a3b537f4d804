#!/usr/bin/env bash
# bench/profile.sh - where the instructions of a plmc get hit go.
#
# Runs the get100 workload under callgrind (instruction counts: repeatable,
# independent of machine load), then names the image's functions: callgrind
# sees the image as anonymous code at PLMC_BASE, so its addresses are
# mapped to kvcore.elf's symbols here. Backend none (the two WRPKRUs of a
# PKU gate are not in these counts). Prints instructions per operation by
# function, top first.
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build
ops=${OPS:-100000}
store=prof$$
tmp=$(mktemp -d)
trap 'PLMC_BACKEND=none "$B/plctl" destroy "$store" --force >/dev/null 2>&1; rm -rf "$tmp"' EXIT
export PLMC_BACKEND=none
"$B/plctl" create "$store" --size 64M --backend none >/dev/null
"$B/plbench" --target "plmc:$store" --keys 10000 --load --ops 0 >/dev/null 2>&1
valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$tmp/cg.%p" \
	"$B/plbench" --target "plmc:$store" --keys 10000 --get-pct 100 \
	--ops "$ops" >/dev/null 2>&1
worker=$(ls -S "$tmp"/cg.* | head -1)
nm -n "$B/kvcore.elf" | awk '$2 ~ /^[tT]$/ { print $1, $3 }' >"$tmp/syms"
callgrind_annotate --auto=no --threshold=100 "$worker" >"$tmp/ann" 2>/dev/null
/usr/bin/python3 - "$tmp/ann" "$tmp/syms" "$ops" <<'PY'
import bisect, re, sys
ann, syms, ops = sys.argv[1], sys.argv[2], int(sys.argv[3])
addr, name = [], []
for line in open(syms):
    a, n = line.split()
    addr.append(int(a, 16)); name.append(n)
total, per = 0, {}
for line in open(ann):
    m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(\S+)", line)
    if not m:
        continue
    ir, fn = int(m.group(1).replace(",", "")), m.group(2)
    if fn == "PROGRAM" or not (":" in fn):
        continue
    img = re.match(r"\?\?\?:(0x0*6000[0-9a-f]+)", fn)
    if img:
        i = bisect.bisect_right(addr, int(img.group(1), 16)) - 1
        fn = "kvcore:" + (name[i] if i >= 0 else "?")
    else:
        fn = fn.split(":")[-1]
    per[fn] = per.get(fn, 0) + ir
    total += ir
print("instructions per get hit (%d ops, backend none): %.0f in all" % (ops, total / ops))
for fn, ir in sorted(per.items(), key=lambda x: -x[1])[:15]:
    print("%8.1f  %s" % (ir / ops, fn))
PY
