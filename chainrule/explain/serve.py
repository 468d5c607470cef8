"""Local pages with a server behind them: the live explanation (every leaf editable, each
edit recomputed by chainrule, ``live.recompute``) and the playground. A small HTTP server on
127.0.0.1 only (never another interface), standard library only, JSON in and out."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .live import apply_edit

HOST = "127.0.0.1"
MAX_BODY = 1 << 20  # a request is a few numbers or settings; refuse anything larger


class JsonServer:
    """Serves ``page()`` at ``/`` and answers ``POST /api/NAME`` with ``api[NAME](message)``
    -> ``(status, reply dict)``, in a background thread. ``url``, ``stop()``; a context
    manager."""

    def __init__(self, page, api: dict, port: int = 0, name: str = "chainrule"):
        self._page, self._api = page, api
        self.lock = threading.Lock()  # one request at a time touches the state
        self._httpd = ThreadingHTTPServer((HOST, port), _handler(self))
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name=f"{name}-{self.port}")
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<chainrule page at {self.url}>"


def _handler(server: JsonServer):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: the command prints its own lines
            pass

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path.split("?")[0] in ("/", "/index.html"):
                with server.lock:
                    body = server._page().encode("utf-8")
                self._send(200, body, "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self):
            name = self.path[len("/api/"):] if self.path.startswith("/api/") else None
            if name not in server._api:
                self._send(404, b"not found", "text/plain")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                status, reply = 400, {"error": "a request must be a small JSON object"}
            else:
                try:
                    message = json.loads(self.rfile.read(length))
                except ValueError:
                    status, reply = 400, {"error": "the request is not valid JSON"}
                else:
                    with server.lock:
                        status, reply = server._api[name](message)
            self._send(status, json.dumps(reply, allow_nan=False).encode("utf-8"),
                       "application/json")

    return Handler


class LiveServer(JsonServer):
    """The live explanation page; ``explanation`` is the current (last recomputed) one."""

    def __init__(self, ex, port: int = 0, title: str | None = None):
        self.explanation = ex
        self.title = title or "chainrule: backpropagation, live"
        super().__init__(self.page, {"edit": self.edit}, port, "chainrule-explain")

    def page(self) -> str:
        from .render_html import to_html
        return to_html(self.explanation, self.title, live=True)

    def edit(self, message) -> tuple[int, dict]:
        """One edit, ``{"leaf": NAME, "text": VALUE}`` -> (status, reply)."""
        new, status, reply = apply_edit(self.explanation, message)
        if new is not None:
            self.explanation = new
        return status, reply


def serve(ex, port: int = 0, *, open_browser: bool = False, title: str | None = None):
    """Start the live page for ``ex`` on ``http://127.0.0.1:PORT/`` (``port=0``: a free one)
    in a background thread and return the :class:`LiveServer` (``.url``, ``.stop()``).

    >>> import chainrule as cr
    >>> w = cr.tensor(2.0, requires_grad=True, name="w")
    >>> with cr.explain(w * w).serve() as live:
    ...     live.url.startswith("http://127.0.0.1:")
    True
    """
    live = LiveServer(ex, port, title)
    if open_browser:
        import webbrowser
        webbrowser.open(live.url)
    return live


def run_until_interrupted(server: JsonServer, what: str) -> None:
    """For the command line: print the URL, serve until Ctrl-C, then stop cleanly."""
    import time
    print(f"{what} at {server.url}  (localhost only; Ctrl-C stops it)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopped")
    finally:
        server.stop()
