# shellcheck shell=bash
# tests/check.sh - the PASS/FAIL lines of the shell suites that source
# it (tests/install/run.sh, tests/plctl/run.sh, tests/deb/run.sh and the
# scripts it runs in its throwaway root). The suite sets check_out (a
# scratch file for a command's output) and may set check_tail (how many
# of its last lines a failure shows, 20); pass and fail count the lines
# printed.
pass=0
fail=0
ok() { echo "PASS: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# check WHAT COMMAND...: PASS when COMMAND succeeds, else FAIL with the
# end of its output. Returns COMMAND's success.
check() {
	local what=$1
	shift
	[ $# -gt 0 ] || { bad "$what: no command (test bug)"; return 1; }
	if "$@" >"${check_out:?the suite sets check_out}" 2>&1; then
		ok "$what"
	else
		bad "$what"
		sed 's/^/    /' "$check_out" | tail -"${check_tail:-20}"
		return 1
	fi
}
