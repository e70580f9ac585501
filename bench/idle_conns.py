#!/usr/bin/env python3
"""Opens N keep-alive connections to 127.0.0.1:PORT, sends one request on
each, reads the answer, and holds them all open until stdin closes.

    python3 bench/idle_conns.py 10000 8888

Prints one line `holding N` once every connection has been answered.
Loopback only: the address is fixed to 127.0.0.1.
"""
import resource
import socket
import sys


def main() -> None:
    count, port = int(sys.argv[1]), int(sys.argv[2])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 100), hard))
    request = b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
    conns = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        conns.append(s)
    for s in conns:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise SystemExit("server closed a connection")
            data += chunk
    print(f"holding {len(conns)}", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
