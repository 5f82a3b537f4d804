# SPDX-License-Identifier: MIT
"""plmc.KetamaClient: keys placed as libmemcached places them (Debian's
libmemcached, KETAMA_WEIGHTED, through tests/compat/ketama.c built
against it: $KETAMA_DEB), over a local store and two memcached nodes."""
import os
import subprocess

import pytest
from pymemcache.client.base import Client as PyClient

import plmc

KETAMA_DEB = os.environ.get("KETAMA_DEB", "build/tests/compat/ketama-deb")
PEER = "127.0.0.1:%d"


def deb_map(n, servers):
    """{key: "HOST:PORT"} as Debian's libmemcached maps key:0 .. key:n-1."""
    out = subprocess.run([KETAMA_DEB, "map", "weighted", str(n)] + servers,
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split() for line in out.splitlines())


@pytest.fixture
def nodes(memcached_tcp_pair, store):
    """The store, placed on the ring as a third TCP peer (its port is
    free: nothing listens there, so a key sent there over TCP would be
    lost), and the two memcached nodes."""
    peer = PEER % (memcached_tcp_pair[1][1] + 1000)
    tcp = [PEER % addr[1] for addr in memcached_tcp_pair]
    return peer, tcp


def test_placement_is_libmemcacheds(nodes, store):
    peer, tcp = nodes
    kc = plmc.KetamaClient(["plmc:%s@%s" % (store, peer)] + tcp)
    want = deb_map(3000, [peer] + tcp)
    names = [peer] + tcp
    got = {"key:%d" % i: names[kc.ring.index(b"key:%d" % i)]
           for i in range(3000)}
    assert got == want
    # every node takes a share (a ring that sends all to one would pass
    # a comparison with itself, not this)
    assert {v for v in got.values()} == set(names)


def test_weights_follow_libmemcached(nodes, store):
    peer, tcp = nodes
    kc = plmc.KetamaClient(["plmc:%s@%s/?3" % (store, peer), tcp[0],
                            tcp[1] + "/?2"])
    want = deb_map(3000, [peer + "*3", tcp[0], tcp[1] + "*2"])
    names = [peer] + tcp
    got = {"key:%d" % i: names[kc.ring.index(b"key:%d" % i)]
           for i in range(3000)}
    assert got == want


def test_keys_land_where_the_ring_says(nodes, store):
    peer, tcp = nodes
    kc = plmc.KetamaClient(["plmc:%s@%s" % (store, peer)] + tcp,
                           default_noreply=False)
    kc.flush_all()
    keys = ["key:%d" % i for i in range(400)]
    assert kc.set_many({k: k.encode() for k in keys}) == []
    want = deb_map(400, [peer] + tcp)
    local = plmc.Client(store)
    direct = {tcp[i]: PyClient(("127.0.0.1", int(tcp[i].split(":")[1])))
              for i in range(2)}
    counts = {}
    for k in keys:
        on = want[k]
        counts[on] = counts.get(on, 0) + 1
        here = local.get(k)
        there = {n: c.get(k) for n, c in direct.items()}
        if on == peer:
            assert here == k.encode() and not any(there.values()), k
        else:
            assert here is None and there[on] == k.encode(), k
            assert all(v is None for n, v in there.items() if n != on), k
    assert len(counts) == 3
    # the whole API through the ring
    assert kc.get_many(keys) == {k: k.encode() for k in keys}
    assert kc.add("key:1", b"x") is False
    assert kc.replace("key:1", b"y") is True and kc.get("key:1") == b"y"
    assert kc.append("key:1", b"z") and kc.prepend("key:1", b"a")
    assert kc.get("key:1") == b"ayz"
    v, cas = kc.gets("key:2")
    assert kc.cas("key:2", b"new", cas) is True
    assert kc.cas("key:2", b"newer", cas) is False
    kc.set("n", b"10")
    assert kc.incr("n", 5) == 15 and kc.decr("n", 20) == 0
    assert kc.touch("n", 100) is True and kc.touch("nope") is False
    assert kc.delete("n") is True and kc.delete("n") is False
    kc["key:3"] = b"item"  # pymemcache's item access, on the owner
    assert kc["key:3"] == b"item" and kc.client_for("key:3").get("key:3")
    del kc["key:3"]
    with pytest.raises(KeyError):
        kc["key:3"]
    assert kc.delete_many(keys) is True
    assert kc.get_many(keys) == {}
    st = kc.stats()
    assert set(st) == {store} | set(tcp)
    assert st[store][b"cmd_set"] > 0


def test_config_string_as_is(nodes, store):
    peer, tcp = nodes
    conf = "--SEGMENT=%s@%s --SERVER=%s --SERVER=%s " \
           "--DISTRIBUTION=consistent" % (store, peer, tcp[0], tcp[1])
    kc = plmc.KetamaClient(config=conf)
    assert [s[0] for s in kc.ring.servers()] == ["segment", "tcp", "tcp"]
    kc.set("a", b"1", noreply=False)
    assert kc.get("a") == b"1"


def test_bad_server_lists():
    with pytest.raises(ValueError):
        plmc.KetamaClient([])
    with pytest.raises(ValueError):
        plmc.KetamaClient(config="--NOSUCH=1")
    with pytest.raises(ValueError):
        plmc.KetamaClient(["host with space:1"])


def test_a_plmcd_node(nodes, store, tmpdir_s):
    """A plmcd (another store, its own process) on a Unix socket next to
    the local store and a memcached: each key where libmemcached puts it,
    read back through plmcd by pymemcache directly."""
    import time
    peer, tcp = nodes
    sock = os.path.join(tmpdir_s, "plmcd.sock")
    plmcd = os.environ.get("PLMCD", "build/plmcd")
    proc = subprocess.Popen([plmcd, "-u", "root", "-n", "py-plmcd-%d" % os.getpid(),
                             "-m", "8", "-p", "0", "-s", sock, "-t", "1"],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        servers = ["plmc:%s@%s" % (store, peer), sock, tcp[0]]
        kc = plmc.KetamaClient(servers, default_noreply=False)
        keys = ["key:%d" % i for i in range(300)]
        assert kc.set_many({k: k.encode() for k in keys}) == []
        want = deb_map(300, [peer, sock, tcp[0]])
        remote = PyClient(sock)
        on_plmcd = [k for k in keys if want[k].startswith(sock)]
        assert on_plmcd  # the node takes a share
        for k in keys:
            assert (remote.get(k) == k.encode()) == (k in on_plmcd), k
        assert kc.get_many(keys) == {k: k.encode() for k in keys}
        kc.delete_many(keys)
    finally:
        proc.terminate()
        proc.wait()
