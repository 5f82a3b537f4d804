#!/bin/sh
# vm_plmcd - plmcd with TLS and -Y on the real module (installed as
# /vm/vm_plmcd; the suite runs it like the other /vm/vm_* programs).
#
# plmcd is a dynamic program that now links libssl, libcrypto and
# libsasl2: under the module every executable byte it maps is scanned at
# attach, so this shows those libraries let it attach and serve. The
# client is Debian's openssl s_client (the tree comes from
# tests/plmcd/vm-tree.sh, with certificates made at build time), the
# -Y checks use busybox nc on a plain listener of the same plmcd.
P=/usr/bin/plmcd
C=/vm/plmcd-certs
say() { echo "$1 plmcd.$2${3:+ ($3)}"; }
if [ ! -x "$P" ] || [ ! -x /usr/bin/openssl ]; then
	echo "FAIL plmcd.tree: no $P or openssl in the test host"
	exit 1
fi
ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up
# as memcached, plmcd as root wants -u: the test host has no passwd file
# (made for this program, removed at its end)
made_passwd=""
if [ ! -f /etc/passwd ]; then
	mkdir -p /etc
	echo 'root:x:0:0:root:/root:/bin/sh' >/etc/passwd
	made_passwd=1
fi
printf 'vm:wonderland\n' >/tmp/users
"$P" -u root -Z -o "ssl_chain_cert=$C/server_crt.pem,ssl_key=$C/server_key.pem" \
	-l 127.0.0.1:11311,notls:127.0.0.1:11312 -p 11311 -t 2 -Y /tmp/users \
	2>/tmp/plmcd.err &
pid=$!
tls() { # lines to send; the replies on stdout (-quiet waits for the
	# server to close, which quit makes it do)
	printf "$1quit\r\n" |
		timeout 60 /usr/bin/openssl s_client -quiet -verify_return_error \
			-CAfile "$C/cacert.pem" -connect 127.0.0.1:11311 2>/dev/null
}
up=""
for _ in $(seq 60); do
	up=$(printf 'version\r\n' | nc -w 2 127.0.0.1 11312 2>/dev/null)
	[ -n "$up" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
if [ -z "$up" ]; then
	echo "FAIL plmcd.starts: $(tail -3 /tmp/plmcd.err)"
	[ -n "$made_passwd" ] && rm -f /etc/passwd
	exit 1
fi
say PASS starts "$(head -1 /tmp/plmcd.err)"
r=$(tls 'set login 0 0 13\r\nvm wonderland\r\nset k 0 0 5\r\nhello\r\nget k\r\nstats plmc\r\n')
if echo "$r" | grep -q 'VALUE k 0 5' && echo "$r" | grep -q 'hello' &&
	echo "$r" | grep -q 'STAT plmc_backend kmod'; then
	say PASS tls_set_get_kmod "s_client: login, set, get over TLS; backend kmod"
else
	echo "FAIL plmcd.tls_set_get_kmod: $(echo "$r" | head -5 | tr '\r\n' '  ')"
fi
r=$(printf 'get k\r\n' | nc -w 3 127.0.0.1 11312)
case "$r" in
*"CLIENT_ERROR unauthenticated"*)
	say PASS unauthenticated_refused "a plain client without the login reads nothing" ;;
*) echo "FAIL plmcd.unauthenticated_refused: $r" ;;
esac
r=$(printf 'version\r\n' | nc -w 3 127.0.0.1 11311 | head -c 40)
case "$r" in
*VERSION*) echo "FAIL plmcd.plain_on_tls_port: answered $r" ;;
*) say PASS plain_on_tls_port "a plain client on the TLS port: no reply" ;;
esac
kill "$pid"
wait "$pid" 2>/dev/null
# -k on the module: mlockall after the attach (the module's mappings are
# raw PFN maps, which mlock leaves alone); root may lock, so no warning,
# pages locked, and the store served through the gate
"$P" -u root -k -p 11313 -t 1 -m 8 2>/tmp/plmcd-k.err &
pid=$!
up=""
for _ in $(seq 60); do
	up=$(printf 'set kk 0 0 2\r\nok\r\nget kk\r\n' | nc -w 2 127.0.0.1 11313 2>/dev/null)
	[ -n "$up" ] && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
lck=$(awk '/^VmLck:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
if echo "$up" | grep -q 'VALUE kk 0 2' && [ "${lck:-0}" -gt 0 ] &&
	! grep -q 'mlockall' /tmp/plmcd-k.err; then
	say PASS lock_memory_kmod "-k: ${lck} kB locked, set and get served"
else
	echo "FAIL plmcd.lock_memory_kmod: VmLck ${lck:-?} kB, $(echo "$up" | tr '\r\n' '  ') $(tail -2 /tmp/plmcd-k.err)"
fi
kill "$pid"
wait "$pid" 2>/dev/null
[ -n "$made_passwd" ] && rm -f /etc/passwd
exit 0
