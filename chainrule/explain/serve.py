"""The live page: a small HTTP server on 127.0.0.1 only (never another interface) that serves
the explanation page with every leaf editable and answers each edit by recomputing with
chainrule (``live.recompute``). Standard library only; one explanation per server."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .live import EditError, recompute

HOST = "127.0.0.1"
MAX_BODY = 1 << 20  # an edit is a few numbers; refuse anything larger


class LiveServer:
    """A running page: ``url``, ``explanation`` (the current one), ``stop()``."""

    def __init__(self, ex, port: int = 0, title: str | None = None):
        self.explanation = ex
        self.title = title or "chainrule: backpropagation, live"
        self._lock = threading.Lock()
        handler = _handler(self)
        self._httpd = ThreadingHTTPServer((HOST, port), handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name=f"chainrule-explain-{self.port}")
        self._thread.start()

    def page(self) -> str:
        from .render_html import to_html
        with self._lock:
            return to_html(self.explanation, self.title, live=True)

    def edit(self, message: dict) -> tuple[int, dict]:
        """Apply one edit: ``{"leaf": name, "text": value}`` -> (status, reply)."""
        from .render_html import page_data, _compare_for
        if not isinstance(message, dict) or not isinstance(message.get("leaf"), str) or \
                not isinstance(message.get("text"), str):
            return 400, {"error": "expected {\"leaf\": NAME, \"text\": VALUE}"}
        with self._lock:
            try:
                new = recompute(self.explanation, message["leaf"], message["text"])
            except EditError as err:
                return 400, {"error": f"{message['leaf']}: {err}; nothing was changed"}
            self.explanation = new
            return 200, {"data": page_data(new, live=True, compare=_compare_for(new))}

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def __repr__(self):
        return f"<chainrule live page at {self.url}>"


def _handler(server: LiveServer):
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
                self._send(200, server.page().encode("utf-8"), "text/html; charset=utf-8")
            else:
                self._send(404, b"not found", "text/plain")

        def do_POST(self):
            if self.path != "/api/edit":
                self._send(404, b"not found", "text/plain")
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                status, reply = 400, {"error": "an edit must be a small JSON object"}
            else:
                try:
                    message = json.loads(self.rfile.read(length))
                except ValueError:
                    status, reply = 400, {"error": "the edit is not valid JSON"}
                else:
                    status, reply = server.edit(message)
            body = json.dumps(reply, allow_nan=False).encode("utf-8")
            self._send(status, body, "application/json")

    return Handler


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
