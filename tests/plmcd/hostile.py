#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""hostile.py HOST PORT MAXCONNS - plmcd against bad clients.

Each case sends something a careless or hostile client might, then checks
the reply (or the close) and that the server still serves a fresh client
with the data stored at the start intact. Prints PASS/FAIL lines and a
final "N passed, N failed".
"""
import resource
import socket
import sys
import time

HOST, PORT, MAXCONNS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
results = []


def conn():
    s = socket.create_connection((HOST, PORT), timeout=5)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until(s, end, limit=1 << 22):
    data = b""
    while not data.endswith(end) and len(data) < limit:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def closed(s):
    """True when the server closed the connection (reads EOF)."""
    try:
        s.settimeout(5)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def healthy():
    s = conn()
    s.sendall(b"get canary\r\n")
    r = recv_until(s, b"END\r\n")
    s.close()
    return r == b"VALUE canary 7 4\r\nlive\r\nEND\r\n"


def case(name, fn):
    try:
        ok, why = fn()
    except Exception as e:  # a crash of the server shows up here
        ok, why = False, repr(e)
    ok = ok and healthy()
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + why))


def long_line():
    s = conn()
    s.sendall(b"get " + b"k" * 200000)
    r = recv_until(s, b"\r\n")
    return r.startswith(b"CLIENT_ERROR") and closed(s), repr(r[:60])


def long_multiget():
    # memcached takes a get line of any length (t/getset.t sends 18,725
    # keys): past the 64 KiB line limit and the tokenizer's 4,096 words,
    # every key is answered; a key past 250 bytes in it is refused
    s = conn()
    n = 20000
    s.sendall(b"get " + b"canary " * n + b"\r\n")
    want = b"VALUE canary 7 4\r\nlive\r\n" * n + b"END\r\n"
    r = recv_until(s, b"END\r\n", len(want))
    s.sendall(b"get " + b"canary " * 10000 + b"k" * 251 + b"\r\n")
    r2 = recv_until(s, b"\r\n")
    s.close()
    return (r == want and r2 == b"CLIENT_ERROR bad command line format\r\n",
            "%d of %d bytes; then %r" % (len(r), len(want), r2[:60]))


def stat(name):
    s = conn()
    s.sendall(b"stats\r\n")
    r = recv_until(s, b"END\r\n")
    s.close()
    for line in r.split(b"\r\n"):
        w = line.split(b" ")
        if len(w) == 3 and w[1] == name.encode():
            return int(w[2])
    return None


def watch_ok(w):
    """The watcher's first line, and what came after it in the same read:
    a log line may follow OK at once (the close of the stats connection
    before it can be logged after the watcher is registered)."""
    data = b""
    while b"\r\n" not in data:
        chunk = w.recv(65536)
        if not chunk:
            break
        data += chunk
    line, _, rest = data.partition(b"\r\n")
    return line + b"\r\n", rest


def watch_lines(w, n, data=b""):
    """Up to @n lines, or what came in 5 s (the check then says which)."""
    w.settimeout(5)
    try:
        while data.count(b"\n") < n:
            chunk = w.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return data.decode("latin1").splitlines()


def watcher():
    # memcached's watch: a watcher gets item_get / item_store / conn
    # lines in its formats, the storage command's lookup first; closing
    # it unregisters it (log_watchers back where it was)
    base = stat("log_watchers")
    w = conn()
    w.sendall(b"watch fetchers mutations connevents\r\n")
    ok, early = watch_ok(w)
    during = stat("log_watchers")  # its connection opens and closes: 2 lines
    c = conn()
    c.sendall(b"set w%key 0 0 2\r\nhi\r\nget w%key\r\n"
              b"ms mkey 3 MA\r\nabc\r\nmg mkey v\r\nquit\r\n")
    recv_until(c, b"EN\r\n")
    c.close()
    lines = watch_lines(w, 9 + early.count(b"\n"), early)
    want = [
        r"type=conn_new rip=127\.0\.0\.1 rport=\d+ transport=tcp cfd=\d+$",
        r"type=conn_close rip=127\.0\.0\.1 rport=\d+ transport=tcp reason=normal cfd=\d+$",
        r"type=conn_new .*transport=tcp cfd=(\d+)$",
        r"type=item_get key=w%25key status=not_found clsid=0 cfd=\d+ size=0$",
        r"type=item_store key=w%25key status=stored cmd=set ttl=0 clsid=[1-9]\d* cfd=\d+ size=2$",
        r"type=item_get key=w%25key status=found clsid=[1-9]\d* cfd=\d+ size=2$",
        r"type=conn_close .*reason=normal cfd=\d+$",
        r"type=item_store key=mkey status=not_stored cmd=append ttl=0 clsid=\d+ cfd=\d+ size=3$",
        r"type=item_get key=mkey status=not_found clsid=0 cfd=\d+ size=0$",
    ]
    import re
    bodies = [re.sub(r"^ts=\d+\.\d+ gid=\d+ ", "", l) for l in lines]
    got = all(any(re.match(p, b) for b in bodies) for p in want)
    w.close()
    time.sleep(0.3)
    after = stat("log_watchers")
    return (ok == b"OK\r\n" and during == base + 1 and after == base and got,
            "ok=%r watchers %s/%s/%s lines=%r" % (ok, base, during, after, bodies[:8]))


def big_metadump():
    # lru_crawler metadump of 60,000 items read slowly: it comes a chunk
    # at a time as the client reads (bounded memory), whole, and a
    # command pipelined after it runs once it has ended
    s = conn()
    n = 60000
    batch = b"".join(b"set md-%d 0 0 1 noreply\r\nx\r\n" % i for i in range(n))
    s.sendall(batch + b"version\r\n")
    recv_until(s, b"\r\n")
    s.sendall(b"lru_crawler metadump all\r\nget canary\r\n")
    time.sleep(1)  # the server waits on a full socket meanwhile
    r = recv_until(s, b"live\r\nEND\r\n", 64 << 20)
    s.close()
    keys = sum(1 for l in r.split(b"\n") if l.startswith(b"key=md-"))
    return (keys == n and r.endswith(b"END\r\nVALUE canary 7 4\r\nlive\r\nEND\r\n"),
            "%d of %d keys; tail %r" % (keys, n, r[-60:]))


def http_request():
    # memcached closes a connection whose line ends like an HTTP request
    # line, without a reply (a browser on the port renders nothing)
    s = conn()
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: y\r\n\r\n")
    try:
        r = recv_until(s, b"\r\n")
    except ConnectionResetError:
        r = b""
    return r == b"" and closed(s) and healthy(), repr(r[:80])


def garbage():
    import random
    rnd = random.Random(7)
    s = conn()
    try:
        for _ in range(64):
            s.sendall(bytes(rnd.randrange(1, 256) for _ in range(16384)))
    except (ConnectionResetError, BrokenPipeError):
        pass
    s.close()
    return True, ""


def half_sent():
    for cmd in (b"set half 0 0 10\r\nabc", b"get hal", b"cas x 0 0 5 1"):
        s = conn()
        s.sendall(cmd)
        s.close()
    s = conn()
    s.sendall(b"get half\r\n")
    r = recv_until(s, b"END\r\n")
    return r == b"END\r\n", repr(r)


def binary_magic():
    # the binary protocol: a version request answers, a bad magic later
    # on the same connection closes it (as memcached)
    s = conn()
    s.sendall(bytes([0x80, 0x0b]) + bytes(22))  # binary "version"
    r = b""
    while len(r) < 24 + 11:
        d = s.recv(4096)
        if not d:
            break
        r += d
    ok = (len(r) == 35 and r[0] == 0x81 and r[1] == 0x0b and r[6:8] == b"\0\0"
          and r[24:] == b"1.6.18-plmc")
    s.sendall(bytes([0x42]) + bytes(23))
    return ok and closed(s), repr(r[:40])


def too_large_swallowed():
    s = conn()
    s.sendall(b"set big 0 0 2000000\r\n")
    r1 = recv_until(s, b"\r\n")
    s.sendall(b"x" * 2000000 + b"\r\nget canary\r\n")
    r2 = recv_until(s, b"END\r\n")
    s.sendall(b"stats\r\n")
    st = recv_until(s, b"END\r\n")
    ok = (r1 == b"SERVER_ERROR object too large for cache\r\n"
          and r2 == b"VALUE canary 7 4\r\nlive\r\nEND\r\n"
          and b"STAT store_too_large 0\r\n" not in st
          and b"STAT store_too_large " in st)
    return ok, repr((r1, r2[:60]))


def idle_connections():
    n = min(MAXCONNS - 16, 2000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 64), hard))
    socks = [conn() for _ in range(n)]
    ok = healthy()
    for s in socks:
        s.close()
    time.sleep(0.5)  # let the server see them go before the next case
    return ok, "a fresh client was not served with %d idle ones" % n


def over_limit():
    socks = []
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (max(soft, MAXCONNS + 64), hard))
        socks = [conn() for _ in range(MAXCONNS)]
        time.sleep(0.5)  # let the server accept (and count) every one
        extra = conn()
        line = recv_until(extra, b"\r\n")
        refused = line == b"ERROR Too many open connections\r\n" and closed(extra)
    finally:
        for s in socks:
            s.close()
    time.sleep(0.3)
    s = conn()
    s.sendall(b"stats\r\n")
    st = recv_until(s, b"END\r\n")
    counted = b"STAT rejected_connections 0\r\n" not in st and \
        b"STAT rejected_connections " in st
    return refused and counted, "past -c: %r, rejected_connections counted: %s" % (
        line if socks else b"", counted)


s = conn()
s.sendall(b"set canary 7 0 4\r\nlive\r\n")
assert recv_until(s, b"\r\n") == b"STORED\r\n"
s.close()
case("over-long line: CLIENT_ERROR and close", long_line)
case("get of 20000 keys on one 140 KB line: every key answered", long_multiget)
case("watch fetchers mutations connevents: memcached's log lines; close unregisters", watcher)
case("metadump of 60000 items, read slowly: whole, then the next command", big_metadump)
case("HTTP request line: closed without a reply, then serves others", http_request)
case("1 MiB of random bytes: no crash", garbage)
case("half-sent commands then close: nothing stored", half_sent)
case("binary protocol: version answers; bad magic closes", binary_magic)
case("oversize value: refused, data swallowed, store_too_large counted", too_large_swallowed)
case("2000 idle connections: still serves", idle_connections)
case("connections past -c: ERROR Too many open connections, counted", over_limit)
print("hostile cases: %d passed, %d failed" % (results.count(True), results.count(False)))
sys.exit(0 if all(results) else 1)
