#!/usr/bin/env bash
# tests/plmcd/run.sh - plmcd proven against memcached itself.
#  1. mcdiff: the same random session (several seeds) against Debian's
#     memcached and plmcd, reply by reply; classic and meta commands
#     (random flag sets, base64 keys, quiet batches, malformed lines).
#  2. memcapable -a and -b (Debian's libmemcached-tools names it
#     memccapable): the text and binary protocol conformance tests.
#  2b. sizeshift.py: issue 14's size shift (16 MiB), size sweep
#     (64 MiB) and flush shift (16 MiB: a class refilled after flush_all
#     keeps its new items) on fresh plmcd and memcached servers.
#  2c. protodiff.py: fixed sessions, memcached's replies byte for byte:
#     noreply silencing errors, an extra last word ignored, binary add
#     with a CAS, flush_all's time rules (text and binary), -F, -C;
#     command lines memcached refuses (its words, its exit code), -l with
#     IPv6 and a host name, -k; a watcher's item_get lines; the get and
#     touch counters, stats settings' rows, curr_items after flush_all;
#     and plmcd at SIGUSR1 (a graceful stop) and SIGUSR2 (ignored).
#  2d. replies.py: the reply path beside memcached: 32 clients that never
#     read pipelined multi-gets cost bounded memory, a reply over 64 MiB
#     arrives whole, -o idle_timeout spares a slow reader (TCP only).
#  3. hostile clients: over-long lines, HTTP, garbage, half-sent commands,
#     binary magic, oversize values, idle connections, the -c limit; a
#     20,000-key get; a watcher's log lines; a 60,000-item metadump read
#     slowly.
#  5. operator flags: an idle plmcd does not wake (and SIGTERM still
#     stops it), root without -u refused, -d -P -u nobody serves as
#     nobody from a store of its own, a store of its own that a plmcd -n
#     attached is left to it at exit, -d -n leaves no stale attachment,
#     -d reports a store error and exits 1, a foreground start that
#     fails after -u removes its socket and pid file, a live plmcd's
#     socket is refused (not removed), a stale one replaced; plmcd.service's options as an
#     unprivileged user on a store made with --group (docs/install.md);
#     the systemd unit's exposure against memcached's.
#  6. memslap --binary (Debian's memcslap) against plmcd: a real binary
#     client's load, every request answered; memcdump (lru_crawler
#     metadump) lists 300 keys just stored.
#  3b. netsec.py: TLS (-Z) with pymemcache's tls_context and Python's
#     ssl (set/get, a plain client refused, a stalled handshake that
#     blocks nobody, ssl_verify_mode with a right and a wrong CA), the
#     -Y login with pymemcache, SASL (-S) with libmemcached's
#     memccp/memccat; certificates made at test time (make-certs.sh).
#  4. pymemcache's integration tests (Debian's python3-pymemcache ships
#     them), with Debian's python3 and pytest. Its three TLS cases are
#     deselected: they load a CA file from pymemcache's own test tree,
#     which Debian does not ship (netsec.py covers pymemcache over TLS).
# Prints a line per check and a final "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
B=$PWD/build
tmp=$(mktemp -d /tmp/plmcd-test.XXXXXX)
store=pt$$
# below the kernel's ephemeral range (32768-60999): the hostile cases
# open thousands of client connections, and one of them holding port + 1
# as its local port made a later listener's bind fail
port=$((21000 + RANDOM % 11000))
pids=()
pass=0
fail=0

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	PLMC_BACKEND=none "$B/plctl" destroy "$store" --force >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
export PLMC_BACKEND=none

check() { # name, command...
	local name=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then
		echo "PASS $name ($(grep -E 'passed|differences' "$tmp/out" | tail -1 | sed 's/=//g; s/^ *//; s/ *$//'))"
		pass=$((pass + 1))
	else
		echo "FAIL $name"
		sed 's/^/    /' "$tmp/out" | head -30
		fail=$((fail + 1))
	fi
}

wait_for() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }

user=()
[ "$(id -u)" = 0 ] && user=(-u root)
# The reference runs without its LRU maintainer and crawler threads: they
# take item references at random instants, and a referenced item makes
# memcached's incr/decr copy instead of rewriting in place, which drops
# the item's fetched/stale/token marks (docs/plmcd.md). Only mcdiff talks
# to it.
memcached "${user[@]}" -s "$tmp/mc.sock" -m 64 \
	-o no_lru_maintainer,no_lru_crawler 2>"$tmp/mc.log" &
pids+=($!)
# -s turns TCP off (as memcached's does): a second plmcd on the same
# store serves the TCP port.
"$B/plmcd" "${user[@]}" -n "$store" -m 64 -s "$tmp/pl.sock" -t 2 -c 2100 2>"$tmp/plmcd.log" &
pids+=($!)
wait_tcp() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }
wait_for "$tmp/mc.sock" && wait_for "$tmp/pl.sock" &&
	{ "$B/plmcd" "${user[@]}" -n "$store" -p "$port" -t 2 -c 2100 2>>"$tmp/plmcd.log" &
	  pids+=($!); wait_tcp "$port"; } || {
	echo "FAIL servers did not start"; cat "$tmp/plmcd.log"; echo "0 passed, 1 failed"; exit 1; }

for seed in 1 2 3 4 5; do
	check "mcdiff seed $seed (4000 ops, classic and meta)" "$B/tests/mcdiff" "$tmp/mc.sock" "$tmp/pl.sock" 4000 "$seed"
