# SPDX-License-Identifier: MIT
"""plmc.Client against pymemcache.Client on Debian's memcached (Unix
socket): the same calls, the same answers, the same exceptions.

Each test drives both clients with the same sequence and compares every
return value (CAS uniques are compared by presence only: each server
numbers its own). A break in plmc.Client's conventions -- a True where
pymemcache says None, a miss where it finds a value, no exception where
it raises one -- fails the comparison at that step.
"""
import json
import random
import subprocess
import sys

import pytest
from pymemcache.client.base import Client as PyClient
from pymemcache.exceptions import (MemcacheClientError,
                                   MemcacheIllegalInputError,
                                   MemcacheServerError)

import plmc


def outcome(fn, *args, **kw):
    try:
        return ("ok", fn(*args, **kw))
    except Exception as e:  # the class is the convention compared
        return ("raise", type(e).__name__)


def cas_free(r):
    """gets/gets_many results with the CAS unique replaced by presence."""
    kind, v = r
    if kind != "ok":
        return r
    if isinstance(v, tuple):
        return kind, (v[0], v[1] is not None and v[1].isdigit())
    if isinstance(v, dict):
        return kind, {k: (x[0], x[1].isdigit()) if isinstance(x, tuple)
                      else x for k, x in v.items()}
    return r


@pytest.fixture
def pair(memcached_unix, store):
    def make(**kw):
        a = PyClient(memcached_unix, **kw)
        b = plmc.Client(store, **kw)
        a.flush_all(noreply=False)
        b.flush_all()
        return a, b
    return make


KEYS = ["k%d" % i for i in range(12)] + [b"bytes-key", "n1", "n2"]


def step(rng, a, b, log):
    """One random call on both; returns the two outcomes."""
    op = rng.choice(["set", "add", "replace", "append", "prepend", "get",
                     "gets", "get_many", "gets_many", "delete",
                     "delete_many", "incr", "decr", "touch", "set_many",
                     "cas_good", "cas_stale", "cas_missing"])
    key = rng.choice(KEYS)
    val = (str(rng.randrange(0, 1 << 40)).encode() if rng.random() < 0.3
           else bytes(rng.randrange(256) for _ in range(rng.randrange(0, 3000))))
    noreply = rng.choice([None, True, False])
    flags = rng.choice([None, 0, 7, 1 << 31])
    log.append((op, key, len(val), noreply, flags))
    if op in ("set", "add", "replace", "append", "prepend"):
        return [outcome(getattr(c, op), key, val, 0, noreply, flags)
                for c in (a, b)]
    if op in ("get", "delete"):
        return [outcome(getattr(c, op), key) for c in (a, b)]
    if op == "gets":
        return [cas_free(outcome(c.gets, key)) for c in (a, b)]
    keys = rng.sample(KEYS, rng.randrange(1, 6))
    if op == "get_many":
        return [outcome(c.get_many, keys) for c in (a, b)]
    if op == "gets_many":
        return [cas_free(outcome(c.gets_many, keys)) for c in (a, b)]
    if op == "delete_many":
        return [outcome(c.delete_many, keys, noreply) for c in (a, b)]
    if op == "set_many":
        vals = {k: val for k in keys}
        return [outcome(c.set_many, vals, 0, noreply, flags) for c in (a, b)]
    quiet = rng.random() < 0.2  # incr/decr/cas noreply (False by default)
    if op in ("incr", "decr"):
        delta = rng.choice([0, 1, 5, 1 << 40, (1 << 64) - 1])
        return [outcome(getattr(c, op), key, delta, quiet) for c in (a, b)]
    if op == "touch":
        return [outcome(c.touch, key, rng.choice([0, 1000]), noreply)
                for c in (a, b)]
    # cas: each client's own unique (fresh, stale, or none at all)
    res = []
    for c in (a, b):
        _, unique = c.gets(key)
        if op == "cas_good" and unique is not None:
            cas = unique
        elif op == "cas_stale" and unique is not None:
            cas = str(int(unique) + 7777777).encode()
        else:
            cas = b"12345"
        res.append(outcome(c.cas, key, val, cas, 0, quiet, flags))
    return res


