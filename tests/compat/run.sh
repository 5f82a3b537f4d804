#!/usr/bin/env bash
# tests/compat/run.sh - plmc's libmemcached-compatible library against
# Debian's libmemcached.
#  0. enums: every enumerator and constant of the API, by name and number,
#     from both headers.
#  1. mcapi, one program on libmemcached's documented API, built against
#     both: Debian's against memcached is the reference; plmc's against
#     memcached (TCP, Unix socket), plmcd (TCP, Unix socket) and a local
#     plmc segment (through the gate) must print the same bytes. Debian's
#     against plmcd must match Debian's against memcached as well.
#  2. ketama: both libraries map 3000 keys to servers the same way for
#     every distribution and hash offered, three server sets each (equal
#     weights, weights 1/2/3, port 11211 and a Unix socket in the names).
#  3. a 3-node layout on loopback: three memcached; keys written through
#     one library are found, asking every server alone, exactly on the
#     server the other library maps them to.
#  4. mixed: a local segment plus two plmcd nodes. plmc's library writes
#     with nothing listening on the segment's port, so its keys can only
#     have gone through the gate; the segment's counters say how many.
#     Then plmcd serves that segment on that port and Debian's library,
#     over TCP only, finds every key where it maps it.
#  5. extra: what only plmc's library does (segments named in config
#     strings and server_add, one segment per process, attach and detach,
#     the binary protocol, UDP and unsupported hashes refused, messages),
#     and a server that answers wrongly on purpose (tests/compat/
#     badserver.py): each bad answer a clear code, the next call fine.
# Prints a line per check and a final "compat: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
B=$PWD/build
T=$B/tests/compat
tmp=$(mktemp -d /tmp/compat-test.XXXXXX)
# Below the ephemeral range (32768 up): no client socket can hold them.
base=$((21000 + RANDOM % 11000))
seg=ct$$
pids=()
pass=0
fail=0
export PLMC_BACKEND=none

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	for s in "$seg" "${seg}a" "${seg}b" "${seg}c"; do
		"$B/plctl" destroy "$s" --force >/dev/null 2>&1
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; fail=$((fail + 1)); [ -n "${2:-}" ] && sed 's/^/    /' "$2" | head -20; }

# same NAME FILE_A FILE_B: the files are byte-identical (and not empty).
same() {
	if [ -s "$2" ] && cmp -s "$2" "$3"; then
		ok "$1 ($(wc -l <"$2") lines identical)"
	else
		diff "$2" "$3" >"$tmp/diff" 2>&1
		bad "$1" "$tmp/diff"
	fi
}

wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

user=()
[ "$(id -u)" = 0 ] && user=(-u root)
mc_port=$base
pl_port=$((base + 1))
k1=$((base + 2)) k2=$((base + 3)) k3=$((base + 4))
pa=$((base + 5)) pb=$((base + 6)) pc=$((base + 7))

# memcached listens on a Unix socket or on TCP, not both: two of them.
memcached "${user[@]}" -s "$tmp/mc.sock" -m 64 2>>"$tmp/mc.log" &
pids+=($!)
memcached "${user[@]}" -l 127.0.0.1 -p "$mc_port" -m 64 -U 0 2>>"$tmp/mc.log" &
pids+=($!)
# plmcd's -s turns TCP off too: two of them, on one store.
"$B/plmcd" -u root -n "$seg" -m 64 -s "$tmp/pl.sock" -t 2 2>"$tmp/plmcd.log" &
pids+=($!)
wait_sock "$tmp/pl.sock"
"$B/plmcd" -u root -n "$seg" -p "$pl_port" -t 2 2>>"$tmp/plmcd.log" &
pids+=($!)
for p in "$k1" "$k2" "$k3"; do
	memcached "${user[@]}" -l 127.0.0.1 -p "$p" -m 16 -U 0 2>>"$tmp/mc.log" &
	pids+=($!)
done
if ! wait_sock "$tmp/mc.sock" || ! wait_sock "$tmp/pl.sock" ||
	! wait_port "$mc_port" || ! wait_port "$pl_port" || ! wait_port "$k1" || ! wait_port "$k2" ||
	! wait_port "$k3"; then
	echo "FAIL servers did not start"
	cat "$tmp/mc.log" "$tmp/plmcd.log"
	echo "compat: 0 passed, 1 failed"
	exit 1
fi