done
capable=$(command -v memccapable || command -v memcapable)
if [ -n "$capable" ]; then
	check "memcapable -a (text protocol)" "$capable" -a -h 127.0.0.1 -p "$port"
	check "memcapable -b (binary protocol)" "$capable" -b -h 127.0.0.1 -p "$port"
else
	echo "FAIL memcapable missing (scripts/deps.sh installs libmemcached-tools)"
	fail=$((fail + 1))
fi
check "size shift, size sweep, flush shift (tests/plmcd/sizeshift.py)" \
	/usr/bin/python3 tests/plmcd/sizeshift.py "$B/plmcd" "$(command -v memcached)"
echo "-- fixed sessions against memcached (tests/plmcd/protodiff.py)"
if /usr/bin/python3 tests/plmcd/protodiff.py "$B/plmcd" "$(command -v memcached)" "$tmp" >"$tmp/protodiff" 2>&1; then :; fi
cat "$tmp/protodiff"
pass=$((pass + $(grep -c '^PASS' "$tmp/protodiff")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/protodiff")))
grep -q '^protodiff cases: [0-9]* passed, 0 failed' "$tmp/protodiff" || { echo "FAIL protodiff.py did not finish"; fail=$((fail + 1)); }
echo "-- the reply path against memcached (tests/plmcd/replies.py)"
if /usr/bin/python3 tests/plmcd/replies.py "$B/plmcd" "$(command -v memcached)" "$tmp" >"$tmp/replies" 2>&1; then :; fi
cat "$tmp/replies"
pass=$((pass + $(grep -c '^PASS' "$tmp/replies")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/replies")))
grep -q '^replies cases: [0-9]* passed, 0 failed' "$tmp/replies" || { echo "FAIL replies.py did not finish"; fail=$((fail + 1)); }
echo "-- hostile clients (tests/plmcd/hostile.py)"
if /usr/bin/python3 tests/plmcd/hostile.py 127.0.0.1 "$port" 2100 >"$tmp/hostile" 2>&1; then :; fi
cat "$tmp/hostile"
pass=$((pass + $(grep -c '^PASS' "$tmp/hostile")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/hostile")))
grep -q '^hostile cases: [0-9]* passed, 0 failed' "$tmp/hostile" || { echo "FAIL hostile.py did not finish"; fail=$((fail + 1)); }
echo "-- TLS and authentication with real clients (tests/plmcd/netsec.py)"
if tests/plmcd/make-certs.sh "$tmp/certs" &&
	/usr/bin/python3 tests/plmcd/netsec.py "$B/plmcd" "$tmp/certs" "$tmp" >"$tmp/netsec" 2>&1; then :; fi
cat "$tmp/netsec"
pass=$((pass + $(grep -c '^PASS' "$tmp/netsec")))
fail=$((fail + $(grep -c '^FAIL' "$tmp/netsec")))
grep -q '^netsec cases: [0-9]* passed, 0 failed' "$tmp/netsec" || { echo "FAIL netsec.py did not finish"; fail=$((fail + 1)); }
pytests=/usr/lib/python3/dist-packages/pymemcache/test/test_integration.py
if [ -f "$pytests" ] && /usr/bin/python3 -c 'import pytest' 2>/dev/null; then
	check "pymemcache integration tests" /usr/bin/python3 -m pytest -q \
		-p no:cacheprovider "$pytests" -k 'not tls' \
		--server 127.0.0.1 --port "$port"
else
	echo "FAIL pymemcache tests missing (scripts/deps.sh installs python3-pymemcache python3-pytest)"
	fail=$((fail + 1))
fi
if command -v memcslap >/dev/null; then
	check "memcslap --binary (a real binary-protocol client)" \
		memcslap --binary --servers="127.0.0.1:$port" --concurrency=4 \
		--execute-number=2000 --flush
else
	echo "FAIL memcslap missing (scripts/deps.sh installs libmemcached-tools)"
	fail=$((fail + 1))
fi
# flags and exptime past 32 bits: memcached cuts them to 32 bits (2**31
# seconds is in the past, 2**32 is 0; flags 2**32 is 0), a sign on flags
# or a number beyond a long is its CLIENT_ERROR: the same bytes back.
limits32() {
	/usr/bin/python3 - "$tmp/mc.sock" "$tmp/pl.sock" <<'PY'
import socket, sys, time
cmds = (b"set x32a 0 2147483648 1\r\nx\r\nget x32a\r\n"
        b"set x32b 4294967296 0 1\r\nx\r\nget x32b\r\n"
        b"set x32c 0 4294967296 1\r\nx\r\nget x32c\r\n"
        b"touch x32c 2147483648\r\nget x32c\r\n"
        b"set x32d -1 0 1\r\nx\r\nset x32e 0 99999999999999999999 1\r\nx\r\n"
        b"gat 4294967296 x32b\r\nflush_all 4294967296\r\n")
out = []
for path in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(cmds)
    time.sleep(0.3)
    out.append(s.recv(65536))
print(out[0])
print(out[1])
sys.exit(0 if out[0] == out[1] and out[0].count(b"STORED") == 3 else 1)
PY
}
check "flags and exptime past 32 bits: memcached's answers, byte for byte" limits32
# memcdump reads "lru_crawler metadump all" (the store's item walk)
dump_check() {
	/usr/bin/python3 - "$port" <<'PY' || return 1
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(300):
    s.sendall(b"set dump-%d 0 0 1\r\nx\r\n" % i)
    s.recv(100)
PY
	memcdump --servers="127.0.0.1:$port" >"$tmp/dump" || return 1
	n=$(grep -c '^dump-[0-9]*$' "$tmp/dump")
	echo "$n of 300 keys dumped, $(wc -l <"$tmp/dump") in all"
	[ "$n" = 300 ]
}
# stats slabs' per-class command counters: the same commands to Debian's
# memcached and to plmcd (the same class ladder), after a stats reset,
# give the same nonzero counters; then a local library client's gets on
# the shared store count there too.
slabs_cmds() {
	PYTHONPATH=$B/python /usr/bin/python3 - "$tmp/mc.sock" "$tmp/pl.sock" "$store" <<'PY'
import socket, sys, time
NAMES = (b"get_hits", b"cmd_set", b"delete_hits", b"incr_hits",
         b"decr_hits", b"cas_hits", b"cas_badval", b"touch_hits")

def conn(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s

def ask(s, cmd, end=b"\r\n"):
    s.sendall(cmd)
    d = b""
    while not d.endswith(end):
        d += s.recv(65536)
    return d

def counters(s):
    out = {}
    for line in ask(s, b"stats slabs\r\n", b"END\r\n").split(b"\r\n"):
        w = line.split()
        if len(w) == 3 and b":" in w[1]:
            cls, name = w[1].split(b":")
            if name in NAMES and int(w[2]):
                out[(int(cls), name.decode())] = int(w[2])
    return out

def session(s):
    ask(s, b"stats reset\r\n")
    for k, n in ((b"sc-a", 10), (b"sc-b", 500), (b"sc-c", 3000)):
        ask(s, b"set %s 0 0 %d\r\n%s\r\n" % (k, n, b"v" * n))
    ask(s, b"set sc-n 0 0 2\r\n10\r\n")
    for _ in range(3):
        ask(s, b"get sc-a sc-b sc-c sc-none\r\n", b"END\r\n")
    ask(s, b"gat 100 sc-c\r\n", b"END\r\n")
    ask(s, b"touch sc-b 100\r\n")
    ask(s, b"incr sc-n 5\r\n")
    ask(s, b"decr sc-n 1\r\n")
    ask(s, b"incr sc-none 1\r\n")
    cas = ask(s, b"gets sc-b\r\n", b"END\r\n").split()[4]
    ask(s, b"cas sc-b 0 0 3 %s\r\nnew\r\n" % (b"1" + cas))
    ask(s, b"cas sc-b 0 0 3 %s\r\nnew\r\n" % cas)
    ask(s, b"append sc-c 0 0 3\r\nxyz\r\n")
    ask(s, b"delete sc-a\r\n")
    ask(s, b"delete sc-a\r\n")
    return counters(s)

mc, pl = conn(sys.argv[1]), conn(sys.argv[2])
want, got = session(mc), session(pl)
print("memcached:", sorted(want.items()))
print("plmcd:    ", sorted(got.items()))
if want != got or not want:
    sys.exit(1)
# a local client of the shared store: its gets are the store's
import plmc
c = plmc.Client(sys.argv[3])
for _ in range(7):
    assert c.get("sc-n") == b"14"
after = counters(pl)
cls = [k[0] for k in want if k[1] == "incr_hits"][0]
print("after 7 local gets of sc-n: get_hits", after.get((cls, "get_hits")))
sys.exit(0 if after.get((cls, "get_hits")) == want[(cls, "get_hits")] + 7
         else 1)
PY
}
check "stats slabs per-class counters: memcached's, and local clients count" slabs_cmds
if command -v memcdump >/dev/null; then
	check "memcdump (lru_crawler metadump over the store's walk)" dump_check
else
	echo "FAIL memcdump missing (scripts/deps.sh installs libmemcached-tools)"
	fail=$((fail + 1))
fi
echo "-- operator flags (-u, -d, -P, own and shared stores)"
ask_version() { # port: "VERSION ..." or nothing
	/usr/bin/python3 - "$1" <<'PY' 2>/dev/null
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"version\r\n")
print(s.recv(100).decode().strip())
PY
}
wait_port() { for _ in $(seq 200); do [ -n "$(ask_version "$1")" ] && return 0; sleep 0.05; done; return 1; }
wait_gone() { for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done; return 1; }
op_port=$((port + 1))
root_refused() { # as root without -u: memcached's refusal, nothing served
	local out
	out=$("$B/plmcd" -p "$op_port" 2>&1) && return 1 # must fail
	echo "$out"
	grep -q "can't run as root without the -u switch" <<<"$out" &&
		[ -z "$(ask_version "$op_port")" ]
}
daemon_user() { # -d -P -u nobody: the daemon serves as nobody, its own store
	"$B/plmcd" -u nobody -d -P "$tmp/d.pid" -p "$op_port" 2>/dev/null || return 1
	wait_port "$op_port"
	local pid uid v
	pid=$(cat "$tmp/d.pid") || return 1
	uid=$(awk '/^Uid:/ { print $2 $3 $4 $5 }' "/proc/$pid/status")
	v=$(ask_version "$op_port")
	ls /dev/shm | grep -q "^plmc.plmcd-127.0.0.1-$op_port\$" || { echo "no own store"; kill "$pid"; return 1; }
	kill "$pid"
	wait_gone "$pid" || return 1
	echo "uid $uid, $v, own store destroyed at exit: $(ls /dev/shm | grep -c "plmcd-127.0.0.1-$op_port")"
	[ "$uid" = "$(id -u nobody)$(id -u nobody)$(id -u nobody)$(id -u nobody)" ] &&
		[ "$v" = "VERSION 1.6.18-plmc" ] && ! ls /dev/shm | grep -q "plmcd-127.0.0.1-$op_port"
}
daemon_shared() { # -d -n: the daemon attaches after forking; no stale attachment
	"$B/plmcd" -u root -d -P "$tmp/s.pid" -n "$store-d" -p "$op_port" 2>/dev/null || return 1
	wait_port "$op_port"
	local pid v
	pid=$(cat "$tmp/s.pid") || return 1
	v=$(ask_version "$op_port")
	kill "$pid"
	wait_gone "$pid" || return 1
	[ "$v" = "VERSION 1.6.18-plmc" ] && "$B/plctl" destroy "$store-d"
}
shared_m_said() { # -n of a store that exists: -m is ignored, and said so
	"$B/plctl" create "$store-m" --size 8M >/dev/null || return 1
	"$B/plmcd" -u root -n "$store-m" -m 64 -p "$op_port" 2>"$tmp/m.err" &
	local pid=$!
	wait_port "$op_port"
	kill "$pid"
	wait_gone "$pid"
	cat "$tmp/m.err"
	"$B/plctl" destroy "$store-m" --force >/dev/null
	grep -q "exists: -m 64 ignored" "$tmp/m.err"
}
daemon_store_error() { # -d with a store it may not attach: the parent says so, exit 1
	"$B/plctl" create "$store-p" --size 8M >/dev/null || return 1 # root's, 0600
	"$B/plmcd" -u nobody -n "$store-p" -d -P "$tmp/e.pid" -p "$op_port" 2>"$tmp/e.err"
	local rc=$?
	cat "$tmp/e.err"
	"$B/plctl" destroy "$store-p" --force >/dev/null
	echo "rc $rc"
	[ "$rc" = 1 ] && grep -q "plmcd: store $store-p: Permission denied" "$tmp/e.err" &&
		[ ! -e "$tmp/e.pid" ] && [ -z "$(ask_version "$op_port")" ]
}
daemon_ok_silent() { # -d that serves: exit 0 once serving, the parent prints no error
	"$B/plmcd" -u nobody -d -P "$tmp/o.pid" -p "$op_port" 2>"$tmp/o.err" || return 1
	# served the moment the parent returns: no wait needed
	local v pid
	v=$(ask_version "$op_port")
	pid=$(cat "$tmp/o.pid")
	kill "$pid"
	wait_gone "$pid"
	echo "$v"
	cat "$tmp/o.err"
	[ "$v" = "VERSION 1.6.18-plmc" ] && ! grep -qi "error\|denied" "$tmp/o.err"
}
fg_store_error() { # foreground -u nobody: a failed attach removes its socket and pid file
	"$B/plctl" create "$store-f" --size 8M >/dev/null || return 1 # root's, 0600
	"$B/plmcd" -u nobody -n "$store-f" -s "$tmp/f.sock" -p 0 -P "$tmp/f.pid" 2>"$tmp/f.err"
	local rc=$?
	cat "$tmp/f.err"
	"$B/plctl" destroy "$store-f" --force >/dev/null
	echo "rc $rc, left: $(ls "$tmp/f.sock" "$tmp/f.pid" 2>/dev/null)"
	[ "$rc" = 1 ] && grep -q "Permission denied" "$tmp/f.err" &&
		[ ! -e "$tmp/f.sock" ] && [ ! -e "$tmp/f.pid" ]
}
unix_in_use() { # a second plmcd on a live plmcd's socket: refused, the first still served
	"$B/plmcd" -u root -s "$tmp/o.sock" -p 0 -m 8 2>/dev/null &
	local pid=$! out rc v
	wait_for "$tmp/o.sock" || return 1
	out=$("$B/plmcd" -u root -s "$tmp/o.sock" -p 0 -m 8 2>&1)
	rc=$?
	v=$(/usr/bin/python3 -c "
from pymemcache.client.base import Client
print(Client('$tmp/o.sock').version().decode())")
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "$out"
	echo "rc $rc, first after: $v, socket after exit: $(ls "$tmp/o.sock" 2>/dev/null)"
	[ "$rc" = 1 ] && grep -q "in use by a running server (pid $pid)" <<<"$out" &&
		[ "$v" = "1.6.18-plmc" ] && [ ! -e "$tmp/o.sock" ]
}
unix_stale() { # a socket file nobody listens on (a killed plmcd's): replaced, served
	/usr/bin/python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('$tmp/st.sock')"
	"$B/plmcd" -u root -s "$tmp/st.sock" -p 0 -m 8 2>/dev/null &
	local pid=$! v
	sleep 0.5
	v=$(/usr/bin/python3 -c "
from pymemcache.client.base import Client
print(Client('$tmp/st.sock').version().decode())")
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "stale socket replaced: $v"
	[ "$v" = "1.6.18-plmc" ]
}
# plmcd.service runs as User=plmcd, SupplementaryGroups=plmc, no
# capabilities, with PLMCD_OPTS: its own options here (the store's name
# and the port changed), as a user in a group of its own (users), not root.
unit_opts() {
	sed -n 's/^Environment=PLMCD_OPTS="\(.*\)"$/\1/p' tools/plmcd/plmcd.service |
		sed "s/-n cache/-n $store-u/; s/-p 11211/-p $op_port/"
}
unit_store() { # create-args...: serve it as the unit would; echo the answer
	"$B/plctl" create "$store-u" --size 64M "$@" >/dev/null || return 1
	# shellcheck disable=SC2046 # the unit's options, split as systemd does
	setpriv --reuid=nobody --regid=nogroup --groups=users \
		"$B/plmcd" $(unit_opts) >/dev/null 2>"$tmp/u.err" &
	local pid=$!
	wait_port "$op_port"
	ask_version "$op_port"
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	cat "$tmp/u.err" >&2
	"$B/plctl" destroy "$store-u" --force >/dev/null
}
unit_group_store() { # the documented store: --group users --mode 0660
	local v
	[ -n "$(unit_opts)" ] || { echo "no PLMCD_OPTS in the unit"; return 1; }
	v=$(unit_store --mode 0660 --group users)
	echo "options: $(unit_opts); with --group: $v"
	[ "$v" = "VERSION 1.6.18-plmc" ] || return 1
	# control: the same store without --group is root's group: refused
	v=$(unit_store --mode 0660 2>/dev/null)
	echo "without --group: ${v:-nothing served}"
	[ -z "$v" ] && grep -q "Permission denied" "$tmp/u.err"
}
flags_fd() { # -F refuses flush_all (text and binary); -D turns prefix stats on
	"$B/plmcd" -u root -F -D / -p "$op_port" 2>/dev/null &
	local pid=$! r
	wait_port "$op_port"
	r=$(/usr/bin/python3 - "$op_port" <<'PY'
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"flush_all\r\nset a/1 0 0 1\r\nx\r\nget a/1\r\nstats detail dump\r\n")
time.sleep(0.3)
t = s.recv(4096)
b = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
b.sendall(struct.pack(">BBHBBHIIQ", 0x80, 0x08, 0, 0, 0, 0, 0, 0, 0))
h = b.recv(4096)
print(t == b"CLIENT_ERROR flush_all not allowed\r\nSTORED\r\nVALUE a/1 0 1\r\nx\r\n"
      b"END\r\nPREFIX a get 1 hit 1 set 1 del 0\r\nEND\r\n",
      struct.unpack(">H", h[6:8])[0] == 0x20, repr(t))
PY
)
	kill "$pid"
	wait_gone "$pid"
	echo "$r"
	[ "${r%% *}" = True ] && [ "$(echo "$r" | cut -d' ' -f2)" = True ]
}
check "-F refuses flush_all (text, binary AUTH_ERROR); -D counts per prefix" flags_fd
listen_list() { # -l ADDR,ADDR:PORT: a listener each, one store
	"$B/plmcd" -u root -l "127.0.0.1,127.0.0.1:$((op_port + 1))" -p "$op_port" 2>"$tmp/l.err" &
	local pid=$! a b
	wait_port "$op_port"
	wait_port "$((op_port + 1))"
	a=$(ask_version "$op_port")
	b=$(ask_version "$((op_port + 1))")
	kill "$pid"
	wait_gone "$pid"
	cat "$tmp/l.err" # plmcd's own words, shown if this fails
	echo "$a / $b"
	[ "$a" = "VERSION 1.6.18-plmc" ] && [ "$b" = "$a" ]
}
check "-l 127.0.0.1,127.0.0.1:PORT: both listeners serve" listen_list
slabs_answers() { # memcached 1.6.18's answers: class 0 is the pool, a mode over 2 is ERROR
	"$B/plmcd" -u root -p "$op_port" 2>"$tmp/s.err" &
	local pid=$! r
	wait_port "$op_port"
	r=$(/usr/bin/python3 - "$op_port" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"slabs reassign 0 1\r\nslabs automove 3\r\nslabs automove x\r\n"
          b"slabs automove 0\r\nset k 0 0 1\r\nv\r\nslabs automove 1\r\n")
want = (b"NOSPARE source class has no spare pages\r\nERROR\r\n"
        b"CLIENT_ERROR bad command line format\r\nOK\r\nSTORED\r\nOK\r\n")
got = b""
end = time.time() + 5
while len(got) < len(want) and time.time() < end:
    got += s.recv(4096)
print(got == want, repr(got))
PY
)
	kill "$pid"
	wait_gone "$pid"
	cat "$tmp/s.err"
	echo "$r"
	[ "${r%% *}" = True ]
}
check "slabs reassign 0 1: NOSPARE; slabs automove 3: ERROR (memcached's answers)" slabs_answers
tenants_two() { # -o tenant=ID: two plmcds on one store with tenants, keys apart
	"$B/plctl" create "$store-t" --size 16M --tenants 4 >/dev/null || return 1
	local p2=$((op_port + 2)) pa pb r
	"$B/plmcd" -u root -n "$store-t" -o tenant=1001 -p "$op_port" 2>"$tmp/ta.err" &
	pa=$!
	"$B/plmcd" -u root -n "$store-t" -o tenant=1002 -p "$p2" 2>"$tmp/tb.err" &
	pb=$!
	wait_port "$op_port"
	wait_port "$p2"
	r=$(/usr/bin/python3 - "$op_port" "$p2" <<'PY'
import socket, sys, time
def ask(port, cmds):
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
    s.sendall(cmds)
    time.sleep(0.3)
    return s.recv(4096)
a, b = sys.argv[1], sys.argv[2]
ok = [ask(a, b"set k 0 0 5\r\nalpha\r\nset n 0 0 2\r\n10\r\n") == b"STORED\r\nSTORED\r\n",
      ask(b, b"get k\r\nincr n 1\r\ndelete k\r\nset k 0 0 4\r\nbeta\r\n")
      == b"END\r\nNOT_FOUND\r\nNOT_FOUND\r\nSTORED\r\n",
      ask(b, b"flush_all\r\n") == b"OK\r\n",
      ask(a, b"get k\r\nincr n 1\r\n") == b"VALUE k 0 5\r\nalpha\r\nEND\r\n11\r\n"]
# plmcd runs as root (the owner), but a connection of tenant 1002 has
# that tenant's rights: the owner's commands refused, no item counts.
ok.append(ask(b, b"stats reset\r\nslabs automove 1\r\nslabs reassign -1 0\r\n")
          == b"CLIENT_ERROR stats reset not allowed\r\n"
             b"CLIENT_ERROR slabs automove not allowed\r\n"
             b"CLIENT_ERROR slabs reassign not allowed\r\n")
ok.append(ask(b, b"stats items\r\n") == b"END\r\n")
st = ask(a, b"stats\r\n")
items = [l for l in st.split(b"\r\n") if l.startswith(b"STAT curr_items ")]
ok.append(items == [b"STAT curr_items 2"])
tl = ask(b, b"stats tenants\r\n").split(b"\r\n")
ok.append(b"STAT tenant:1002:curr_items 1" in tl and
          not any(l.startswith(b"STAT tenant:1001:") for l in tl))
print(all(ok), ok, items)
PY
)
	kill "$pb" "$pa"
	wait_gone "$pa"
	wait_gone "$pb"
	echo "$r"
	"$B/plctl" tenant list "$store-t"
	"$B/plctl" destroy "$store-t" --force >/dev/null
	[ "${r%% *}" = True ]
}
check "-o tenant=ID: two plmcds on a store with tenants see only their own keys, owner commands refused" tenants_two
tenant_map_syntax() { # -o tenant_map: USER:ID pairs, or a refusal that says so
	local out pid
	out=$("$B/plmcd" -u root -o tenant_map=alice -p "$op_port" 2>&1) && return 1
	echo "$out"
	grep -q "tenant_map: USER:ID" <<<"$out" || return 1
	"$B/plmcd" -u root -o tenant_map=alice:1001:bob:1002 -p "$op_port" 2>/dev/null &
	pid=$!
	wait_port "$op_port" || return 1
	kill "$pid"
	wait_gone "$pid"
}
check "-o tenant_map: a malformed map refused, USER:ID pairs accepted" tenant_map_syntax
tenants_auth() { # -Y and -o tenant_map: each logged-in user is its own tenant
	printf 'alice:pa\nbob:pb\ncarol:pc\n' >"$tmp/auth"
	"$B/plctl" create "$store-y" --size 16M --tenants 4 >/dev/null || return 1
	"$B/plmcd" -u root -n "$store-y" -Y "$tmp/auth" \
		-o tenant_map=alice:1001:bob:1002 -p "$op_port" 2>"$tmp/y.err" &
	local pid=$! r
	wait_port_auth "$op_port"
	r=$(/usr/bin/python3 - "$op_port" <<'PY'
import socket, sys, time
def session(user, pw, cmds):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    tok = ("%s %s" % (user, pw)).encode()
    s.sendall(b"set a 0 0 %d\r\n%s\r\n" % (len(tok), tok) + cmds)
    time.sleep(0.4)
    return s.recv(4096)
ok = [session("alice", "pa", b"set k 0 0 5\r\nalpha\r\n") == b"STORED\r\nSTORED\r\n",
      session("bob", "pb", b"get k\r\nset k 0 0 4\r\nbeta\r\n") == b"STORED\r\nEND\r\nSTORED\r\n",
      session("alice", "pa", b"get k\r\n") == b"STORED\r\nVALUE k 0 5\r\nalpha\r\nEND\r\n",
      session("carol", "pc", b"get k\r\n").startswith(b"STORED\r\nSERVER_ERROR no tenant")]
print(all(ok), ok)
PY
)
	kill "$pid"
	wait_gone "$pid"
	echo "$r"
	cat "$tmp/y.err"
	"$B/plctl" destroy "$store-y" --force >/dev/null
	[ "${r%% *}" = True ]
}
# plmcd -Y answers nothing but the login: wait for the port to accept.
wait_port_auth() { for _ in $(seq 200); do /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=1)" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }
check "-Y with -o tenant_map: each user its own tenant, an unmapped user refused" tenants_auth

# Context switches of every thread of process $1, summed.
switches() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/voluntary_ctxt_switches/ { s += $2 } END { print s + 0 }'
}
idle_quiet() { # an idle plmcd (4 workers, a store watcher) does not wake; SIGTERM still stops it
	"$B/plmcd" -u root -t 4 -n "$store-q" -p "$op_port" 2>"$tmp/q.err" &
	local pid=$! a b v
	wait_port "$op_port" || { kill "$pid"; return 1; }
	v=$(ask_version "$op_port")
	sleep 1.5 # the watcher parks one look after the last call
	a=$(switches "$pid")
	sleep 2
	b=$(switches "$pid")
	kill "$pid"
	wait_gone "$pid" || { echo "SIGTERM did not stop it"; kill -9 "$pid"; return 1; }
	"$B/plctl" destroy "$store-q" >/dev/null 2>&1
	echo "$v; $((b - a)) switches in 2 s idle (before: 5 a second per worker); stopped by SIGTERM"
	[ "$v" = "VERSION 1.6.18-plmc" ] && [ $((b - a)) -le 2 ]
}
[ "$(id -u)" = 0 ] && check "idle plmcd: no wake-ups, SIGTERM still stops it" idle_quiet
# -o read_buf_mem_limit=2 with one worker: 2 MiB of buffers for all its
# connections. Replies past it are dropped and their connection closed
# (response_obj_oom): a multi-get streams, so one connection holds
# 256 KiB plus one value of it, and it takes 4 that never read (each
# holding up to 0.86 MB once its socket is full) to pass it; half-sent
# commands past it close (read_buf_oom); drained buffers go back, so
# idle connections hold none and are served.
read_buf_limit() {
	"$B/plmcd" "${user[@]}" -p "$op_port" -t 1 -o read_buf_mem_limit=2 2>/dev/null &
	local pid=$! rc
	wait_port "$op_port" || { kill "$pid"; return 1; }
	/usr/bin/python3 - "$op_port" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=10)
def ask(s, cmd, end=b"\r\n"):
    s.sendall(cmd)
    d = b""
    while not d.endswith(end):
        c = s.recv(1 << 20)
        if not c:
            return d
        d += c
    return d
def stat(name, what=b""):
    for l in ask(conn(), b"stats %s\r\n" % what, b"END\r\n").split(b"\r\n"):
        w = l.split()
        if len(w) == 3 and w[1] == name.encode():
            return int(w[2])
ok = ask(conn(), b"set big 0 0 600000\r\n" + b"x" * 600000 + b"\r\n") == b"STORED\r\n"
ok &= stat("read_buf_mem_limit", b"settings") == 2 << 20
hogs, full = [], 40 * (len(b"VALUE big 0 600000\r\n") + 600002) + 5
for _ in range(4):  # 24 MB asked each: past what the sockets hold
    h = conn()
    h.sendall(b"get" + b" big" * 40 + b"\r\n")
    hogs.append(h)
for _ in range(100):
    oom = stat("response_obj_oom")
    if oom:
        break
    time.sleep(0.05)
gone = 0
for h in hogs:  # a closed one ends short of its reply
    n = 0
    try:
        while n < full:
            d = h.recv(1 << 20)
            if not d:
                break
            n += len(d)
    except OSError:
        pass
    gone += n < full
    h.close()
oom = stat("response_obj_oom")
served = ask(conn(), b"get big\r\n", b"END\r\n").startswith(b"VALUE big 0 600000")
idle = [conn() for _ in range(40)]
for s in idle:
    ask(s, b"version\r\n")
half = []
for _ in range(200):
    s = conn()
    s.sendall(b"set foo 0 0 2\r\n")
    half.append(s)
time.sleep(1)
closed = 0
for s in half:
    s.settimeout(0.01)
    try:
        closed += s.recv(10) == b""
    except socket.timeout:
        pass
    except ConnectionResetError:
        closed += 1
    s.close()
time.sleep(0.5)
rboom = stat("read_buf_oom")
again = all(ask(s, b"version\r\n").startswith(b"VERSION") for s in idle)
print("%d of 4 non-readers closed, response_obj_oom %s, a 600 KB reply served %s; "
      "%d of 200 half-sent closed, read_buf_oom %s, 40 idle served %s"
      % (gone, oom, served, closed, rboom, again))
sys.exit(0 if ok and 1 <= gone == oom and served and 40 <= closed <= 100
         and rboom >= closed and again else 1)
PY
	rc=$?
	kill "$pid"
	wait "$pid" 2>/dev/null
	return $rc
}
check "-o read_buf_mem_limit: a worker's buffers bounded, what passes it closed and counted" read_buf_limit
# memcached's MEMCACHED_PORT_FILENAME and -p -1 (test harnesses' way to
# run a server on a free port)
port_file() {
	MEMCACHED_PORT_FILENAME=$tmp/ports "$B/plmcd" "${user[@]}" -p -1 -l "127.0.0.1,127.0.0.2:$op_port" 2>/dev/null &
	local pid=$! p1 p2 rc=1
	for _ in $(seq 100); do [ -f "$tmp/ports" ] && break; sleep 0.05; done
	cat "$tmp/ports"
	p1=$(sed -n '1s/^TCP INET: //p' "$tmp/ports")
	p2=$(sed -n '2s/^TCP INET: //p' "$tmp/ports")
	[ "$(wc -l <"$tmp/ports")" = 2 ] && [ -n "$p1" ] && [ "$p1" != 0 ] &&
		[ "$p2" = "$op_port" ] && [ "$(ask_version "$p1")" = "VERSION 1.6.18-plmc" ] &&
		[ ! -e "$tmp/ports.lck" ] && rc=0
	kill "$pid"
	wait "$pid" 2>/dev/null
	rm -f "$tmp/ports"
	return $rc
}
check "MEMCACHED_PORT_FILENAME and -p -1: a TCP INET line per listener, the free port served" port_file
own_store_shared() { # plmcd A's own store attached by plmcd B -n: A's exit leaves it to B
	local own="plmcd-127.0.0.1-$op_port" p2=$((op_port + 3)) a b v rc=1
	"$B/plmcd" "${user[@]}" -p "$op_port" -m 8 2>"$tmp/own-a.err" &
	a=$!
	wait_port "$op_port" || { kill "$a"; return 1; }
	"$B/plmcd" "${user[@]}" -n "$own" -p "$p2" 2>/dev/null &
	b=$!
	wait_port "$p2" || { kill "$a" "$b"; return 1; }
	/usr/bin/python3 -c "
from pymemcache.client.base import Client
Client(('127.0.0.1', $p2)).set('k', 'kept')"
	kill "$a"
	wait "$a" 2>/dev/null
	v=$(/usr/bin/python3 -c "
from pymemcache.client.base import Client
print(Client(('127.0.0.1', $p2)).get('k').decode())")
	cat "$tmp/own-a.err"
	echo "after A's exit: B reads '$v', store name there: $(ls /dev/shm | grep -c "^plmc.$own\$")"
	[ "$v" = kept ] && ls /dev/shm | grep -q "^plmc.$own\$" &&
		grep -q "store $own kept: another process attached it" "$tmp/own-a.err" && rc=0
	kill "$b"
	wait "$b" 2>/dev/null
	"$B/plctl" destroy "$own" >/dev/null 2>&1 || rc=1 # B gone: nobody attached
	return $rc
}
check "own store attached by a plmcd -n: kept at the owner's exit, the other still served" own_store_shared

if [ "$(id -u)" = 0 ]; then # -u and the root refusal need root
	check "as root without -u: refused as memcached refuses" root_refused
	check "-d -P -u nobody: daemon serves as nobody, own store destroyed at exit" daemon_user
	check "-d -n: shared store, plain destroy after the daemon exits (no stale attach)" daemon_shared
	check "-n of an existing store with -m: ignored, and said so" shared_m_said
	check "-d with a store it may not attach: the error, exit 1, nothing left" daemon_store_error
	check "-d: exit 0 only once serving" daemon_ok_silent
	check "foreground -u nobody, store refused: socket and pid file removed" fg_store_error
	check "-s of a live plmcd's socket: refused naming its pid, the first still served" unix_in_use
	check "-s of a stale socket file: replaced and served" unix_stale
	check "the unit's options as a service user on a --group store (and refused without)" unit_group_store
else
	echo "SKIP -u checks (not root)"
fi

# The shipped unit's hardening, as systemd rates it, against Debian's
# memcached unit (4.8).
score=$(systemd-analyze security --offline=true tools/plmcd/plmcd.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for plmcd.service: \([0-9.]*\).*/\1/p')
check "plmcd.service exposure ${score:-?} <= 4.8 (Debian's memcached.service)" \
	awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 4.8) }'
m_values() { # -m as memcached reads it (MiB; m/g suffix); bad ones named with the bounds
	local m out
	for m in -5 99999999 abc 4k; do
		out=$("$B/plmcd" "${user[@]}" -m "$m" -p 0 -s "$tmp/m.sock" 2>&1) && return 1
		echo "$out"
		grep -q "^plmcd: -m $m: the store's size in MiB (memcached's -m), 4 to [0-9]*" <<<"$out" || return 1
	done
	"$B/plmcd" "${user[@]}" -m 8m -p 0 -s "$tmp/m.sock" 2>"$tmp/m8.err" &
	local pid=$!
	wait_for "$tmp/m.sock"
	out=$(/usr/bin/python3 -c "
from pymemcache.client.base import Client
print(Client('$tmp/m.sock').stats()[b'limit_maxbytes'])")
	kill "$pid"
	wait "$pid" 2>/dev/null
	echo "-m 8m: limit_maxbytes $out"
	[ -n "$out" ] && [ "$out" -gt $((6 << 20)) ] && [ "$out" -le $((8 << 20)) ]
}
check "-m 8m is 8 MiB; -m -5, 99999999, abc, 4k refused naming -m and its bounds" m_values
memlimit_created() { # cache_memlimit takes the size the store was made with as well
	"$B/plctl" create "$store-ml" --size 64M >/dev/null || return 1
	"$B/plmcd" "${user[@]}" -n "$store-ml" -p 0 -s "$tmp/ml.sock" 2>/dev/null &
	local pid=$! out
	wait_for "$tmp/ml.sock"
	out=$(/usr/bin/python3 -c "
from pymemcache.client.base import Client
c = Client('$tmp/ml.sock')
r = [c.stats()[b'limit_maxbytes'] >> 20, c.cache_memlimit(64), c.cache_memlimit(62)]
try:
    c.cache_memlimit(63)
except Exception as e:
    r.append(type(e).__name__)
print(*r)")
	kill "$pid"
	wait "$pid" 2>/dev/null
	"$B/plctl" destroy "$store-ml" --force >/dev/null
	echo "$out"
	[ "$out" = "62 True True MemcacheUnknownError" ]
}
check "cache_memlimit: a --size 64M store takes 64 and 62 (its items), not 63" memlimit_created
check "--version: memcached's version and the plmc release" \
	sh -c "'$B/plmcd' --version | grep -Eqx 'plmcd 1\.6\.18-plmc \(plmc [0-9]+\.[0-9]+\.[0-9]+\)'"
[ -e /dev/plmc ] ||
	check "its own store under kmod without the module: says so, not 'leftover'" \
		sh -c "PLMC_BACKEND=kmod '$B/plmcd' ${user[*]} -p 0 -s '$tmp/k.sock' 2>'$tmp/k.err';
			cat '$tmp/k.err'; grep -q 'the plmc module is not loaded' '$tmp/k.err' &&
			! grep -q leftover '$tmp/k.err'"
# The unit allows mbind (the store's NUMA policy) after ~@resources:
# systemd's own reading of the filter, not the file's text.
check "plmcd.service's system call filter lets mbind through" \
	sh -c "systemd-analyze security --offline=true tools/plmcd/plmcd.service 2>/dev/null |
		grep -q 'SystemCallFilter=~@resources.*mbind is allowed'"
echo "plmcd: $pass passed, $fail failed"
[ "$fail" = 0 ]
