# SPDX-License-Identifier: MIT
"""Edges a newcomer hit: a Client used in a fork() child, memcached's
flags and exptime rules at their limits, set_many with one bad key, and
create= errors that say what is wrong. Where memcached has an answer,
pymemcache on Debian's memcached is the oracle."""
import multiprocessing
import os
import subprocess
import sys
import time

import pytest
from pymemcache.client.base import Client as PyClient
from pymemcache.exceptions import MemcacheError

import plmc

from test_client import outcome


def _child_calls(c):
    """In a forked child: each call's outcome, as test_fork compares."""
    out = []
    for name, f in [("get", lambda: c.get("fk")),
                    ("set default", lambda: c.set("fx", b"1")),
                    ("set", lambda: c.set("fy", b"1", noreply=False)),
                    ("incr", lambda: c.incr("fn", 1)),
                    ("delete", lambda: c.delete("fk", noreply=False))]:
        try:
            out.append((name, f()))
        except Exception as e:
            out.append((name, "%s %s" % (type(e).__name__, e)))
    return out


_fork_client = None


def _pool_child(_):
    return _child_calls(_fork_client)


def test_fork_child_attaches_again(store):
    """A Client made before fork() (gunicorn, multiprocessing) works in
    the child: it attaches again, as pymemcache reconnects its socket.
    Without that, get raised 'not attached' and a default set returned
    True and stored nothing."""
    global _fork_client
    c = _fork_client = plmc.Client(store)
    c.flush_all()
    c.set("fk", b"v", noreply=False)
    c.set("fn", b"1", noreply=False)
    with multiprocessing.get_context("fork").Pool(1) as p:
        got = p.map(_pool_child, [0])[0]
    assert got == [("get", b"v"), ("set default", True), ("set", True),
                   ("incr", 2), ("delete", True)], got
    # the child's writes are in the store the parent sees
    assert (c.get("fx"), c.get("fy"), c.get("fn"), c.get("fk")) == \
        (b"1", b"1", b"2", None)
    # and a plain os.fork() too
    pid = os.fork()
    if pid == 0:
        ok = c.set("fz", b"2", noreply=False) and c.get("fz") == b"2"
        os._exit(0 if ok else 1)
    _, st = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(st) == 0
    assert c.get("fz") == b"2"


def test_store_errors_are_pymemcache_errors_with_words():
    """A call the store could not make is plmc.StoreError: a
    pymemcache MemcacheError and a plmc.PlmcError, with libpl's text."""
    assert issubclass(plmc.StoreError, MemcacheError)
    assert issubclass(plmc.StoreError, plmc.PlmcError)
    with pytest.raises(plmc.StoreError) as e:
        plmc._fail(plmc._plmc.E_DETACHED, "plmc store x: get")
    assert "not attached to a store" in str(e.value), str(e.value)


@pytest.fixture
def pair(memcached_unix, store):
    a = PyClient(memcached_unix)
    b = plmc.Client(store)
    a.flush_all(noreply=False)
    b.flush_all()
    return a, b


@pytest.mark.parametrize("kw,key", [
    ({"flags": -1}, "fneg"), ({"flags": 2 ** 32 - 1}, "fmax"),
    ({"flags": 2 ** 32}, "fover"), ({"expire": 2 ** 31}, "e31"),
    ({"expire": 2 ** 32}, "e32"), ({"expire": 2 ** 32 + 5}, "e32b"),
    ({"expire": -1}, "eneg"), ({"expire": 2 ** 64}, "e64"),
])
def test_flags_and_exptime_limits_as_memcached(pair, kw, key):
    """memcached reads flags as unsigned 32 bits (negative: CLIENT_ERROR)
    and exptime as signed 32 bits (2**31 wraps into the past, 2**32 to
    0): the same answers and the same item afterwards."""
    a, b = pair
    ra = outcome(a.set, key, b"v", noreply=False, **kw)
    rb = outcome(b.set, key, b"v", noreply=False, **kw)
    assert ra == rb, (kw, ra, rb)
    assert outcome(a.get, key) == outcome(b.get, key), kw


def said(fn, *args, **kw):
    """outcome() with the error's words: memcached's CLIENT_ERROR text."""
    try:
        return ("ok", fn(*args, **kw))
    except Exception as e:
        return ("raise", type(e).__name__, str(e))


