#!/usr/bin/env bash
# tests/python/run.sh - the Python package plmc (build/python) with
# Debian's python3 and pytest: plmc.Client against pymemcache on Debian's
# memcached (same calls, same answers), plmc.KetamaClient's placement
# against Debian's libmemcached. Backend none on a host without the module.
# Ends with "python: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${B:-$ROOT/build}
export PYTHONPATH=$B/python
export PLCTL=$B/plctl
export KETAMA_DEB=$B/tests/compat/ketama-deb
export PLMCD=$B/plmcd
[ -e /dev/plmc ] || export PLMC_BACKEND=${PLMC_BACKEND:-none}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cd "$ROOT/tests/python" || exit 1
/usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE . 2>&1 |
	grep -v '^plmc: backend' | tee "$out"
rc=${PIPESTATUS[0]}
# pytest's last line: "N failed, M passed in Ts" or "M passed in Ts"
pass=$(grep -Eo '[0-9]+ passed' "$out" | tail -1 | cut -d' ' -f1)
failn=$(grep -Eo '[0-9]+ (failed|error)' "$out" | awk '{ s += $1 } END { print s + 0 }')
pass=${pass:-0}
[ "$rc" = 0 ] || [ "$failn" != 0 ] || failn=1 # a crash counts as a failure
echo "python: $pass passed, $failn failed"
[ "$rc" = 0 ]
