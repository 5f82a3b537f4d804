#!/usr/bin/env bash
# tests/install/run.sh - make install into a staging root, then use it.
#
# 1. make install DESTDIR=$stage PREFIX=/usr: the exact file list, links,
#    soname, the unit's ExecStart, the udev rule, dkms.conf.
# 2. pkg-config against the staging root: build tests/install/example.c
#    shared and static, run both with PLMC_BACKEND=none; the same for a
#    libmemcached program with plmc-memcached.pc.
# 3. DKMS: run dkms.conf's MAKE line as dkms would (a copy of the staged
#    /usr/src/plmc-VERSION as $dkms_tree/plmc/VERSION/build) against the
#    test host's kernel headers; modinfo of the result; CLEAN. And with
#    the dkms tool itself in private trees, when it is installed.
# 4. Every man page renders (groff -ww: no warnings; man -l; .so links).
# 5. make uninstall leaves no file behind; the same with PREFIX=/usr/local.
#
# Prints PASS/FAIL lines and "install: N passed, N failed".
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
B=${B:-$ROOT/build}
# shellcheck source=tests/check.sh
. "$ROOT/tests/check.sh"

work=$(mktemp -d /tmp/plmc-install.XXXXXX)
check_out=$work/out
stage=$work/stage
store=plmc-install-$$
trap 'rm -rf "$work"; rm -f /dev/shm/plmc.$store-*' EXIT

# Until the top Makefile includes tools/install.mk, read it alongside.
mk=(make --no-print-directory -s -C "$ROOT")
grep -q '^include.*tools/install\.mk' Makefile ||
	mk+=(-f Makefile -f tools/install.mk)
unset MAKEFLAGS MFLAGS MAKELEVEL
VER=$(sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$/\1/p' kmod/dkms.conf)
MAJ=${VER%%.*}

# --- 1. install -------------------------------------------------------------
check "make install DESTDIR PREFIX=/usr" \
	"${mk[@]}" install DESTDIR="$stage" PREFIX=/usr
if [ "$fail" != 0 ]; then # nothing else can be checked
	echo "install: $pass passed, $fail failed"
	exit 1
fi

# Every function plmc.h declares, each with a man3 page.
links=$(sed -n 's/^[a-z][a-z ]*[ *]\(plmc_[a-z0-9_]*\)(.*/\1/p' include/plmc.h)
{
	printf '%s\n' /usr/bin/plctl /usr/bin/plmcd \
		/usr/lib/libpl.a /usr/lib/libpl.so "/usr/lib/libpl.so.$MAJ" \
		"/usr/lib/libpl.so.$VER" /usr/lib/pkgconfig/plmc.pc \
		/usr/lib/libplmemcached.a /usr/lib/pkgconfig/plmc-memcached.pc \
		/usr/include/plmc/compat/libmemcached/memcached.h \
		/usr/include/plmc.h /usr/lib/plmc/kvcore.img \
		/usr/share/man/man3/libpl.3 /usr/share/man/man7/plmc.7 \
		/usr/share/man/man8/plctl.8 /usr/share/man/man8/plmcd.8 \
		/usr/share/doc/plmc/install.md /usr/share/doc/plmc/README.md \
		/usr/share/doc/plmc/LICENSE \
		/usr/lib/systemd/system/plmcd.service \
		/usr/lib/udev/rules.d/99-plmc.rules \
		/usr/lib/sysusers.d/plmc.conf \
		/usr/lib/modules-load.d/plmc.conf \
		"/usr/src/plmc-$VER/dkms.conf"
	for f in $links; do echo "/usr/share/man/man3/$f.3"; done
	for f in include/plmc/*.h; do
		echo "/usr/include/plmc/${f##*/}"
		echo "/usr/src/plmc-$VER/include/plmc/${f##*/}"
	done
	for f in kmod/*.c kmod/*.h kmod/*.S kmod/Kbuild; do
		case $f in *.mod.c) continue ;; esac # kbuild output
		[ -e "$f" ] || continue
		echo "/usr/src/plmc-$VER/kmod/${f##*/}"
	done
} | sort >"$work/want"
(cd "$stage" && find . -type f -o -type l) | sed 's|^\.||' | sort >"$work/got"
check "installed file list is the expected one ($(wc -l <"$work/want") files)" \
	diff -u "$work/want" "$work/got"

