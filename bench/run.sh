#!/usr/bin/env bash
# bench/run.sh quick|full - every contender on the same workloads, one run.
#
# Contenders: plmc direct (calls through the gate; on a host without PKU
# the `none` backend, stated as such), the limit (`bare`: an in-process
# hash table and memcpy, bench/local.h), LMDB (what a local user would
# pick instead), memcached over TCP and over a Unix
# socket (Debian's memcached, started here with the same threads and
# memory, stopped afterwards), and plmcd over both when it is built.
# The same client code (bench/mcproto.h) drives every socket contender.
#
# Writes bench/results/<stamp>.md (and latest.md), the raw lines, and
# plots (PNG) of throughput against threads and of latency percentiles.
# The host's load (/proc/loadavg) before and after goes with the table:
# socket latencies fall on a loaded host (servers stop sleeping), so a
# ratio against memcached means little without it. Instructions per
# operation (bench/instr.sh, callgrind) come first: they do not depend
# on the load.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}
B=$PWD/build
PLBENCH=$B/plbench
out=bench/results
stamp=$(date -u +%Y%m%d-%H%M%S)
raw=$out/$stamp.raw
md=$out/$stamp.md
mkdir -p "$out"
: >"$raw"

threads_max=$(nproc)
mem_mb=256
port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768 up)
sock=/tmp/plmc-bench-$$.sock
store=bench$$
lmdir=$(mktemp -d /tmp/plmc-bench-lmdb.XXXXXX)
pids=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	PLMC_BACKEND=${PLMC_BACKEND:-} "$B/plctl" destroy "$store" --force \
		>/dev/null 2>&1 || true
	rm -f "$sock" "$sock.plmcd"
	rm -rf "$lmdir"
}
trap cleanup EXIT

if [ -e /dev/plmc ] && grep -qw pku /proc/cpuinfo; then
	backend=kmod
	pku_note="PKU on, module backend"
elif grep -qw pku /proc/cpuinfo; then
	backend=none
	pku_note="PKU in the CPU but no module here: backend none (same code, no PKRU switch); the pku gate is measured on its own store (libpl's pku backend) in the gate rows"
else
	backend=none
	pku_note="no PKU on this CPU: backend none (same code, no PKRU switch); the pku gate's cost was NOT measured (it needs a CPU with PKU, where this script measures it by itself)"
fi
export PLMC_BACKEND=$backend

wait_socket() { # $1: test command
	for _ in $(seq 100); do eval "$1" && return 0; sleep 0.05; done
	echo "bench: server did not come up" >&2
	return 1
}

start_memcached() {
	local user=()
	[ "$(id -u)" = 0 ] && user=(-u root)
	memcached "${user[@]}" -l 127.0.0.1 -p "$port" -U 0 -t "$threads_max" \
		-m "$mem_mb" -c 1024 &
	pids+=($!)
	memcached "${user[@]}" -s "$sock" -a 0600 -t "$threads_max" \
		-m "$mem_mb" -c 1024 &
	pids+=($!)
	wait_socket "[ -S $sock ] && (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null"
}

# plmcd serves the same store plmc's direct clients use.
start_plmcd() {
	"$B/plmcd" -u root -n "$store" -p "$((port + 1))" -s "$sock.plmcd" \
		-t "$threads_max" -c 1024 2>/dev/null &
	pids+=($!)
	wait_socket "[ -S $sock.plmcd ] && (exec 3<>/dev/tcp/127.0.0.1/$((port + 1))) 2>/dev/null"
}

"$B/plctl" create "$store" --size ${mem_mb}M --backend "$backend" >/dev/null
start_memcached
contenders=("plmc:plmc:$store" "bare:bare:" "lmdb:lmdb:$lmdir")
if [ -x "$B/plmcd" ]; then
	start_plmcd
	contenders+=("plmcd-tcp:tcp:127.0.0.1:$((port + 1))"
		"plmcd-unix:unix:$sock.plmcd")
fi
contenders+=("memcached-tcp:tcp:127.0.0.1:$port" "memcached-unix:unix:$sock")

# run LABEL CONTENDER-TARGET ARGS...: one plbench line into $raw.
# The bare table lives in each client process: it fills itself (untimed).
run() {
	local label=$1 target=$2 fill=()
	shift 2
	[ "${target%%:*}" = bare ] && fill=(--load)
	"$PLBENCH" --target "$target" --label "$label" "${fill[@]}" "$@" 2>/dev/null |
		tee -a "$raw" | sed 's/^/  /' | cut -c1-150
}

if [ "$mode" = full ]; then
	secs=3
	keysets="1000 100000 1000000"
	vsizes="32 1024 10240"
	threads_list=$(seq 1 "$threads_max")
else
	secs=1
	keysets="10000"
	vsizes="32"
	threads_list="1 $threads_max"
fi

