"""Local stand-ins for networks that misbehave, for the hub tests: they bind to 127.0.0.1 only.

- ``silent``: accepts connections and never answers (a firewall that accepts and drops);
- ``reset``: accepts, reads the request, and resets the connection;
- ``portal``: answers every request with a redirect to a login page (a captive portal);
- ``html``: answers 200 with an HTML page (a portal or proxy that serves its own page);
- ``hub``: answers the probe's request with the hub's JSON record of the probe model.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from course_utils.session import PROBE_REPO


def _answer(kind: str) -> bytes:
    if kind == "portal":
        return b"HTTP/1.1 302 Found\r\nLocation: http://portal.example/login\r\nContent-Length: 0\r\n\r\n"
    if kind == "html":
        body = b"<html><body>Welcome to the classroom wifi. Accept the terms to continue.</body></html>"
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    body = json.dumps({"id": PROBE_REPO, "modelId": PROBE_REPO, "sha": "0" * 40}).encode()
    return b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


@contextmanager
def misbehaving_server(kind: str) -> Iterator[str]:
    """Serve ``kind`` on a free loopback port; yield its base URL (for ``HF_ENDPOINT``)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            if kind == "silent":
                held.append(conn)  # keep it open, say nothing
                continue
            try:
                conn.recv(65536)
                if kind == "reset":
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                else:
                    conn.sendall(_answer(kind))
            except OSError:
                pass
            finally:
                conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{srv.getsockname()[1]}"
    finally:
        stop.set()
        srv.close()
        for conn in held:
            conn.close()


if __name__ == "__main__":  # serve one kind until killed: python tests/support/hub_servers.py silent
    import sys
    import time

    with misbehaving_server(sys.argv[1]) as url:
        print(url, flush=True)
        while True:
            time.sleep(3600)