lib=$stage/usr/lib
check "libpl.so -> libpl.so.$MAJ -> libpl.so.$VER" \
	test "$(readlink "$lib/libpl.so")" = "libpl.so.$MAJ" -a \
	"$(readlink "$lib/libpl.so.$MAJ")" = "libpl.so.$VER" -a \
	-f "$lib/libpl.so.$VER" -a ! -L "$lib/libpl.so.$VER"
check "libpl.so.$VER soname is libpl.so.$MAJ" \
	sh -c "readelf -d '$lib/libpl.so.$VER' | grep -q 'SONAME.*\[libpl.so.$MAJ\]'"
check "libpl.so exports only plmc_*" \
	sh -c "! nm -D --defined-only '$lib/libpl.so.$VER' |
		awk '\$2 ~ /[TDBRW]/ { print \$3 }' | grep -v '^plmc_' | grep ."
check "installed headers and image equal the tree's" \
	sh -c "cmp include/plmc.h '$stage/usr/include/plmc.h' &&
		cmp '$B/kvcore.img' '$stage/usr/lib/plmc/kvcore.img' &&
		for f in include/plmc/*.h; do
			cmp \$f '$stage/usr/include/plmc/'\${f##*/} || exit 1
		done"
# shellcheck disable=SC2016 # the unit's own $PLMCD_OPTS
check "plmcd.service ExecStart=/usr/bin/plmcd" \
	grep -qx 'ExecStart=/usr/bin/plmcd $PLMCD_OPTS' \
	"$stage/usr/lib/systemd/system/plmcd.service"
check "udev rule: /dev/plmc group plmc mode 0660" \
	grep -qx 'KERNEL=="plmc", SUBSYSTEM=="misc", GROUP="plmc", MODE="0660"' \
	"$stage/usr/lib/udev/rules.d/99-plmc.rules"
check "sysusers.d creates the group plmc" \
	grep -qx 'g plmc - - -' "$stage/usr/lib/sysusers.d/plmc.conf"
check "sysusers.d creates the user plmcd in the group plmc; the unit runs as it" \
	sh -c "grep -qx 'm plmcd plmc' '$stage/usr/lib/sysusers.d/plmc.conf' &&
		grep -qx 'User=plmcd' '$stage/usr/lib/systemd/system/plmcd.service'"
check "installed plctl runs (usage, exit 2)" \
	sh -c "'$stage/usr/bin/plctl' >/dev/null 2>&1; test \$? = 2"

# --- 2. pkg-config, example client ------------------------------------------
export PKG_CONFIG_SYSROOT_DIR=$stage
export PKG_CONFIG_LIBDIR=$stage/usr/lib/pkgconfig
export PKG_CONFIG_PATH=
check "pkg-config --modversion plmc = $VER" \
	test "$(pkg-config --modversion plmc)" = "$VER"
check "pkg-config flags point into the staging root" \
	sh -c "pkg-config --cflags --libs plmc | grep -q -- '-I$stage/usr/include' &&
		pkg-config --libs plmc | grep -q -- '-L$stage/usr/lib -lpl'"
# Only what pkg-config says: no -I of the source tree.
check "example builds shared with pkg-config" \
	sh -c "gcc -std=gnu11 -Wall -Wextra -Werror -o '$work/ex-shared' \
		tests/install/example.c \$(pkg-config --cflags --libs plmc)"
check "shared example needs libpl.so.$MAJ" \
	sh -c "readelf -d '$work/ex-shared' | grep -q 'NEEDED.*\[libpl.so.$MAJ\]'"
check "example builds static with pkg-config --static" \
	sh -c "gcc -static -std=gnu11 -Wall -Wextra -Werror \
		-o '$work/ex-static' tests/install/example.c \
		\$(pkg-config --static --cflags --libs plmc)"
