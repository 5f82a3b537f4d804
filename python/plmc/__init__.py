# SPDX-License-Identifier: MIT
"""plmc: a local memcached store through the gate, with pymemcache's API.

    import plmc
    client = plmc.Client("cache")          # was: pymemcache.Client(("host", 11211))
    client.set("k", b"v")
    client.get("k")                        # b'v'

Client has pymemcache.client.base.Client's method names, arguments and
return conventions (set/get/add/replace/append/prepend/cas/gets/gets_many/
incr/decr/touch/delete/get_many/set_many/delete_many/flush_all/stats,
serde or serializer/deserializer hooks, key_prefix, default_noreply,
allow_unicode_keys, encoding), so an application switches by changing the
constructor. The store is this host's plmc store NAME, reached through the
gate (libpl): no socket. One store per process (libpl's rule).

KetamaClient spreads keys over several servers -- the local store and
remote memcached or plmcd nodes -- by ketama, with the placement of
libpl/memcached (libmemcached's): the same C code decides it.
"""

import errno
import os
import resource
import struct
import threading

from plmc import _plmc

__all__ = ["Client", "KetamaClient", "PlmcError", "MemcacheError",
           "MemcacheClientError", "MemcacheServerError",
           "MemcacheIllegalInputError", "MemcacheUnknownCommandError",
           "MemcacheEmptyKeyError", "StoreError", "USE_AUTO", "USE_KMOD", "USE_NONE",
           "USE_PKU"]
__version__ = "0.1.0"

USE_AUTO = _plmc.USE_AUTO
USE_KMOD = _plmc.USE_KMOD
USE_NONE = _plmc.USE_NONE
USE_PKU = _plmc.USE_PKU

PlmcError = _plmc.Error  # libpl's errors: .args = (code, text)

# pymemcache's exception classes when it is installed, so that code
# catching them keeps working; the same hierarchy of our own otherwise.
try:
    from pymemcache.exceptions import (MemcacheError, MemcacheClientError,
                                       MemcacheServerError,
                                       MemcacheIllegalInputError,
                                       MemcacheUnknownCommandError)
except ImportError:  # pragma: no cover - pymemcache absent
    class MemcacheError(Exception):
        pass

    class MemcacheClientError(MemcacheError):
        pass

    class MemcacheServerError(MemcacheError):
        pass

    class MemcacheIllegalInputError(MemcacheClientError):
        pass

    class MemcacheUnknownCommandError(MemcacheClientError):
        pass


class StoreError(PlmcError, MemcacheError):
    """A call the store could not make (not attached, a bad argument,
    a broken store): both plmc.PlmcError (OSError: .errno, .strerror with
    libpl's text) and pymemcache's MemcacheError, so either handler
    catches it."""


def _fail(rc, what):
    """Raise StoreError for libpl's code rc, saying what failed and why."""
    code = -rc if -4096 < rc < 0 else rc
    raise StoreError(code, "%s: %s" % (what, _plmc.strerror(rc)))


class MemcacheEmptyKeyError(MemcacheIllegalInputError,
                            MemcacheUnknownCommandError):
    """An empty key. pymemcache sends it and memcached answers ERROR
    (MemcacheUnknownCommandError, or nothing with noreply); plmc refuses
    it before the call, with a class that both handlers catch."""


def _default_serialize(key, value):
    return value, 0


def _default_deserialize(key, value, flags):
    return value


class _LegacySerde:
    def __init__(self, serializer, deserializer):
        self.serialize = serializer or _default_serialize
        self.deserialize = deserializer or _default_deserialize


def _check_key(key, allow_unicode_keys, key_prefix):
    """pymemcache's key rule and errors; returns the key as bytes."""
    if allow_unicode_keys:
        if isinstance(key, str):
            key = key.encode("utf8")
    elif isinstance(key, str):  # bytes go as they are (pymemcache's rule)
        try:
            key = key.encode("ascii")
        except UnicodeEncodeError:
            raise MemcacheIllegalInputError("Non-ASCII key: %r" % key)
    key = key_prefix + key
    if not key:
        raise MemcacheEmptyKeyError("Key is empty")
    parts = key.split()
    if len(key) > 250:
        raise MemcacheIllegalInputError("Key is too long: %r" % key)
    if len(parts) > 1 or (parts and parts[0] != key):
        raise MemcacheIllegalInputError("Key contains whitespace: %r" % key)
    if b"\00" in key:
        raise MemcacheIllegalInputError("Key contains null: %r" % key)
    # The store's own rule is stricter than memcached's: no control byte
    # at all (memcached takes any byte but space and newline).
    if any(b < 0x20 or b == 0x7f for b in key):
        raise MemcacheIllegalInputError(
            "Key contains a control byte (plmc's key rule): %r" % key)
    return key


