#!/usr/bin/env python3
# tests/plmcd/sizeshift.py - memory follows the sizes, through plmcd and
# against memcached: the two cases of issue 14, on fresh servers.
#
#   sizeshift.py PLMCD MEMCACHED
#
#  1. size shift: a 16 MiB store filled with 30,000 values of 1 KB, then
#     one set each of 100 B, 5 KB and 100 KB, then flush_all and three
#     more: every set STORED and read back (memcached -m 16 too).
#  2. size sweep: every size from 1 KB to 1 MB in 2 KB steps (512 sets)
#     into a fresh 64 MiB store: all STORED (memcached -m 64 too).
#  3. flush shift: 30,000 values of 1 KB into 16 MiB, flush_all, a
#     second and a half (plmcd's page mover gives the flushed pages to
#     the pool), 10,000 x 100 B, 2,000 x 5 KB and 100 x 100 KB (they take
#     that memory), then 10,000 x 1 KB again: 9,000 or more read back
#     (memcached -m 16 keeps all; plmc kept 885 before a class could
#     take back the pages it lent: docs/store.md, "Loans").
# Prints a PASS/FAIL line per case and server; exits 1 on any FAIL.
import os, socket, subprocess, sys, tempfile, time

def connect(path):
    for _ in range(250):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.02)
    sys.exit("cannot connect to " + path)

class Conn:
    def __init__(self, path):
        self.s = connect(path)
        self.buf = b""

    def line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(1 << 20)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l

    def set(self, key, n):
        self.s.sendall(b"set %s 0 0 %d\r\n" % (key, n) + b"v" * n + b"\r\n")
        return self.line()

    def get_len(self, key):
        self.s.sendall(b"get %s\r\n" % key)
        l = self.line()
        if l == b"END":
            return -1
        n = int(l.split()[3])
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(1 << 20)
        ok = self.buf[:n] == b"v" * n
        self.buf = self.buf[n + 2:]
        assert self.line() == b"END"
        return n if ok else -2

    def cmd(self, c):
        self.s.sendall(c + b"\r\n")
        return self.line()

def size_shift(c):
    bad = []
    batch = b"".join(b"set f%d 0 0 1000 noreply\r\n%s\r\n" % (i, b"v" * 1000)
                     for i in range(30000))
    c.s.sendall(batch)
    if c.cmd(b"mn") != b"MN":
        bad.append("fill")
    for tag in (b"s", b"t"):
        for n in (100, 5000, 100000):
            r = c.set(tag + b"%d" % n, n)
            if r != b"STORED":
                bad.append("%s %d: %s" % (tag.decode(), n, r.decode()))
            elif c.get_len(tag + b"%d" % n) != n:
                bad.append("%s %d: not read back" % (tag.decode(), n))
        if tag == b"s" and c.cmd(b"flush_all") != b"OK":
            bad.append("flush_all")
    return bad

def bulk(c, pfx, n, size):
    for s in range(0, n, 2000):
        c.s.sendall(b"".join(b"set %s%d 0 0 %d noreply\r\n%s\r\n" %
                             (pfx, i, size, b"v" * size)
                             for i in range(s, min(n, s + 2000))))
        if c.cmd(b"mn") != b"MN":
            return False
    return True

def flush_shift(c):
    bad = []
    if not bulk(c, b"f", 30000, 1000) or c.cmd(b"flush_all") != b"OK":
        return ["fill"]
    time.sleep(1.5)
    for pfx, n, size in ((b"a", 10000, 100), (b"b", 2000, 5000),
                         (b"c", 100, 100000), (b"g", 10000, 1000)):
        if not bulk(c, pfx, n, size):
            bad.append("sets of %d B" % size)
    kept = sum(c.get_len(b"g%d" % i) == 1000 for i in range(10000))
    # 9,000: plmcd's page mover thread runs beside the sets, and a page
    # a move frees while it is in a call comes a step later (an item or
    # a page lost to the timing: 8,336 once in 12 runs on 2 loaded
    # cores); the single-threaded proof of all kept is test_move's
    # flush_shift. Before the loans: 885.
    if kept < 9000:
        bad.insert(0, "kept %d of 10000" % kept)
    return bad

def size_sweep(c):
    bad, stored = [], 0
    for i, n in enumerate(range(1024, 1024 * 1024, 2048)):
        r = c.set(b"w%d" % i, n)
        if r == b"STORED":
            stored += 1
        elif len(bad) < 3:
            bad.append("%d B: %s" % (n, r.decode()))
    if stored != 512:
        bad.insert(0, "stored %d of 512" % stored)
    return bad

def main():
    plmcd, memcached = sys.argv[1], sys.argv[2]
    d = tempfile.mkdtemp(prefix="plmc-shift-")
    os.chmod(d, 0o777)  # memcached runs as nobody when we are root
    user = ["-u", "nobody"] if os.getuid() == 0 else []
    puser = ["-u", "root"] if os.getuid() == 0 else []  # plmcd: its store
    fails = 0
    for name, mb, case in (("size shift", 16, size_shift),
                           ("size sweep", 64, size_sweep),
                           ("flush shift", 16, flush_shift)):
        store = "shift%d-%d-%s" % (os.getpid(), mb, name[0])
        ps = os.path.join(d, "pl%d%s.sock" % (mb, name[0]))
        ms = os.path.join(d, "mc%d%s.sock" % (mb, name[0]))
        procs = [subprocess.Popen([plmcd, *puser, "-n", store, "-m", str(mb),
                                   "-s", ps, "-t", "1"],
                                  stderr=subprocess.DEVNULL),
                 subprocess.Popen([memcached, *user, "-s", ms, "-a", "0777",
                                   "-m", str(mb), "-t", "1"])]
        try:
            for who, path in (("plmcd", ps), ("memcached", ms)):
                bad = case(Conn(path))
                print("%s %s (%s MiB, %s)%s" % (
                    "FAIL" if bad else "PASS", name, mb, who,
                    ": " + "; ".join(bad) if bad else ""))
                fails += who == "plmcd" and bool(bad)
        finally:
            for p in procs:
                p.terminate()
                p.wait()
            subprocess.run(["rm", "-f", "/dev/shm/plmc." + store])
    subprocess.run(["rm", "-rf", d])
    sys.exit(1 if fails else 0)

if __name__ == "__main__":
    main()
