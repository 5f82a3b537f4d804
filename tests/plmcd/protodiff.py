#!/usr/bin/env python3
# tests/plmcd/protodiff.py PLMCD MEMCACHED DIR - fixed sessions sent to
# Debian's memcached 1.6.18 and to plmcd, replies compared byte for byte
# (CAS values and the version aside): what memcached's proto_text.c and
# proto_bin.c do with noreply and with a word too many, binary add with
# a CAS, flush_all's time rules, multi-gets with control-byte and
# over-long keys, unknown binary opcodes (verbosity) and the bytes
# memcached drops after them, -F and -C; then plmcd at SIGUSR1 and
# SIGUSR2. Servers on unix sockets in DIR. Prints a PASS or FAIL line a
# case and "protodiff cases: N passed, N failed".
import os, re, signal, socket, struct, subprocess, sys, time

PLMCD, MEMCACHED, DIR = sys.argv[1:4]
USER = ['-u', 'root'] if os.getuid() == 0 else []
passed = failed = 0
K251 = b'k' * 251


def result(ok, name, detail=''):
    global passed, failed
    if ok:
        passed += 1
        print('PASS %s' % name)
    else:
        failed += 1
        print('FAIL %s%s' % (name, detail))


def start(binary, name, extra):
    path = os.path.join(DIR, 'pd-%s.sock' % name)
    args = [binary] + USER + ['-s', path, '-m', '64'] + extra
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                         stderr=open(path + '.log', 'w'))
    for _ in range(200):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            s.close()
            return p, path
        except OSError:
            time.sleep(0.05)
    raise SystemExit('FAIL %s did not start: %s' % (binary, open(path + '.log').read()))


def conn(path):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.settimeout(5)
    return s


def read_until(s, done):
    out = b''
    t0 = time.time()
    while not done(out) and time.time() - t0 < 5:
        try:
            b = s.recv(1 << 20)
        except socket.timeout:
            break
        if not b:
            return out + b'<EOF>'
        out += b
    return out


def text(path, data):
    """Send data and then mn: the replies up to MN (not included)."""
    s = conn(path)
    s.sendall(data + b'mn\r\n')
    out = read_until(s, lambda o: o.endswith(b'MN\r\n'))
    s.close()
    return out[:-4] if out.endswith(b'MN\r\n') else out + b'<no MN>'


def norm(r, keep_cas=False):
    r = re.sub(rb'VERSION [^\r]*', b'VERSION', r)
    if b'STAT ' in r:  # stats values differ by design: the answer's shape
        r = re.sub(rb'STAT [^\r]*\r\n', b'', r)
    if not keep_cas:
        r = re.sub(rb'(VALUE \S+ \d+ \d+) \d+', rb'\1 CAS', r)
        r = re.sub(rb' c\d+', b' cN', r)
    return r


def bin_req(op, key=b'', extras=b'', val=b'', cas=0):
    return struct.pack('>BBHBBHIIQ', 0x80, op, len(key), len(extras), 0, 0,
                       len(key) + len(extras) + len(val), 7, cas) + extras + key + val


def bin_parse(b):
    out, i = [], 0
    while i + 24 <= len(b):
        _, op, kl, el, _, st, bl, _, cas = struct.unpack('>BBHBBHIIQ', b[i:i + 24])
        out.append((op, st, b[i + 24 + el + kl:i + 24 + bl], cas != 0))
        i += 24 + bl
    return out


def binary(path, data):
    """Send requests and a NOOP: the parsed replies before the NOOP's."""
    s = conn(path)
    s.sendall(data + bin_req(0x0a))
    out = read_until(s, lambda o: any(r[0] == 0x0a for r in bin_parse(o)))
    s.close()
    return [r for r in bin_parse(out) if r[0] != 0x0a]


def compare(name, paths, data, keep_cas=False, is_bin=False):
    if is_bin:
        r = [binary(p, data) for p in paths]
    else:
        r = [norm(text(p, data), keep_cas) for p in paths]
    result(r[0] == r[1], name,
           '' if r[0] == r[1] else '\n    memcached %r\n    plmcd     %r' % (r[0], r[1]))


