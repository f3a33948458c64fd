"""Serving a stand-in: a threaded HTTP(S) server on loopback that turns each request into a
`Request` for the stand-in's `dispatch` and writes its `Response` back.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .core import Request, Response, StandIn


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else headers and body go out as two segments: 40 ms a call
    standin: StandIn  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header: the stand-in's own clock, as a real service's is its own."""
        when = self.standin.clock.now().timestamp() if timestamp is None else timestamp
        return formatdate(when, usegmt=True)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        req = Request(
            method=self.command,
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            resp = self.standin.dispatch(req)
            resp = self.standin.decorate(resp, req)
        except Exception as exc:  # a bug in a stand-in: answer 500 so the client sees it
            resp = Response(500, {"error": "SANDBOX_BUG", "message": repr(exc)})
        payload = self.standin_payload(resp)
        self.send_response(resp.status)
        if payload or resp.status not in (204, 304):
            self.send_header("Content-Type", resp.content_type)
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    @staticmethod
    def standin_payload(resp: Response) -> bytes:
        return b"" if resp.status == 204 else resp.encode()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


@dataclass
class Served:
    standin: StandIn
    server: ThreadingHTTPServer
    thread: threading.Thread
    url: str

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve(standin: StandIn, tls: ssl.SSLContext | None = None, port: int = 0) -> Served:
    """Serve a stand-in on 127.0.0.1 (an ephemeral port unless given) in a daemon thread."""
    handler = type(f"{standin.name}Handler", (_Handler,), {"standin": standin})
    server = _Server(("127.0.0.1", port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls else "http"
    url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    standin.base_url = url
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name=f"sandbox-{standin.name}", daemon=True
    )
    thread.start()
    return Served(standin, server, thread, url)