check "static example has no dynamic section" \
	sh -c "! readelf -d '$work/ex-static' | grep -q NEEDED"
check "shared example runs (none backend, LD_LIBRARY_PATH)" \
	sh -c "PLMC_BACKEND=none LD_LIBRARY_PATH='$lib' '$work/ex-shared' \
		$store-shared 2>/dev/null |
		grep -qx '$store-shared: greeting=hello flags=42 backend=none'"
check "shared example resolves libpl from the staging root" \
	sh -c "LD_LIBRARY_PATH='$lib' ldd '$work/ex-shared' |
		grep -q 'libpl.so.$MAJ => $lib/libpl.so.$MAJ'"
check "static example runs (none backend)" \
	sh -c "PLMC_BACKEND=none '$work/ex-static' $store-static 2>/dev/null |
		grep -qx '$store-static: greeting=hello flags=42 backend=none'"
# The libmemcached-compatible library: a libmemcached program (the
# ketama checker of tests/compat) built with pkg-config only, shared and
# static, writing and reading keys on a segment through the gate.
check "compat: libmemcached program builds shared with pkg-config plmc-memcached" \
	sh -c "gcc -std=gnu11 -Wall -Wextra -Werror -o '$work/km-shared' \
		tests/compat/ketama.c \$(pkg-config --cflags --libs plmc-memcached)"
check "compat: ... and static with pkg-config --static" \
	sh -c "gcc -static -std=gnu11 -Wall -Wextra -Werror -o '$work/km-static' \
		tests/compat/ketama.c \
		\$(pkg-config --static --cflags --libs plmc-memcached) 2>'$work/ld.err' ||
		{ cat '$work/ld.err'; exit 1; }"
check "compat: the static link prints no warning (no getaddrinfo from glibc's NSS)" \
	sh -c "! grep . '$work/ld.err'"
# Names go through glibc's resolver found at run time: with a name of the
# test's own in /etc/hosts (a private mount namespace), the shared program
# resolves it and is refused on port 1 (nothing listens); the static one
# cannot resolve it, but takes localhost and numeric addresses.
printf '127.0.0.1 localhost\n127.0.0.1 plmc-test-name\n' >"$work/hosts"
names_run() { # binary server: the error of one set, under that hosts file
	unshare -m --propagation private sh -c \
		"mount --bind '$work/hosts' /etc/hosts &&
		LD_LIBRARY_PATH='$lib' '$1' write ketama 1 '$2' 2>&1" |
		sed -n 's/^set key:0: //p'
}
if unshare -m true 2>/dev/null; then
	check "compat: a shared program resolves names (refused on the port, not unknown)" \
		test "$(names_run "$work/km-shared" plmc-test-name:1)" = "CONNECTION FAILED"
	static_names() {
		[ "$(names_run "$work/km-static" plmc-test-name:1)" = 'HOST NAME LOOKUP FAILED' ] &&
			[ "$(names_run "$work/km-static" localhost:1)" = 'CONNECTION FAILED' ] &&
			[ "$(names_run "$work/km-static" 127.0.0.1:1)" = 'CONNECTION FAILED' ]
	}
	check "compat: a static program resolves no name, and takes localhost and addresses" \
		static_names
else
	echo "SKIP: name resolution checks (no unshare -m here)"
fi
compat_run() { # binary, store
	PLMC_BACKEND=none "$stage/usr/bin/plctl" create "$2" --size 8M >/dev/null &&
		PLMC_BACKEND=none LD_LIBRARY_PATH="$lib" "$1" write weighted 20 "plmc:$2" 2>/dev/null |
		grep -qx 'wrote 20 keys, 0 failed' &&
		PLMC_BACKEND=none LD_LIBRARY_PATH="$lib" "$1" where weighted 20 "plmc:$2" >/dev/null 2>&1 &&
		PLMC_BACKEND=none "$stage/usr/bin/plctl" stats "$2" | grep -qx 'STAT curr_items 20'
	local rc=$?
	PLMC_BACKEND=none "$stage/usr/bin/plctl" destroy "$2" --force >/dev/null 2>&1
	return $rc
}
check "compat: shared program: 20 keys through a segment" compat_run "$work/km-shared" "$store-cshared"
check "compat: static program: 20 keys through a segment" compat_run "$work/km-static" "$store-cstatic"
check "example stores removed" \
	sh -c "! ls /dev/shm/plmc.$store-* 2>/dev/null | grep -q ."
