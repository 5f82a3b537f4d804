#!/usr/bin/env bash
# tests/deb/run.sh - the Debian packages, built, installed, used, removed.
#
# 1. make deb: dpkg-buildpackage -b -us -uc in build/deb/, then lintian
#    (no error, no warning). Each package holds what it should.
# 2. A throwaway root: this machine's / under an overlay (a tmpfs takes
#    every write), chrooted into, in a private mount namespace -- so the
#    packages install with this machine's dpkg database, dkms and kernel
#    headers, and nothing reaches the real system.
# 3. dpkg -i the five packages: DKMS builds plmc.ko for every installed
#    kernel with headers (this machine loads no modules: the build and
#    dkms's bookkeeping are what is checked; modinfo of the result); the
#    group plmc and user plmcd exist; the unit and udev rule are in place.
# 4. Use them, from the installed files only (backend none): plctl create,
#    a C client built with pkg-config plmc (shared) and plmc-memcached,
#    plmcd serving the store on a Unix socket read back with pymemcache,
#    python3 -c 'import plmc' reading the client's keys; plmcd.service's
#    own command line run as its user (plmcd, group plmc, no capabilities)
#    on a store made as docs/install.md says (--group plmc --mode 0660).
# 5. dpkg --purge: dkms knows no plmc, no plmc.ko under /lib/modules, no
#    /usr/src/plmc-*, every file the packages listed is gone, and the
#    overlay's upper layer holds nothing but dpkg's own records.
# 6. A second throwaway root: make install and make uninstall on a live
#    root (ldconfig, dkms add/install/remove). DKMS there takes step 3's
#    build for the newest kernel when make install's /usr/src tree is
#    the package's byte for byte (a build of the same tree against the
#    same headers), and builds it when they differ.
#
# Prints PASS/FAIL lines and "deb: N passed, N failed". Needs root.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
B=${B:-$ROOT/build}
# shellcheck source=tests/check.sh
. "$ROOT/tests/check.sh"
check_tail=25
finish() {
	echo "deb: $pass passed, $fail failed"
	[ "$fail" = 0 ]
	exit
}

[ "$(id -u)" = 0 ] || { bad "needs root (dpkg -i in a private root)"; finish; }
work=$(mktemp -d /tmp/plmc-deb.XXXXXX)
check_out=$work/out
trap 'rm -rf "$work"' EXIT
VER=$(sed -n 's/^PACKAGE_VERSION="\([^"]*\)"$/\1/p' kmod/dkms.conf)
PKGS="plmc-dkms libplmc0 libplmc-dev plmc-tools python3-plmc"

# --- 1. build and lintian -----------------------------------------------------
unset MAKEFLAGS MFLAGS MAKELEVEL
check "make deb (dpkg-buildpackage -b -us -uc, lintian: no error or warning)" \
	make --no-print-directory -C "$ROOT" deb
debs=()
for p in $PKGS; do
	f=$(ls "$B"/deb/"${p}"_"$VER"_*.deb 2>/dev/null | head -1)
	[ -n "$f" ] && debs+=("$f")
done
if [ "${#debs[@]}" != 5 ]; then
	bad "five packages built (found ${#debs[@]})"
	finish
fi
ok "five packages built"
has() { # package file-regex...
	local deb pkg=$1 re
	shift
	deb=$(ls "$B"/deb/"$pkg"_"$VER"_*.deb)
	dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\.||' >"$work/list"
	for re in "$@"; do
		grep -Eq "^$re\$" "$work/list" || { echo "$pkg: no $re"; return 1; }
	done
}
check "plmc-dkms: the DKMS tree and modules-load.d" has plmc-dkms \
	"/usr/src/plmc-$VER/dkms.conf" "/usr/src/plmc-$VER/kmod/Kbuild" \
	"/usr/src/plmc-$VER/kmod/main.c" "/usr/src/plmc-$VER/include/plmc/ioctl.h" \
	/usr/lib/modules-load.d/plmc.conf
check "libplmc0: libpl.so.0 (multiarch)" has libplmc0 \
	"/usr/lib/x86_64-linux-gnu/libpl.so.$VER" "/usr/lib/x86_64-linux-gnu/libpl.so.0"