SETUP = b'set n 0 0 1\r\n5\r\nset a 0 0 1\r\nx\r\n'
# 1. noreply silences every reply once the word count is right
NOREPLY = [
    (b'set a 0 0 1 noreply\r\nxx\r\n', 'bad data chunk, noreply'),
    (b'set a 0 0 1\r\nxx\r\n', 'bad data chunk answered without noreply (control)'),
    (b'set ' + K251 + b' 0 0 1 noreply\r\nx\r\n', 'too-long key, noreply (its data read as a command)'),
    (b'set a 0 0 -1 noreply\r\n', 'negative length, noreply'),
    (b'set a abc 0 1 noreply\r\nx\r\n', 'bad flags, noreply'),
    (b'set a 0 abc 1 noreply\r\nx\r\n', 'bad exptime, noreply'),
    (b'set a 0 0 abc noreply\r\nx\r\n', 'bad length, noreply'),
    (b'cas a 0 0 1 abc noreply\r\nx\r\n', 'bad cas unique, noreply'),
    (b'set a 0 0 noreply\r\nx\r\n', 'noreply where the length goes'),
    (b'set a 0 0 1 noreply\r\nx\r\nget a\r\n', 'set noreply stores silently (control)'),
    (b'set a 0 0 2000000 noreply\r\n' + b'x' * 2000000 + b'\r\nget a\r\n', 'too large, noreply: data dropped'),
    (b'incr a abc noreply\r\nincr ' + K251 + b' 1 noreply\r\ndecr n noreply\r\n', 'incr/decr errors, noreply'),
    (b'touch a abc noreply\r\ntouch ' + K251 + b' 1 noreply\r\n', 'touch errors, noreply'),
    (b'delete ' + K251 + b' noreply\r\ndelete a foo noreply\r\n', 'delete errors, noreply'),
    (b'delete noreply\r\n', 'delete noreply: the key "noreply", answered'),
    (b'verbosity abc noreply\r\nverbosity noreply\r\n', 'verbosity errors, noreply'),
    (b'flush_all abc noreply\r\nflush_all noreply noreply\r\n', 'flush_all exptime errors, noreply'),
    (b'set a 0 0 1 2 noreply\r\nx\r\nincr a 1 2 noreply\r\n', 'a wrong word count is ERROR despite noreply'),
]
# 2. a last word that is not noreply is ignored
EXTRA = [
    (b'set t1 0 0 1 foo\r\nx\r\nget t1\r\n', 'set k 0 0 1 foo'),
    (b'add t2 0 0 1 foo\r\nx\r\nadd t2 0 0 1 foo\r\ny\r\n', 'add ... foo'),
    (b'replace t1 0 0 1 foo\r\ny\r\nappend t1 0 0 1 foo\r\nz\r\nprepend t1 0 0 1 foo\r\nw\r\nget t1\r\n',
     'replace/append/prepend ... foo'),
    (b'gets a\r\ncas a 0 0 1 1 foo\r\nx\r\ncas nokey 0 0 1 1 foo\r\nx\r\n', 'cas ... foo'),
    (b'incr n 1 foo\r\ndecr n 2 foo\r\ntouch a 100 foo\r\ntouch nokey 1 foo\r\n', 'incr/decr/touch ... foo'),
    (b'verbosity 0 foo\r\n', 'verbosity 0 foo'),
    (b'delete nokey 0 foo\r\ndelete nokey foo\r\n', 'delete k 0 foo, delete k foo: usage error'),
    (b'set a 0 0 1 noreply foo\r\nx\r\n', 'noreply then a word: ERROR'),
    (b'set t3 0 0 1\r\nx\r\nflush_all 0 foo\r\nget t3\r\n', 'flush_all 0 foo flushes'),
    (b'flush_all noreply foo\r\nflush_all a b c\r\n', 'flush_all noreply foo; four words: ERROR'),
    (b'stats items foo\r\n', 'stats items foo'),
    (b'stats sizes foo\r\n', 'stats sizes foo'),
    (b'stats conns foo\r\n', 'stats conns foo'),
    (b'stats slabs foo\r\nstats settings foo\r\n', 'stats slabs|settings foo'),
    (b'stats items noreply\r\nstats noreply\r\nstats bogus foo\r\n', 'stats items noreply answers; unknown: ERROR'),
    (b'set noreply 0 0 1\r\nz\r\nget a noreply\r\ngets a noreply\r\ngat 0 a noreply\r\ndelete noreply\r\n',
     'get|gets|gat a noreply: "noreply" is a key'),
]
# 5. a multi-get's keys: memcached's text protocol splits at spaces
# only, so a key with a control byte is a key like any other; a key
# past 250 bytes is that line alone
GETKEYS = [
    (b'get a c\x01d n\r\n', 'get with a control byte in a middle key: values and END'),
    (b'set c\x01e 5 0 2\r\nhi\r\nget a c\x01e n\r\nappend c\x01e 0 0 1\r\n!\r\n'
     b'prepend c\x01e 0 0 1\r\n<\r\ngets c\x01e\r\nadd c\x01e 0 0 1\r\nx\r\n'
     b'replace c\x01e 7 0 1\r\ny\r\nget c\x01e\r\nreplace c\x01f 0 0 1\r\nx\r\n',
     'text storage commands and get on a key with a control byte'),
    (b'set c\x02 0 0 1\r\n5\r\nincr c\x02 3\r\ndecr c\x02 10\r\ntouch c\x02 100\r\n'
     b'gat 0 c\x02\r\ncas c\x02 0 0 1 1\r\nx\r\ncas c\x7f 0 0 1 1\r\nx\r\n'
     b'delete c\x02\r\nget c\x02\r\ndelete c\x02\r\nincr c\x02 1\r\ntouch c\x02 1\r\n',
     'incr, decr, touch, gat, cas, delete on a key with a control byte'),
    (b'gets a \x7f n\r\ngat 0 c\x02 a\r\n', 'gets with DEL as a key, gat with a control byte'),
    (b'get a n ' + K251 + b' a\r\n', 'get with a key past 250 bytes after values: the error alone'),
    (b'get ' + b'a ' * 30 + K251 + b'\r\nget n\r\n', 'the same past 24 keys, then the next command'),
]
# 4. flush_all's times: absolute times in the past flush nothing
FLUSH = [
    (b'set f1 0 0 1\r\nx\r\nflush_all 3000000\r\nflush_all 2592001\r\nget f1\r\n', 'flush_all 3000000 and 2592001 keep items'),
    (b'set f2 0 0 1\r\nx\r\nflush_all -1\r\nget f2\r\n', 'flush_all -1 flushes now (control)'),
]


