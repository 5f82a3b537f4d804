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
# memcached (Debian's, one worker thread, over a Unix socket) is counted
# in user space only, client and server: the server under callgrind for
# N and 2N operations (the difference cancels start-up and preload), the
# client like the others. Callgrind sees no kernel instruction, and a
# socket round trip spends most of its time there (two syscalls, a
# wake-up): the memcached column is a floor, not its cost.
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
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

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

# memcached's server instructions per op for one workload ($@: plbench
# args): two runs under callgrind, N and 2N ops, the difference over N.
mc_server() {
	local n total=()
	local user=()
	[ "$(id -u)" = 0 ] && user=(-u root)
	for n in "$ops" $((2 * ops)); do
		rm -f "$tmp"/mc.* "$tmp/mc.sock"
		# Under valgrind the descriptor limit memcached may set is
		# valgrind's (12 below the hard limit): ask for exactly that.
		(ulimit -n 1024 && exec valgrind --tool=callgrind \
			--callgrind-out-file="$tmp/mc.%p" memcached "${user[@]}" \
			-s "$tmp/mc.sock" -t 1 -m 64 -c 1012) >/dev/null 2>&1 &
		local pid=$! i
		for i in $(seq 200); do [ -S "$tmp/mc.sock" ] && break; sleep 0.1; done
		"$B/plbench" --target "unix:$tmp/mc.sock" --keys 10000 \
			--value-size 100 --load --ops "$n" "$@" >/dev/null 2>&1
		kill -TERM "$pid"
		wait "$pid" || true
		total+=("$(grep -h -m1 '^summary:' "$tmp"/mc.* | awk '{ print $2 }')")
	done
	echo $(( (total[1] - total[0]) / ops ))
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
	# memcached: the client like the others (against a plain server),
	# plus the server under callgrind.
	rm -f "$tmp/mcc.sock"
	user=()
	[ "$(id -u)" = 0 ] && user=(-u root)
	memcached "${user[@]}" -s "$tmp/mcc.sock" -t 1 -m 64 >/dev/null 2>&1 &
	mcpid=$!
	for i in $(seq 100); do [ -S "$tmp/mcc.sock" ] && break; sleep 0.05; done
	"$B/plbench" --target "unix:$tmp/mcc.sock" --keys 10000 --value-size 100 \
		--load --ops 0 >/dev/null 2>&1
	v=$(count "unix:$tmp/mcc.sock" "${arg%%=*}" "${arg#*=}")
	kill "$mcpid"
	wait "$mcpid" 2>/dev/null || true
	ir[mcc.$name]=$((v - null))
	ir[mcs.$name]=$(mc_server "${arg%%=*}" "${arg#*=}")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
{
	echo "Host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); backend none; load $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after (the counts do not depend on it)."
	echo
	echo "| instructions per op (callgrind) | plmc | bare (limit) | lmdb | memcached, user space (client + server) | plmc / limit | plmc / lmdb | plmc / memcached | lmdb / limit |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for w in get set mget10; do
		p=${ir[plmc.$w]} b=${ir[bare.$w]} l=${ir[lmdb.$w]}
		m=$((ir[mcc.$w] + ir[mcs.$w]))
		echo "| $w | $p | $b | $l | $m (${ir[mcc.$w]} + ${ir[mcs.$w]}) | $(ratio "$p" "$b") | $(ratio "$p" "$l") | $(ratio "$p" "$m") | $(ratio "$l" "$b") |"
	done
	echo
	echo "mget10 is one operation of 10 keys (per key: a tenth). memcached:"
	echo "user space only; its kernel work (syscalls, wake-ups) is not counted."
} | tee "${1:-/dev/null}"
