#!/usr/bin/env bash
# tests/plctl/run.sh - plctl's operator views on a live store (backend
# none): stats (memcached's format and --json, figures from a known
# workload), top (rates: zero when idle, gets under a get load, the
# terminal view), list (the segment, the processes attached to it).
# The workload is tests/compat's ketama program on plmc's library, the
# store named as a local segment: every operation goes through the gate.
# Prints PASS/FAIL lines and "plctl: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.."
B=$PWD/build
K=$B/tests/compat/ketama-plmc
export PLMC_BACKEND=none
work=$(mktemp -d /tmp/plctl-test.XXXXXX)
seg=pt-ctl-$$
pids=()
# shellcheck source=tests/check.sh
. tests/check.sh
check_out=$work/out

cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	"$B/plctl" destroy "$seg" --force >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
stat_of() { sed -n "s/^STAT $1 //p" "$work/stats"; }

"$B/plctl" create "$seg" --size 8M >/dev/null || { echo "plctl: 0 passed, 1 failed"; exit 1; }
# 50 sets (after one flush), then 60 gets: 50 hits, 10 misses.
"$K" write weighted 50 "plmc:$seg" >/dev/null 2>&1
"$K" where weighted 60 "plmc:$seg" >/dev/null 2>&1

# --- stats ------------------------------------------------------------------
"$B/plctl" stats "$seg" >"$work/stats" 2>/dev/null
stats_format() {
	head -1 "$work/stats" | grep -qx 'STAT version .*' &&
		tail -1 "$work/stats" | grep -qx END &&
		! sed '$d' "$work/stats" | grep -vqE '^STAT [a-z_]+ [^ ]+$'
}
check "stats: STAT name value lines, then END" stats_format
stats_figures() {
	[ "$(stat_of cmd_set)" = 50 ] && [ "$(stat_of cmd_get)" = 60 ] &&
		[ "$(stat_of get_hits)" = 50 ] && [ "$(stat_of get_misses)" = 10 ] &&
		[ "$(stat_of curr_items)" = 50 ] && [ "$(stat_of cmd_flush)" = 1 ] &&
		[ "$(stat_of plmc_backend)" = none ] &&
		[ "$(stat_of limit_maxbytes)" -gt 0 ]
}
check "stats: the workload's figures (50 sets, 60 gets, 50 hits, 10 misses)" stats_figures
"$B/plctl" stats "$seg" --json >"$work/json" 2>/dev/null
json_same() {
	/usr/bin/python3 - "$work/json" "$work/stats" "$seg" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
assert j.pop("name") == sys.argv[3]
text = {}
for line in open(sys.argv[2]):
    p = line.split()
    if p[0] == "STAT":
        text[p[1]] = p[2]
for k, v in text.items():
    if k == "time":
        continue
    assert str(j[k]) == v, (k, j[k], v)
assert isinstance(j["cmd_get"], int) and j["cmd_get"] == 60
assert set(text) == set(j), set(text) ^ set(j)
PY
}
check "stats --json: one object, the same figures as the text" json_same
check "stats of a missing store: exit 1 and a message" \
	sh -c "'$B/plctl' stats no-such-$seg 2>'$work/err' >/dev/null; test \$? = 1 && grep -q 'plctl: attach no-such-$seg' '$work/err'"

# --- top --------------------------------------------------------------------
"$B/plctl" top "$seg" --count 3 --interval 0.2 >"$work/top" 2>/dev/null
top_idle() {
	[ "$(wc -l <"$work/top")" = 4 ] && head -1 "$work/top" | grep -q 'gets/s' &&
		awk 'NR > 1 { if ($2 != 0 || $3 != 0 || $4 != 0 || $5 != 0 || $7 != 50) exit 1 }' "$work/top"
}
check "top --count 3: a header and 3 lines, idle rates 0, 50 items" top_idle
( while :; do "$K" where weighted 60 "plmc:$seg" >/dev/null 2>&1; done ) &
pids+=($!)
loader=$!
"$B/plctl" top "$seg" --count 4 --interval 0.25 >"$work/top" 2>/dev/null
kill "$loader" 2>/dev/null
wait "$loader" 2>/dev/null
top_busy() {
	[ "$(wc -l <"$work/top")" = 5 ] &&
		awk 'NR > 1 { if ($3 != 0) exit 1; d = $2 - $4 - $5; if (d > 1 || d < -1) exit 1; if ($2 > 0) busy++ }
		     END { exit busy > 0 ? 0 : 1 }' "$work/top"
}
check "top under a get load: gets/s > 0 = hits/s + misses/s, sets/s 0" top_busy
sed 's/^/    /' "$work/top"
check "top --count 0: usage error (exit 2)" \
	sh -c "'$B/plctl' top '$seg' --count 0 >/dev/null 2>&1; test \$? = 2"
