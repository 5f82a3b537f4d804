# SPDX-License-Identifier: MIT
"""tests/cluster/cluster.py - three plmcd nodes behind twemproxy, one
of them killed and restarted mid-run (tests/cluster/run.sh starts it).

  1. Placement, all nodes up. For both pools of nutcracker.yml (ketama
     with md5 and with fnv1a_64 key hashes) keys written through the
     proxy are found, asking every node alone, on exactly the node that
     Debian's libmemcached (through ctypes, and tests/compat/ketama.c for
     md5), plmc's compatible library (ketama-plmc, plmc._plmc.Ring) and
     plmc.KetamaClient name. Keys written by those clients straight to
     the nodes (plmc.KetamaClient with node 1's store through the gate)
     read back through the proxy.
  2. A node killed (SIGKILL): a reader on the proxy keeps reading the
     other nodes' keys all through the outage and the restart, never a
     miss or an error. The proxy ejects the node (its stats count the
     ejection); the dead node's keys miss; writes for them succeed with
     the client's retry that twemproxy's docs ask for and land on the
     node the ring without the dead one names, where Debian's
     libmemcached ejecting on its own (REMOVE_FAILED_SERVERS) writes them
     too. plmc.KetamaClient (no proxy, no ejection) still reads the live
     nodes' keys.
  3. The node restarted on the same store: the store outlived its plmcd,
     so once the proxy retries the node (server_retry_timeout) its keys
     read their old values again (and not the copies written during the
     outage: twemproxy's documented partitioning), and new keys land on
     the three-node ring again.

Prints PASS/FAIL lines; the last is "cluster: N passed, N failed".
"""
import ctypes
import json
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import traceback

from pymemcache.client.base import Client as Mc
from pymemcache.exceptions import MemcacheError

import plmc

B = os.environ["B"]
HERE = os.path.dirname(os.path.abspath(__file__))
TMP = os.environ["TMP"]
RUN = os.environ.get("RUN", str(os.getpid()))
USER = ["-u", "root"] if os.getuid() == 0 else []

passed = 0
failed = 0


def ok(msg):
    global passed
    passed += 1
    print("PASS " + msg, flush=True)


def bad(msg, why=""):
    global failed
    failed += 1
    print("FAIL " + msg, flush=True)
    for line in str(why).splitlines()[:20]:
        print("    " + line)


def check(cond, msg, why=""):
    if cond:
        ok(msg)
    else:
        bad(msg, why)
    return cond


# -- the configuration: nutcracker.yml with every port moved ------------
def load_conf(offset):
    """(text with ports moved, {pool: (listen port, hash, [node ports]),
    retry timeout in s, failure limit})"""
    with open(os.path.join(HERE, "nutcracker.yml")) as f:
        text = f.read()
    body = "\n".join(ln for ln in text.splitlines()
                     if not ln.lstrip().startswith("#"))
    body = re.sub(r"127\.0\.0\.1:(\d+)",
                  lambda m: "127.0.0.1:%d" % (int(m.group(1)) + offset),
                  body)
    pools = {}
    pool = None
    for ln in body.splitlines():
        if re.match(r"^\w+:\s*$", ln):
            pool = ln.split(":")[0]
            pools[pool] = [0, "", []]
        elif (m := re.match(r"\s+listen: 127\.0\.0\.1:(\d+)", ln)):
            pools[pool][0] = int(m.group(1))
        elif (m := re.match(r"\s+hash: (\S+)", ln)):
            pools[pool][1] = m.group(1)
        elif (m := re.match(r"\s+- 127\.0\.0\.1:(\d+):1", ln)):
            pools[pool][2].append(int(m.group(1)))
    retry = int(re.search(r"server_retry_timeout: (\d+)", body).group(1))
    limit = int(re.search(r"server_failure_limit: (\d+)", body).group(1))
    return body, pools, retry / 1000.0, limit


def wait_port(port, up=True, secs=10):
    end = time.time() + secs
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            if up:
                return True
        except OSError:
            if not up:
                return True
        time.sleep(0.05)
    return False