def _check_integer(value, name):
    if not isinstance(value, int) or isinstance(value, bool):
        raise MemcacheIllegalInputError(
            "%s must be integer, got bad value: %r" % (name, value))
    return value


def _check_flags(flags):
    """memcached reads flags as an unsigned long (strtoul) cut to 32 bits:
    a negative one, or one beyond 64 bits, is its CLIENT_ERROR; one
    between is cut to 32 bits, as there."""
    _check_integer(flags, "flags")
    if not 0 <= flags < 1 << 64:
        raise MemcacheClientError(b"bad command line format")
    return flags & 0xffffffff


def _exptime(expire, name="expire", error=b"bad command line format"):
    """memcached 1.6 reads exptime into a signed 32-bit number: a value
    beyond that wraps (2**31 is in the past, so stored and expired at
    once; 2**32 is 0, never), one beyond a long is its CLIENT_ERROR
    (@error: storage commands and touch/flush_all word it apart)."""
    _check_integer(expire, name)
    if not -(1 << 63) <= expire < 1 << 63:
        raise MemcacheClientError(error)
    expire &= 0xffffffff
    return expire - (1 << 32) if expire >= 1 << 31 else expire


def _check_cas(cas):
    if isinstance(cas, (int, str)):
        cas = str(cas).encode("ascii", "replace")
    elif not isinstance(cas, bytes):
        raise MemcacheIllegalInputError(
            "cas must be integer, string, or bytes, got bad value: %r" % cas)
    if not cas.isdigit():
        raise MemcacheIllegalInputError(
            "cas must only contain values in 0-9, got bad value: %r" % cas)
    return int(cas)


# Answers memcached gives as SERVER_ERROR or CLIENT_ERROR, raised as
# pymemcache raises them.
_SERVER_ERRORS = {
    _plmc.E_TOOBIG: b"object too large for cache",
    _plmc.E_NOMEM: b"out of memory storing object",
}


# SERVER_ERRORs this process was answered (stats: store_too_large and
# store_no_memory, as plmcd counts those it answered).
_refused = {_plmc.E_TOOBIG: 0, _plmc.E_NOMEM: 0}

_attached = None  # the store this process attached through Client
_attached_use = USE_AUTO
_attached_at = None  # store time of this process's attach (stats uptime)
# A fork() child has no attachment (libpl forgets the parent's: under
# kmod the mapping is not inherited), so the next call attaches again,
# as pymemcache reconnects a socket in a child; never a silent miss.
_forked = False


def _after_fork_in_child():
    global _forked
    _forked = _attached is not None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _live():
    """Before each call: in a forked child, attach the store again."""
    global _forked
    if not _forked:
        return
    try:
        _plmc.attach(_attached, _attached_use)
    except PlmcError as e:
        raise StoreError(e.args[0], "plmc store %s: attach after fork: %s"
                         % (_attached, e.args[1])) from None
    _forked = False


def _create(name, size, mode, use):
    """Client(create=SIZE): plctl create's checks, said in words."""
    if not isinstance(size, int) or isinstance(size, bool):
        raise ValueError("plmc store %s: create= takes a size in bytes, "
                         "got %r" % (name, size))
    if size < 4 << 20 or size % (1 << 20):
        raise ValueError("plmc store %s: create=%d: the size must be whole "
                         "MiB, at least 4 MiB (4 << 20)" % (name, size))
    if size > _plmc.STORE_MAX:
        raise ValueError("plmc store %s: create=%d: the size must be at "
                         "most %d MiB (the store's address window)"
                         % (name, size, _plmc.STORE_MAX >> 20))
    if not isinstance(mode, int) or not 0 <= mode <= 0o777:
        raise ValueError("plmc store %s: mode=%r: permission bits, 0 to "
                         "0o777" % (name, mode))
    try:
        _plmc.create(name, size, mode, use)
    except PlmcError as c:
        if c.args[0] != errno.EEXIST:  # EEXIST: another process won
            raise PlmcError(c.args[0], "plmc store %s: create: %s"
                            % (name, c.args[1])) from None