check "top --interval 0: usage error (exit 2)" \
	sh -c "'$B/plctl' top '$seg' --interval 0 >/dev/null 2>&1; test \$? = 2"
top_screen() {
	# a terminal: redrawn in place with the two bars; SIGINT ends it
	timeout -s INT 2 script -qfec "'$B/plctl' top '$seg' --interval 0.2" "$work/tty" >/dev/null 2>&1
	grep -aq $'\033\\[H' "$work/tty" && grep -aq 'memory  \[' "$work/tty" &&
		grep -aq 'hits    \[' "$work/tty" && grep -aq 'items 50' "$work/tty"
}
check "top on a terminal: the screen view (bars, redraw), ends on SIGINT" top_screen

# --- list -------------------------------------------------------------------
"$B/plmcd" -u root -n "$seg" -p 0 -s "$work/pl.sock" -t 1 2>/dev/null &
holder=$!
pids+=($holder)
for _ in $(seq 100); do [ -S "$work/pl.sock" ] && break; sleep 0.05; done
"$B/plctl" list >"$work/list" 2>/dev/null
list_attached() {
	grep -q "^segment $seg: backend none, file /dev/shm/plmc.$seg, store_size 8388608, .* processes 1\$" "$work/list" &&
		grep -A1 "^segment $seg:" "$work/list" | grep -qx "  pid $holder plmcd"
}
check "list: the segment and its attached process (pid, name)" list_attached
kill "$holder"
wait "$holder" 2>/dev/null
"$B/plctl" list >"$work/list" 2>/dev/null
check "list: no process once it exited" \
	grep -q "^segment $seg: .* processes 0\$" "$work/list"
check "list under kmod without /dev/plmc: exit 1, says why" \
	sh -c "PLMC_BACKEND=kmod '$B/plctl' list '$seg' 2>&1 | grep -q '/dev/plmc'; s=\$?; PLMC_BACKEND=kmod '$B/plctl' list '$seg' >/dev/null 2>&1; test \$? = 1 -a \$s = 0"

# --- a newcomer's first commands ----------------------------------------------
check "--help: the usage on stdout, exit 0, every command" \
	sh -c "'$B/plctl' --help >'$work/help' 2>'$work/help.err' &&
		[ ! -s '$work/help.err' ] && grep -q 'plctl create NAME' '$work/help' &&
		grep -q 'plctl --help | --version' '$work/help'"
check "--version: plctl (plmc) VERSION, exit 0" \
	sh -c "'$B/plctl' --version | grep -Eqx 'plctl \(plmc\) [0-9]+\.[0-9]+\.[0-9]+'"
check "a misspelt flag is named as unknown, exit 2" \
	sh -c "'$B/plctl' stats '$seg' --jsn 2>&1 | head -1 |
		grep -qx 'plctl: unknown option --jsn (plctl --help lists them)';
		'$B/plctl' stats '$seg' --jsn >/dev/null 2>&1; test \$? = 2"
"$B/plctl" create "$seg-other" --size 8M >/dev/null 2>&1
check "list NAME shows that store only (backend none)" \
	sh -c "'$B/plctl' list '$seg' | grep '^segment' >'$work/l1' &&
		[ \$(wc -l <'$work/l1') = 1 ] && grep -q '^segment $seg: ' '$work/l1' &&
		'$B/plctl' list | grep -q '^segment $seg-other: '"
check "list NAME of no store: exit 1, says so" \
	sh -c "'$B/plctl' list no-such-$seg 2>&1 | grep -q 'no such store';
		'$B/plctl' list no-such-$seg >/dev/null 2>&1; test \$? = 1"
check "list NAME NAME: the store shown, the missing one named, exit 1" \
	sh -c "'$B/plctl' list '$seg' no-such-$seg >'$work/l2' 2>&1; test \$? = 1 &&
		grep -q '^segment $seg: ' '$work/l2' &&
		grep -qx 'plctl: list no-such-$seg: no such store (backend none, /dev/shm)' '$work/l2'"
