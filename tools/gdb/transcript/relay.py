#!/usr/bin/env python3
"""relay.py UPSTREAM_PORT LISTEN_PORT: one TCP connection to UPSTREAM (Bochs'
COM2 socket server, which accepts a single client for its whole run) kept
open, and GDB clients accepted one after another on LISTEN_PORT, each relayed
to it until it closes.  So a second GDB can attach to a guest in Bochs after
the first disconnected (long.elf's mode switch).  Bytes from upstream while
no client is attached are dropped (the stub sends nothing unasked).  Ends
when upstream closes."""
import select
import socket
import sys

up = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[2])))
ls.listen(1)
print("relay: listening", flush=True)
cl = None
while True:
    socks = [up, cl if cl else ls]
    r, _, _ = select.select(socks, [], [])
    if up in r:
        data = up.recv(65536)
        if not data:
            break
        if cl:
            cl.sendall(data)
    if cl and cl in r:
        data = cl.recv(65536)
        if data:
            up.sendall(data)
        else:
            cl.close()
            cl = None
    elif not cl and ls in r:
        cl, _ = ls.accept()
        cl.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
