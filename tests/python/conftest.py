# SPDX-License-Identifier: MIT
"""Fixtures: memcached servers (Debian's) on a Unix socket or TCP, and a
fresh plmc store (backend none on a host without the module)."""
import os
import socket
import subprocess
import tempfile
import time

import pytest

import plmc

MEMCACHED = "/usr/bin/memcached"
STORE = "pytest-%d" % os.getpid()


def _wait(connect):
    for _ in range(200):
        try:
            connect().close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError("memcached did not come up")


def start_memcached(tmp, unix=False):
    """A memcached as root may need -u root; -m 64 like the store."""
    args = [MEMCACHED, "-m", "64", "-U", "0", "-u", "root"]
    if unix:
        path = os.path.join(tmp, "mc-%d.sock" % time.monotonic_ns())
        proc = subprocess.Popen(args + ["-s", path])
        _wait(lambda: _unix(path))
        return proc, path
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    proc = subprocess.Popen(args + ["-l", "127.0.0.1", "-p", str(port)])
    _wait(lambda: socket.create_connection(("127.0.0.1", port)))
    return proc, ("127.0.0.1", port)


def _unix(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    return s


@pytest.fixture(scope="session")
def tmpdir_s():
    with tempfile.TemporaryDirectory(prefix="plmc-py-") as d:
        yield d


@pytest.fixture(scope="session")
def memcached_unix(tmpdir_s):
    proc, path = start_memcached(tmpdir_s, unix=True)
    yield path
    proc.terminate()
    proc.wait()


@pytest.fixture(scope="session")
def memcached_tcp_pair(tmpdir_s):
    procs = [start_memcached(tmpdir_s) for _ in range(2)]
    yield [addr for _, addr in procs]
    for p, _ in procs:
        p.terminate()
        p.wait()


@pytest.fixture(scope="session")
def store():
    """The one store of this process (libpl attaches one per process)."""
    plmc.Client(STORE, create=64 << 20)
    yield STORE
    subprocess.run([os.environ.get("PLCTL", "plctl"), "destroy", STORE,
                    "--force"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