@pytest.mark.parametrize("call", [
    lambda c: c.set("f64", b"v", flags=2 ** 64, noreply=False),
    lambda c: c.set("f63", b"v", flags=2 ** 63 + 7, noreply=False),
    lambda c: c.set_many({"fm": b"v"}, flags=2 ** 64, noreply=False),
    lambda c: c.cas("fc", b"v", b"1", flags=2 ** 64, noreply=False),
    lambda c: c.cas("fc", b"v", 2 ** 64, noreply=False),
    lambda c: c.cas("fc", b"v", 2 ** 64 - 1, noreply=False),
    lambda c: c.touch("ft", 2 ** 64, noreply=False),
], ids=["set-flags64", "set-flags63", "set_many-flags64", "cas-flags64",
        "cas-unique64", "cas-unique64-1", "touch-exp64"])
def test_64_bit_overflows_as_memcached(pair, call):
    """flags and CAS uniques past 64 bits are memcached's CLIENT_ERROR
    (strtoul/strtoull out of range), said in its words; in range, flags
    are cut to 32 bits as there. Never a bare OverflowError."""
    a, b = pair
    ra, rb = said(call, a), said(call, b)
    assert ra == rb, (ra, rb)
    for key in ("f64", "f63", "fm", "fc"):  # and the same items after
        assert a.get(key) == b.get(key), key


@pytest.mark.parametrize("delay", [2 ** 31, 2 ** 32, -2 ** 31 - 1, -1,
                                   2 ** 63, 2 ** 64, -2 ** 63 - 1])
def test_flush_all_delay_as_memcached(pair, delay):
    """memcached reads flush_all's delay as a long cut to 32 bits: True
    where it fits a long (and the same items gone or kept after), its
    'invalid exptime argument' past that. Never a bare OverflowError."""
    a, b = pair
    for c in pair:
        c.set("fl", b"v", noreply=False)
    ra = said(a.flush_all, delay=delay, noreply=False)
    rb = said(b.flush_all, delay=delay)
    assert ra == rb, (ra, rb)
    assert a.get("fl") == b.get("fl"), delay
    for c in pair:  # a flush set far ahead is undone for the next test
        c.flush_all(0, noreply=False)


def test_set_many_with_a_bad_key_stores_nothing(pair):
    """pymemcache checks every key before sending: nothing is stored."""
    for c in pair:
        assert outcome(c.set_many, {"ok": b"1", "a b": b"2"},
                       noreply=False) == ("raise",
                                          "MemcacheIllegalInputError")
        assert c.get("ok") is None


@pytest.mark.parametrize("create,words", [
    ((5 << 20) + 1, "whole MiB"), (1 << 20, "at least 4 MiB"),
    ("64M", "size in bytes"), (1 << 40, "at most"), (2 ** 64, "at most"),
])
def test_create_errors_say_what_is_wrong(create, words):
    """Client(create=) of a bad size says why (it said '[Errno 22]
    create: Invalid argument'); its own process: one store per process."""
    r = subprocess.run([sys.executable, "-c", """
import sys, plmc
try:
    plmc.Client("pytest-never", create=%r)
except ValueError as e:
    print(e)
    sys.exit(0)
sys.exit(1)
""" % (create,)], capture_output=True, text=True)
    assert r.returncode == 0 and words in r.stdout, (r.stdout, r.stderr)


def test_constructor_takes_pymemcaches_positional_order(store):
    """Client(server, serde, serializer, deserializer, connect_timeout,
    timeout, no_delay, ignore_exc, socket_module, socket_keepalive,
    key_prefix, ...): a positional call means what it means there."""
    import socket
    c = plmc.Client(store, None, None, None, 1.0, 2.0, True, False, socket,
                    None, b"pos:")
    assert c.key_prefix == b"pos:"
    p = PyClient("/nonexistent", None, None, None, 1.0, 2.0, True, False,
                 socket, None, b"pos:")
    assert p.key_prefix == c.key_prefix
    with pytest.raises(TypeError):
        plmc.Client(store, conect_timeout=1)


def test_stats_say_what_memcacheds_say_of_the_server(pair):
    """uptime, pid, threads, rusage_*, curr_connections: memcached's
    names with what a local store has (the caller's process)."""
    a, b = pair
    sa, sb = a.stats(), b.stats()
    for k in (b"uptime", b"pid", b"threads", b"rusage_user",
              b"rusage_system", b"curr_connections"):
        assert k in sa and k in sb, k
        assert type(sb[k]) is type(sa[k]), (k, sa[k], sb[k])
    assert sb[b"pid"] == os.getpid() and sb[b"curr_connections"] >= 1