echo "bench: instructions per operation (callgrind)"
instr=$(mktemp)
bench/instr.sh "$instr" >/dev/null 2>&1 || echo "(instr.sh failed)" >"$instr"
cat "$instr"
echo "bench: $mode run, $pku_note; ${secs}s per point; load $load_before"
for c in "${contenders[@]}"; do
	name=${c%%:*}
	target=${c#*:}
	echo "== $name"
	for keys in $keysets; do
		for vs in $vsizes; do
			# Keep the data set within half the memory: no eviction yet.
			[ $((keys * (vs + 100))) -gt $((mem_mb << 19)) ] && continue
			"$PLBENCH" --target "$target" --keys "$keys" \
				--value-size "$vs" --load --ops 0 >/dev/null 2>&1
			for mix in 100 95 50; do
				for t in $threads_list; do
					run "$name get$mix uniform k$keys v$vs t$t" \
						"$target" --keys "$keys" --value-size "$vs" \
						--get-pct "$mix" --threads "$t" --seconds "$secs"
				done
			done
			run "$name get95 zipf k$keys v$vs t1" "$target" --keys "$keys" \
				--value-size "$vs" --get-pct 95 --zipf 0.99 --seconds "$secs"
			for n in 10 100; do
				run "$name mget$n k$keys v$vs t1" "$target" --keys "$keys" \
					--value-size "$vs" --mget "$n" --seconds "$secs"
			done
		done
	done
	# YCSB as the seed paper defines it: A 100k records 50/50 read/update,
	# B 95/5, C 1k records of 10,000 bytes 50/50, D 95/5, E 100% update,
	# F 100% read; Zipfian keys; 1,000-byte values where unsaid.
	"$PLBENCH" --target "$target" --keys 100000 --value-size 1000 \
		--load --ops 0 --memstats --label "$name" 2>/dev/null |
		{ grep items= || true; } >>"$raw"
	for w in A:50 B:95 D:95 E:0 F:100; do
		run "$name ycsb-${w%%:*} k100000 v1000 t1" "$target" --keys 100000 \
			--value-size 1000 --get-pct "${w#*:}" --zipf 0.99 \
			--seconds "$secs"
	done
	"$PLBENCH" --target "$target" --keys 1000 --value-size 10000 \
		--load --ops 0 >/dev/null 2>&1
	run "$name ycsb-C k1000 v10000 t1" "$target" --keys 1000 \
		--value-size 10000 --get-pct 50 --zipf 0.99 --seconds "$secs"
	if [ "$mode" = full ]; then
		for t in $threads_list; do
			run "$name get95 uniform procs$t" "$target" --keys 10000 \
				--procs "$t" --seconds "$secs"
		done
	fi
done
# Python: plmc.Client against pymemcache over the Unix socket (one thread,
# the same loop; bench/python.py), when the module is built.
if [ -d "$B/python/plmc" ] && /usr/bin/python3 -c 'import pymemcache' 2>/dev/null; then
	echo "== python"
	PYTHONPATH=$B/python /usr/bin/python3 bench/python.py --store "$store" \
		--sock "$sock" --seconds "$secs" 2>/dev/null | tee -a "$raw" |
		sed 's/^/  /' | cut -c1-150
fi
echo "== gate"
run "plmc nop t1" "plmc:$store" --nop --seconds "$secs"
# The pku gate beside none's (issue 16), wherever the CPU has PKU: the
# module's store above already went through it (then none's is measured
# here), else a store of the pku backend (libpl's, no module) is made
# for it. The same two rows either way: an empty round trip and a get
# hit, one thread. Without PKU the report says it was not measured.
gate_other() { # $1 backend
	local st=${store}g
	PLMC_BACKEND=$1 "$B/plctl" create "$st" --size 64M --backend "$1" \
		>/dev/null 2>&1 || { echo "  ($1 store: create failed)"; return 0; }
	PLMC_BACKEND=$1 "$PLBENCH" --target "plmc:$st" --keys 10000 \
		--value-size 32 --load --ops 0 >/dev/null 2>&1 || true
	PLMC_BACKEND=$1 run "plmc-$1 nop t1" "plmc:$st" --nop --seconds "$secs"
	PLMC_BACKEND=$1 run "plmc-$1 get100 uniform k10000 v32 t1" "plmc:$st" \
		--keys 10000 --value-size 32 --get-pct 100 --seconds "$secs"
	PLMC_BACKEND=$1 "$B/plctl" destroy "$st" --force >/dev/null 2>&1 || true
}
if [ "$backend" = kmod ]; then
	gate_other none
elif grep -qw pku /proc/cpuinfo; then
	gate_other pku
fi

# Bytes per item as the machine sees them (issue 14): a million items
# into plmcd and into memcached, side by side, fresh servers per row
# (bench/mem-fill.py --outside; its own servers, not the ones above).
# The none backend only: the figure is plmcd's resident pages of the
# store file. quick: 11-byte keys; full: 11, 20 and 30.
memrows=$(mktemp)
if [ -x "$B/plmcd" ] && [ "$backend" = none ] &&
	[ "$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)" -gt 3000000 ]; then
	echo "== bytes per item (1M items)"
	klens=11
	[ "$mode" = full ] && klens="11 20 30"
	for k in $klens; do
		python3 bench/mem-fill.py "$B/plmcd" "$(command -v memcached)" \
			--mb 1024 --outside 1000000 --sizes 32,100 --klen "$k" |
			grep '^| [0-9]' | tee -a "$memrows" || true
	done
fi
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
{
	bench/report.sh "$raw" "$pku_note"
	echo
	echo "Host load (1, 5, 15 min): $load_before before, $load_after after."
	echo
	if [ -s "$memrows" ]; then
		echo "Bytes per item seen from outside (1M items, no eviction; plmcd's resident pages of its store against memcached's resident set, each less what it held empty; bench/mem-fill.py --outside):"
		echo
		echo "| value | key | items | plmc B/item | memcached B/item | plmc/memcached |"
		echo "|---|---|---|---|---|---|"
		cat "$memrows"
		echo
	fi
	echo "## Instructions per operation (callgrind, backend none)"
	echo
	cat "$instr"
} >"$md"
rm -f "$instr" "$memrows"
cp "$md" "$out/latest.md"
cat "$md"
if command -v gnuplot >/dev/null; then
	bench/plot.sh "$raw" "$out/$stamp" && cp "$out/$stamp-threads.png" \
		"$out/latest-threads.png" && cp "$out/$stamp-latency.png" \
		"$out/latest-latency.png"
	echo "plots: $out/$stamp-threads.png $out/$stamp-latency.png"
fi