unset PKG_CONFIG_SYSROOT_DIR PKG_CONFIG_LIBDIR PKG_CONFIG_PATH

# --- 3. DKMS tree -----------------------------------------------------------
conf=$stage/usr/src/plmc-$VER/dkms.conf
check "dkms.conf: bash syntax" bash -n "$conf"
check "dkms.conf: name, version, module, AUTOINSTALL" \
	bash -c ". '$conf' && [ \"\$PACKAGE_NAME\" = plmc ] &&
		[ \"\$PACKAGE_VERSION\" = '$VER' ] &&
		[ \"\${BUILT_MODULE_NAME[0]}\" = plmc ] &&
		[ -n \"\${DEST_MODULE_LOCATION[0]}\" ] &&
		[ \"\$AUTOINSTALL\" = yes ]"
if KVER=$(scripts/kver.sh); then
	dkms_tree=$work/dkms
	build=$dkms_tree/plmc/$VER/build
	mkdir -p "$dkms_tree/plmc/$VER"
	cp -a "$stage/usr/src/plmc-$VER" "$build"
	# dkms sets these, then sources dkms.conf, then runs MAKE[0] in build/.
	cat >"$work/dkms.sh" <<EOF
set -e
kernelver=$KVER
kernel_source_dir=/lib/modules/$KVER/build
dkms_tree=$dkms_tree
source_tree=$stage/usr/src
arch=x86_64
. ./dkms.conf
cd $build
case \$1 in
make) eval "\${MAKE[0]}" ;;
clean) eval "\$CLEAN" ;;
esac
ls "\${BUILT_MODULE_LOCATION[0]}\${BUILT_MODULE_NAME[0]}.ko"
EOF
	check "dkms MAKE builds plmc.ko for $KVER from the staged tree" \
		bash -c "cd '$build' && bash '$work/dkms.sh' make"
	ko=$build/kmod/plmc.ko
	check "modinfo: vermagic $KVER" \
		sh -c "modinfo -F vermagic '$ko' | grep -q '^$KVER '"
	check "modinfo: parm create_gid documented" \
		sh -c "modinfo -F parm '$ko' |
			grep -q '^create_gid:group whose members may create'"
	check "modinfo: GPL licence, description" \
		sh -c "modinfo -F license '$ko' | grep -qx GPL &&
			modinfo -F description '$ko' | grep -q plmc"
	check "dkms CLEAN removes the module" \
		sh -c "cd '$build' && ! bash '$work/dkms.sh' clean &&
			test ! -e '$ko'"
	check "the staged source tree has no build output" \
		sh -c "! find '$stage/usr/src/plmc-$VER' -name '*.o' -o \
			-name '*.ko' -o -name '*.mod*' | grep -q ."
	# The real tool too, where installed (not a dependency): its own
	# trees in $work, no signing (it would make a key in /var/lib/dkms),
	# build only (install would run depmod on the system).
	if command -v dkms >/dev/null; then
		rd=$work/realdkms
		mkdir -p "$rd"
		check "dkms add + build (dkms $(dkms --version 2>/dev/null |
			awk '{ print $NF }'), private trees)" \
			sh -c "export sign_file=/nonexistent
			dkms add -m plmc -v '$VER' --dkmstree '$rd' \
				--sourcetree '$stage/usr/src' &&
			dkms build -m plmc -v '$VER' -k '$KVER' --dkmstree '$rd' \
				--sourcetree '$stage/usr/src' &&
			dkms status -m plmc --dkmstree '$rd' \
				--sourcetree '$stage/usr/src' |
				grep -q '^plmc/$VER, $KVER, x86_64: built' &&
			modinfo -F parm '$rd/plmc/$VER/$KVER/x86_64/module/plmc.ko' |
				grep -q '^create_gid:'"
	else
		echo "SKIP: dkms add + build (dkms not installed)"
	fi