# -- the processes -------------------------------------------------------
class Node:
    def __init__(self, i, port):
        self.name = "cl%s-%d" % (RUN, i)
        self.port = port
        self.addr = "127.0.0.1:%d" % port
        self.proc = None

    def start(self):
        log = open(os.path.join(TMP, self.name + ".log"), "a")
        # -n: the store is named and outlives plmcd (created at 16 MiB
        # the first time, found again on a restart).
        self.proc = subprocess.Popen(
            [B + "/plmcd"] + USER + ["-n", self.name, "-m", "16",
                                     "-l", "127.0.0.1", "-p", str(self.port),
                                     "-t", "1"],
            stdout=log, stderr=log)
        return wait_port(self.port)

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        return wait_port(self.port, up=False)

    def direct(self):
        return Mc(("127.0.0.1", self.port), default_noreply=False,
                  connect_timeout=2, timeout=5)


def start_proxy(conf, stats_port):
    path = os.path.join(TMP, "nutcracker.yml")
    with open(path, "w") as f:
        f.write(conf)
    # -i 100: stats aggregated every 100 ms (30 s by default)
    return subprocess.Popen(
        ["nutcracker", "-c", path, "-s", str(stats_port), "-a", "127.0.0.1",
         "-i", "100", "-o", os.path.join(TMP, "nutcracker.log"),
         "-p", os.path.join(TMP, "nutcracker.pid")])


def proxy_stats(port):
    with socket.create_connection(("127.0.0.1", port), 2) as s:
        data = b""
        while (chunk := s.recv(65536)):
            data += chunk
    return json.loads(data)


def ejections(port, pool):
    """The pool's stats once they count an ejection (nutcracker sums its
    stats every -i ms), or as they are after a second."""
    end = time.time() + 1
    while True:
        st = proxy_stats(port)[pool]
        if st.get("server_ejects", 0) >= 1 or time.time() > end:
            return st
        time.sleep(0.05)


def proxy(port):
    return Mc(("127.0.0.1", port), default_noreply=False,
              connect_timeout=2, timeout=5)