"$B/plctl" destroy "$seg-other" >/dev/null 2>&1
# -m is item memory, as memcached's: limit_maxbytes is exactly it.
mem_exact() { # MiB
	"$B/plctl" create "$seg-m" -m "$1" >"$work/mcreate" 2>&1 &&
		grep -qx "items: $(($1 << 20)) bytes (limit_maxbytes;.*" "$work/mcreate" &&
		"$B/plctl" stats "$seg-m" >"$work/mstats" 2>/dev/null &&
		grep -qx "STAT limit_maxbytes $(($1 << 20))" "$work/mstats"
	local rc=$?
	"$B/plctl" destroy "$seg-m" >/dev/null 2>&1
	return $rc
}
check "create -m 64: limit_maxbytes is 64 MiB exactly" mem_exact 64
check "create -m 3 (the smallest store): 3 MiB exactly" mem_exact 3
check "create -m 1G: 1 GiB exactly" mem_exact 1024
check "create -m 2: too small for any store, exit 2, nothing made" \
	sh -c "'$B/plctl' create '$seg-m' -m 2 2>&1 | grep -q 'at least 3M';
		'$B/plctl' create '$seg-m' -m 2 >/dev/null 2>&1; test \$? = 2 &&
		! '$B/plctl' info '$seg-m' >/dev/null 2>&1"
check "create with both -m and --size: exit 2" \
	sh -c "'$B/plctl' create '$seg-m' -m 64 --size 64M >/dev/null 2>&1; test \$? = 2"
# Each wrong setup named for what it is (libpl's error codes).
cause() { # expected-text command...
	local want=$1
	shift
	"$@" >/dev/null 2>"$work/cause"
	[ $? = 1 ] && grep -qF "$want" "$work/cause" || { cat "$work/cause"; return 1; }
}
[ -e /dev/plmc ] ||
	check "kmod without the module: says the module is not loaded" \
		cause "the plmc module is not loaded" env PLMC_BACKEND=kmod "$B/plctl" stats "$seg"
grep -qw pku /proc/cpuinfo ||
	check "pku without PKU: says the CPU has no PKU" \
		cause "no memory protection keys (PKU)" env PLMC_BACKEND=pku "$B/plctl" stats "$seg"
check "an unknown PLMC_BACKEND: names the variable" \
	cause "PLMC_BACKEND names no backend" env PLMC_BACKEND=kmd "$B/plctl" stats "$seg"
check "a bad store name: says what a name may hold" \
	cause "bad store name" "$B/plctl" create 'a/b' --size 8M
check "a missing store is still 'No such file or directory'" \
	cause "No such file or directory" "$B/plctl" stats "no-such-$seg"

# --- what a newcomer met (issue 17's outside test) ---------------------------
refused() { # expected-text command...: exit 2 and the text, nothing created
	local want=$1
	shift
	"$@" >/dev/null 2>"$work/ref"
	local rc=$?
	cat "$work/ref"
	[ "$rc" = 2 ] && grep -qF -- "$want" "$work/ref" && [ ! -e "/dev/shm/plmc.$seg-r" ]
}
check "an option given twice is refused, nothing created" \
	refused "--size given twice" "$B/plctl" create "$seg-r" --size 8M --size 16M
check "--json outside stats is refused (info, top, destroy, list)" \
	sh -c "for c in info top destroy; do
		'$B/plctl' \$c '$seg' --json >/dev/null 2>'$work/j'; [ \$? = 2 ] || exit 1
		grep -q 'json is for stats and tenant list only' '$work/j' || exit 1; done
		'$B/plctl' list --json >/dev/null 2>'$work/j'; [ \$? = 2 ] &&
		grep -q 'json is for stats and tenant list only' '$work/j'"
opts_first() { # options before NAME, as getopt permutes them
	"$B/plctl" create --size 8M --tenants 4 "$seg-o" >/dev/null || return 1
	"$B/plctl" stats --json "$seg-o" >"$work/oj" || return 1
	"$B/plctl" tenant list --json "$seg-o" >/dev/null || return 1
	"$B/plctl" destroy --force "$seg-o" || return 1
	head -c 40 "$work/oj"
	echo
	grep -q "^{\"name\": \"$seg-o\"" "$work/oj" && [ ! -e "/dev/shm/plmc.$seg-o" ]
}
check "options before NAME: create --size, stats --json, tenant list --json, destroy --force" opts_first
check "no NAME among the options: said, exit 2" \
	sh -c "'$B/plctl' stats --json 2>'$work/n'; [ \$? = 2 ] &&
		grep -q 'stats needs a store NAME' '$work/n'"
check "a second NAME is refused (exit 2)" \
	sh -c "'$B/plctl' info '$seg' other 2>'$work/n'; [ \$? = 2 ] &&
		grep -q 'unexpected argument other' '$work/n'"
