#!/bin/sh
# vm_python - Python on the real module (installed as /vm/vm_python; the
# suite runs it like the other /vm/vm_* programs).
#
# Python imports extension modules with dlopen, so a Python client loads
# code after attach as a matter of course: the plmc package's own
# extension before, Debian's _json and _contextvars after. The module must
# let a clean, write-denied file be mapped executable after attach, and
# refuse one whose text holds WRPKRU (evil.c) while the process goes
# on using the store. The control: the same bad module imports and runs in
# a process that is not attached. The tree comes from scripts/vm-pytree.sh.
PY=/usr/bin/python3
if [ ! -x "$PY" ]; then
	echo "FAIL python.tree: no $PY in the test host"
	exit 1
fi
cat >/tmp/vm_python.py <<'PYEOF'
import sys
sys.path.insert(0, "/vm/py")
mode = sys.argv[1]


def say(ok, name, why=""):
    print(("PASS " if ok else "FAIL ") + "python." + name +
          ((": " if not ok else " (") + why + ("" if not ok else ")")
           if why else ""))
    sys.stdout.flush()


if mode == "control":
    import evil
    say(evil.hello() == "evil", "evil_loads_unattached",
        "the WRPKRU module is a working extension outside an attachment")
    sys.exit(0)

import plmc
c = plmc.Client("vm-python", create=8 << 20)
c.set("k", b"v1")
be = plmc._plmc.backend()
say(be == "kmod" and c.get("k") == b"v1", "attach_kmod",
    "backend %s, value %r" % (be, c.get("k")))
try:
    import _json
    import _contextvars
    ok = _json.encode_basestring_ascii("x") == '"x"'
    ok = ok and _contextvars.ContextVar("v").get(7) == 7
    c.set("k", b"v2")
    say(ok and c.get("k") == b"v2", "dlopen_after_attach",
        "_json and _contextvars imported after attach, store in use")
except ImportError as e:
    say(False, "dlopen_after_attach", "import refused: %s" % e)
try:
    import evil
    say(False, "wrpkru_module_refused",
        "a module holding WRPKRU imported after attach: %s" % evil.hello())
except ImportError as e:
    c.set("k", b"v3")
    say(c.get("k") == b"v3", "wrpkru_module_refused",
        "ImportError (%s); the store still serves" % str(e)[:60])
PYEOF
"$PY" -I -S /tmp/vm_python.py control
"$PY" -I -S /tmp/vm_python.py attached
