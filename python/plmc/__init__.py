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

from plmc import _plmc

__all__ = ["Client", "KetamaClient", "PlmcError", "MemcacheError",
           "MemcacheClientError", "MemcacheServerError",
           "MemcacheIllegalInputError", "MemcacheUnknownCommandError",
           "MemcacheEmptyKeyError", "USE_AUTO", "USE_KMOD", "USE_NONE",
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


_attached = None  # the store this process attached through Client

# pymemcache's Client arguments about its socket: taken, and meaningless
# for a store reached by a call (ignore_exc is kept: a failed get is a
# miss).
_SOCKET_ARGS = {"connect_timeout", "timeout", "no_delay", "ignore_exc",
                "socket_module", "socket_keepalive", "tls_context"}


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
                 key_prefix=b"", default_noreply=True,
                 allow_unicode_keys=False, encoding="ascii",
                 use=USE_AUTO, create=None, mode=0o600, **ignored):
        # create: a size in bytes (whole MiB) to create the store with
        # when it does not exist; mode its permission bits.
        # **ignored: pymemcache's socket settings (timeouts, no_delay,
        # ignore_exc, ...), meaningless for a store reached by a call.
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
        unknown = set(ignored) - _SOCKET_ARGS
        if unknown:
            raise TypeError("plmc.Client: unexpected keyword argument(s) "
                            "%s" % ", ".join(sorted(unknown)))
        self.ignore_exc = bool(ignored.get("ignore_exc", False))
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
            try:
                _plmc.create(name, int(create), mode, use)
            except PlmcError as c:
                if c.args[0] != errno.EEXIST:  # another process won
                    raise PlmcError(c.args[0], "plmc store %s: create: %s"
                                    % (name, c.args[1])) from None
            _plmc.attach(name, use)
        _attached = name

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
        _check_integer(expire, "expire")
        k = self.check_key(key)
        data, data_flags = self._data(k, value, flags)
        rc = _plmc.store(cmd, k, data, data_flags, expire, cas)
        if rc >= 0:
            return rc
        if noreply:  # memcached's error reply is never read with noreply
            return _plmc.STORED
        if rc in _SERVER_ERRORS:
            raise MemcacheServerError(_SERVER_ERRORS[rc])
        raise PlmcError(rc, "store: error %d" % rc)

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
        failed = []
        for key, value in values.items():
            rc = self._store(_plmc.SET, key, value, expire, noreply, flags)
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
        rc = self._store(_plmc.CAS, key, value, expire, noreply, flags,
                         unique)
        if noreply:
            return True
        if rc == _plmc.NOT_FOUND:
            return None
        return rc == _plmc.STORED

    # -- retrieval -------------------------------------------------------
    def _get(self, key):
        k = self.check_key(key)
        try:
            return _plmc.get(k)
        except PlmcError:
            if self.ignore_exc:
                return None
            raise

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
        return _plmc.get_many([self.check_key(k) for k in keys])

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
        rc = _plmc.delete(self.check_key(key))
        if rc < 0:
            raise PlmcError(rc, "delete: error %d" % rc)
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
        rc, result = _plmc.arith(k, value, decr)
        if rc == _plmc.E_NONNUMERIC:
            if noreply:
                return None
            raise MemcacheClientError(
                b"cannot increment or decrement non-numeric value")
        if rc < 0:
            raise PlmcError(rc, "incr/decr: error %d" % rc)
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
        _check_integer(expire, "expire")
        rc = _plmc.touch(k, expire)
        if rc < 0:
            raise PlmcError(rc, "touch: error %d" % rc)
        return True if noreply else rc == _plmc.TOUCHED

    def flush_all(self, delay=0, noreply=None):
        if noreply is None:
            noreply = self.default_noreply
        _check_integer(delay, "delay")
        _plmc.flush_all(delay)
        return True

    def stats(self, *args):
        """memcached's general stats of the store, bytes names to ints
        (pymemcache's form); arguments (stats groups) are not offered."""
        if args:
            raise MemcacheClientError(b"stats groups are not offered by "
                                      b"plmc.Client; use plctl stats")
        out = {k.encode("ascii"): v for k, v in _plmc.stats().items()}
        out[b"version"] = _plmc.version().encode("ascii")
        out[b"backend"] = (_plmc.backend() or "").encode("ascii")
        return out

    def version(self):
        return _plmc.version().encode("ascii")

    def close(self):
        """Nothing to close: the store stays attached for the process."""

    quit = close


from plmc.ketama import KetamaClient  # noqa: E402  (uses Client)
