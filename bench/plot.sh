#!/usr/bin/env bash
# bench/plot.sh RAW PREFIX - PREFIX-threads.png (throughput against client
# threads, get95 uniform) and PREFIX-latency.png (get100 latency
# percentiles, one thread), one series per contender.
set -euo pipefail
raw=$1
prefix=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
function kv(key,   i, f) {
	for (i = 1; i <= NF; i++) { split($i, f, "="); if (f[1] == key) return f[2] }
}
{
	name = $1; sub(/^label=/, "", name)
	if ($0 ~ / get95 uniform k[0-9]+ v32 t[0-9]+ /)
		print kv("threads"), kv("ops_per_s") >> (dir "/thr-" name)
	if ($0 ~ / get100 uniform k[0-9]+ v32 t1 /)
		printf "%s %s %s %s\n", name, kv("p50_ns"), kv("p99_ns"), kv("p999_ns") >> (dir "/lat")
}' "$raw"
plots=""
for f in "$tmp"/thr-*; do
	[ -e "$f" ] || continue
	n=${f##*/thr-}
	plots="$plots${plots:+, }'$f' using 1:2 with linespoints title '$n'"
done
gnuplot <<GP
set terminal pngcairo size 800,500 noenhanced
set output '$prefix-threads.png'
set title 'get95/set5, uniform keys, 32 B values: throughput'
set xlabel 'client threads'
set ylabel 'operations per second'
set logscale y
set key outside
set grid
plot $plots
set output '$prefix-latency.png'
set title 'get100, one thread: latency percentiles'
unset xlabel
set ylabel 'nanoseconds'
set style data histograms
set style histogram clustered
set style fill solid 0.8
set boxwidth 0.9
plot '$tmp/lat' using 2:xtic(1) title 'p50', '' using 3 title 'p99', '' using 4 title 'p99.9'
GP