check "libplmc-dev: headers, libpl.a, pc files, compatible library, man3" \
	has libplmc-dev /usr/include/plmc.h /usr/include/plmc/ioctl.h \
	/usr/lib/x86_64-linux-gnu/libpl.a /usr/lib/x86_64-linux-gnu/libpl.so \
	/usr/lib/x86_64-linux-gnu/pkgconfig/plmc.pc \
	/usr/lib/x86_64-linux-gnu/pkgconfig/plmc-memcached.pc \
	/usr/lib/x86_64-linux-gnu/libplmemcached.a \
	/usr/include/plmc/compat/libmemcached/memcached.h \
	/usr/share/man/man3/libpl.3.gz /usr/share/man/man3/plmc_set.3.gz
check "plmc-tools: plctl, plmcd, unit, udev rule, sysusers, man pages" \
	has plmc-tools /usr/bin/plctl /usr/bin/plmcd \
	/lib/systemd/system/plmcd.service /lib/udev/rules.d/99-plmc.rules \
	/usr/lib/sysusers.d/plmc-tools.conf /usr/share/man/man8/plctl.8.gz \
	/usr/share/man/man8/plmcd.8.gz /usr/share/man/man7/plmc.7.gz
check "python3-plmc: the package and its extension" has python3-plmc \
	/usr/lib/python3/dist-packages/plmc/__init__.py \
	/usr/lib/python3/dist-packages/plmc/ketama.py \
	'/usr/lib/python3/dist-packages/plmc/_plmc.cpython-3[0-9]+-x86_64-linux-gnu.so'

# One maintainer, a real address (no example or reserved domain), in
# debian/control, the changelog's trailer, the copyright's contact and
# every package built.
one_maintainer() {
	local m c d
	m=$(sed -n 's/^Maintainer: //p' debian/control)
	case $m in
	*"<"*@*.*">") ;;
	*) echo "control's Maintainer is not NAME <ADDRESS>: '$m'"; return 1 ;;
	esac
	case ${m#*@} in
	example.* | *.example* | *.invalid* | *.test\> | *.localhost* | *.local\>)
		echo "a reserved domain: $m"; return 1 ;;
	esac
	c=$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -1)
	[ "$c" = "$m" ] || { echo "changelog: '$c', control: '$m'"; return 1; }
	grep -qxF "Upstream-Contact: $m" debian/copyright ||
		{ echo "copyright has no Upstream-Contact: $m"; return 1; }
	for d in "${debs[@]}"; do
		[ "$(dpkg-deb -f "$d" Maintainer)" = "$m" ] ||
			{ echo "$d: $(dpkg-deb -f "$d" Maintainer)"; return 1; }
	done
	echo "$m"
}
check "one maintainer in control, changelog, copyright and the five packages" \
	one_maintainer

# --- 2.-5. in a throwaway root ------------------------------------------------
# The script below runs inside the chroot; it prints the same PASS/FAIL
# lines, counted here.
mkdir -p "$work/debs"
cp "${debs[@]}" tests/install/example.c tests/compat/ketama.c tests/check.sh \
	"$work/debs/"