def test_cache_memlimit_as_plmcd(pair):
    """cache_memlimit: the store's own size is accepted (True, as
    pymemcache returns), another is refused as plmcd refuses it."""
    _, b = pair
    mb = b.stats()[b"limit_maxbytes"] >> 20
    assert b.cache_memlimit(mb) is True
    with pytest.raises(plmc.MemcacheServerError):
        b.cache_memlimit(mb + 1)
    with pytest.raises(plmc.MemcacheServerError):
        b.cache_memlimit(4)


def test_stats_keys_are_plmcds(store, tmp_path):
    """Client.stats() gives every key plmcd's "stats" gives for the same
    store, in plmcd's order (docs/python.md promises memcached's general
    stats), and the store's own figures as plmcd reads them."""
    sock = str(tmp_path / "st.sock")
    d = subprocess.Popen([os.environ["PLMCD"], "-u", "root", "-n", store,
                          "-s", sock, "-p", "0"], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.02)
        sa = PyClient(sock).stats()
    finally:
        d.terminate()
        d.wait()
    sb = plmc.Client(store).stats()
    assert [k for k in sb if k in sa] == list(sa), \
        (set(sa) - set(sb), "order")
    for k in (b"limit_maxbytes", b"hash_power_level", b"hash_bytes",
              b"pointer_size", b"slabs_moved", b"libevent"):
        assert sb[k] == sa[k], (k, sa[k], sb[k])


@pytest.mark.parametrize("mb", [-1, 2 ** 64, 2 ** 64 + 8])
def test_cache_memlimit_out_of_range_as_memcached(pair, mb):
    """memcached reads cache_memlimit's value as an unsigned number: what
    is none is its ERROR, MemcacheUnknownCommandError in pymemcache."""
    a, b = pair
    assert outcome(a.cache_memlimit, mb) == outcome(b.cache_memlimit, mb) \
        == ("raise", "MemcacheUnknownCommandError")


def test_cache_memlimit_takes_the_created_size():
    """A store made with --size 64M (limit_maxbytes 62 MiB) takes
    cache_memlimit(64) as well as (62), in plmc.Client and in plmcd."""
    r = subprocess.run([sys.executable, "-c", """
import plmc
c = plmc.Client("pyml-%d", create=64 << 20)
print(c.stats()[b"limit_maxbytes"] >> 20, c.cache_memlimit(64),
      c.cache_memlimit(c.stats()[b"limit_maxbytes"] >> 20))
try:
    c.cache_memlimit(65)
except plmc.MemcacheServerError as e:
    print(e.args[0].decode())
""" % os.getpid()], capture_output=True, text=True)
    subprocess.run([os.environ.get("PLCTL", "plctl"), "destroy",
                    "pyml-%d" % os.getpid(), "--force"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert r.stdout.split("\n")[:2] == [
        "62 True True", "MEMLIMIT_ADJUST_FAILED out of bounds or unable to "
        "adjust"], (r.stdout, r.stderr)


def _info(name):
    out = subprocess.run([os.environ.get("PLCTL", "plctl"), "info", name],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split(" ", 1) for line in out.splitlines()
                if line.split(" ", 1)[0] in ("nattach", "deaths"))


@pytest.mark.parametrize("leave", ["", "c.close()", "sys.exit(0)"])
def test_normal_exit_is_no_death(leave):
    """A script that sets a key and ends (with or without close(), or by
    sys.exit) detaches: no death counted, nattach back to 0. The control,
    os._exit (no exit handlers), is still seen as the death it is by the
    next process to attach, so the count is not blind."""
    name = "pyexit-%d" % os.getpid()
    script = ("import sys, os, plmc; c = plmc.Client(%r, create=8 << 20);"
              "c.set('a', b'b', noreply=False); " % name)
    try:
        for _ in range(3):
            subprocess.run([sys.executable, "-c", script + leave],
                           check=True, stderr=subprocess.DEVNULL)
        assert _info(name) == {"nattach": "0", "deaths": "0"}
        subprocess.run([sys.executable, "-c", script + "os._exit(0)"],
                       check=True, stderr=subprocess.DEVNULL)
        subprocess.run([sys.executable, "-c", script],
                       check=True, stderr=subprocess.DEVNULL)
        assert _info(name) == {"nattach": "0", "deaths": "1"}
    finally:
        subprocess.run([os.environ.get("PLCTL", "plctl"), "destroy", name,
                        "--force"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