# -- where the clients put keys ------------------------------------------
class DebRing:
    """Debian's libmemcached over ctypes: memcached_generate_hash() is the
    index of the server a key goes to."""
    BEHAVIOR_HASH = 2             # enum memcached_behavior_t
    BEHAVIOR_RETRY_TIMEOUT = 15
    BEHAVIOR_KETAMA_WEIGHTED = 16
    BEHAVIOR_SERVER_FAILURE_LIMIT = 21
    BEHAVIOR_REMOVE_FAILED_SERVERS = 35
    HASH = {"md5": 1, "fnv1a_64": 4}  # enum memcached_hash_t

    lib = None

    def __init__(self, addrs, hash_name):
        if DebRing.lib is None:
            lib = ctypes.CDLL("libmemcached.so.11")
            lib.memcached_create.restype = ctypes.c_void_p
            lib.memcached_create.argtypes = [ctypes.c_void_p]
            lib.memcached_server_add.argtypes = [
                ctypes.c_void_p, ctypes.c_char_p, ctypes.c_ushort]
            lib.memcached_behavior_set.argtypes = [
                ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64]
            lib.memcached_generate_hash.restype = ctypes.c_uint32
            lib.memcached_generate_hash.argtypes = [
                ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
            lib.memcached_free.argtypes = [ctypes.c_void_p]
            lib.memcached_set.argtypes = [
                ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t,
                ctypes.c_char_p, ctypes.c_size_t, ctypes.c_long,
                ctypes.c_uint32]
            DebRing.lib = lib
        lib = DebRing.lib
        self.addrs = addrs
        self.m = lib.memcached_create(None)
        for a in addrs:
            host, port = a.rsplit(":", 1)
            assert lib.memcached_server_add(self.m, host.encode(),
                                            int(port)) == 0
        # What twemproxy's ketama is: KETAMA_WEIGHTED (which hashes keys
        # with MD5), then the key hash of the pool.
        assert lib.memcached_behavior_set(
            self.m, self.BEHAVIOR_KETAMA_WEIGHTED, 1) == 0
        assert lib.memcached_behavior_set(
            self.m, self.BEHAVIOR_HASH, self.HASH[hash_name]) == 0

    def where(self, key):
        k = key.encode()
        return self.addrs[DebRing.lib.memcached_generate_hash(self.m, k,
                                                              len(k))]

    def eject(self, limit, retry_s):
        """libmemcached's own ejection, as twemproxy's auto_eject_hosts:
        a node that failed limit times leaves the ring for retry_s."""
        lib = DebRing.lib
        for b, v in ((self.BEHAVIOR_REMOVE_FAILED_SERVERS, 1),
                     (self.BEHAVIOR_SERVER_FAILURE_LIMIT, limit),
                     (self.BEHAVIOR_RETRY_TIMEOUT, retry_s)):
            assert lib.memcached_behavior_set(self.m, b, v) == 0

    def set(self, key, value):
        """memcached_set(); True when stored."""
        k = key.encode()
        return DebRing.lib.memcached_set(self.m, k, len(k), value,
                                         len(value), 0, 0) == 0

    def close(self):
        DebRing.lib.memcached_free(self.m)


def plmc_config(addrs, hash_name):
    """The same ring as a libmemcached configuration string, for plmc's
    library (plmc._plmc.Ring, plmc.KetamaClient(config=...))."""
    return " ".join("--SERVER=" + a for a in addrs) + \
        " --DISTRIBUTION=consistent,weighted --HASH=" + hash_name.upper()


def tool_map(which, n, addrs):
    """tests/compat/ketama.c (Debian's or plmc's library): {key: node} of
    key:0 .. key:n-1 with KETAMA_WEIGHTED."""
    out = subprocess.run([B + "/tests/compat/ketama-" + which, "map",
                          "weighted", str(n)] + addrs, capture_output=True,
                         text=True, check=True).stdout
    return dict(ln.split() for ln in out.splitlines())


def holders(nodes, keys):
    """{key: [addr of every live node that holds it]}, asking each node
    alone."""
    out = {k: [] for k in keys}
    for nd in nodes:
        c = nd.direct()
        for i in range(0, len(keys), 100):
            for k in c.get_many(keys[i:i + 100]):
                out[k].append(nd.addr)
        c.close()
    return out


def spread(where):
    counts = {}
    for a in where.values():
        counts[a] = counts.get(a, 0) + 1
    return "/".join(str(counts[a]) for a in sorted(counts))


FAILED = object()


def retried(fn, tries):
    """fn() with the client-side retry twemproxy asks for: more tries than
    server_failure_limit, a failure being an error reply or a dropped
    connection. Returns (result or FAILED, failures before it)."""
    for i in range(tries):
        try:
            return fn(), i
        except (MemcacheError, OSError):
            time.sleep(0.02)
    return FAILED, tries


# -- 1. placement --------------------------------------------------------
def placement(nodes, pools):
    addrs = [nd.addr for nd in nodes]
    n = 1000
    keys = ["key:%d" % i for i in range(n)]

    # The C clients first (tests/compat/ketama.c against both libraries).
    deb = tool_map("deb", n, addrs)
    mine = tool_map("plmc", n, addrs)
    check(deb == mine and len(set(deb.values())) == 3,
          "ketama.c: Debian's libmemcached and plmc's map %d keys the same "
          "over the 3 nodes (%s)" % (n, spread(deb)))

    for pool, (port, hash_name, ports, _) in sorted(pools.items()):
        assert ports == [nd.port for nd in nodes]
        dr = DebRing(addrs, hash_name)
        want = {k: dr.where(k) for k in keys}
        dr.close()
        ring = plmc._plmc.Ring(plmc_config(addrs, hash_name))
        ring_map = {k: addrs[ring.index(k.encode())] for k in keys}
        kc = plmc.KetamaClient(config=plmc_config(addrs, hash_name))
        kc_map = {k: addrs[kc.clients.index(kc.client_for(k))]
                  for k in keys}
        kc.close()
        agree = want == ring_map == kc_map
        if hash_name == "md5":
            agree = agree and want == deb
        check(agree, "%s (%s): Debian's libmemcached, plmc's library and "
              "plmc.KetamaClient map %d keys the same" % (pool, hash_name, n))

        for nd in nodes:
            nd.direct().flush_all()
        px = proxy(port)
        fails = [k for k in keys if not px.set(k, k.encode())]
        px.close()
        got = holders(nodes, keys)
        wrong = ["%s on %s, libmemcached says %s" % (k, got[k], want[k])
                 for k in keys if got[k] != [want[k]]]
        check(not fails and not wrong,
              "%s (%s): %d keys written through nutcracker, each on exactly "
              "the node libmemcached names (%s)" % (pool, hash_name, n,
                                                    spread(want)),
              "%d not stored\n" % len(fails) + "\n".join(wrong[:10]))


def clients_to_proxy(nodes, pools):
    """Keys written by the ketama clients straight to the nodes, read back
    through the proxy (md5 pool: the clients' default ring)."""
    addrs = [nd.addr for nd in nodes]
    port = pools["plmc"][0]
    n = 600
    keys = ["key:%d" % i for i in range(n)]
    px = proxy(port)
    for lib, name in (("deb", "Debian's libmemcached"),
                      ("plmc", "plmc's libmemcached-compatible library")):
        # ketama.c's write flushes every node first: only its keys are
        # there, and a wrong placement reads as a miss.
        w = subprocess.run([B + "/tests/compat/ketama-" + lib, "write",
                            "weighted", str(n)] + addrs,
                           capture_output=True, text=True)
        got = {}
        for i in range(0, n, 100):
            got.update(px.get_many(keys[i:i + 100]))
        check("wrote %d keys, 0 failed" % n in w.stdout and
              all(got.get(k) == k.encode() for k in keys),
              "%d keys written by %s (ketama.c), all read back through "
              "nutcracker" % (n, name), w.stdout + w.stderr)

    # plmc.KetamaClient with node 1's store through the gate: placed on
    # the ring as node 1's address, so its keys for node 1 never touch a
    # socket, and plmcd serves them from the same store.
    local = "plmc:%s@%s" % (nodes[0].name, addrs[0])
    kc = plmc.KetamaClient([local] + addrs[1:], default_noreply=False)
    keys = ["kc:%d" % i for i in range(n)]
    failed_keys = kc.set_many({k: b"v-" + k.encode() for k in keys})
    mine = sum(1 for k in keys if kc.client_for(k) is kc.clients[0])
    got = {}
    for i in range(0, n, 100):
        got.update(px.get_many(keys[i:i + 100]))
    px.close()
    check(not failed_keys and mine > 0 and
          isinstance(kc.clients[0], plmc.Client) and
          all(got.get(k) == b"v-" + k.encode() for k in keys),
          "%d keys written by plmc.KetamaClient (%d of them into node 1's "
          "store through the gate), all read back through nutcracker"
          % (n, mine))
    return kc


# -- 2. and 3. a node killed and restarted mid-run ------------------------
class Reader(threading.Thread):
    """Reads keys of the live nodes through the proxy without a pause;
    every answer must be the value, never a miss or an error."""

    def __init__(self, port, keys):
        super().__init__(daemon=True)
        self.port = port
        self.keys = keys
        self.stop = threading.Event()
        self.reads = 0
        self.wrong = []

    def run(self):
        px = proxy(self.port)
        while not self.stop.is_set():
            k = random.choice(self.keys)
            try:
                v = px.get(k)
            except (MemcacheError, OSError) as e:
                v = "error %r" % e
                px.close()
            self.reads += 1
            if v != k.encode():
                self.wrong.append("%s: %r" % (k, v))
        px.close()


def ring_map(addrs, hash_name, keys):
    """{key: node} as Debian's libmemcached places keys over addrs."""
    dr = DebRing(addrs, hash_name)
    out = {k: dr.where(k) for k in keys}
    dr.close()
    return out


class Outage:
    """Node 2 killed and restarted under a reader of the other nodes'
    keys; one method per step, in the order run() calls them."""

    def __init__(self, nodes, pools, retry_s, limit, kc):
        self.nodes = nodes
        self.addrs = [nd.addr for nd in nodes]
        self.port, self.hash, _, self.stats_port = pools["plmc"]
        self.retry_s = retry_s
        self.tries = limit + 2  # more than server_failure_limit
        self.kc = kc
        self.victim = nodes[1]
        self.alive = [nodes[0], nodes[2]]
        keys = ["out:%d" % i for i in range(900)]
        home = ring_map(self.addrs, self.hash, keys)
        self.theirs = [k for k in keys if home[k] == self.victim.addr]
        self.others = [k for k in keys if home[k] != self.victim.addr]
        self.moved = ring_map([a for a in self.addrs
                               if a != self.victim.addr], self.hash,
                              self.theirs)
        px = proxy(self.port)
        for k in keys:
            px.set(k, k.encode())
        px.close()

    def run(self):
        # Made before the kill, so its ring has all three nodes.
        # libmemcached counts at most one failure per retry timeout (the
        # node is "disabled until timed retry" in between): with a limit
        # of 1 it ejects at the first failure, as nutcracker after its.
        ejecting = DebRing(self.addrs, self.hash)
        ejecting.eject(1, int(self.retry_s))
        reader = Reader(self.port, self.others)
        reader.start()
        time.sleep(0.3)
        t0 = time.time()
        check(self.victim.kill(),
              "node 2 (%s) killed mid-run" % self.victim.addr)
        self.down_reads()
        self.down_writes()
        self.down_libmemcached(ejecting)
        ejecting.close()
        self.down_ketama_client()
        self.back(t0)
        self.back_writes()
        time.sleep(0.2)
        reader.stop.set()
        reader.join()
        check(reader.reads > 100 and not reader.wrong,
              "the live nodes' keys: %d reads through nutcracker across the "
              "kill and the restart, %d wrong" % (reader.reads,
                                                  len(reader.wrong)),
              "\n".join(reader.wrong[:10]))

    def down_reads(self):
        """The dead node's keys: an error until the proxy ejects the
        node, then misses (the ring without it sends them elsewhere)."""
        px = proxy(self.port)
        first, errors = retried(lambda: px.get(self.theirs[0]), self.tries)
        found = [k for k in self.theirs
                 if retried(lambda: px.get(k), self.tries)[0] is not None]
        px.close()
        st = ejections(self.stats_port, "plmc")
        check(first is None and not found and
              st.get("server_ejects", 0) >= 1,
              "node down: nutcracker ejected it (server_ejects %s, %d error "
              "replies first); its %d keys miss"
              % (st.get("server_ejects"), errors, len(self.theirs)),
              "first read %s, %d of them not a miss (found or failed)"
              % ("failed" if first is FAILED else repr(first), len(found)))

    def down_writes(self):
        """Writes for the dead node's keys: on the 2-node ring."""
        px = proxy(self.port)
        retries = 0
        unstored = []
        for k in self.theirs:
            r, tries = retried(lambda: px.set(k, b"during-" + k.encode()),
                               self.tries)
            retries += tries
            if r is not True:
                unstored.append(k)
        px.close()
        got = holders(self.alive, self.theirs)
        wrong = ["%s on %s, want %s" % (k, got[k], self.moved[k])
                 for k in self.theirs if got[k] != [self.moved[k]]]
        check(not unstored and not wrong,
              "node down: its %d keys written through nutcracker, each on "
              "the node the 2-node ring names (%s; %d retries)"
              % (len(self.theirs), spread(self.moved), retries),
              "%d not stored\n" % len(unstored) + "\n".join(wrong[:10]))

    def down_libmemcached(self, ejecting):
        """Debian's libmemcached ejecting on its own puts the dead node's
        keys where nutcracker did: its value replaces the proxy's."""
        unstored = [k for k in self.theirs
                    if not any(ejecting.set(k, b"deb-" + k.encode())
                               for _ in range(3))]
        wrong = []
        for nd in self.alive:
            c = nd.direct()
            got = c.get_many(self.theirs)
            c.close()
            wrong += [k for k in self.theirs if (self.moved[k] == nd.addr) !=
                      (got.get(k) == b"deb-" + k.encode())]
        check(not unstored and not wrong,
              "node down: Debian's libmemcached with REMOVE_FAILED_SERVERS "
              "(its own ejection) writes its %d keys where nutcracker did"
              % len(self.theirs),
              "%d not stored, %d elsewhere: %s"
              % (len(unstored), len(wrong), wrong[:5]))

    def down_ketama_client(self):
        """A ketama client without a proxy does not eject: the live
        nodes' keys still read (the dead node's fail)."""
        kc = self.kc
        keys = ["kc:%d" % i for i in range(600)]
        live = [k for k in keys if kc.client_for(k) is not kc.clients[1]]
        good = sum(1 for k in live if kc.get(k) == b"v-" + k.encode())
        check(good == len(live),
              "node down: plmc.KetamaClient reads its %d keys on the live "
              "nodes" % len(live), "%d read" % good)

    def back(self, t0):
        """Restarted on the same store: once server_retry_timeout has
        passed the proxy tries the node again and finds the keys its
        store kept."""
        check(self.victim.start(), "node 2 restarted on its store")
        px = proxy(self.port)
        first = self.theirs[0]
        back = None
        end = time.time() + self.retry_s + 10
        while back is None and time.time() < end:
            if retried(lambda: px.get(first), self.tries)[0] == \
                    first.encode():
                back = time.time() - t0
            else:
                time.sleep(0.05)
        vals = {}
        for i in range(0, len(self.theirs), 100):
            got = retried(lambda: px.get_many(self.theirs[i:i + 100]),
                          self.tries)[0]
            vals.update(got if got is not FAILED else {})
        px.close()
        stale = [k for k in self.theirs if vals.get(k) != k.encode()]
        check(back is not None and not stale,
              "node back: rejoined %.1f s after the kill (retry timeout "
              "%.1f s); its %d keys read their values from before the "
              "kill, which its store kept (the outage's writes stay on the "
              "others, as twemproxy documents)"
              % (back or -1, self.retry_s, len(self.theirs)),
              "%d keys differ: %s" % (len(stale), stale[:5]))

    def back_writes(self):
        """New keys on the 3-node ring again."""
        keys = ["after:%d" % i for i in range(300)]
        want = ring_map(self.addrs, self.hash, keys)
        px = proxy(self.port)
        unstored = [k for k in keys if retried(lambda: px.set(k, b"x"),
                                               self.tries)[0] is not True]
        px.close()
        got = holders(self.nodes, keys)
        wrong = [k for k in keys if got[k] != [want[k]]]
        check(not unstored and not wrong,
              "node back: %d new keys through nutcracker on the 3-node "
              "ring again (%s)" % (len(keys), spread(want)),
              "%d not stored, %d misplaced" % (len(unstored), len(wrong)))


def main():
    offset = int(os.environ.get("PORT_OFFSET", random.randrange(0, 15000)))
    conf, pools, retry_s, limit = load_conf(offset)
    stats_port = 22222 + offset
    ports = pools["plmc"][2]
    pools = {p: (v[0], v[1], v[2], stats_port) for p, v in pools.items()}
    nodes = [Node(i + 1, p) for i, p in enumerate(ports)]
    px_proc = None
    try:
        started = all(nd.start() for nd in nodes)
        px_proc = start_proxy(conf, stats_port)
        started = started and all(wait_port(v[0]) for v in pools.values())
        if not check(started, "3 plmcd nodes and nutcracker (%s) started"
                     % ", ".join(sorted(pools))):
            return
        placement(nodes, pools)
        kc = clients_to_proxy(nodes, pools)
        Outage(nodes, pools, retry_s, limit, kc).run()
        kc.close()
    except Exception:  # a crash of the test is a failure, with its trace
        bad("the test stopped", traceback.format_exc())
    finally:
        for nd in nodes:
            if nd.proc and nd.proc.poll() is None:
                nd.proc.terminate()
                nd.proc.wait()
        if px_proc:
            px_proc.terminate()
            px_proc.wait()
        print("cluster: %d passed, %d failed" % (passed, failed), flush=True)
        with open(os.path.join(TMP, "stores"), "w") as f:
            f.write("\n".join(nd.name for nd in nodes) + "\n")


if __name__ == "__main__":
    main()
    sys.exit(1 if failed else 0)
