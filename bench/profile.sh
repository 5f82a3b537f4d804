#!/usr/bin/env bash
# bench/profile.sh [get|set|mget10] - where a plmc operation's
# instructions go, by function.
#
# Runs plbench under callgrind with --callgrind (collection on around the
# operation alone: key choice, timing and bookkeeping excluded), 10,000
# keys of 20 bytes, 100-byte values, all hits. Instruction counts do not
# depend on the machine's load. Callgrind's own function names are wrong
# inside the image (it sees anonymous code, and the gate's stack switch
# confuses its call tracking), so costs are summed per instruction
# address (--dump-instr) and the image's addresses are named from
# kvcore.elf. Backend none: the two WRPKRUs of a PKU gate are not in the
# counts. The "worker_main" line is the cost of the two collection
# switches themselves (bench/instr.sh subtracts it).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build
ops=${OPS:-20000}
case ${1:-get} in
get) args=(--get-pct 100) ;;
set) args=(--get-pct 0) ;;
mget10) args=(--mget 10) ;;
*) echo "usage: $0 [get|set|mget10]" >&2; exit 2 ;;
esac
store=prof$$
tmp=$(mktemp -d)
trap 'PLMC_BACKEND=none "$B/plctl" destroy "$store" --force >/dev/null 2>&1; rm -rf "$tmp"' EXIT
export PLMC_BACKEND=none
"$B/plctl" create "$store" --size 64M --backend none >/dev/null
"$B/plbench" --target "plmc:$store" --keys 10000 --value-size 100 --load \
	--ops 0 >/dev/null 2>&1
valgrind --tool=callgrind --trace-children=yes --collect-atstart=no \
	--dump-instr=yes --dump-line=no --callgrind-out-file="$tmp/cg.%p" \
	"$B/plbench" --target "plmc:$store" --keys 10000 --value-size 100 \
	--ops "$ops" --callgrind "${args[@]}" >/dev/null 2>&1
worker=$(ls -S "$tmp"/cg.* | head -1)
nm -n "$B/kvcore.elf" | awk '$2 ~ /^[tT]$/ { print $1, $3 }' >"$tmp/syms"
/usr/bin/python3 - "$worker" "$tmp/syms" "$ops" "${1:-get}" <<'PY'
import bisect, re, sys
cg, syms, ops, what = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
addr, name = [], []
for line in open(syms):
    a, n = line.split()
    addr.append(int(a, 16)); name.append(n)
names, per = {}, {}
fn, cur, skip = "?", 0, False
pos = re.compile(r"^(0x[0-9a-fA-F]+|\+\d+|-\d+|\*)\s+(.*)$")
for line in open(cg):
    m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
    if m:
        if m.group(2):
            names[m.group(1)] = m.group(2).strip()
        if line.startswith("fn="):
            fn = names.get(m.group(1), "?")
        continue
    if line.startswith("calls="):
        skip = True  # the next line is the call's inclusive cost
        continue
    m = pos.match(line)
    if not m:
        continue
    p = m.group(1)
    cur = (int(p, 16) if p.startswith("0x") else
           cur + int(p[1:]) if p[0] == "+" else
           cur - int(p[1:]) if p[0] == "-" else cur)
    if skip:
        skip = False
        continue
    ir = int(m.group(2).split()[-1])
    if 0x600000000000 <= cur < 0x600000100000:
        i = bisect.bisect_right(addr, cur) - 1
        k = "kvcore:" + (name[i] if i >= 0 else "?")
    else:
        k = fn
    per[k] = per.get(k, 0) + ir
total = sum(per.values())
print("instructions per %s (%d ops, backend none): %.0f in all"
      % (what, ops, total / ops))
for k, ir in sorted(per.items(), key=lambda x: -x[1])[:16]:
    print("%8.1f  %s" % (ir / ops, k))
PY