grep -qw pku /proc/cpuinfo ||
	check "create --backend pku without PKU: refused, no none store made" \
		sh -c "'$B/plctl' create '$seg-r' --size 8M --backend pku 2>'$work/p';
			[ \$? = 1 ] && grep -q 'no memory protection keys' '$work/p' &&
			[ ! -e /dev/shm/plmc.$seg-r ]"
if [ "$(id -u)" = 0 ]; then
	# The store's group: a user in it (not its owner) attaches through
	# mode 0660, as plmcd.service's user does through the group plmc.
	group_attach() {
		"$B/plctl" create "$seg-g" --size 8M --mode 0660 --group users >"$work/g" || return 1
		stat -c '%G %a' "/dev/shm/plmc.$seg-g"
		local in out
		setpriv --reuid=nobody --regid=nogroup --groups=users \
			"$B/plctl" stats "$seg-g" >/dev/null 2>&1
		in=$?
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			"$B/plctl" stats "$seg-g" >/dev/null 2>&1
		out=$?
		"$B/plctl" destroy "$seg-g" --force >/dev/null
		echo "in the group: $in, not in it: $out"
		grep -q 'mode 0660, group 100,' "$work/g" && [ "$in" = 0 ] && [ "$out" = 1 ]
	}
	check "create --group users --mode 0660: a member attaches, others do not" group_attach
	check "create --group of a group the caller is not in: refused (not root)" \
		sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups \
			'$B/plctl' create '$seg-r' --size 8M --group users 2>'$work/gg';
			[ \$? = 1 ] && grep -q 'only root may give a store a group' '$work/gg' &&
			[ ! -e /dev/shm/plmc.$seg-r ]"
	check "create --group of no such group: refused" \
		refused "no such group" "$B/plctl" create "$seg-r" --size 8M --group no-such-group-x
	# A /dev/shm of 24 MiB (Docker's is 64m): a store that does not fit
	# is refused at create with the free space named; one that fits is
	# written full without a SIGBUS (its pages were reserved at create,
	# so the second store cannot take them).
	small_shm() {
		unshare -m --propagation private sh -c '
			mount -t tmpfs -o size=24m tmpfs /dev/shm || exit 9
			B=$1
			$B/plctl create big --size 64M 2>/tmp/plctl-shm.$$; rc=$?
			cat /tmp/plctl-shm.$$
			[ $rc = 1 ] && grep -q "which has 24 MiB free" /tmp/plctl-shm.$$ &&
				[ ! -e /dev/shm/plmc.big ] || exit 1
			$B/plctl create a --size 12M >/dev/null || exit 2
			$B/plctl create b --size 12M 2>/dev/null && exit 3
			PYTHONPATH=$B/python /usr/bin/python3 -c "
import plmc
c = plmc.Client(\"a\")
for i in range(40000):
    c.set(\"k%d\" % i, b\"x\" * 1000, noreply=False)
print(\"stored\", c.stats()[b\"curr_items\"], \"evictions\", c.stats()[b\"evictions\"])
"
		' small-shm "$B"
	}
	check "a /dev/shm too small: create refused with its free space; a store made never SIGBUSes" small_shm
fi
tenants_cmds() { # create --tenants, tenant set by name and by uid, list, refusals
	local t="$seg-t" rc
	"$B/plctl" create "$t" --size 8M --tenants 2 >/dev/null || return 1
	"$B/plctl" tenant set "$t" nobody --proxy &&
		"$B/plctl" tenant add "$t" 4242 --quota 1M || return 1
	"$B/plctl" tenant list "$t" >"$work/tl"
	cat "$work/tl"
	grep -Eq "^$(id -u nobody) +proxy +[0-9]+ " "$work/tl" &&
		grep -Eq '^4242 +- +1048576 ' "$work/tl" || return 1
	"$B/plctl" tenant list "$t" --json | grep -q '"id": 4242, "proxy": false, "quota": 1048576' || return 1
	"$B/plctl" tenant set "$t" no-such-user-here 2>/dev/null
	rc=$?
	[ "$rc" = 2 ] || return 1
	"$B/plctl" tenant set "$t" 4343 2>"$work/te" && return 1 # table full
	grep -q "tenant table is full" "$work/te" || return 1
	"$B/plctl" destroy "$t" --force >/dev/null
	"$B/plctl" tenant list "$seg" 2>"$work/te" && return 1 # no tenants
	grep -q "has no tenants" "$work/te"
}
check "tenant set/add/list: by name and uid, JSON, bad user exit 2, table full, no tenants" tenants_cmds

echo "plctl: $pass passed, $fail failed"
[ "$fail" = 0 ]