@pytest.mark.parametrize("seed", range(6))
def test_random_calls_same_answers(pair, seed):
    a, b = pair(default_noreply=seed % 2 == 0)
    rng = random.Random(seed)
    log = []
    for i in range(800):
        ra, rb = step(rng, a, b, log)
        assert ra == rb, "step %d %r: pymemcache %r, plmc %r" % (
            i, log[-1], ra, rb)
    # and the end state, key by key
    for k in KEYS:
        assert a.get(k) == b.get(k), k
    assert a.stats()[b"curr_items"] == b.stats()[b"curr_items"]


BAD_KEYS = ["a b", "x" * 251, "nul\x00", "caf\u00e9", " lead", b"tab\t",
            "new\nline", b"\xff"]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_raise_the_same(pair, key):
    a, b = pair()
    for call in (lambda c: c.set(key, b"v"), lambda c: c.get(key),
                 lambda c: c.delete(key), lambda c: c.incr(key, 1),
                 lambda c: c.touch(key), lambda c: c.get_many([key, "ok"])):
        ra, rb = outcome(call, a), outcome(call, b)
        assert ra == rb, (key, ra, rb)


def test_empty_key(pair):
    """memcached answers ERROR to an empty key (pymemcache raises
    MemcacheUnknownCommandError when it reads the reply); plmc refuses it
    before the call with a class both kinds of handler catch."""
    from pymemcache.exceptions import MemcacheUnknownCommandError
    a, b = pair()
    for call in (lambda c: c.set("", b"v", noreply=False),
                 lambda c: c.get(""), lambda c: c.incr("", 1),
                 lambda c: c.gets(""), lambda c: c.get_many([""])):
        with pytest.raises(MemcacheUnknownCommandError):
            call(a)
        with pytest.raises(MemcacheUnknownCommandError):
            call(b)
        with pytest.raises(MemcacheIllegalInputError):
            call(b)
    with pytest.raises(plmc.MemcacheEmptyKeyError):
        b.set("", b"v", noreply=True)  # pymemcache: True, nothing read


def test_control_bytes_in_keys(pair):
    """memcached takes them; the store refuses them: an illegal input,
    raised before the call, the store unchanged."""
    a, b = pair()
    assert a.set(b"a\x01b", b"v", noreply=False) is True
    with pytest.raises(MemcacheIllegalInputError):
        b.set(b"a\x01b", b"v", noreply=False)
    with pytest.raises(MemcacheIllegalInputError):
        b.get_many([b"ok", b"del\x7f"])


def test_unicode_keys_when_allowed(pair):
    a, b = pair(allow_unicode_keys=True)
    for c in (a, b):
        assert c.set("caf\u00e9", b"1", noreply=False) is True
        assert c.get("caf\u00e9") == b"1"


def test_bad_arguments_raise_the_same(pair):
    a, b = pair()
    for call in (lambda c: c.incr("k", "1"), lambda c: c.set("k", b"v", "9"),
                 lambda c: c.cas("k", b"v", b"12x"),
                 lambda c: c.cas("k", b"v", 1.5),
                 lambda c: c.touch("k", None)):
        ra, rb = outcome(call, a), outcome(call, b)
        assert ra[0] == "raise" and ra == rb, (ra, rb)


def test_non_numeric_incr_is_a_client_error(pair):
    a, b = pair()
    for c in (a, b):
        c.set("word", b"abc", noreply=False)
        with pytest.raises(MemcacheClientError):
            c.incr("word", 1)
        assert c.incr("word", 1, noreply=True) is None
        assert c.decr("nope", 1) is None


def test_too_big_is_a_server_error(pair):
    a, b = pair()
    big = b"x" * (2 << 20)
    for c in (a, b):
        with pytest.raises(MemcacheServerError):
            c.set("big", big, noreply=False)
        assert c.set("big", big, noreply=True) is True  # reply unread
        assert c.get("big") is None


class JsonSerde:
    def serialize(self, key, value):
        if isinstance(value, bytes):
            return value, 1
        return json.dumps(value).encode(), 2

    def deserialize(self, key, value, flags):
        if flags == 2:
            return json.loads(value)
        return value


def test_serde_and_legacy_hooks(pair):
    a, b = pair(serde=JsonSerde())
    for c in (a, b):
        assert c.set("doc", {"a": [1, 2]}, noreply=False)
        assert c.get("doc") == {"a": [1, 2]}
        assert c.get_many(["doc", "none"]) == {"doc": {"a": [1, 2]}}
        assert c.gets("doc")[0] == {"a": [1, 2]}
        assert c.set("raw", b"r") and c.get("raw") == b"r"
        assert c.set("forced", {"x": 1}, flags=1) and \
            c.get("forced") == b'{"x": 1}'
    seen = []
    a, b = pair(serializer=lambda k, v: (repr(v), 5),
                deserializer=lambda k, v, f: seen.append((k, f)) or v)
    for c in (a, b):
        c.set("t", (1, 2))
        assert c.get("t") == b"(1, 2)"
    assert seen == [("t", 5), ("t", 5)]


