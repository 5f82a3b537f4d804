#!/usr/bin/env bash
# tests/plmcd/fetch-memcached.sh [DIR] - Debian's memcached 1.6.18 source
# (for its t/ suite, tests/plmcd/memcached-suite.sh), unpacked in DIR
# (default build/memcached-src): apt-get source through a temporary
# deb-src list, nothing added to the system's sources, nothing
# committed. Quick and offline when DIR already holds it. scripts/deps.sh
# runs it (outside plmc-iso, where the network is).
set -uo pipefail
cd "$(dirname "$0")/../.."
ver=1.6.18
cache=${1:-$PWD/build/memcached-src}
[ -d "$cache/memcached-$ver/t" ] && exit 0
tmp=$(mktemp -d /tmp/plmc-mcsrc.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/parts" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$cache"
cat >"$tmp/parts/src.sources" <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
o=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$tmp/parts"
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache")
if apt-get "${o[@]}" -qq update >"$tmp/log" 2>&1 &&
	(cd "$cache" && apt-get "${o[@]}" -qq source --download-only memcached) >>"$tmp/log" 2>&1 &&
	tar -C "$cache" -xf "$cache/memcached_$ver.orig.tar.xz"; then
	exit 0
fi
cat "$tmp/log" >&2
echo "fetch-memcached: could not fetch memcached $ver's source (network? run outside plmc-iso)" >&2
exit 1