# -- 0. the numbers: every enumerator and constant, both headers ---------
"$T/enums-deb" >"$tmp/enums-deb" 2>&1
"$T/enums-plmc" >"$tmp/enums-plmc" 2>&1
same "enums: every memcached_return_t, behavior, distribution, hash, connection value and constant" "$tmp/enums-deb" "$tmp/enums-plmc"

# -- 1. one program, two libraries -------------------------------------
mc_tcp=127.0.0.1:$mc_port
pl_tcp=127.0.0.1:$pl_port
run_mcapi() { # out, binary, config, host:port, socket, proto
	local out=$1 bin=$2
	shift 2
	timeout 60 "$bin" "$@" >"$out" 2>"$out.err" || echo "exit status $?" >>"$out"
}
run_mcapi "$tmp/ref" "$T/mcapi-deb" "--SERVER=$mc_tcp" "$mc_tcp" "$tmp/mc.sock" binary
if grep -q '^-- servers' "$tmp/ref" && ! grep -q 'exit status' "$tmp/ref"; then
	ok "mcapi: Debian's libmemcached against memcached ($(wc -l <"$tmp/ref") lines)"
else
	bad "mcapi: Debian's libmemcached against memcached" "$tmp/ref"
fi
run_mcapi "$tmp/o1" "$T/mcapi-plmc" "--SERVER=$mc_tcp" "$mc_tcp" "$tmp/mc.sock" text
same "mcapi: plmc's library, memcached over TCP" "$tmp/ref" "$tmp/o1"
run_mcapi "$tmp/o2" "$T/mcapi-plmc" "--SOCKET=\"$tmp/mc.sock\"" "$mc_tcp" "$tmp/mc.sock" text
same "mcapi: plmc's library, memcached over a Unix socket" "$tmp/ref" "$tmp/o2"
run_mcapi "$tmp/o3" "$T/mcapi-plmc" "--SERVER=$pl_tcp" "$pl_tcp" "$tmp/pl.sock" text
same "mcapi: plmc's library, plmcd over TCP" "$tmp/ref" "$tmp/o3"
run_mcapi "$tmp/o4" "$T/mcapi-plmc" "--SOCKET=\"$tmp/pl.sock\"" "$pl_tcp" "$tmp/pl.sock" text
same "mcapi: plmc's library, plmcd over a Unix socket" "$tmp/ref" "$tmp/o4"
run_mcapi "$tmp/o5" "$T/mcapi-plmc" "--SEGMENT=$seg" "$pl_tcp" "$tmp/pl.sock" text
same "mcapi: plmc's library, a local segment (gate)" "$tmp/ref" "$tmp/o5"
run_mcapi "$tmp/r6" "$T/mcapi-deb" "--SERVER=$mc_tcp" "$mc_tcp" "$tmp/mc.sock" text
run_mcapi "$tmp/o6" "$T/mcapi-deb" "--SERVER=$pl_tcp" "$pl_tcp" "$tmp/pl.sock" text
same "mcapi: Debian's libmemcached, plmcd as memcached (text protocol)" "$tmp/r6" "$tmp/o6"