cat >"$work/debs/inside.sh" <<'INSIDE'
set -uo pipefail
cd /plmc-debs
VER=$1
PKGS="plmc-dkms libplmc0 libplmc-dev plmc-tools python3-plmc"
# shellcheck source=tests/check.sh
. /plmc-debs/check.sh
check_out=/tmp/out
check_tail=25
export PLMC_BACKEND=none
kernels=$(for d in /lib/modules/*/build; do
	[ -e "$d/Makefile" ] && basename "$(dirname "$d")"; done)
[ -n "$kernels" ] || bad "no kernel headers in /lib/modules"
# The host's own kernel has no headers here: dkms says so and goes on.
check "dpkg -i the five packages (DKMS builds the module)" \
	dpkg -i ./plmc-dkms_*.deb ./libplmc0_*.deb ./libplmc-dev_*.deb \
		./plmc-tools_*.deb ./python3-plmc_*.deb
cp /tmp/out /plmc-debs/dpkg-install.log
dkms_ok=1
for k in $kernels; do
	check "dkms: plmc/$VER installed for $k" \
		sh -c "dkms status -m plmc -v $VER -k $k | grep -q ': installed'"
	check "plmc.ko for $k: vermagic, create_gid parameter" \
		sh -c "ko=\$(find /lib/modules/$k/updates -name 'plmc.ko*' | head -1);
			[ -n \"\$ko\" ] &&
			modinfo -F vermagic \"\$ko\" | grep -q '^$k ' &&
			modinfo -F parm \"\$ko\" | grep -q '^create_gid:'" ||
		dkms_ok=0
done
[ "$dkms_ok" = 1 ] || sed 's/^/    dpkg: /' /plmc-debs/dpkg-install.log | tail -40
# What DKMS built, and from what, for the make install root below: it
# builds the same tree for the same kernel only when the trees differ.
cp -a "/usr/src/plmc-$VER" /plmc-debs/dkms-src
for k in $kernels; do
	cp -a "/var/lib/dkms/plmc/$VER/$k" "/plmc-debs/dkms-built-$k" 2>/dev/null
done
check "group plmc and user plmcd (in plmc) exist" \
	sh -c "getent group plmc >/dev/null && id plmcd | grep -q '(plmc)'"
check "plmcd.service is installed and valid" \
	sh -c "grep -qx 'ExecStart=/usr/bin/plmcd \$PLMCD_OPTS' /lib/systemd/system/plmcd.service &&
		systemd-analyze verify /lib/systemd/system/plmcd.service 2>&1 |
		grep -v 'Failed to\\|not running\\|does not exist' | grep . && exit 1 || true"
check "udev rule: /dev/plmc group plmc 0660" \
	grep -q 'GROUP="plmc", MODE="0660"' /lib/udev/rules.d/99-plmc.rules
check "man plctl, man plmc, man 3 plmc_get" \
	sh -c "man -w plctl && man -w 7 plmc && man -w 3 plmc_get"
check "plctl --version" sh -c "plctl --version | grep -q '$VER'"
check "plctl create a store (installed plctl)" \
	plctl create deb-store --size 8M
check "a C client built with pkg-config plmc (libpl.so.0)" \
	sh -c "gcc -o /tmp/ex example.c \$(pkg-config --cflags --libs plmc) &&
		readelf -d /tmp/ex | grep -q 'NEEDED.*libpl.so.0' &&
		/tmp/ex deb-example 2>/dev/null |
		grep -qx 'deb-example: greeting=hello flags=42 backend=none'"
check "a libmemcached program with pkg-config plmc-memcached writes 20 keys" \
	sh -c "gcc -o /tmp/km ketama.c \$(pkg-config --cflags --libs plmc-memcached) &&
		/tmp/km write weighted 20 plmc:deb-store 2>/dev/null |
		grep -qx 'wrote 20 keys, 0 failed' &&
		plctl stats deb-store | grep -qx 'STAT curr_items 20'"
check "python3: import plmc; the keys the C program wrote" \
	python3 -c "
import plmc
c = plmc.Client('deb-store')
assert c.get('key:7') == b'key:7', c.get('key:7')
assert len(c.get_many(['key:%d' % i for i in range(20)])) == 20
c.set('from-python', b'py', noreply=False)
print('ok')"
sock=/tmp/plmcd.sock
plmcd -u root -n deb-store -s "$sock" >/tmp/plmcd.log 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.05; done
check "plmcd serves the store on a Unix socket (pymemcache reads it)" \
	python3 -c "
from pymemcache.client.base import Client
c = Client('$sock')
assert c.get('from-python') == b'py'
print('ok')"
kill "$pid"
wait "$pid" 2>/dev/null
check "plctl destroy" plctl destroy deb-store --force
# plmcd.service as installed, the way docs/install.md says to run it: the
# store made by root with --group plmc --mode 0660, then the unit's
# ExecStart with its PLMCD_OPTS as its User= with its groups (plmc from
# SupplementaryGroups=, as sysusers made them), no capabilities.
unit=/lib/systemd/system/plmcd.service
u_opts=$(sed -n 's/^Environment=PLMCD_OPTS="\(.*\)"$/\1/p' $unit)
u_user=$(sed -n 's/^User=//p' $unit)
u_groups=$(sed -n 's/^SupplementaryGroups=//p' $unit)
u_store=$(echo "$u_opts" | sed -n 's/.*-n \([^ ]*\).*/\1/p')
u_port=$(echo "$u_opts" | sed -n 's/.*-p \([0-9]*\).*/\1/p')
check "the unit's store as documented: plctl create $u_store --group $u_groups --mode 0660" \
	plctl create "$u_store" --size 64M --mode 0660 --group "$u_groups"
# shellcheck disable=SC2086 # PLMCD_OPTS split as systemd splits it
setpriv --reuid="$u_user" --regid="$u_user" --groups="$u_groups" \
	--inh-caps=-all --bounding-set=-all \
	/usr/bin/plmcd $u_opts >/dev/null 2>/tmp/unit.log &
pid=$!
check "plmcd.service's command line as $u_user ($u_opts) serves that store" \
	python3 -c "
import time
from pymemcache.client.base import Client
for _ in range(100):
    try:
        c = Client(('127.0.0.1', $u_port), connect_timeout=1, timeout=2)
        c.set('from-unit', b'u', noreply=False)
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit(open('/tmp/unit.log').read())
import plmc
assert plmc.Client('$u_store').get('from-unit') == b'u'
print('ok')"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
plctl destroy "$u_store" --force >/dev/null 2>&1
# Everything dpkg installed, to check it is gone after the purge.
for p in $PKGS; do dpkg -L "$p"; done | sort -u >/tmp/files
check "dpkg --purge the five packages" \
	dpkg --purge python3-plmc plmc-tools libplmc-dev libplmc0 plmc-dkms
cp /tmp/out /plmc-debs/dpkg-purge.log
check "dkms knows no plmc" sh -c "! dkms status -m plmc | grep ."
check "no plmc.ko under /lib/modules, no /usr/src/plmc-*, no /var/lib/dkms/plmc" \
	sh -c "! find /lib/modules -name 'plmc.ko*' | grep . &&
		! ls -d /usr/src/plmc-* 2>/dev/null && ! ls -d /var/lib/dkms/plmc 2>/dev/null"
check "no file the packages held is left" \
	sh -c "while read -r f; do [ -d \"\$f\" ] && continue;
		[ -e \"\$f\" ] || [ -L \"\$f\" ] && echo \"left: \$f\"; done </tmp/files |
		grep . && exit 1 || exit 0"
INSIDE

# in_root SCRIPT NAME: run /plmc-debs/SCRIPT in a fresh throwaway root,
# count its PASS/FAIL lines, then check the overlay's upper layer: what
# the run left in the root, apart from the records dpkg, dkms and the
# system keep of any package (and the user and group: Debian leaves
# system users behind on purge) and the source tree's build/ (make
# install may relink there: in the overlay, not in the real tree).
in_root() {
	local script=$1 what=$2 ovl=$work/ovl-$1 rc
	mkdir -p "$ovl"
	rm -f "$work/debs/left"
	# shellcheck disable=SC2016 # expanded inside the new namespace
	unshare -m --propagation private bash -c '
		set -e
		ovl=$1 debs=$2 ver=$3 script=$4 src=$5
		mount -t tmpfs -o size=2g tmpfs "$ovl"
		mkdir -p "$ovl/u" "$ovl/w" "$ovl/root"
		mount -t overlay overlay \
			-o "lowerdir=/,upperdir=$ovl/u,workdir=$ovl/w" "$ovl/root"
		for d in proc sys dev; do mount --rbind "/$d" "$ovl/root/$d"; done
		mkdir -p "$ovl/root/plmc-debs"
		mount --bind "$debs" "$ovl/root/plmc-debs"
		chroot "$ovl/root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root TMPDIR=/tmp LANG=C.UTF-8 \
			bash "/plmc-debs/$script" "$ver" "$src"
		# Files rewritten with the same bytes, or depmod'"'"'s indexes
		# rebuilt after the module came and went, are not left over.
		cd "$ovl/u"
		find . \( -type f -o -type l -o -type c \) | sed "s|^\.||" |
			while read -r f; do
				[ -f "$ovl/u$f" ] && [ -f "$f" ] &&
					cmp -s "$ovl/u$f" "$f" && continue
				# depmod'"'"'s indexes, rebuilt: not a word of plmc
				case $f in
				*/lib/modules/*/modules.*)
					grep -q plmc "$ovl/u$f" || continue ;;
				esac
				echo "$f"
			done |
			grep -Ev "^/(plmc-debs|tmp|root|run)/|^/var/(lib/dpkg|log|cache|lib/systemd|lib/python)/|^/etc/(passwd|group|shadow|gshadow|subuid|subgid)-?$|^/etc/\.pwd\.lock$|^/etc/ld\.so\.cache$|^/var/lib/dkms/|^$src/build/" \
			>"$debs/left" || true
		' plmc-deb "$ovl" "$work/debs" "$VER" "$script" "$ROOT" \
		>"$work/$script.out" 2>&1
	rc=$?
	grep -E '^(PASS|FAIL):|^    ' "$work/$script.out"
	pass=$((pass + $(grep -c '^PASS:' "$work/$script.out")))
	fail=$((fail + $(grep -c '^FAIL:' "$work/$script.out")))
	if [ "$rc" != 0 ]; then
		bad "the throwaway root of $script (rc $rc)"
		tail -20 "$work/$script.out" | sed 's/^/    /'
	fi
	if [ -f "$work/debs/left" ] && [ ! -s "$work/debs/left" ]; then
		ok "the root holds nothing of plmc after $what (overlay's upper layer)"
	else
		bad "the root holds files after $what"
		sed 's/^/    left: /' "$work/debs/left" 2>/dev/null | head -20
	fi
}

in_root inside.sh "the purge"

# --- 6. make install and make uninstall on a live root -------------------------
cat >"$work/debs/inside-make.sh" <<'INSIDE'
set -uo pipefail
VER=$1
SRC=$2
# shellcheck source=tests/check.sh
. /plmc-debs/check.sh
check_out=/tmp/out
check_tail=25
export PLMC_BACKEND=none
unset MAKEFLAGS MFLAGS MAKELEVEL
cd "$SRC" || exit 1
check "make install (PREFIX=/usr/local, no DESTDIR) runs ldconfig" \
	sh -c "make --no-print-directory install >/tmp/inst.log 2>&1 &&
		grep -qx ldconfig /tmp/inst.log &&
		ldconfig -p | grep -q 'libpl.so.0 .*=> /usr/local/lib/libpl.so.0'"
check "a program built with pkg-config plmc starts (no LD_LIBRARY_PATH)" \
	sh -c "gcc -o /tmp/ex /plmc-debs/example.c \$(pkg-config --cflags --libs plmc) &&
		/tmp/ex make-example 2>/dev/null |
		grep -qx 'make-example: greeting=hello flags=42 backend=none'"
k=$(for d in /lib/modules/*/build; do
	[ -e "$d/Makefile" ] && basename "$(dirname "$d")"; done | sort -V | tail -1)
# The package's root built this tree for $k already: when make install's
# tree is the same byte for byte, dkms install takes that build (dkms
# skips a build it finds) and installs it; otherwise it builds here.
how="built here: make install's tree is not the package's"
if diff -r "/usr/src/plmc-$VER" /plmc-debs/dkms-src >/tmp/src.diff &&
	[ -d "/plmc-debs/dkms-built-$k" ]; then
	how="the package root's build of the same tree"
	seed="cp -a /plmc-debs/dkms-built-$k /var/lib/dkms/plmc/$VER/$k &&"
else
	head -5 /tmp/src.diff
	seed=""
fi
check "dkms add + install plmc/$VER for $k from /usr/src ($how)" \
	sh -c "dkms add plmc/$VER && $seed dkms install plmc/$VER -k $k &&
		find /lib/modules/$k/updates -name 'plmc.ko*' | grep -q ."
check "make uninstall: dkms remove first, then the files" \
	sh -c "make --no-print-directory uninstall >/tmp/un.log 2>&1 &&
		grep -q 'dkms remove plmc/$VER --all' /tmp/un.log"
check "dkms knows no plmc, no plmc.ko, no /usr/src/plmc-$VER" \
	sh -c "! dkms status -m plmc | grep . &&
		! find /lib/modules -name 'plmc.ko*' | grep . &&
		[ ! -e /usr/src/plmc-$VER ]"
check "no libpl left for the dynamic linker" \
	sh -c "! ldconfig -p | grep -q libpl.so"
INSIDE
in_root inside-make.sh "make uninstall"
finish
