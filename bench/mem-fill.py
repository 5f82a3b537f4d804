#!/usr/bin/env python3
# bench/mem-fill.py - items a store holds before its first eviction, per
# MiB of item memory: memcached and plmcd (the plmc store behind it) fed
# the same keys and values over a Unix socket, one value size at a time.
#
#   bench/mem-fill.py PLMCD MEMCACHED [--mb 64] [--sizes 32,100,500,2000]
#   bench/mem-fill.py PLMCD MEMCACHED --mb 1024 --outside 1000000
#
# The second form stores N items per size without eviction and prints
# resident bytes per item as seen from outside: the store's resident
# pages in plmcd (pages, table, headers; plmcd is the store's only
# client) against memcached's resident set, each less what it held
# empty.
#
# Starts both servers itself on private sockets and stops them. plmc's
# figure is per MiB of its pages (limit_maxbytes), memcached's per MiB of
# -m: each store's own item memory.
import argparse, os, socket, subprocess, sys, tempfile, time

def connect(path):
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            return s
        except OSError:
            time.sleep(0.02)
    sys.exit("cannot connect to " + path)

def stats(s):
    s.sendall(b"stats\r\n")
    buf = b""
    while not buf.endswith(b"END\r\n"):
        buf += s.recv(65536)
    out = {}
    for line in buf.decode().split("\r\n"):
        p = line.split()
        if len(p) == 3 and p[0] == "STAT":
            out[p[1]] = p[2]
    return out

def fill(path, vsize, batch=2000):
    s = connect(path)
    s.sendall(b"flush_all\r\n")
    s.recv(100)
    val = b"v" * vsize
    n = 0
    while True:
        cmds = b"".join(b"set key%08d 0 0 %d noreply\r\n%s\r\n" %
                        (n + i, vsize, val) for i in range(batch))
        s.sendall(cmds)
        n += batch
        st = stats(s)
        if int(st["evictions"]) > 0:
            return int(st["curr_items"]) + int(st["evictions"]), \
                int(st["limit_maxbytes"])

def fill_n(path, vsize, n, klen, batch=2000):
    s = connect(path)
    val = b"v" * vsize
    pad = b"k" * max(0, klen - 11)
    for b in range(0, n, batch):
        s.sendall(b"".join(b"set %skey%08d 0 0 %d noreply\r\n%s\r\n" %
                           (pad, b + i, vsize, val) for i in range(batch)))
    st = stats(s)
    return int(st["curr_items"]), int(st.get("evictions", 0))

def rss(pid):
    with open("/proc/%d/status" % pid) as f:
        for l in f:
            if l.startswith("VmRSS:"):
                return int(l.split()[1]) * 1024
    return 0

def shm_bytes(store, pid):
    # The store's pages plmcd (its only client here) has touched: the
    # resident part of its mappings of the store file. Not the file's
    # blocks: the none backend reserves them all at create
    # (posix_fallocate), so those count untouched pages too.
    path, rss, inmap = "/dev/shm/plmc." + store, 0, False
    with open("/proc/%d/smaps" % pid) as f:
        for l in f:
            p = l.split()
            if len(p) >= 5 and "-" in p[0] and ":" in p[3]:
                inmap = len(p) >= 6 and p[5] == path
            elif inmap and p and p[0] == "Rss:":
                rss += int(p[1]) * 1024
    return rss

def store_ready(store):
    # plmcd may accept on its socket while it still creates the store
    # (a temporary file renamed into place at the end): wait for it.
    for _ in range(500):
        if os.path.exists("/dev/shm/plmc." + store):
            return
        time.sleep(0.02)
    sys.exit("plmcd made no store " + store)

def outside(a, msock, psock, store):
    # Bytes per item as the machine sees them: the store's resident
    # bytes (plmcd's resident pages of the store: item pages, table,
    # headers) and
    # memcached's resident set, less what each held empty.
    print("| value | key | items | plmc B/item | memcached B/item | plmc/memcached |")
    print("|---|---|---|---|---|---|")
    for v in [int(x) for x in a.sizes.split(",")]:
        pl, mc = start(a, msock, psock, store)
        try:
            connect(psock).close(), connect(msock).close()
            store_ready(store)
            p0, m0 = shm_bytes(store, pl.pid), rss(mc.pid)
            pn, pe = fill_n(psock, v, a.outside, a.klen)
            mn, me = fill_n(msock, v, a.outside, a.klen)
            if pe or me or pn != a.outside or mn != a.outside:
                sys.exit("evicted: raise --mb")
            pb = (shm_bytes(store, pl.pid) - p0) / pn
            mb = (rss(mc.pid) - m0) / mn
            print("| %d B | %d B | %d | %.0f | %.0f | %.2f |" %
                  (v, max(a.klen, 11), pn, pb, mb, pb / mb), flush=True)
        finally:
            for p in (pl, mc):
                p.terminate()
                p.wait()

def start(a, msock, psock, store):
    for f in (msock, psock):
        if os.path.exists(f):
            os.unlink(f)
    subprocess.run(["rm", "-f", "/dev/shm/plmc." + store])
    user = ["-u", "nobody"] if os.getuid() == 0 else []
    mc = subprocess.Popen([a.memcached, *user, "-s", msock, "-a", "0777",
                           "-m", str(a.mb), "-t", "1",
                           "-o", "no_lru_crawler,no_lru_maintainer"])
    pl = subprocess.Popen([a.plmcd, "-u", "root", "-n", store, "-m", str(a.mb), "-s", psock,
                           "-t", "1"], stderr=subprocess.DEVNULL)
    return pl, mc

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plmcd")
    ap.add_argument("memcached")
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--sizes", default="32,100,500,2000")
    ap.add_argument("--outside", type=int, default=0, metavar="N",
                    help="store N items per size (no eviction: --mb "
                    "must hold them) and print resident bytes per item")
    ap.add_argument("--klen", type=int, default=11,
                    help="key length (--outside; at least 11)")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="plmc-mem-")
    os.chmod(d, 0o777)  # memcached runs as nobody when we are root
    msock, psock = d + "/mc.sock", d + "/pl.sock"
    store = "memfill-%d" % os.getpid()
    procs = ()
    if a.outside:
        try:
            outside(a, msock, psock, store)
        finally:
            subprocess.run(["rm", "-rf", d, "/dev/shm/plmc." + store])
        return
    try:
        print("| value | plmc items/MiB | memcached items/MiB | plmc/memcached |")
        print("|---|---|---|---|")
        for v in [int(x) for x in a.sizes.split(",")]:
            # Each size on fresh stores: classes keep the pages they took.
            procs = start(a, msock, psock, store)
            pn, pmax = fill(psock, v)
            mn, mmax = fill(msock, v)
            pr, mr = pn / (pmax / 2**20), mn / (mmax / 2**20)
            print("| %d B | %.0f | %.0f | %.2f |" % (v, pr, mr, pr / mr),
                  flush=True)
            for p in procs:
                p.terminate()
                p.wait()
            procs = ()
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        subprocess.run(["rm", "-rf", d, "/dev/shm/plmc." + store])

if __name__ == "__main__":
    main()
