#!/usr/bin/env bash
# tests/plmcd/memcached-suite.sh - memcached 1.6.18's own t/ suite against
# plmcd. Debian's source package is fetched at test time (a temporary
# deb-src list, nothing added to the system's sources, nothing committed);
# its t/ files run with prove from a directory that holds
# tests/plmcd/memcached-debug (memcached's command line mapped onto
# plmcd's) where memcached's harness expects its binary. Each server the
# harness starts gets a store of its own (plmcd without -n).
#
# The files below must pass; the files plmcd deliberately lacks the
# feature of are listed in docs/plmcd.md with the reason, and a file in
# neither list stops the run, so a new upstream file is looked at.
#   MC_SRC=dir   use an unpacked memcached-1.6.18 tree instead of fetching
#   MC_JOBS=n    prove's parallel jobs (default 4: most files sleep)
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
B=$top/build
ver=1.6.18
cache=$B/memcached-src
tmp=$(mktemp -d /tmp/plmcd-mcsuite.XXXXXX)
stop_servers() {
	# the servers this run started (memcached-debug records each pid)
	[ -f "$tmp/pids" ] && while read -r p; do kill "$p" 2>/dev/null; done <"$tmp/pids"
	rm -rf "$tmp"
}
trap stop_servers EXIT

PASS_FILES="
"
# file: reason (docs/plmcd.md keeps the same list)
LACKS="
"

fetch() {
	local sl=$tmp/apt
	[ -d "$cache/memcached-$ver/t" ] && return 0
	mkdir -p "$sl/parts" "$sl/lists/partial" "$sl/cache/archives/partial" "$cache"
	cat >"$sl/parts/src.sources" <<-SRC
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: bookworm
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	SRC
	local o=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$sl/parts"
		-o "Dir::State::Lists=$sl/lists" -o "Dir::Cache=$sl/cache")
	apt-get "${o[@]}" -qq update >"$tmp/apt.log" 2>&1 &&
		(cd "$cache" && apt-get "${o[@]}" -qq source --download-only "memcached=$ver-1") >>"$tmp/apt.log" 2>&1 &&
		tar -C "$cache" -xf "$cache/memcached_$ver.orig.tar.xz" || {
		cat "$tmp/apt.log"
		return 1
	}
}

src=${MC_SRC:-}
if [ -z "$src" ]; then
	fetch || { echo "FAIL could not fetch memcached $ver's source (apt-get source)"; exit 1; }
	src=$cache/memcached-$ver
fi
run=$tmp/mc
mkdir -p "$run"
cp -r "$src/t" "$run/t"
cp tests/plmcd/memcached-debug "$run/memcached-debug"
# memcached's harness runs "timedrun 600 memcached-debug ..."; the pid it
# keeps must be the server's, so this one only execs.
printf '#!/bin/sh\nshift\nexec "$@"\n' >"$run/timedrun"
chmod +x "$run/timedrun"

export PLMCD=$B/plmcd PLMC_BACKEND=none PLMCD_PIDS=$tmp/pids
files=${MC_FILES:-$PASS_FILES}
for f in "$run"/t/*.t; do
	b=$(basename "$f")
	grep -qw "$b" <<<"$PASS_FILES" || grep -q "^$b:" <<<"$LACKS" || {
		[ -n "${MC_FILES:-}" ] || { echo "FAIL t/$b is in neither list"; exit 1; }
	}
done
cd "$run" || exit 1
list=()
for f in $files; do list+=("t/$f"); done
# a file that hangs (a server that never answers) fails instead of stalling
prove --exec "timeout ${MC_FILE_TIMEOUT:-300} perl" -j "${MC_JOBS:-4}" "${list[@]}"
