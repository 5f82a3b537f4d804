#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/plmcd/replies.py PLMCD MEMCACHED DIR - plmcd's reply path against
# Debian's memcached 1.6.18, both on unix sockets in DIR:
#  1. 32 clients pipeline multi-gets of large values and never read:
#     plmcd's memory grows by a bounded amount (it copies values into a
#     connection's output only as its client takes them), measured
#     beside memcached's (which sends from item references);
#  2. a multi-get whose reply is over 64 MiB arrives whole;
#  3. under -o idle_timeout=1 a slow reader of a large reply is not
#     idle (memcached: a connection writing is not), while a quiet
#     connection is closed (control), and one whose value is half sent
#     is not; one on the unix socket is not (memcached times out TCP
#     connections only); a TCP watcher is not (memcached never times
#     out a `watch` connection);
#  4. one worker (-t 1): a client reading a 100,000-item metadump as
#     fast as it comes does not hold the worker; another client's
#     command is answered with most of the dump still to come. (A
#     control: at this size the reader here is slower than the dump,
#     so the socket fills and the worker went back to epoll before
#     dumps yielded too; redteam's dumpstall2.py at 400,000 items shows
#     the stall that yielding removes, which a test of seconds cannot.)
#  5. while a metadump is under way, a second one is answered BUSY (as
#     memcached's one crawler answers), and one runs once it has ended.
# Sized by counts; prints PASS/FAIL lines and "replies cases: N passed,
# N failed".
import os, re, socket, subprocess, sys, time

PLMCD, MEMCACHED, DIR = sys.argv[1:4]
USER = ['-u', 'root'] if os.getuid() == 0 else []
passed = failed = 0
MiB = 1 << 20


def result(ok, name, detail=''):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print('%s %s%s' % ('PASS' if ok else 'FAIL', name, detail))


def start(binary, name, extra, port=None):
    """A server on the unix socket DIR/rp-NAME.sock, or on 127.0.0.1:PORT
    (memcached's idle timeout looks at TCP connections only)."""
    path = os.path.join(DIR, 'rp-%s.sock' % name)
    where = ['-p', str(port), '-l', '127.0.0.1'] if port else ['-s', path]
    if port and binary == MEMCACHED:
        where += ['-U', '0']
    p = subprocess.Popen([binary] + USER + where + extra,
                         stdout=subprocess.DEVNULL,
                         stderr=open(path + '.log', 'w'))
    addr = ('127.0.0.1', port) if port else path
    for _ in range(200):
        try:
            conn(addr).close()
            return p, addr
        except OSError:
            time.sleep(0.05)
    raise SystemExit('FAIL %s did not start: %s' % (binary, open(path + '.log').read()))


def conn(addr):
    s = socket.socket(socket.AF_INET if isinstance(addr, tuple) else socket.AF_UNIX)
    s.connect(addr)
    s.settimeout(10)
    return s


def ask(path, data, end):
    s = conn(path)
    s.sendall(data)
    out = b''
    while not out.endswith(end):
        b = s.recv(1 << 20)
        if not b:
            break
        out += b
    s.close()
    return out


def stat(path, name):
    m = re.search(rb'STAT %s (\d+)' % name.encode(), ask(path, b'stats\r\n', b'END\r\n'))
    return int(m.group(1)) if m else -1


def rss_anon(pid):
    """Private memory, KiB (the store's shared segment is not in it)."""
    with open('/proc/%d/status' % pid) as f:
        return int(re.search(r'RssAnon:\s+(\d+)', f.read()).group(1))


def settle(path):
    """Wait until the server has stopped sending: bytes_written grows by
    no more than the stats reply that reads it, three times running."""
    last, same = -1, 0
    for _ in range(150):
        now = stat(path, 'bytes_written')
        same = same + 1 if 0 <= now - last < 16384 else 0
        if same == 3:
            return True
        last = now
        time.sleep(0.1)
    return False


NKEYS, VLEN, CLIENTS, LINES = 50, 200000, 32, 4


def non_readers(servers):
    """Case 1: each client asks for LINES x NKEYS x VLEN bytes (40 MB),
    reads none of it; memory growth of each server, KiB."""
    grown = {}
    for name, (p, path) in servers.items():
        s = conn(path)
        for i in range(NKEYS):
            s.sendall(b'set big%d 0 0 %d\r\n%s\r\n' % (i, VLEN, b'v' * VLEN))
            assert s.recv(100) == b'STORED\r\n'
        s.close()
        settle(path)
        before = rss_anon(p.pid)
        line = b'get ' + b' '.join(b'big%d' % i for i in range(NKEYS)) + b'\r\n'
        clients = []
        for _ in range(CLIENTS):
            c = conn(path)
            c.sendall(line * LINES)
            clients.append(c)
        settled = settle(path)
        grown[name] = (rss_anon(p.pid) - before, settled)
        for c in clients:
            c.close()
    return grown


