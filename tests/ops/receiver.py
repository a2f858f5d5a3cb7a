"""A loopback HTTP receiver for delivery tests: answers with the codes it is given, in turn,
and records every request (path, headers, raw body)."""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    codes: list[int]
    requests: list[Received] = field(default_factory=list)


@contextlib.contextmanager
def loopback_receiver(*codes: int, default: int = 200):
    """``with loopback_receiver(500, 200) as r``: first request gets 500, then 200 (default)."""
    queue = list(codes)
    received: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            received.append(Received(self.path, dict(self.headers.items()), body))
            code = queue.pop(0) if queue else default
            answer = b'{"ok": true}' if code < 300 else b'{"error": "receiver says no"}'
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Receiver(f"http://127.0.0.1:{server.server_port}/hook", list(codes), received)
    finally:
        server.shutdown()
        server.server_close()
