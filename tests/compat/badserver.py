#!/usr/bin/python3
"""tests/compat/badserver.py - a memcached that answers wrongly on purpose.

    badserver.py PORT

Each reply depends on the key asked for, so one client run meets every
kind of bad answer (tests/compat/extra.c): junk lines, a VALUE too large
to be true or with an over-long key, a value cut short by a close, a
counter reply that is not a number or overflows, the two SERVER_ERRORs
libmemcached names, a line longer than any buffer, and silence. Anything
else gets a well-formed answer, so the client can show it recovered.
"""
import socket
import sys
import threading


def handle(conn):
    f = conn.makefile("rb")
    try:
        while True:
            line = f.readline()
            if not line:
                return
            words = line.split()
            if not words:
                continue
            cmd, key = words[0], words[1] if len(words) > 1 else b""
            if cmd in (b"set", b"add", b"replace", b"append", b"prepend", b"cas"):
                f.read(int(words[4]) + 2)
                if key == b"nomem":
                    conn.sendall(b"SERVER_ERROR out of memory storing object\r\n")
                elif key == b"toobig":
                    conn.sendall(b"SERVER_ERROR object too large for cache\r\n")
                elif key == b"weird":
                    conn.sendall(b"SERVER_ERROR something else\r\n")
                else:
                    conn.sendall(b"STORED\r\n")
            elif cmd in (b"get", b"gets"):
                if key == b"junk":
                    conn.sendall(b"HELLO THERE\r\n")
                elif key == b"huge":
                    conn.sendall(b"VALUE huge 0 99999999999\r\n")
                elif key == b"short":
                    conn.sendall(b"VALUE short 0 10\r\nabc")
                    return
                elif key == b"longkey":
                    conn.sendall(b"VALUE " + b"x" * 300 + b" 0 1\r\nx\r\nEND\r\n")
                elif key == b"endless":
                    conn.sendall(b"y" * 70000)
                elif key == b"silent":
                    continue
                elif key == b"good":
                    conn.sendall(b"VALUE good 5 2\r\nok\r\nEND\r\n")
                else:
                    conn.sendall(b"END\r\n")
            elif cmd in (b"incr", b"decr"):
                if key == b"nan":
                    conn.sendall(b"abc\r\n")
                elif key == b"over":
                    conn.sendall(b"99999999999999999999999\r\n")
                else:
                    conn.sendall(b"7\r\n")
            elif cmd == b"quit":
                return
            else:
                conn.sendall(b"ERROR\r\n")
    except (OSError, ValueError, IndexError):
        pass
    finally:
        conn.close()


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
