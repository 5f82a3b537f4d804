#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""netsec.py PLMCD CERTDIR TMPDIR - plmcd's TLS and authentication with
real clients: pymemcache (tls_context, and the -Y login), Python's ssl
module, and libmemcached's memccp/memccat for SASL.

Each server is a plmcd of its own (no -n) on a free port of the private
loopback. Each defence is shown twice: off (the attack works: a
plain-text observer reads the value, an unauthenticated client reads
and writes) and on (refused), and each refusal has a control that the
same path works for the client that is allowed. Prints PASS/FAIL lines
and a final "netsec cases: N passed, N failed".
"""
import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError

PLMCD, CERTS, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
HOST = "127.0.0.1"
results = []
servers = []
SECRET = b"s3cret-value-4711"


def cert(name):
    return os.path.join(CERTS, name)


def free_port():
    while True:
        p = random.randint(30000, 60000)
        with socket.socket() as s:
            try:
                s.bind((HOST, p))
                return p
            except OSError:
                continue


def ask_version(port, ctx=None):
    try:
        s = socket.create_connection((HOST, port), timeout=2)
        if ctx:
            s = ctx.wrap_socket(s, server_hostname=HOST)
        s.sendall(b"version\r\n")
        # any answer: under -Y it is CLIENT_ERROR unauthenticated
        return s.recv(100) != b""
    except OSError:
        return False


def start(args, port, ctx=None, log="plmcd.log"):
    """plmcd with @args, serving once @port answers version."""
    root = ["-u", "root"] if os.getuid() == 0 else []
    err = open(os.path.join(TMP, log), "ab")
    p = subprocess.Popen([PLMCD] + root + ["-t", "1"] + args,
                         stdout=subprocess.DEVNULL, stderr=err)
    servers.append(p)
    for _ in range(200):
        if ask_version(port, ctx):
            return p
        if p.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("plmcd %s did not start" % " ".join(args))


def stop(p):
    p.terminate()
    p.wait(10)


def case(name, fn):
    try:
        ok, why = fn()
    except Exception as e:  # a dead server shows up here
        ok, why = False, "%s: %s" % (type(e).__name__, e)
    results.append(ok)
    print("%s %s%s" % ("PASS" if ok else "FAIL", name,
                       "" if ok else " (%s)" % why), flush=True)


def tls_ctx(client=None, ca="cacert.pem"):
    ctx = ssl.create_default_context(cafile=cert(ca))
    if client:
        ctx.load_cert_chain(cert(client + "_crt.pem"),
                            cert(client + "_key.pem"))
    return ctx


def recv_until(s, done, size=65536):
    """Read @s until done(what came so far) or the peer closes."""
    got = b""
    while not done(got):
        d = s.recv(size)
        if not d:
            break
        got += d
    return got


def ends_end(got):
    return got.endswith(b"END\r\n")


def exchange(s, line, want, size=4096):
    """Send @line on @s, read len(@want) bytes (less if it closes), close
    it; whether they were @want."""
    s.sendall(line)
    got = recv_until(s, lambda g: len(g) >= len(want), size)
    s.close()
    return got == want


def plain_stats(port, login=None):
    """STAT name -> value over plain text, logged in first with @login
    ("user password") when plmcd runs with -Y."""
    s = socket.create_connection((HOST, port), timeout=5)
    if login:
        s.sendall(b"set l 0 0 %d\r\n%s\r\n" % (len(login), login.encode()))
    s.sendall(b"stats\r\n")
    data = recv_until(s, ends_end)
    s.close()
    return {w[1]: w[2] for w in (line.split(" ") for line in
                                  data.decode().split("\r\n"))
            if len(w) == 3 and w[0] == "STAT"}


class Tap:
    """A relay between a client and plmcd that keeps every byte both
    ways: what an observer on the network would see."""

    def __init__(self, port):
        self.seen = b""
        self.lsock = socket.socket()
        self.lsock.bind((HOST, 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.target = port
        threading.Thread(target=self.run, daemon=True).start()

    def pump(self, a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                self.seen += d
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def run(self):
        c, _ = self.lsock.accept()
        u = socket.create_connection((HOST, self.target))
        threading.Thread(target=self.pump, args=(c, u), daemon=True).start()
        self.pump(u, c)


def tls_cases():
    tport, pport = free_port(), free_port()
    ctx = tls_ctx()
    srv = start(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" %
                 (cert("server_crt.pem"), cert("server_key.pem")),
                 "-l", "%s:%d,notls:%s:%d" % (HOST, tport, HOST, pport),
                 "-p", str(tport)], tport, ctx)

    def set_get_tls():
        c = Client((HOST, tport), tls_context=ctx, timeout=5,
                   default_noreply=False)
        ok = c.set(b"tls-key", SECRET) and c.get(b"tls-key") == SECRET
        # the same store behind the plain listener (notls:)
        p = Client((HOST, pport), timeout=5)
        return ok and p.get(b"tls-key") == SECRET, "set/get over TLS"
    case("pymemcache tls_context: set and get over TLS; the notls: "
         "listener sees the same item", set_get_tls)

    def observer():
        # off: the plain listener carries the value as it is
        tap = Tap(pport)
        Client((HOST, tap.port), timeout=5).get(b"tls-key")
        off = SECRET in tap.seen
        tap2 = Tap(tport)
        Client((HOST, tap2.port), tls_context=ctx, timeout=5).get(b"tls-key")
        time.sleep(0.1)
        on = SECRET in tap2.seen
        return off and not on and len(tap2.seen) > 0, \
            "plain: value on the wire %s; TLS: %s (%d bytes seen)" % (
                off, on, len(tap2.seen))
    case("an observer on the wire reads the value without TLS, not with it",
         observer)

    def plain_refused():
        before = int(plain_stats(pport).get("ssl_handshake_errors", -1))
        s = socket.create_connection((HOST, tport), timeout=5)
        s.sendall(b"get tls-key\r\n")
        got = b""
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                got += d
        except OSError:
            pass
        after = int(plain_stats(pport).get("ssl_handshake_errors", -1))
        return SECRET not in got and after == before + 1, \
            "reply %r, ssl_handshake_errors %d -> %d" % (got[:60], before,
                                                         after)
    case("a client without TLS on the TLS port: closed, nothing read, "
         "ssl_handshake_errors + 1", plain_refused)

    def stall():
        # -t 1: one worker owns every connection; one that stops in the
        # middle of its handshake must not hold the others
        hang = socket.create_connection((HOST, tport), timeout=5)
        hang.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        bare = socket.create_connection((HOST, tport), timeout=5)
        t0 = time.monotonic()
        c = Client((HOST, tport), tls_context=ctx, timeout=5,
                   default_noreply=False)
        ok = c.set(b"k2", b"v2") and c.get(b"k2") == b"v2"
        dt = time.monotonic() - t0
        hang.settimeout(0.2)
        try:
            still_open = hang.recv(1) != b""
        except socket.timeout:
            still_open = True
        except OSError:
            still_open = False
        hang.close()
        bare.close()
        return ok and still_open and dt < 5, \
            "served in %.2f s, stalled handshake still open: %s" % (
                dt, still_open)
    case("two stalled handshakes (half a ClientHello, nothing) do not "
         "block a third client", stall)

    def slow_reader():
        # 20 gets of a 900 KB value asked at once and read a second
        # later: the socket fills, SSL_write stops part way (partial
        # writes) while more replies are queued behind it (the buffer
        # moves), and every byte must still arrive in order
        big = bytes(random.getrandbits(8) for _ in range(256)) * 3600
        c = Client((HOST, tport), tls_context=ctx, timeout=10,
                   default_noreply=False)
        c.set(b"big", big)
        s = ctx.wrap_socket(socket.create_connection((HOST, tport),
                                                     timeout=10),
                            server_hostname=HOST)
        # two batches: the second arrives while a write of the first
        # waits, so its replies grow (and may move) the buffer under it
        s.sendall(b"get big\r\n" * 10)
        time.sleep(0.5)
        s.sendall(b"get big\r\n" * 10)
        time.sleep(0.5)
        want = (b"VALUE big 0 %d\r\n" % len(big) + big + b"\r\nEND\r\n") * 20
        got = recv_until(s, lambda g: len(g) >= len(want), 1 << 20)
        return got == want, "%d of %d bytes, equal %s" % (
            len(got), len(want), got == want[:len(got)])
    case("a TLS client that reads late gets 20 x 900 KB replies whole and "
         "in order", slow_reader)

    big = bytes(random.getrandbits(8) for _ in range(256)) * 3600
    block = b"VALUE big 0 %d\r\n" % len(big) + big + b"\r\n"

    def tls_conn():
        return ctx.wrap_socket(socket.create_connection((HOST, tport),
                                                        timeout=10),
                               server_hostname=HOST)

    def tls_multiget_non_readers():
        # a multi-get's reply goes out as the client takes it, over TLS
        # as in the clear: 8 clients that ask for 2 x 18 MB and never
        # read cost plmcd a bounded amount (before: each reply whole)
        Client((HOST, tport), tls_context=ctx, timeout=10).set(b"big", big)
        base, clients = rss_mib(srv), []
        for _ in range(8):
            c = tls_conn()
            c.sendall((b"get" + b" big" * 20 + b"\r\n") * 2)
            clients.append(c)
        grown, last, same = 0.0, -1.0, 0
        for _ in range(100):  # until plmcd's memory stops changing
            grown = rss_mib(srv) - base
            same = same + 1 if grown == last else 0
            if same == 5:
                break
            last = grown
            time.sleep(0.1)
        for c in clients:
            c.close()
        return grown < 24, "8 TLS clients: plmcd's RSS +%.1f MiB (at most " \
            "24; 36 MB asked each)" % grown
    case("8 TLS clients pipelining 18 MB multi-gets, never reading: "
         "plmcd's memory stays bounded", tls_multiget_non_readers)

    def tls_over_64mib():
        # 80 x 900 KB = 72 MB in one reply (over the old 64 MiB cut-off)
        s = tls_conn()
        s.sendall(b"get" + b" big" * 80 + b"\r\n")
        want = block * 80 + b"END\r\n"
        got = bytearray()  # TLS hands over a 16 KiB record a read
        while len(got) < len(want):
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
        s.close()
        return got == want, "%d of %d bytes" % (len(got), len(want))
    case("a TLS multi-get whose reply is 72 MB arrives whole",
         tls_over_64mib)

    def refresh():
        s = ctx.wrap_socket(socket.create_connection((HOST, tport),
                                                     timeout=5),
                            server_hostname=HOST)
        s.sendall(b"refresh_certs\r\n")
        r = s.recv(100)
        st = plain_stats(pport)
        return r == b"OK\r\n" and "time_since_server_cert_refresh" in st, \
            repr(r)
    case("refresh_certs answers OK; stats has the TLS fields", refresh)
    stop(srv)

    # ssl_verify_mode=2 (require a client certificate) with ssl_ca_cert
    vport = free_port()
    start(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s,ssl_ca_cert=%s,"
           "ssl_verify_mode=2" % (cert("server_crt.pem"),
                                  cert("server_key.pem"),
                                  cert("cacert.pem")),
           "-l", HOST, "-p", str(vport)], vport, tls_ctx("client"))

    def talk(c):
        s = c.wrap_socket(socket.create_connection((HOST, vport), timeout=5),
                          server_hostname=HOST)
        s.sendall(b"set v 0 0 1\r\nx\r\nget v\r\n")
        return recv_until(s, ends_end, 4096)

    def verify_ok():
        got = talk(tls_ctx("client"))
        return got == b"STORED\r\nVALUE v 0 1\r\nx\r\nEND\r\n", repr(got)
    case("ssl_verify_mode=2: a client whose certificate the CA signed is "
         "served", verify_ok)

    def refused(client):
        def fn():
            try:
                got = talk(tls_ctx(client))
            except (ssl.SSLError, OSError) as e:
                return True, str(e)
            return got == b"", "served: %r" % got
        return fn
    case("ssl_verify_mode=2: a client certificate from another CA is "
         "refused", refused("other_client"))
    case("ssl_verify_mode=2: a client without a certificate is refused",
         refused(None))


def refresh_cases():
    """refresh_certs with a broken file: memcached's error line, and
    the old certificate keeps serving."""
    import shutil
    crt, key = os.path.join(TMP, "r_crt.pem"), os.path.join(TMP, "r_key.pem")
    shutil.copy(cert("server_crt.pem"), crt)
    shutil.copy(cert("server_key.pem"), key)
    port = free_port()
    ctx = tls_ctx()
    srv = start(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (crt, key),
                 "-l", HOST, "-p", str(port)], port, ctx)

    def ask(line):
        s = ctx.wrap_socket(socket.create_connection((HOST, port),
                                                     timeout=5),
                            server_hostname=HOST)
        s.sendall(line)
        return s.recv(4096)

    def broken():
        with open(crt, "w") as f:
            f.write("not a certificate\n")
        r = ask(b"refresh_certs\r\n")
        still = ask(b"version\r\n").startswith(b"VERSION")
        shutil.copy(cert("server_crt.pem"), crt)
        again = ask(b"refresh_certs\r\n")
        return r.startswith(b"Error loading the certificate chain: " +
                            crt.encode()) and r.endswith(b"\r\n") and \
            still and again == b"OK\r\n", "%r / %s / %r" % (r[:80], still,
                                                            again)
    case("refresh_certs with a broken certificate: memcached's error, the "
         "old one still serves; fixed, OK", broken)
    stop(srv)


def tls_auth_cases():
    """-Z with -Y, the recommended pair: the login's password crosses
    the wire in the clear on a notls: listener, and not over TLS."""
    afile = os.path.join(TMP, "authfile2")
    with open(afile, "w") as f:
        f.write("erin:pw-on-the-wire-93\n")
    tport, pport = free_port(), free_port()
    ctx = tls_ctx()
    srv = start(["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" %
                 (cert("server_crt.pem"), cert("server_key.pem")),
                 "-Y", afile,
                 "-l", "%s:%d,notls:%s:%d" % (HOST, tport, HOST, pport),
                 "-p", str(tport)], tport, ctx)

    def login_through(port, tls):
        tap = Tap(port)
        c = Client((HOST, tap.port), tls_context=ctx if tls else None,
                   timeout=5, default_noreply=False)
        ok = c.set(b"login", b"erin pw-on-the-wire-93") and \
            c.set(b"k", SECRET) and c.get(b"k") == SECRET
        c.close()
        time.sleep(0.1)
        return ok, b"pw-on-the-wire-93" in tap.seen

    def fn():
        ok_plain, seen_plain = login_through(pport, False)
        ok_tls, seen_tls = login_through(tport, True)
        return ok_plain and ok_tls and seen_plain and not seen_tls, \
            "plain: login %s, password seen %s; TLS: login %s, seen %s" % (
                ok_plain, seen_plain, ok_tls, seen_tls)
    case("-Z with -Y: the login works over both; its password is on the "
         "wire without TLS, not with it", fn)
    stop(srv)


def option_cases():
    """Bad TLS and auth options stop plmcd with a message naming them."""
    bad_auth = os.path.join(TMP, "bad_auth")
    with open(bad_auth, "w") as f:
        f.write("alice:x\nno-colon-here\n")
    good_auth = os.path.join(TMP, "authfile")
    crt, key = cert("server_crt.pem"), cert("server_key.pem")
    tls = ["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (crt, key)]
    port = str(free_port())
    wrong = [
        (["-Z"], "-Z needs -o ssl_chain_cert"),
        (["-Z", "-o", "ssl_chain_cert=/nonexistent,ssl_key=" + key],
         "Error loading the certificate chain: /nonexistent"),
        (["-Z", "-o", "ssl_chain_cert=%s,ssl_key=%s" % (crt, crt)],
         "Error loading the key"),
        (tls + ["-o", "ssl_verify_mode=9"], "Invalid ssl_verify_mode"),
        (tls + ["-o", "ssl_min_version=7"], "Invalid ssl_min_version"),
        (tls + ["-o", "ssl_ciphers=NO-SUCH-CIPHER"],
         "Error setting the provided cipher(s): NO-SUCH-CIPHER"),
        (tls + ["-s", os.path.join(TMP, "s.sock"), "-p", "0"],
         "You cannot enable SSL without a TCP port"),
        (["-l", "notls:127.0.0.1"], "notls: without -Z"),
        (["-Y", "/nonexistent"], "-Y /nonexistent"),
        (["-Y", bad_auth], "line 2"),
        (["-Y", good_auth, "-B", "binary"], "BINARY protocol"),
        (["-S", "-B", "ascii"], "ASCII protocol while using SASL"),
        (["-S", "-Y", good_auth], "-S and -Y"),
    ]

    def fn():
        bad = []
        root = ["-u", "root"] if os.getuid() == 0 else []
        for args, says in wrong:
            r = subprocess.run([PLMCD] + root + ["-p", port] + args,
                               capture_output=True, timeout=20)
            if r.returncode == 0 or says not in r.stderr.decode():
                bad.append("%s: rc %d %r" % (" ".join(args), r.returncode,
                                             r.stderr[-200:]))
        return not bad and not ask_version(int(port)), "; ".join(bad)
    case("%d bad TLS and auth command lines: each refused with a message "
         "naming it, nothing served" % len(wrong), fn)


def auth_cases():
    afile = os.path.join(TMP, "authfile")
    with open(afile, "w") as f:
        f.write("alice:wonderland\nbob:builder\n")
    port, oport = free_port(), free_port()
    # off: the same store's data, no -Y: anyone reads it
    off = start(["-p", str(oport), "-l", HOST], oport)
    Client((HOST, oport), timeout=5).set(b"secret", SECRET, noreply=False)

    def open_door():
        return Client((HOST, oport), timeout=5).get(b"secret") == SECRET, \
            "read without -Y"
    case("without -Y an unauthenticated client reads the store", open_door)
    stop(off)

    srv = start(["-Y", afile, "-p", str(port), "-l", HOST, "-vv"], port,
                log="auth.log")

    def client():
        return Client((HOST, port), timeout=5, default_noreply=False)

    def refused():
        c = client()
        errs = 0
        for fn in (lambda: c.get(b"secret"),
                   lambda: c.delete(b"secret"),
                   lambda: c.flush_all()):
            try:
                fn()
            except MemcacheClientError as e:
                errs += "unauthenticated" in str(e)
        return errs == 3, "%d of 3 refused" % errs
    case("-Y: get, delete, flush_all before the login: CLIENT_ERROR "
         "unauthenticated", refused)

    def bad_password():
        c = client()
        try:
            c.set(b"login", b"alice wrong")
            return False, "a wrong password was accepted"
        except MemcacheClientError as e:
            if "authentication failure" not in str(e):
                return False, str(e)
        try:
            c.get(b"x")
            return False, "served after a failed login"
        except MemcacheClientError as e:
            return "unauthenticated" in str(e), str(e)
    case("-Y: a wrong password is refused, and the connection stays "
         "unauthenticated", bad_password)

    def good_login():
        c = client()
        ok = c.set(b"login", b"bob builder")
        ok = ok and c.set(b"k", b"v") and c.get(b"k") == b"v"
        # the login stored nothing
        ok = ok and c.get(b"login") is None
        st = plain_stats(port, "alice wonderland")
        return ok and st.get("auth_cmds") == "3" and \
            st.get("auth_errors") == "1", "auth counters %s/%s" % (
                st.get("auth_cmds"), st.get("auth_errors"))
    case("-Y: the right password is STORED (and stores nothing); the "
         "connection is then served; auth_cmds, auth_errors", good_login)

    def user_known():
        time.sleep(0.2)
        with open(os.path.join(TMP, "auth.log")) as f:
            log = f.read()
        return "authenticated as bob" in log and \
            "authenticated as alice" in log, "no 'authenticated as' lines"
    case("-Y: plmcd knows each connection's user (conn_user, -vv log)",
         user_known)

    def logs_in(login):
        try:
            return client().set(b"login", login)
        except MemcacheClientError:
            return False

    def reload():
        import signal
        with open(afile, "w") as f:
            f.write("dave:newpass\n")
        srv.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        new_in, old_out = logs_in(b"dave newpass"), \
            not logs_in(b"alice wonderland")
        with open(afile, "w") as f:
            f.write("broken line\n")
        srv.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        kept = logs_in(b"dave newpass")
        return new_in and old_out and kept and srv.poll() is None, \
            "new user %s, old user gone %s, bad file kept the table %s" % (
                new_in, old_out, kept)
    case("-Y: SIGHUP reads the file again; a broken file keeps the old "
         "table", reload)
    stop(srv)


def rss_mib(p):
    with open("/proc/%d/status" % p.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def hog(port, ctx, login, line, secs, stop_at):
    """A client that sends @line over and over and never reads: what it
    managed to send before plmcd stopped taking it comes back in a list."""
    sent = [0]

    def run():
        s = socket.create_connection((HOST, port), timeout=5)
        if ctx:
            s = ctx.wrap_socket(s, server_hostname=HOST)
        if login:
            s.sendall(login)
        s.settimeout(0.5)
        chunk = line * (60000 // len(line) + 1)
        try:
            while time.time() < stop_at:
                s.sendall(chunk)
                sent[0] += len(chunk)
        except OSError:
            pass  # a send that waits 0.5 s: plmcd stopped reading
        while time.time() < stop_at + secs:
            time.sleep(0.1)
        s.close()
    t = threading.Thread(target=run)
    t.start()
    return t, sent


def flood(srv, port, ctx, login, line, n, well_behaved):
    """@n hogs for 5 s while @well_behaved runs twice; plmcd's peak RSS
    above its RSS before them, in MiB, and what the hogs sent."""
    base = rss_mib(srv)
    stop_at = time.time() + 5
    hogs = [hog(port, ctx, login, line, 1, stop_at) for _ in range(n)]
    peak, served = 0.0, []
    while any(t.is_alive() for t, _ in hogs):
        peak = max(peak, rss_mib(srv) - base)
        if len(served) < 2 and time.time() > stop_at - 3 + len(served):
            served.append(well_behaved())
        time.sleep(0.1)
    for t, _ in hogs:
        t.join()
    sent = sum(x[0] for _, x in hogs)
    print("  %d non-readers sent %d KiB; plmcd's peak RSS +%.1f MiB" %
          (n, sent >> 10, peak), flush=True)
    return peak, sent, served


def backpressure_cases():
    """F1 of issue 18: a client that sends but never reads. Before the
    fix each -Y connection's 'CLIENT_ERROR unauthenticated' replies (10x
    what it sends) and each logged-in one's 900 KB values queued in
    plmcd's memory up to 64 MiB a connection; now plmcd stops reading a
    connection whose output passes 256 KiB and TCP holds the sender."""
    afile = os.path.join(TMP, "authfile-bp")
    with open(afile, "w") as f:
        f.write("alice:wonderland\n")
    login = b"set l 0 0 16\r\nalice wonderland\r\n"
    port = free_port()
    srv = start(["-Y", afile, "-p", str(port), "-l", HOST, "-c", "200",
                 "-m", "64"], port)
    big = bytes(random.getrandbits(8) for _ in range(900000))

    def served():
        return exchange(socket.create_connection((HOST, port), timeout=5),
                        login + b"set k 0 0 2\r\nok\r\nget k\r\n",
                        b"STORED\r\nSTORED\r\nVALUE k 0 2\r\nok\r\nEND\r\n")

    s = socket.create_connection((HOST, port), timeout=5)
    s.sendall(login + b"set big 0 0 %d\r\n%s\r\n" % (len(big), big))
    time.sleep(0.3)
    s.close()

    def unauth():
        peak, sent, ok = flood(srv, port, None, None, b"x\r\n", 8, served)
        return peak < 32 and sent > 0 and ok == [True, True], \
            "8 clients sent %d KiB; peak RSS +%.0f MiB (at most 32); " \
            "a client that reads served %s" % (sent >> 10, peak, ok)
    case("8 unauthenticated clients that send and never read: plmcd's "
         "RSS stays bounded; a client that reads is served", unauth)

    def logged_in():
        peak, sent, ok = flood(srv, port, None, login, b"get big\r\n", 4,
                               served)
        return peak < 32 and sent > 0 and ok == [True, True], \
            "4 clients sent %d KiB of gets of 900 KB; peak RSS +%.0f MiB " \
            "(at most 32); a client that reads served %s" % (
                sent >> 10, peak, ok)
    case("4 logged-in clients pipelining gets of a 900 KB value, never "
         "reading: plmcd's RSS stays bounded", logged_in)

    def slow_reader():
        # the throttled connection resumes once its client reads: 40
        # gets in one write, read after a pause, all come back in order
        s = socket.create_connection((HOST, port), timeout=10)
        s.sendall(login + b"get big\r\n" * 40)
        time.sleep(1)
        want = b"STORED\r\n" + (b"VALUE big 0 %d\r\n" % len(big) + big +
                                b"\r\nEND\r\n") * 40
        got = recv_until(s, lambda g: len(g) >= len(want), 1 << 20)
        s.close()
        return got == want, "%d of %d bytes" % (len(got), len(want))
    case("a plain client that reads late gets 40 x 900 KB replies whole "
         "and in order", slow_reader)
    stop(srv)

    tport = free_port()
    tsrv = start(["-Y", afile, "-p", str(tport), "-l", HOST, "-c", "200",
                  "-m", "64", "-Z", "-o",
                  "ssl_chain_cert=%s,ssl_key=%s" % (cert("server_crt.pem"),
                                                    cert("server_key.pem"))],
                 tport, tls_ctx())

    def tls_served():
        s = tls_ctx().wrap_socket(socket.create_connection((HOST, tport),
                                                           timeout=5),
                                  server_hostname=HOST)
        return exchange(s, login + b"get nothing\r\n", b"STORED\r\nEND\r\n")

    def tls_unauth():
        peak, sent, ok = flood(tsrv, tport, tls_ctx(), None, b"x\r\n", 4,
                               tls_served)
        return peak < 24 and sent > 0 and ok == [True, True], \
            "4 TLS clients sent %d KiB; peak RSS +%.0f MiB (at most 24); " \
            "a client that reads served %s" % (sent >> 10, peak, ok)
    case("4 unauthenticated TLS clients that send and never read: "
         "plmcd's RSS stays bounded; a TLS client that reads is served",
         tls_unauth)
    stop(tsrv)


def breq(op, key=b"", val=b""):
    """A binary request (no extras)."""
    return struct.pack(">BBHBBHIIQ", 0x80, op, len(key), 0, 0, 0,
                       len(key) + len(val), 0, 0) + key + val


def bread(s, n):
    """Up to @n binary replies as (status, body); fewer when the
    server closed, and then "EOF" last."""
    out, data = [], b""
    while len(out) < n:
        while len(data) >= 24 and len(out) < n:
            blen = struct.unpack(">I", data[8:12])[0]
            if len(data) < 24 + blen:
                break
            out.append((struct.unpack(">H", data[6:8])[0],
                        data[24:24 + blen]))
            data = data[24 + blen:]
        if len(out) == n:
            break
        d = s.recv(65536)
        if not d:
            out.append("EOF")
            break
        data += d
    return out


SASL_LIST, SASL_AUTH, SASL_STEP = 0x20, 0x21, 0x22


def sasl_plain(user, pw):
    return breq(SASL_AUTH, b"PLAIN", b"\0" + user + b"\0" + pw)


def sasl_cases():
    conf = os.path.join(TMP, "sasl")
    os.makedirs(conf, exist_ok=True)
    db = os.path.join(conf, "sasldb")
    with open(os.path.join(conf, "memcached.conf"), "w") as f:
        f.write("mech_list: plain cram-md5\nsasldb_path: %s\n" % db)
    subprocess.run(["saslpasswd2", "-f", db, "-a", "memcached", "-u",
                    "plmc.test", "-c", "-p", "carol"], input=b"s3same\n",
                   check=True)
    port = free_port()
    env = dict(os.environ, SASL_CONF_PATH=conf)
    root = ["-u", "root"] if os.getuid() == 0 else []
    p = subprocess.Popen([PLMCD] + root + ["-t", "1", "-S", "-p", str(port),
                                           "-l", HOST, "-vv"],
                         env=env, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(TMP, "sasl.log"), "wb"))
    servers.append(p)
    time.sleep(0.5)
    src = os.path.join(TMP, "saslval")
    with open(src, "wb") as f:
        f.write(SECRET)
    srv = "--servers=%s:%d" % (HOST, port)

    def cp(user, pw):
        return subprocess.run(["memccp", "--binary", srv, "--username=" +
                               user, "--password=" + pw, src],
                              capture_output=True, timeout=20)

    def cat(user, pw):
        return subprocess.run(["memccat", "--binary", srv, "--username=" +
                               user, "--password=" + pw, "saslval"],
                              capture_output=True, timeout=20)

    def good():
        a = cp("carol@plmc.test", "s3same")
        b = cat("carol@plmc.test", "s3same")
        return a.returncode == 0 and b.stdout.rstrip(b"\n") == SECRET, \
            "memccp rc %d %r, memccat %r" % (a.returncode, a.stderr[:200],
                                             b.stdout[:60])
    case("-S: libmemcached (memccp/memccat --binary --username) "
         "authenticates, stores and reads", good)

    def bad():
        b = cat("carol@plmc.test", "wrong")
        c = cat("mallory@plmc.test", "s3same")
        return SECRET not in b.stdout and SECRET not in c.stdout and \
            b.returncode != 0 and c.returncode != 0, \
            "wrong password rc %d, unknown user rc %d" % (b.returncode,
                                                          c.returncode)
    case("-S: a wrong password or an unknown user reads nothing", bad)

    def unauth_binary():
        # a binary get with no SASL at all: Auth failure (0x20), closed
        s = socket.create_connection((HOST, port), timeout=5)
        key = b"saslval"
        s.sendall(bytes([0x80, 0x00, 0, len(key), 0, 0, 0, 0, 0, 0, 0,
                         len(key)]) + bytes(12) + key)
        h = s.recv(4096)
        return len(h) >= 24 and h[6:8] == b"\x00\x20" and SECRET not in h, \
            repr(h[:40])
    case("-S: a binary get before authenticating answers Auth failure",
         unauth_binary)

    def user_known():
        time.sleep(0.2)
        with open(os.path.join(TMP, "sasl.log")) as f:
            return "authenticated as carol" in f.read(), "no log line"
    case("-S: plmcd knows the connection's SASL user (conn_user, -vv log)",
         user_known)

    carol = (b"carol@plmc.test", b"s3same")

    def relogin_fails():
        # memcached 1.6.18: Auth failure., and the connection closes;
        # before, the earlier login stayed and the get read the value
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(sasl_plain(*carol) + breq(0, b"saslval"))
        first = bread(s, 2)
        s.sendall(sasl_plain(carol[0], b"wrong") + breq(0, b"saslval"))
        then = bread(s, 2)
        return [st for st, _ in first] == [0, 0] and \
            first[1][1].endswith(SECRET) and then[0][0] == 0x20 and \
            then[1:] == ["EOF"], "logged in %r; re-login %r" % (
                first, then)
    case("-S: a failed re-login drops the login and closes (Auth "
         "failure.); the first login read the value", relogin_fails)

    def relogin_pending():
        # a new exchange begun (CRAM-MD5's challenge) proves nobody yet
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(sasl_plain(*carol))
        first = bread(s, 1)
        s.sendall(breq(SASL_AUTH, b"CRAM-MD5") + breq(0, b"saslval"))
        then = bread(s, 2)
        return first[0][0] == 0 and then[0][0] == 0x21 and \
            then[1] != "EOF" and then[1][0] == 0x20 and \
            SECRET not in then[1][1], "%r then %r" % (first, then)
    case("-S: a re-login in progress is no login: a get meanwhile is "
         "refused", relogin_pending)

    def relogin_ok():
        # each AUTH starts a new exchange (Cyrus refuses one on a conn
        # whose last exchange finished): a right re-login holds
        s = socket.create_connection((HOST, port), timeout=5)
        s.sendall(sasl_plain(*carol) + sasl_plain(*carol) +
                  breq(0, b"saslval"))
        r = bread(s, 3)
        return [x[0] for x in r] == [0, 0, 0] and r[2][1].endswith(SECRET), \
            repr(r)
    case("-S: a right re-login on a logged-in connection holds", relogin_ok)
    stop(p)


def sasl_anonymous_cases():
    """Without mech_list Cyrus offers every plugin installed, ANONYMOUS
    (libsasl2-modules) included, and memcached 1.6.18 accepts it: a
    login without a credential. plmcd refuses it; PLAIN stays."""
    for name, text in (("no mech_list", "sasldb_path: %s\n"),
                       ("no memcached.conf", None)):
        conf = os.path.join(TMP, "sasl-" + name.replace(" ", "-"))
        os.makedirs(conf, exist_ok=True)
        if text:
            with open(os.path.join(conf, "memcached.conf"), "w") as f:
                f.write(text % os.path.join(conf, "sasldb"))
        port = free_port()
        env = dict(os.environ, SASL_CONF_PATH=conf)
        root = ["-u", "root"] if os.getuid() == 0 else []
        p = subprocess.Popen([PLMCD] + root + ["-t", "1", "-S", "-p",
                                               str(port), "-l", HOST],
                             env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        servers.append(p)
        time.sleep(0.5)

        def anonymous():
            s = socket.create_connection((HOST, port), timeout=5)
            s.sendall(breq(SASL_LIST))
            mechs = bread(s, 1)[0][1].split()
            s.sendall(breq(SASL_AUTH, b"ANONYMOUS", b"trace") +
                      breq(0x0a))  # noop: needs a login
            r = bread(s, 2)
            return b"PLAIN" in mechs and b"ANONYMOUS" not in mechs and \
                r[0][0] == 0x20 and r[1:] in (["EOF"], [(0x20, r[1][1])]), \
                "mechs %r; AUTH ANONYMOUS then noop %r" % (mechs, r)
        case("-S with %s: ANONYMOUS is not offered and not accepted; "
             "PLAIN is offered" % name, anonymous)
        stop(p)


def main():
    # NETSEC_ONLY=sasl,backpressure runs those groups alone (by hand)
    only = os.environ.get("NETSEC_ONLY", "").split(",")
    groups = [tls_cases, refresh_cases, auth_cases, tls_auth_cases,
              option_cases, sasl_cases, sasl_anonymous_cases,
              backpressure_cases]
    try:
        for g in groups:
            if only == [""] or g.__name__[:-6] in only:
                g()
    finally:
        for p in servers:
            if p.poll() is None:
                p.terminate()
                p.wait(10)
    print("netsec cases: %d passed, %d failed" % (results.count(True),
                                                  results.count(False)))
    return 0 if all(results) else 1


sys.exit(main())