def main():
    global passed
    mc, mcp = start(MEMCACHED, 'mc', [])
    pl, plp = start(PLMCD, 'pl', ['-t', '2'])
    procs = [mc, pl]
    paths = (mcp, plp)
    try:
        for p in paths:
            text(p, SETUP)
        for data, name in NOREPLY + EXTRA + GETKEYS + FLUSH:
            for p in paths:
                text(p, SETUP)
            compare(name, paths, data)
        # a pending delayed flush dropped by a time in the past
        for p in paths:
            text(p, b'set f3 0 0 1\r\nx\r\nflush_all 2\r\nflush_all 2592001\r\n')
        time.sleep(3.2)
        compare('flush_all 2 then flush_all 2592001: the delay dropped', paths, b'get f3\r\n')
        when = int(time.time()) + 2
        for p in paths:
            text(p, b'set f4 0 0 1\r\nx\r\nflush_all %d\r\n' % when)
        time.sleep(3.5)
        compare('flush_all at now + 2 (absolute) flushes then (control)', paths, b'get f4\r\n')
        # 3. binary add with a CAS is a cas; 4. binary flush expirations
        se = struct.pack('>II', 0, 0)
        for exp in (0xffffffff, 0x80000000, 3000000):
            compare('binary flush expiration %#x keeps items' % exp, paths,
                    bin_req(1, b'bf', se, b'v') + bin_req(8, b'', struct.pack('>I', exp)) + bin_req(0, b'bf'),
                    is_bin=True)
        compare('binary flush expiration 0 flushes (control)', paths,
                bin_req(1, b'bf', se, b'v') + bin_req(8, b'', struct.pack('>I', 0)) + bin_req(0, b'bf'),
                is_bin=True)
        for p in paths:
            binary(p, bin_req(1, b'ba', se, b'old'))
        compare('binary add with a CAS: Not found on a miss', paths,
                bin_req(2, b'bm', se, b'v', cas=5) + bin_req(0, b'bm'), is_bin=True)
        compare('binary add with a wrong CAS: exists', paths,
                bin_req(2, b'ba', se, b'new', cas=1) + bin_req(0, b'ba'), is_bin=True)
        right = [struct.unpack('>Q', read_cas(p))[0] for p in paths]
        r = [binary(p, bin_req(2, b'ba', se, b'new', cas=c) + bin_req(0, b'ba'))
             for p, c in zip(paths, right)]
        result(r[0] == r[1] and r[1] and r[1][-1][2] == b'new',
               'binary add with the right CAS replaces the value',
               '' if r[0] == r[1] else '\n    memcached %r\n    plmcd     %r' % tuple(r))
        compare('binary add without a CAS on an existing key: exists (control)', paths,
                bin_req(2, b'ba', se, b'v2') + bin_req(0, b'ba'), is_bin=True)
        # 6. an opcode memcached does not serve: Unknown command, and
        # bodylen bytes dropped after its extras and key - verbosity's
        # 4 bytes of extras take 4 bytes of what follows (here filler)
        compare('binary verbosity: Unknown command, 4 bytes after it dropped', paths,
                bin_req(0x1b, b'', struct.pack('>I', 1)) + b'\0' * 4 + bin_req(0, b'bf'),
                is_bin=True)
        compare('binary unknown opcode 0x30 with a key: the key length dropped again', paths,
                bin_req(0x30, b'ab') + b'\0' * 2 + bin_req(0, b'bf'), is_bin=True)
        compare('binary unknown opcode without extras or key: the body dropped (control)',
                paths, bin_req(0x30, b'', b'', b'xyz') + bin_req(0, b'bf'), is_bin=True)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    flags_cases()
    signals()