def _general_stats(st):
    """plmcd's "stats" keys in its order, as a local store has them: this
    process for the server (a library has no server), the processes
    attached to the store for its connections. What counts a network
    server's work (bytes read and written, buffers, rejected or yielded
    connections, listener, crawler and logger threads) is 0: a call
    moves no bytes over a connection; the store's own figures are as
    plmcd shows them."""
    use = resource.getrusage(resource.RUSAGE_SELF)
    nattach = st["nattach"]
    zero = lambda *names: [(n, 0) for n in names]  # noqa: E731
    return ([
        ("pid", os.getpid()),
        ("uptime", st["time"] - (_attached_at or st["time"])),
        ("time", st["time"]), ("version", _plmc.version().encode("ascii")),
        ("libevent", b"none"), ("pointer_size", 8 * struct.calcsize("P")),
        ("rusage_user", use.ru_utime), ("rusage_system", use.ru_stime),
        ("max_connections", _plmc.MAX_SLOTS),
        ("curr_connections", nattach), ("total_connections", nattach),
        ("rejected_connections", 0), ("connection_structures", nattach),
    ] + zero("response_obj_oom", "response_obj_count", "response_obj_bytes",
             "read_buf_count", "read_buf_bytes", "read_buf_bytes_free",
             "read_buf_oom", "reserved_fds") + [
        (k, st[k]) for k in ("cmd_get", "cmd_set", "cmd_flush", "cmd_touch")
    ] + [("cmd_meta", 0)] + [
        (k, st[k]) for k in (
            "get_hits", "get_misses", "get_expired", "get_flushed",
            "delete_misses", "delete_hits", "incr_misses", "incr_hits",
            "decr_misses", "decr_hits", "cas_misses", "cas_hits",
            "cas_badval", "touch_hits", "touch_misses")
    ] + [
        ("store_too_large", _refused[_plmc.E_TOOBIG]),
        ("store_no_memory", _refused[_plmc.E_NOMEM]),
    ] + zero("auth_cmds", "auth_errors", "bytes_read", "bytes_written") + [
        ("limit_maxbytes", st["limit_maxbytes"]), ("accepting_conns", 1),
        ("listen_disabled_num", 0), ("time_in_listen_disabled_us", 0),
        ("threads", threading.active_count()), ("conn_yields", 0),
        ("hash_power_level", (st["hash_buckets"] & -st["hash_buckets"])
         .bit_length() - 1),
        ("hash_bytes", st["hash_buckets"] * 8), ("hash_is_expanding", 0),
    ] + [
        (k, st[k]) for k in (
            "slab_reassign_rescues", "slab_reassign_chunk_rescues",
            "slab_reassign_evictions_nomem", "slab_reassign_inline_reclaim",
            "slab_reassign_busy_items", "slab_reassign_busy_deletes",
            "slab_reassign_running", "slabs_moved")
    ] + zero("lru_crawler_running", "lru_crawler_starts") + [
        ("lru_maintainer_juggles", st["lru_maintainer_juggles"]),
    ] + zero("malloc_fails",
             "log_worker_dropped", "log_worker_written",
             "log_watcher_skipped", "log_watcher_sent", "log_watchers",
             "unexpected_napi_ids", "round_robin_fallback") + [
        (k, st[k]) for k in (
            "bytes", "curr_items", "total_items", "slab_global_page_pool",
            "expired_unfetched", "evicted_unfetched", "evicted_active",
            "evictions", "reclaimed")
    ] + zero("crawler_reclaimed", "crawler_items_checked",
             "lrutail_reflocked") + [
        # the store's segmented LRU (docs/store.md), as plmcd shows it
        (k, st[k]) for k in (
            "moves_to_cold", "moves_to_warm", "moves_within_lru",
            "direct_reclaims")
    ] + zero("lru_bumps_dropped") + [
        # plmc's own, after memcached's
        ("backend", (_plmc.backend() or "").encode("ascii")),
        ("total_malloced", st["total_malloced"]),
        ("hash_buckets", st["hash_buckets"]),
    ])