# what only plmc's library does (its own PASS/FAIL lines), with a server
# that answers wrongly on purpose
bad_port=$((base + 8))
/usr/bin/python3 tests/compat/badserver.py "$bad_port" 2>"$tmp/bad.log" &
pids+=($!)
wait_port "$bad_port" || bad "badserver.py did not start" "$tmp/bad.log"
"$T/extra" "$seg" "$bad_port" >"$tmp/extra" 2>&1
grep -E '^(PASS|FAIL)' "$tmp/extra"
pass=$((pass + $(grep -c '^PASS' "$tmp/extra")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/extra")))
grep -q '^extra: [0-9]* passed, 0 failed' "$tmp/extra" || bad "extra did not finish" "$tmp/extra"

# -- 2. the same layout, key by key -------------------------------------
sets=("127.0.0.1:31001 127.0.0.1:31002 127.0.0.1:31003"
	"127.0.0.1:31001*1 127.0.0.1:31002*2 127.0.0.1:31003*3"
	"localhost:11211 10.0.0.2:11211 10.0.0.3:11300 $tmp/x.sock")
for mode in map premap; do
	for d in weighted ketama ketama-md5 ketama-khash spy modula modula-crc modula-fnv1a32; do
		good=0
		for s in "${sets[@]}"; do
			# shellcheck disable=SC2086 # a server list: split on purpose
			"$T/ketama-deb" "$mode" "$d" 3000 $s >"$tmp/md" 2>&1
			# shellcheck disable=SC2086
			"$T/ketama-plmc" "$mode" "$d" 3000 $s >"$tmp/mp" 2>&1
			if [ "$(wc -l <"$tmp/md")" = 3000 ] && cmp -s "$tmp/md" "$tmp/mp"; then
				good=$((good + 1))
			else
				diff "$tmp/md" "$tmp/mp" | head -5 >"$tmp/diff"
			fi
		done
		if [ "$good" = 3 ]; then
			ok "ketama $mode $d: 3 server sets x 3000 keys, same server"
		else
			bad "ketama $mode $d: $good of 3 server sets agree" "$tmp/diff"
		fi
	done
done

# -- 3. three memcached on loopback --------------------------------------
nodes="127.0.0.1:$k1 127.0.0.1:$k2 127.0.0.1:$k3"
for d in weighted ketama; do
	for way in deb:plmc plmc:deb; do
		w=${way%%:*} r=${way##*:}
		# shellcheck disable=SC2086
		"$T/ketama-$w" write "$d" 500 $nodes >"$tmp/wr" 2>&1
		# shellcheck disable=SC2086
		"$T/ketama-$w" map "$d" 500 $nodes >"$tmp/m-$w" 2>&1
		# shellcheck disable=SC2086
		"$T/ketama-$r" where "$d" 500 $nodes >"$tmp/where" 2>&1
		if grep -q '^wrote 500 keys, 0 failed' "$tmp/wr"; then
			same "3 nodes, $d: written by $w, each key on exactly the server $r finds it" "$tmp/m-$w" "$tmp/where"
		else
			bad "3 nodes, $d: write through $w" "$tmp/wr"
		fi
	done
done
echo "   (keys per node, ketama: $(cut -d' ' -f2 "$tmp/where" | sort | uniq -c | tr -s ' ' | tr '\n' ';'))"

# -- 4. a local segment and two plmcd nodes ------------------------------
"$B/plctl" create "${seg}a" --size 16M >/dev/null &&
	"$B/plctl" create "${seg}b" --size 16M >/dev/null &&
	"$B/plctl" create "${seg}c" --size 16M >/dev/null || bad "plctl create"
"$B/plmcd" -u root -n "${seg}b" -p "$pb" -t 1 2>>"$tmp/plmcd.log" &
pids+=($!)
"$B/plmcd" -u root -n "${seg}c" -p "$pc" -t 1 2>>"$tmp/plmcd.log" &
pids+=($!)
wait_port "$pb" && wait_port "$pc" || bad "plmcd nodes did not start" "$tmp/plmcd.log"
local_spec="plmc:${seg}a@127.0.0.1:$pa"
tcp3="127.0.0.1:$pa 127.0.0.1:$pb 127.0.0.1:$pc"
"$T/ketama-plmc" write weighted 600 "$local_spec" "127.0.0.1:$pb" "127.0.0.1:$pc" >"$tmp/wr" 2>"$tmp/wr.err"
"$T/ketama-plmc" map weighted 600 "$local_spec" "127.0.0.1:$pb" "127.0.0.1:$pc" >"$tmp/m-mixed" 2>/dev/null
# shellcheck disable=SC2086
"$T/ketama-deb" map weighted 600 $tcp3 >"$tmp/m-tcp"
same "mixed: plmc's map with the segment = Debian's map of three TCP nodes" "$tmp/m-tcp" "$tmp/m-mixed"
want=$(grep -c " 127.0.0.1:$pa\$" "$tmp/m-mixed")
got=$("$B/plctl" stats "${seg}a" 2>/dev/null | sed -n 's/^STAT cmd_set //p')
if grep -q '^wrote 600 keys, 0 failed' "$tmp/wr" && [ "$want" -gt 0 ] && [ "$got" = "$want" ]; then
	ok "mixed: 600 keys written, nothing on :$pa; the segment took its $want through the gate (cmd_set $got)"
else
	cat "$tmp/wr" "$tmp/wr.err" >"$tmp/why"
	bad "mixed: gate writes (want $want sets on the segment, got ${got:-none})" "$tmp/why"
fi
"$B/plmcd" -u root -n "${seg}a" -p "$pa" -t 1 2>>"$tmp/plmcd.log" &
pids+=($!)
wait_port "$pa" || bad "plmcd on the segment did not start" "$tmp/plmcd.log"
# shellcheck disable=SC2086
"$T/ketama-deb" where weighted 600 $tcp3 >"$tmp/where" 2>&1
same "mixed: Debian's libmemcached over TCP finds every key where both map it" "$tmp/m-tcp" "$tmp/where"

echo "compat: $pass passed, $fail failed"
[ "$fail" = 0 ]