def test_key_prefix_and_plain_values(pair):
    a, b = pair(key_prefix=b"app:")
    for c in (a, b):
        c.set("k", 42)  # not bytes: str(value).encode()
        assert c.get("k") == b"42"
        assert c.incr("k", 8) == 50
        c.set("s", "text")
        assert c.get("s") == b"text"
        c["d"] = b"1"
        assert c["d"] == b"1"
        del c["d"]
        with pytest.raises(KeyError):
            c["d"]
    nop = plmc.Client(b.server)  # same store, no prefix
    assert nop.get("app:k") == b"50" and nop.get("k") is None


def test_large_values_round_trip(pair):
    a, b = pair()
    for n in (0, 1, 1023, 1024, 1025, 4096, 4097, 300000):
        v = bytes(random.Random(n).randrange(256) for _ in range(n))
        for c in (a, b):
            assert c.set("v%d" % n, v, noreply=False)
        keys = ["v%d" % n, "missing"]
        assert a.get_many(keys) == b.get_many(keys) == {"v%d" % n: v}


def test_many_keys_in_one_get_many(pair):
    a, b = pair()
    keys = ["m%d" % i for i in range(250)]
    for c in (a, b):
        assert c.set_many({k: k.encode() for k in keys}, noreply=False) == []
    assert a.get_many(keys) == b.get_many(keys)
    assert len(b.get_many(keys)) == 250
    for c in (a, b):
        assert c.delete_many(keys[:100], noreply=False) is True
    assert a.get_many(keys) == b.get_many(keys)
    assert len(b.get_many(keys)) == 150


def test_stats_are_pymemcache_shaped(pair):
    a, b = pair()
    before = b.stats()
    b.set("x", b"1")
    b.get("x")
    b.get("y")
    st = b.stats()
    for k in (b"curr_items", b"get_hits", b"get_misses", b"cmd_get",
              b"cmd_set", b"limit_maxbytes", b"evictions", b"bytes"):
        assert isinstance(st[k], int), k
        assert k in a.stats(), k  # a name memcached uses too
    assert st[b"get_hits"] == before[b"get_hits"] + 1
    assert st[b"get_misses"] == before[b"get_misses"] + 1
    assert st[b"cmd_set"] == before[b"cmd_set"] + 1
    assert st[b"limit_maxbytes"] > 0


def test_pymemcache_socket_arguments_taken(store):
    c = plmc.Client(store, connect_timeout=1, timeout=1, no_delay=True,
                    ignore_exc=True)
    assert c.set("sock-args", b"1")
    with pytest.raises(TypeError):
        plmc.Client(store, conect_timeout=1)  # misspelt: refused


def test_missing_store_names_the_store():
    """In a process of its own: this one is attached to the test store."""
    code = ("import plmc\n"
            "try:\n"
            "    plmc.Client('no-such-store')\n"
            "except OSError as e:\n"
            "    print(e.errno, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    assert out == ("2 [Errno 2] plmc store no-such-store: "
                   "No such file or directory\n"), out
    with pytest.raises(ValueError):
        plmc.Client(("127.0.0.1", 11211))


def test_one_store_per_process(store):
    with pytest.raises(OSError) as e:
        plmc.Client("another-" + store, create=8 << 20)
    assert "one store per process" in str(e.value)
    assert store in str(e.value)


def test_threads_share_the_store(store):
    """Each Python thread takes its own slot on its first call (libpl);
    values written by one thread are read by the others."""
    import threading
    c = plmc.Client(store, default_noreply=False)
    errors = []

    def work(t):
        try:
            for i in range(300):
                k = "t%d-%d" % (t, i)
                assert c.set(k, k.encode()) is True
                assert c.get(k) == k.encode()
            assert c.incr("tcount", 300) is not None
        except Exception as e:  # reported below, with the thread
            errors.append((t, e))

    c.set("tcount", b"0")
    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    assert c.get("tcount") == b"1200"
    assert len(c.get_many(["t%d-%d" % (t, i) for t in range(4)
                           for i in range(300)])) == 1200