def big_reply(path):
    """Case 2: 72 copies of a 1,000,000-byte value, 72 MB in one reply."""
    n, v = 72, 1000000
    s = conn(path)
    s.sendall(b'set huge 3 0 %d\r\n%s\r\n' % (v, b'h' * v))
    assert s.recv(100) == b'STORED\r\n'
    s.sendall(b'get' + b' huge' * n + b'\r\nversion\r\n')
    want = (b'VALUE huge 3 %d\r\n' % v + b'h' * v + b'\r\n') * n + b'END\r\n'
    got = bytearray()
    while len(got) < len(want) + 9:
        b = s.recv(4 * MiB)
        if not b:
            break
        got += b
    s.close()
    return bytes(got[:len(want)]) == want and got[len(want):].startswith(b'VERSION '), len(got)


def slow_start(path):
    """Case 3, begun: a 16 MB reply read 64 KiB, then not at all while
    the other cases run (well past idle_timeout 1); a quiet connection
    beside it."""
    n, v = 16, 1000000
    s = conn(path)
    s.sendall(b'set slow 0 0 %d\r\n%s\r\n' % (v, b's' * v))
    assert s.recv(100) == b'STORED\r\n'
    quiet = conn(path)
    quiet.sendall(b'version\r\n')
    quiet.recv(100)
    half = conn(path)
    half.sendall(b'set half 0 0 10\r\n01234')
    watcher = conn(path)
    watcher.sendall(b'watch\r\n')
    assert watcher.recv(100) == b'OK\r\n'
    s.sendall(b'get' + b' slow' * n + b'\r\n')
    want = (b'VALUE slow 0 %d\r\n' % v + b's' * v + b'\r\n') * n + b'END\r\n'
    return s, quiet, half, watcher, want, bytearray(s.recv(65536))


def still_open(s):
    """Whether @s's peer has not closed it: what it sent is read (a
    watcher's log lines) until it goes quiet for a moment."""
    s.settimeout(0.3)
    try:
        while True:
            if not s.recv(65536):
                return False
    except socket.timeout:
        return True
    except OSError:
        return False


def slow_end(s, quiet, half, watcher, want, got):
    """Case 3, ended: the reply read whole; the quiet one closed; the
    one whose value was half sent takes the rest; the watcher open."""
    try:
        while len(got) < len(want):
            b = s.recv(4 * MiB)
            if not b:
                break
            got += b
    except OSError:
        pass
    try:
        quiet.settimeout(5)
        kicked = quiet.recv(100) == b''
    except socket.timeout:
        kicked = False
    except OSError:
        kicked = True
    try:
        half.sendall(b'56789\r\n')
        stored = half.recv(100)
    except OSError as e:
        stored = repr(e).encode()
    watching = still_open(watcher)
    s.close()
    quiet.close()
    half.close()
    watcher.close()
    return bytes(got) == want, kicked, len(got), stored, watching


DUMP_ITEMS = 100000


def dump_fair(addr):
    """Case 4: one worker, a client reading a metadump as fast as it
    comes, and another that asks for the version once the dump has
    begun: answered while most of the dump is still to come (a dump
    yields to the worker's other connections between its chunks).
    Return (the dump's bytes read when the version came, its total)."""
    s = conn(addr)
    for i in range(0, DUMP_ITEMS, 5000):
        s.sendall(b''.join(b'set d%06d 0 0 1 noreply\r\nx\r\n' % k
                           for k in range(i, i + 5000)))
    s.sendall(b'version\r\n')
    assert s.recv(100).startswith(b'VERSION')
    s.sendall(b'lru_crawler metadump all\r\n')
    got = bytearray(s.recv(65536))
    other = conn(addr)
    other.sendall(b'version\r\n')
    other.setblocking(False)
    at = None
    while not got.endswith(b'END\r\n'):
        b = s.recv(65536)
        if not b:
            break
        got += b
        if at is None:
            try:
                if other.recv(100):
                    at = len(got)
            except BlockingIOError:
                pass
    s.close()
    other.close()
    return at, len(got)