else
	bad "scripts/kver.sh: no kernel with headers (DKMS tree not built)"
fi

# --- 4. man pages -----------------------------------------------------------
man=$stage/usr/share/man
for p in man3/libpl.3 man7/plmc.7 man8/plctl.8 man8/plmcd.8; do
	check "$p renders without groff warnings" \
		sh -c "out=\$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z '$man/$p' 2>&1)
			[ -z \"\$out\" ] || { echo \"\$out\"; exit 1; }"
	check "man -l $p" \
		sh -c "MANWIDTH=80 man -l '$man/$p' 2>&1 >'$work/page' |
			grep . && exit 1
			grep -q '^NAME' '$work/page' &&
			[ \$(wc -l <'$work/page') -gt 10 ]"
done
check "man 3 plmc_set (a .so link) shows libpl(3)" \
	sh -c "MANWIDTH=80 man -M '$man' 3 plmc_set 2>/dev/null |
		grep -q 'plmc_attach'"
# Each function in libpl(3)'s NAME and SYNOPSIS sections.
man_covers_api() {
	local page=$man/man3/libpl.3 f
	for f in $links; do
		sed -n '/^\.SH NAME/,/^\.SH LIBRARY/p' "$page" | grep -qw "$f" ||
			{ echo "$f: not in NAME"; return 1; }
		sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' "$page" |
			grep -qF "$f(" || { echo "$f: not in SYNOPSIS"; return 1; }
	done
}
check "libpl(3) names and declares every function of plmc.h" man_covers_api
# Each command in plctl's usage message in plctl(8)'s SYNOPSIS.
man_covers_plctl() {
	local cmds c
	cmds=$("$B/plctl" 2>&1 | sed -n 's/^.*plctl \([a-z][a-z]*\) .*/\1/p')
	[ -n "$cmds" ] || { echo "no commands in plctl's usage"; return 1; }
	for c in $cmds; do
		sed -n '/^\.SH SYNOPSIS/,/^\.SH DESCRIPTION/p' \
			"$man/man8/plctl.8" | grep -qx "\.B plctl $c" ||
			{ echo "plctl $c: not in plctl(8)"; return 1; }
	done
}
check "plctl(8) shows every command of plctl's usage" man_covers_plctl
check "man pages name each other" \
	sh -c "grep -q 'BR libpl (3)' '$man/man7/plmc.7' &&
		grep -q 'BR plctl (8)' '$man/man7/plmc.7' &&
		grep -q 'BR plmcd (8)' '$man/man7/plmc.7'"

# --- 5. uninstall -----------------------------------------------------------
check "make uninstall" "${mk[@]}" uninstall DESTDIR="$stage" PREFIX=/usr
check "uninstall leaves no file or link" \
	sh -c "! find '$stage' -type f -o -type l | grep ."
check "uninstall removes plmc's own folders" \
	sh -c "for d in usr/include/plmc usr/lib/plmc usr/share/doc/plmc \
		usr/include/plmc/compat \
		usr/src/plmc-$VER; do [ ! -e '$stage'/\$d ] || exit 1; done"

local_stage=$work/local
check "make install PREFIX=/usr/local (default)" \
	"${mk[@]}" install DESTDIR="$local_stage"
check "/usr/local: ExecStart, pc prefix, udev rule in /etc" \
	sh -c "grep -q '^ExecStart=/usr/local/bin/plmcd ' \
		'$local_stage/usr/local/lib/systemd/system/plmcd.service' &&
		grep -qx 'prefix=/usr/local' \
		'$local_stage/usr/local/lib/pkgconfig/plmc.pc' &&
		test -f '$local_stage/etc/udev/rules.d/99-plmc.rules' &&
		test -f '$local_stage/usr/src/plmc-$VER/kmod/Kbuild'"
check "make uninstall PREFIX=/usr/local" \
	"${mk[@]}" uninstall DESTDIR="$local_stage"
check "/usr/local uninstall leaves no file or link" \
	sh -c "! find '$local_stage' -type f -o -type l | grep ."

check "uninstall (PREFIX=/usr, DESTDIR) also removes the folders install made" \
	sh -c "! find '$stage' '$local_stage' -mindepth 1 | grep ."
check "make uninstall with nothing installed: no error printed, exit 0" \
	sh -c "make --no-print-directory -C '$ROOT' uninstall DESTDIR='$work/empty' \
		PREFIX=/usr >'$work/un' 2>&1; rc=\$?; cat '$work/un';
		[ \$rc = 0 ] && ! grep -q 'Error' '$work/un'"
# A PREFIX of a user's own, as that user (no root): every file under it,
# the system-wide ones too, and uninstall leaves it as it was.
# The user must be able to read the tree (a clone under a 0700 folder,
# e.g. mktemp -d's, is not): said, not failed.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 &&
	! setpriv --reuid=nobody --regid=nogroup --clear-groups test -r "$ROOT/Makefile"; then
	echo "SKIP: make install PREFIX=~/own-prefix as a user: nobody cannot read $ROOT"
elif [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	own=$(mktemp -d /tmp/plmc-own.XXXXXX)
	chown nobody "$own"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	check "make install PREFIX=~/own-prefix as a user (not root): every file under it" \
		sh -c "$(declare -f as_nobody); as_nobody make --no-print-directory -s -C '$ROOT' \
			install PREFIX='$own/pfx' >'$work/own' 2>&1 || { cat '$work/own'; exit 1; }
			cat '$work/own'
			test -f '$own/pfx/lib/udev/rules.d/99-plmc.rules' &&
			test -f '$own/pfx/lib/sysusers.d/plmc.conf' &&
			test -f '$own/pfx/src/plmc-$VER/kmod/Kbuild' &&
			test -f '$own/pfx/bin/plmcd' && grep -q 'not read them there' '$work/own'"
	check "make uninstall of that PREFIX as that user: nothing left under it" \
		sh -c "$(declare -f as_nobody); as_nobody make --no-print-directory -C '$ROOT' \
			uninstall PREFIX='$own/pfx' >'$work/own' 2>&1 || { cat '$work/own'; exit 1; }
			! grep -q Error '$work/own' && ! find '$own/pfx' -mindepth 1 | grep ."
	rm -rf "$own"
fi

# install-python PREFIX=$HOME/.local: the user's site folder, which
# Debian's python3 reads (not dist-packages, which it reads only under
# /usr); a PREFIX it does not read gets a note; uninstall-python empties both.
py_user() {
	local h=$work/pyhome out
	mkdir -p "$h"
	HOME=$h "${mk[@]}" install-python PREFIX="$h/.local" >"$work/py" 2>&1 || { cat "$work/py"; return 1; }
	out=$(cd / && HOME=$h PLMC_BACKEND=none /usr/bin/python3 -c 'import plmc; print(plmc.__file__)' 2>&1)
	echo "$out"
	[[ $out == "$h"/.local/lib/python3.*/site-packages/plmc/__init__.py ]] || return 1
	HOME=$h "${mk[@]}" install-python PREFIX="$h/opt" >"$work/py" 2>&1 || { cat "$work/py"; return 1; }
	cat "$work/py"
	grep -q "does not look in $h/opt/lib/python3.*/dist-packages" "$work/py" || return 1
	HOME=$h "${mk[@]}" uninstall-python PREFIX="$h/.local" >/dev/null 2>&1
	HOME=$h "${mk[@]}" uninstall-python PREFIX="$h/opt" >/dev/null 2>&1
	! find "$h" -type f | grep .
}
check "install-python PREFIX=\$HOME/.local: python3 imports it; elsewhere a note; uninstall removes both" py_user

echo "install: $pass passed, $fail failed"
[ "$fail" = 0 ]
