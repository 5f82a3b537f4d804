#!/usr/bin/env bash
# tests/cluster/run.sh - a cluster on an existing engine: Debian's
# twemproxy (nutcracker, tests/cluster/nutcracker.yml) in front of three
# plmcd nodes on loopback, libmemcached and plmc's ketama clients against
# the same nodes, a node killed and restarted mid-run
# (tests/cluster/cluster.py says what is checked). Backend none on a host
# without the module. Ends with "cluster: N passed, N failed".
# PORT_OFFSET=N moves every port of nutcracker.yml by N (default: a
# random offset; -10000 puts node 1 on memcached's 11211).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export B=${B:-$ROOT/build}
export PYTHONPATH=$B/python
export RUN=$$
[ -e /dev/plmc ] || export PLMC_BACKEND=${PLMC_BACKEND:-none}
TMP=$(mktemp -d /tmp/cluster-test.XXXXXX)
export TMP

cleanup() {
	if [ -s "$TMP/stores" ]; then
		while read -r s; do
			"$B/plctl" destroy "$s" --force >/dev/null 2>&1
		done <"$TMP/stores"
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

for tool in nutcracker memcached; do
	if ! command -v "$tool" >/dev/null; then
		echo "FAIL $tool is not installed (scripts/deps.sh)"
		echo "cluster: 0 passed, 1 failed"
		exit 1
	fi
done
/usr/bin/python3 "$ROOT/tests/cluster/cluster.py" 2>&1 | grep -v '^plmc: backend'
rc=${PIPESTATUS[0]}
if [ "$rc" != 0 ]; then
	for f in "$TMP"/*.log; do
		[ -s "$f" ] && { echo "--- $f"; tail -5 "$f"; }
	done
fi
exit "$rc"