def dump_busy(addr):
    """Case 5 (after case 4's items): while one metadump is under way
    (its client reads nothing), a second is answered BUSY, as
    memcached's one crawler answers; once it has ended, the next one
    runs. Return (the second's answer, the third's first bytes)."""
    a = socket.socket(socket.AF_INET if isinstance(addr, tuple) else socket.AF_UNIX)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    a.connect(addr)
    a.settimeout(10)
    a.sendall(b'lru_crawler metadump all\r\n')
    first = a.recv(100)  # under way
    b = conn(addr)
    b.sendall(b'lru_crawler metadump all\r\n')
    busy = b.recv(100)
    got = bytearray(first)
    while not got.endswith(b'END\r\n'):
        r = a.recv(1 << 20)
        if not r:
            break
        got += r[-10:]
        del got[:-10]
    a.close()
    b.sendall(b'lru_crawler metadump all\r\n')
    again = b.recv(4)
    b.close()
    return busy, again


def main():
    args = ['-m', '64', '-t', '2', '-o', 'idle_timeout=1']
    servers = {'memcached': start(MEMCACHED, 'mc', args),
               'plmcd': start(PLMCD, 'pl', args)}
    port = 21000 + os.getpid() % 10000
    idle = {'memcached': start(MEMCACHED, 'mci', args, port),
            'plmcd': start(PLMCD, 'pli', args, port + 1)}
    fair = {'memcached': start(MEMCACHED, 'mcf', ['-m', '64', '-t', '1']),
            'plmcd': start(PLMCD, 'plf', ['-m', '64', '-t', '1'])}
    try:
        for k, (_, addr) in fair.items():
            at, n = dump_fair(addr)
            result(at is not None and at < n // 2, '%s -t 1: a %d-item '
                   'metadump read as fast as it comes leaves the worker to '
                   'another client (answered at %s of %d bytes)' %
                   (k, DUMP_ITEMS, at, n))
            busy, again = dump_busy(addr)
            result(busy == b'BUSY currently processing crawler request\r\n'
                   and again == b'key=', '%s: a second metadump while one is '
                   'under way is answered BUSY; after it, one runs' % k,
                   ' (%r, %r)' % (busy, again))
        slow = {k: slow_start(p[1]) for k, p in idle.items()}
        local = {k: conn(p[1]) for k, p in servers.items()}
        t0 = time.time()
        grown = non_readers(servers)
        mc, pl = grown['memcached'][0], grown['plmcd'][0]
        # plmcd's bound: PLMCD_OUT_TOTAL (16 MiB) of queued output, plus
        # one value each (0.2 MB) and its buffers' growth by doubling;
        # without it each client cost one whole reply (10 MB), 320 MB
        result(pl < 48 * 1024 and grown['plmcd'][1],
               '%d clients never reading %d pipelined %d MB multi-gets: '
               'plmcd grew %d KiB (memcached %d KiB), bound 48 MiB' %
               (CLIENTS, LINES, NKEYS * VLEN // 1000000, pl, mc))
        ok, n = big_reply(servers['plmcd'][1])
        result(ok, 'a 72 MB multi-get reply (over 64 MiB) arrives whole, '
               'then the next command', '' if ok else ': %d bytes' % n)
        time.sleep(max(0, t0 + 3.5 - time.time()))
        r = {k: slow_end(*slow[k]) for k in idle}
        for k in ('memcached', 'plmcd'):
            whole, kicked, n, stored, watching = r[k]
            result(whole, '%s -o idle_timeout=1: a slow reader of a 16 MB '
                   'reply gets it whole' % k, '' if whole else ': %d bytes' % n)
            result(kicked, '%s -o idle_timeout=1: a quiet TCP connection '
                   'is closed (control)' % k)
            result(stored == b'STORED\r\n', '%s -o idle_timeout=1: a value '
                   'half sent is not idle: the rest is stored' % k,
                   '' if stored == b'STORED\r\n' else ': %r' % stored)
            result(watching, '%s -o idle_timeout=1: a TCP watcher is never '
                   'idle' % k)
            try:
                local[k].sendall(b'version\r\n')
                v = local[k].recv(100)
            except OSError as e:
                v = repr(e).encode()
            result(v.startswith(b'VERSION '), '%s -o idle_timeout=1: a quiet '
                   'unix-socket connection is not (TCP only)' % k,
                   '' if v.startswith(b'VERSION ') else ': %r' % v)
    finally:
        for p, _ in (list(servers.values()) + list(idle.values()) +
                     list(fair.values())):
            p.terminate()
            p.wait()
    print('replies cases: %d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed else 0)


main()
