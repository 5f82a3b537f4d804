# SPDX-License-Identifier: MIT
"""KetamaClient: pymemcache's Client API over several servers.

    c = plmc.KetamaClient(["plmc:cache@10.0.0.1:11211", "10.0.0.2:11211",
                           "/run/plmc.sock"])

Each server is a string in libmemcached's syntax:

    plmc:NAME              this host's plmc store NAME, through the gate
    plmc:NAME@HOST:PORT    the same store, placed on the ring as HOST:PORT
                           (the address plmcd serves it at to other hosts,
                           so every host computes the same placement)
    HOST[:PORT]            a memcached or plmcd over TCP (port 11211)
    /PATH, unix:/PATH      ... over a Unix socket
    ...and "/?WEIGHT" after any of them, a ketama weight

or a (HOST, PORT) tuple. Keys go where libpl/memcached puts them (the
Ring of plmc._plmc is that library's ketama continuum built from the
same servers and libmemcached's MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED), so
C programs linked with plmc-memcached, programs using Debian's
libmemcached with the same servers and that behavior, and this client
all agree on every key. config= takes a whole libmemcached configuration
string instead, used as it is (--SERVER=..., --SEGMENT=...,
--DISTRIBUTION=..., --HASH=...).

The store is reached with plmc.Client, remote nodes with
pymemcache.client.base.Client (python3-pymemcache); other keyword
arguments go to both.
"""

from plmc import _ItemAccess, _plmc


def _spec(server):
    if isinstance(server, (tuple, list)):
        host, port = server
        if ":" in host:  # IPv6
            host = "[%s]" % host
        return "%s:%d" % (host, int(port))
    if not isinstance(server, str) or not server:
        raise ValueError("unknown server: %r" % (server,))
    if server.startswith("unix:"):
        server = server[5:]
    if any(c in server for c in " \"\t"):
        raise ValueError("server has a space or a quote: %r" % (server,))
    return server


def config_string(servers):
    """The libmemcached configuration string of a server list."""
    return " ".join("--SERVER=" + _spec(s) for s in servers)


class KetamaClient(_ItemAccess):
    """pymemcache's Client methods over a ketama ring of servers."""

    def __init__(self, servers=(), config=None, **kwargs):
        if config is None:
            if not servers:
                raise ValueError("KetamaClient needs at least one server")
            # The servers, then libmemcached's KETAMA_WEIGHTED behavior
            # (memcached_behavior_set(m, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED,
            # 1)): MD5, 160 points per server at equal weights.
            self.config = config_string(servers)
            self.ring = _plmc.Ring(self.config, ketama=True)
        else:
            self.config = config
            self.ring = _plmc.Ring(config)
        self._kwargs = kwargs
        self.clients = [self._client(*s) for s in self.ring.servers()]
        if not self.clients:
            raise ValueError("no servers in %r" % config)
        self._allow_unicode = kwargs.get("allow_unicode_keys", False)
        self._encoding = kwargs.get("encoding", "ascii")

    def _client(self, kind, name, port, weight):
        import plmc
        if kind == "segment":
            return plmc.Client(name, **self._kwargs)
        from pymemcache.client.base import Client as Remote
        kw = {k: v for k, v in self._kwargs.items()
              if k not in ("use", "create", "mode")}  # plmc.Client's own
        return Remote(name if kind == "unix" else (name, port), **kw)

    def _index(self, key):
        # The key as the node sends it, without a key_prefix: libmemcached
        # hashes the key its caller gave.
        import plmc
        k = plmc._check_key(key, self._allow_unicode, b"")
        return self.ring.index(k)

    def client_for(self, key):
        """The client of the server that owns key."""
        return self.clients[self._index(key)]

    def _groups(self, keys):
        groups = {}
        for key in keys:
            groups.setdefault(self._index(key), []).append(key)
        return groups

    # -- one key: the owner's client -------------------------------------
    def set(self, key, value, expire=0, noreply=None, flags=None):
        return self.client_for(key).set(key, value, expire, noreply, flags)

    def add(self, key, value, expire=0, noreply=None, flags=None):
        return self.client_for(key).add(key, value, expire, noreply, flags)

    def replace(self, key, value, expire=0, noreply=None, flags=None):
        return self.client_for(key).replace(key, value, expire, noreply,
                                            flags)

    def append(self, key, value, expire=0, noreply=None, flags=None):
        return self.client_for(key).append(key, value, expire, noreply,
                                           flags)

    def prepend(self, key, value, expire=0, noreply=None, flags=None):
        return self.client_for(key).prepend(key, value, expire, noreply,
                                            flags)

    def cas(self, key, value, cas, expire=0, noreply=False, flags=None):
        return self.client_for(key).cas(key, value, cas, expire, noreply,
                                        flags)

    def get(self, key, default=None):
        return self.client_for(key).get(key, default)

    def gets(self, key, default=None, cas_default=None):
        return self.client_for(key).gets(key, default, cas_default)

    def delete(self, key, noreply=None):
        return self.client_for(key).delete(key, noreply)

    def incr(self, key, value, noreply=False):
        return self.client_for(key).incr(key, value, noreply)

    def decr(self, key, value, noreply=False):
        return self.client_for(key).decr(key, value, noreply)

    def touch(self, key, expire=0, noreply=None):
        return self.client_for(key).touch(key, expire, noreply)

    # -- many keys: one call per server -----------------------------------
    def get_many(self, keys):
        out = {}
        for i, ks in self._groups(keys).items():
            out.update(self.clients[i].get_many(ks))
        return out

    get_multi = get_many

    def gets_many(self, keys):
        out = {}
        for i, ks in self._groups(keys).items():
            out.update(self.clients[i].gets_many(ks))
        return out

    def set_many(self, values, expire=0, noreply=None, flags=None):
        failed = []
        for i, ks in self._groups(list(values)).items():
            failed += self.clients[i].set_many({k: values[k] for k in ks},
                                               expire, noreply, flags)
        return failed

    set_multi = set_many

    def delete_many(self, keys, noreply=None):
        for i, ks in self._groups(keys).items():
            self.clients[i].delete_many(ks, noreply)
        return True

    delete_multi = delete_many

    # -- every server ----------------------------------------------------
    def flush_all(self, delay=0, noreply=None):
        for c in self.clients:
            c.flush_all(delay, noreply)
        return True

    def stats(self, *args):
        """{server name: that server's stats}"""
        return {self._name(i): c.stats(*args)
                for i, c in enumerate(self.clients)}

    def _name(self, i):
        kind, name, port, _ = self.ring.servers()[i]
        return name if kind != "tcp" else "%s:%d" % (name, port)

    def close(self):
        for c in self.clients:
            c.close()

    quit = close