def read_cas(path):
    s = conn(path)
    s.sendall(bin_req(0, b'ba'))
    out = read_until(s, lambda o: len(bin_parse(o)) > 0)
    s.close()
    return out[16:24]


def flags_cases():
    # -F: flush_all refused, silently under noreply; the word count first
    mc, mcp = start(MEMCACHED, 'mcF', ['-F'])
    pl, plp = start(PLMCD, 'plF', ['-F', '-t', '1'])
    try:
        compare('-F: flush_all 0 noreply and flush_all noreply silent', (mcp, plp),
                b'flush_all 0 noreply\r\nflush_all noreply\r\n')
        compare('-F: flush_all refused (control); four words ERROR', (mcp, plp),
                b'flush_all\r\nflush_all 0 foo\r\nflush_all a b c\r\n')
    finally:
        for p in (mc, pl):
            p.terminate()
            p.wait()
    # -C: no CAS anywhere, meta's c flag included
    mc, mcp = start(MEMCACHED, 'mcC', ['-C'])
    pl, plp = start(PLMCD, 'plC', ['-C', '-t', '1'])
    try:
        compare('-C: mg/ms/ma c flags and gets say 0', (mcp, plp),
                b'set a 0 0 1\r\n1\r\nmg a c v\r\nms b 1 c\r\ny\r\nma a c\r\ngets a b\r\n',
                keep_cas=True)
    finally:
        for p in (mc, pl):
            p.terminate()
            p.wait()


def signals():
    # memcached 1.6.18: SIGUSR1 is a graceful stop (exit 0). plmcd stops
    # so too, removing its socket and pid file, and ignores SIGUSR2.
    mc, mcp = start(MEMCACHED, 'mcS', [])
    mc.send_signal(signal.SIGUSR1)
    try:
        rc = mc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        mc.kill()
        rc = 'still running'
    result(rc == 0, 'memcached: SIGUSR1 stops it, exit 0 (the reference)', ' (%s)' % rc)
    pid = os.path.join(DIR, 'pd-plS.pid')
    pl, plp = start(PLMCD, 'plS', ['-t', '1', '-P', pid])
    try:
        pl.send_signal(signal.SIGUSR2)
        time.sleep(0.3)
        alive = pl.poll() is None and text(plp, b'version\r\n').startswith(b'VERSION')
        result(alive, 'plmcd: SIGUSR2 ignored, still serving')
        pl.send_signal(signal.SIGUSR1)
        try:
            rc = pl.wait(timeout=10)
        except subprocess.TimeoutExpired:
            rc = 'still running'
        result(rc == 0 and not os.path.exists(plp) and not os.path.exists(pid),
               'plmcd: SIGUSR1 stops it, exit 0, socket and pid file removed', ' (%s)' % rc)
    finally:
        if pl.poll() is None:
            pl.kill()
            pl.wait()


main()
print('protodiff cases: %d passed, %d failed' % (passed, failed))
sys.exit(1 if failed else 0)
