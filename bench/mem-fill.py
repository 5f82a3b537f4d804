#!/usr/bin/env python3
# bench/mem-fill.py - items a store holds before its first eviction, per
# MiB of item memory: memcached and plmcd (the plmc store behind it) fed
# the same keys and values over a Unix socket, one value size at a time.
#
#   bench/mem-fill.py PLMCD MEMCACHED [--mb 64] [--sizes 32,100,500,2000]
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
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="plmc-mem-")
    os.chmod(d, 0o777)  # memcached runs as nobody when we are root
    msock, psock = d + "/mc.sock", d + "/pl.sock"
    store = "memfill-%d" % os.getpid()
    procs = ()
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
