#!/usr/bin/env python3
"""Python's standard-library HTTP server answering `Hello, World!\\n`, the
reference point for "what does a simple threaded server cost?".

    python3 bench/hello_server.py 8890

`http.server.ThreadingHTTPServer` runs one thread per connection;
`protocol_version = "HTTP/1.1"` turns on keep-alive. Loopback only.
"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = b"Hello, World!\n"


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # The head and the body go out in two writes; with Nagle's algorithm
    # on, the second waits for the client's delayed ACK (up to 40 ms) on
    # every keep-alive request. Our parts and hyper set TCP_NODELAY too.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(BODY)))
        if self.headers.get("Connection", "").lower() == "close":
            # Says so in the response too, so the client does not try
            # to reuse the connection (this also sets close_connection).
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY)


class Server(ThreadingHTTPServer):
    # The default listen backlog is 5: a burst of connects would wait
    # for SYN retries. Part 3 asks for 1024, so this does too.
    request_queue_size = 1024
    daemon_threads = True


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8890
    with Server(("127.0.0.1", port), Hello) as server:
        print(f"Serving HTTP on http://127.0.0.1:{port}/ ...", flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main()
