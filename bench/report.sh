#!/usr/bin/env bash
# bench/report.sh RAW NOTE - the markdown table for one bench run.
# Each row: a contender on a workload, with ratios against memcached over a
# Unix socket on the same workload (throughput: this / memcached; latency:
# memcached / this, so larger is better in both), against LMDB the same
# way, and its p50 over the bare table's (the limit: 1.0x is the limit,
# larger is further from it).
set -euo pipefail
raw=$1
note=$2
echo "# plmc bench, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'). $note."
echo "Latency is per operation (a multi-get is one operation); p50/p99/p99.9 in ns."
echo
awk '
function kv(line, key,   i, n, a, f) {
	n = split(line, a, " ")
	for (i = 1; i <= n; i++) {
		split(a[i], f, "=")
		if (f[1] == key)
			return f[2]
	}
	return ""
}
/ items=/ {
	m++
	MN[m] = $1; sub(/^label=/, "", MN[m])
	MI[m] = kv($0, "items"); MB[m] = kv($0, "bytes_per_item")
	MP[m] = kv($0, "payload_per_item")
	next
}
{
	# label=NAME WORKLOAD... up to " target="
	lab = $0
	sub(/^label=/, "", lab)
	sub(/ target=.*/, "", lab)
	name = lab; sub(/ .*/, "", name)
	work = lab; sub(/^[^ ]+ /, "", work)
	n++
	L[n] = name; W[n] = work
	T[n] = kv($0, "ops_per_s"); P50[n] = kv($0, "p50_ns")
	P99[n] = kv($0, "p99_ns"); P999[n] = kv($0, "p999_ns")
	E[n] = kv($0, "errors"); C[n] = kv($0, "mean_cycles")
	if (name == "memcached-unix") { RT[work] = T[n]; RL[work] = P50[n] }
	if (name == "bare") RB[work] = P50[n]
	if (name == "lmdb") RM[work] = P50[n]
	if (name == "plmc" && work ~ /^get100 uniform .* t1$/) hit_cycles = C[n]
	if (name == "plmc" && work ~ /^nop/) nop_cycles = C[n]
	# The gate of the other backend (run.sh, gate_other): plmc-pku or plmc-none.
	if (name ~ /^plmc-/ && work ~ /^nop/) { ob = name; sub(/^plmc-/, "", ob); onop = C[n] }
	if (name ~ /^plmc-/ && work ~ /^get100/) ohit = C[n]
}
END {
	print "| contender | workload | ops/s | p50 | p99 | p99.9 | errors | ops/s vs memcached-unix | p50 vs memcached-unix | p50 vs lmdb | p50 / limit (bare) |"
	print "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for (i = 1; i <= n; i++) {
		rt = (W[i] in RT && RT[W[i]] > 0) ? sprintf("%.1fx", T[i] / RT[W[i]]) : "-"
		rl = (W[i] in RL && P50[i] > 0) ? sprintf("%.1fx", RL[W[i]] / P50[i]) : "-"
		rm = (W[i] in RM && P50[i] > 0) ? sprintf("%.1fx", RM[W[i]] / P50[i]) : "-"
		rb = (W[i] in RB && RB[W[i]] > 0) ? sprintf("%.2fx", P50[i] / RB[W[i]]) : "-"
		if (W[i] ~ /^nop/)
			W[i] = W[i] sprintf(" (%.0f cycles per round trip)", C[i])
		printf "| %s | %s | %.0f | %d | %d | %d | %d | %s | %s | %s | %s |\n", L[i], W[i], T[i], P50[i], P99[i], P999[i], E[i], rt, rl, rm, rb
	}
	if (nop_cycles) {
		print ""
		printf "plmc cycles (mean, TSC, timing overhead included): %.0f per empty gate round trip, %.0f per get hit (get100, one thread).\n", nop_cycles, hit_cycles
	}
	if (onop)
		printf "The %s backend on this host, the same way: %.0f cycles per empty gate round trip, %.0f per get hit (k10000 v32, one thread).\n", ob, onop, ohit
	else if (note ~ /NOT measured/)
		print "The pku backend'"'"'s gate: not measured (no PKU on this CPU)."
	if (m) {
		print ""
		print "Memory per item after loading YCSB-A (100k items, 20-byte keys, 1000-byte values), as each store counts item bytes:"
		print ""
		print "| store | items | bytes per item | overhead beyond key + value |"
		print "|---|---:|---:|---:|"
		for (i = 1; i <= m; i++)
			printf "| %s | %d | %.1f | %.1f |\n", MN[i], MI[i], MB[i], MB[i] - MP[i]
	}
}' note="$note" "$raw"