class _ItemAccess:
    """c[key] = value, c[key] and del c[key] as pymemcache's Client has
    them, over the class's own set, get and delete: the set and the
    delete with noreply, a miss a KeyError. Shared by Client and
    KetamaClient."""

    def __setitem__(self, key, value):
        self.set(key, value, noreply=True)

    def __getitem__(self, key):
        value = self.get(key)
        if value is None:
            raise KeyError
        return value

    def __delitem__(self, key):
        self.delete(key, noreply=True)


class Client(_ItemAccess):
    """pymemcache's Client on this host's plmc store NAME (see the module)."""

    def __init__(self, name, serde=None, serializer=None, deserializer=None,
                 connect_timeout=None, timeout=None, no_delay=False,
                 ignore_exc=False, socket_module=None, socket_keepalive=None,
                 key_prefix=b"", default_noreply=True,
                 allow_unicode_keys=False, encoding="ascii", tls_context=None,
                 *, use=USE_AUTO, create=None, mode=0o600):
        # pymemcache's arguments in pymemcache's order, so positional
        # calls mean the same; its socket settings (timeouts, no_delay,
        # socket_module, ...) mean nothing for a store reached by a call
        # (ignore_exc is kept: a failed get is a miss).
        # create: a size in bytes (whole MiB) to create the store with
        # when it does not exist; mode its permission bits.
        if not isinstance(name, str) or not name:
            raise ValueError("plmc.Client needs a store name, got %r"
                             % (name,))
        self.server = name
        self.serde = serde or _LegacySerde(serializer, deserializer)
        if isinstance(key_prefix, str):
            key_prefix = key_prefix.encode("ascii")
        if not isinstance(key_prefix, bytes):
            raise TypeError("key_prefix should be bytes.")
        self.key_prefix = key_prefix
        self.default_noreply = default_noreply
        self.allow_unicode_keys = allow_unicode_keys
        self.encoding = encoding
        self.ignore_exc = bool(ignore_exc)
        global _attached
        if _attached is not None and _attached != name:
            raise PlmcError(errno.EBUSY, "plmc store %s: this process is "
                            "attached to store %s (one store per process)"
                            % (name, _attached))
        try:
            _plmc.attach(name, use)
        except PlmcError as e:
            # create=SIZE: make the store when it does not exist yet
            # (plctl create NAME --size SIZE, mode as given).
            if create is None or e.args[0] != errno.ENOENT:
                raise PlmcError(e.args[0], "plmc store %s: %s"
                                % (name, e.args[1])) from None
            _create(name, create, mode, use)
            _plmc.attach(name, use)
        global _attached_use, _forked, _attached_at
        if _attached != name or _attached_at is None:
            _attached_at = _plmc.stats()["time"]
        _attached, _attached_use, _forked = name, use, False

    # -- helpers ---------------------------------------------------------
    def check_key(self, key):
        return _check_key(key, self.allow_unicode_keys, self.key_prefix)

    def _data(self, key, value, flags):
        data, data_flags = self.serde.serialize(key, value)
        if flags is not None:
            data_flags = flags
        if not isinstance(data, bytes):
            try:
                data = str(data).encode(self.encoding)
            except UnicodeEncodeError as e:
                raise MemcacheIllegalInputError(
                    "Data values must be binary-safe: %s" % e)
        return data, data_flags

    def _store(self, cmd, key, value, expire, noreply, flags, cas=0):
        return self._store_checked(cmd, self._item(key, value, expire, flags),
                                   noreply, cas)

    def _item(self, key, value, expire, flags):
        """Every check of a storage command, before anything is stored:
        (key as bytes, data, flags, exptime)."""
        exptime = _exptime(expire)
        k = self.check_key(key)
        data, data_flags = self._data(k, value, flags)
        return k, data, _check_flags(data_flags), exptime

    def _store_checked(self, cmd, item, noreply, cas=0):
        _live()
        k, data, data_flags, exptime = item
        rc = _plmc.store(cmd, k, data, data_flags, exptime, cas)
        if rc >= 0:
            return rc
        if rc in _SERVER_ERRORS:
            # memcached's SERVER_ERROR: never read with noreply
            _refused[rc] += 1  # stats' store_too_large, store_no_memory
            if noreply:
                return _plmc.STORED
            raise MemcacheServerError(_SERVER_ERRORS[rc])
        # Not an answer of the store but a call that did not happen (not
        # attached, a broken store): raised even with noreply.
        _fail(rc, "plmc store %s: %s" % (_attached, k.decode("ascii",
                                                              "replace")))

    def _stored(self, cmd, key, value, expire, noreply, flags):
        if noreply is None:
            noreply = self.default_noreply
        rc = self._store(cmd, key, value, expire, noreply, flags)
        return True if noreply else rc == _plmc.STORED

    def _value(self, key, found):
        if found is None:
            return None
        return self.serde.deserialize(key, found[0], found[1])

    # -- storage ---------------------------------------------------------
    def set(self, key, value, expire=0, noreply=None, flags=None):
        return self._stored(_plmc.SET, key, value, expire, noreply, flags)

    def set_many(self, values, expire=0, noreply=None, flags=None):
        if noreply is None:
            noreply = self.default_noreply
        # Every key and value checked before the first is stored, as
        # pymemcache builds the whole request before sending it.
        items = [(key, self._item(key, value, expire, flags))
                 for key, value in values.items()]
        failed = []
        for key, item in items:
            rc = self._store_checked(_plmc.SET, item, noreply)
            if rc != _plmc.STORED and not noreply:
                failed.append(key)
        return failed

    set_multi = set_many

    def add(self, key, value, expire=0, noreply=None, flags=None):
        return self._stored(_plmc.ADD, key, value, expire, noreply, flags)

    def replace(self, key, value, expire=0, noreply=None, flags=None):
        return self._stored(_plmc.REPLACE, key, value, expire, noreply,
                            flags)

    def append(self, key, value, expire=0, noreply=None, flags=None):
        return self._stored(_plmc.APPEND, key, value, expire, noreply,
                            flags)

    def prepend(self, key, value, expire=0, noreply=None, flags=None):
        return self._stored(_plmc.PREPEND, key, value, expire, noreply,
                            flags)

    def cas(self, key, value, cas, expire=0, noreply=False, flags=None):
        unique = _check_cas(cas)
        item = self._item(key, value, expire, flags)
        if unique >= 1 << 64:  # memcached's strtoull: out of range
            raise MemcacheClientError(b"bad command line format")
        rc = self._store_checked(_plmc.CAS, item, noreply, unique)
        if noreply:
            return True
        if rc == _plmc.NOT_FOUND:
            return None
        return rc == _plmc.STORED

    # -- retrieval -------------------------------------------------------
    def _get(self, key):
        k = self.check_key(key)
        try:
            _live()
            return _plmc.get(k)
        except PlmcError as e:
            if self.ignore_exc:
                return None
            if isinstance(e, StoreError):
                raise
            raise StoreError(e.args[0], "plmc store %s: get: %s"
                             % (_attached, e.args[1])) from None

    def get(self, key, default=None):
        found = self._get(key)
        return default if found is None else self._value(key, found)

    def gets(self, key, default=None, cas_default=None):
        found = self._get(key)
        if found is None:
            return default, cas_default
        return self._value(key, found), str(found[2]).encode("ascii")

    def _many(self, keys):
        if not keys:
            return []
        ks = [self.check_key(k) for k in keys]
        try:
            _live()
            return _plmc.get_many(ks)
        except PlmcError as e:
            if self.ignore_exc:
                return [None] * len(ks)
            if isinstance(e, StoreError):
                raise
            raise StoreError(e.args[0], "plmc store %s: get_many: %s"
                             % (_attached, e.args[1])) from None

    def get_many(self, keys):
        return {key: self._value(key, f)
                for key, f in zip(keys, self._many(keys)) if f is not None}

    get_multi = get_many

    def gets_many(self, keys):
        return {key: (self._value(key, f), str(f[2]).encode("ascii"))
                for key, f in zip(keys, self._many(keys)) if f is not None}

    # -- the rest --------------------------------------------------------
    def delete(self, key, noreply=None):
        if noreply is None:
            noreply = self.default_noreply
        k = self.check_key(key)
        _live()
        rc = _plmc.delete(k)
        if rc < 0:
            _fail(rc, "plmc store %s: delete" % _attached)
        return True if noreply else rc == _plmc.DELETED

    def delete_many(self, keys, noreply=None):
        for key in keys:
            self.delete(key, noreply)
        return True

    delete_multi = delete_many

    def _arith(self, key, value, noreply, decr):
        k = self.check_key(key)
        _check_integer(value, "value")
        if value < 0 or value >= 1 << 64:
            raise MemcacheClientError(b"invalid numeric delta argument")
        _live()
        rc, result = _plmc.arith(k, value, decr)
        if rc == _plmc.E_NONNUMERIC:
            if noreply:
                return None
            raise MemcacheClientError(
                b"cannot increment or decrement non-numeric value")
        if rc < 0:
            _fail(rc, "plmc store %s: %s" % (_attached,
                                              "decr" if decr else "incr"))
        if noreply or rc == _plmc.NOT_FOUND:
            return None
        return result

    def incr(self, key, value, noreply=False):
        return self._arith(key, value, noreply, False)

    def decr(self, key, value, noreply=False):
        return self._arith(key, value, noreply, True)

    def touch(self, key, expire=0, noreply=None):
        if noreply is None:
            noreply = self.default_noreply
        k = self.check_key(key)
        exptime = _exptime(expire, "expire", b"invalid exptime argument")
        _live()
        rc = _plmc.touch(k, exptime)
        if rc < 0:
            _fail(rc, "plmc store %s: touch" % _attached)
        return True if noreply else rc == _plmc.TOUCHED

    def flush_all(self, delay=0, noreply=None):
        if noreply is None:
            noreply = self.default_noreply
        delay = _exptime(delay, "delay", b"invalid exptime argument")
        _live()
        rc = _plmc.flush_all(delay)
        if rc < 0:
            _fail(rc, "plmc store %s: flush_all" % _attached)
        return True

    def stats(self, *args):
        """memcached's general stats of the store, bytes names to ints
        (pymemcache's form), every key plmcd's "stats" gives and in its
        order; arguments (stats groups) are not offered."""
        if args:
            raise MemcacheClientError(b"stats groups are not offered by "
                                      b"plmc.Client; use plctl stats")
        _live()
        st = _plmc.stats()
        return {k.encode("ascii"): v for k, v in _general_stats(st)}

    def cache_memlimit(self, memlimit):
        """memcached's cache_memlimit, as plmcd answers it: a store's size
        is fixed when it is made, so only the size it has is accepted,
        as its item memory (limit_maxbytes) or as the size it was made
        with (plctl create --size); memcached's ERROR (pymemcache's
        MemcacheUnknownCommandError) for what is no unsigned 32-bit
        number."""
        _check_integer(memlimit, "memlimit")
        if not 0 <= memlimit <= 0xffffffff:
            raise MemcacheUnknownCommandError(b"cache_memlimit")
        if memlimit < 8:
            raise MemcacheServerError(b"MEMLIMIT_TOO_SMALL cannot set "
                                      b"maxbytes to less than 8m")
        if memlimit > 1000000000:
            raise MemcacheServerError(b"MEMLIMIT_ADJUST_FAILED input value "
                                      b"is megabytes not bytes")
        _live()
        items = _plmc.stats()["limit_maxbytes"]
        if memlimit << 20 not in (items, _plmc.store_size()):
            raise MemcacheServerError(b"MEMLIMIT_ADJUST_FAILED out of "
                                      b"bounds or unable to adjust")
        return True

    def version(self):
        _live()
        return _plmc.version().encode("ascii")

    def close(self):
        """Nothing to close: the store stays attached for the process
        (other Clients of it share the attachment); the process's exit
        detaches it (libpl's exit handler), counted as no death."""

    quit = close


from plmc.ketama import KetamaClient  # noqa: E402  (uses Client)
