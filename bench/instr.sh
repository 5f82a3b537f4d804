#!/usr/bin/env bash
# bench/instr.sh [OUT.md] - instructions per operation, the primary figure.
#
# Each in-process contender runs the same plbench loop under callgrind
# with --callgrind: collection is switched on around the operation only
# (do_get/do_set/do_mget: key choice, timing and bookkeeping excluded).
# The null contender (no operation) measures what the two switches cost
# themselves; it is subtracted. Instruction counts do not depend on the
# machine's load, unlike timings. Contenders: plmc (backend none: the
# two WRPKRUs of a PKU gate are not in the counts), bare (the limit: an
# in-process hash table and memcpy), lmdb (Debian's liblmdb). 10,000 keys
# of 20 bytes, 100-byte values, uniform keys, all hits.
#
# Prints a markdown table (and writes it to OUT.md when given).
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build
ops=${OPS:-20000}
tmp=$(mktemp -d)
store=instr$$
export PLMC_BACKEND=none
trap '"$B/plctl" destroy "$store" --force >/dev/null 2>&1; rm -rf "$tmp"' EXIT
"$B/plctl" create "$store" --size 64M --backend none >/dev/null

# count TARGET ARGS...: instructions per op of the loop's operations.
count() {
	local target=$1
	shift
	rm -f "$tmp"/cg.*
	valgrind --tool=callgrind --trace-children=yes --collect-atstart=no \
		--callgrind-out-file="$tmp/cg.%p" "$B/plbench" --target "$target" \
		--keys 10000 --value-size 100 --ops "$ops" --callgrind "$@" \
		>/dev/null 2>&1
	local n
	n=$(for f in "$tmp"/cg.*; do
		grep -m1 '^summary:' "$f" | awk '{ print $2 }'
	done | sort -n | tail -1)
	echo $(( ${n:-0} / ops ))
}

"$B/plbench" --target "plmc:$store" --keys 10000 --value-size 100 --load \
	--ops 0 >/dev/null 2>&1
"$B/plbench" --target "lmdb:$tmp/lmdb" --keys 10000 --value-size 100 \
	--load --ops 0 >/dev/null 2>&1

declare -A ir
for w in get:--get-pct=100 set:--get-pct=0 mget10:--mget=10; do
	name=${w%%:*}
	arg=${w#*:}
	null=$(count null: "${arg%%=*}" "${arg#*=}")
	for c in "plmc:plmc:$store" "bare:bare:" "lmdb:lmdb:$tmp/lmdb"; do
		label=${c%%:*}
		extra=()
		[ "$label" = bare ] && extra=(--load)
		v=$(count "${c#*:}" "${arg%%=*}" "${arg#*=}" "${extra[@]}")
		ir[$label.$name]=$((v - null))
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
{
	echo "| instructions per op (callgrind) | plmc | bare (limit) | lmdb | plmc / limit | lmdb / limit |"
	echo "|---|---:|---:|---:|---:|---:|"
	for w in get set mget10; do
		p=${ir[plmc.$w]} b=${ir[bare.$w]} l=${ir[lmdb.$w]}
		echo "| $w | $p | $b | $l | $(ratio "$p" "$b") | $(ratio "$l" "$b") |"
	done
	echo
	echo "mget10 is one operation of 10 keys (per key: a tenth)."
} | tee "${1:-/dev/null}"
