"""Commands for a running simulator, over HTTP on loopback: ``POST /<command>`` with a JSON object,
answered with JSON. camsim and phonesim take ``--commands PORT`` so a test or a demo can make
something happen *now* (a person walking through the zone, a correlated anomaly on a phone)
instead of waiting for the seeded schedule.

Standard library only (camsim's server runs under Debian's system python3): a threading HTTP
server in a daemon thread. A handler gets the request's JSON object and returns the answer's;
it raises :class:`CommandError` naming the field for a bad request (400). ``GET /`` lists the
commands; an unknown one is 404, another method 405.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any]], dict[str, Any]]
MAX_BODY = 64 * 1024


class CommandError(ValueError):
    """A request the command cannot carry out, for ``field`` (400 with ``{"detail", "field"}``)."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(detail)
        self.field, self.detail = field, detail


class CommandServer:
    """``handlers`` (command name -> handler) served on ``host:port`` (port 0: any free one) until
    :meth:`close`; :attr:`port` is the bound port."""

    def __init__(self, handlers: Mapping[str, Handler], port: int = 0, host: str = "127.0.0.1") -> None:
        self.handlers = dict(handlers)
        self._server = ThreadingHTTPServer((host, port), self._request_class())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="commands", daemon=True)

    def start(self) -> CommandServer:
        self._thread.start()
        log.info("commands on http://127.0.0.1:%d/ (%s)", self.port, ", ".join(sorted(self.handlers)))
        return self

    def close(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _request_class(self) -> type[BaseHTTPRequestHandler]:
        handlers = self.handlers

        class Request(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # http.server's naming
                if self.path.rstrip("/") == "":
                    self._answer(HTTPStatus.OK, {"commands": sorted(handlers)})
                else:
                    self._answer(HTTPStatus.METHOD_NOT_ALLOWED if self._command() in handlers else HTTPStatus.NOT_FOUND,
                                 {"detail": "POST a JSON object to /<command>"})

            def do_POST(self) -> None:
                handler = handlers.get(self._command())
                if handler is None:
                    self._answer(HTTPStatus.NOT_FOUND, {"detail": f"no command {self._command()!r}",
                                                        "commands": sorted(handlers)})
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY:
                    self._answer(HTTPStatus.BAD_REQUEST, {"detail": f"a body of 0 to {MAX_BODY} bytes", "field": None})
                    return
                raw = self.rfile.read(length) if length else b"{}"
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                if not isinstance(body, dict):
                    self._answer(HTTPStatus.BAD_REQUEST, {"detail": "the body must be a JSON object", "field": None})
                    return
                try:
                    self._answer(HTTPStatus.ACCEPTED, handler(body))
                except CommandError as exc:
                    self._answer(HTTPStatus.BAD_REQUEST, {"detail": exc.detail, "field": exc.field})
                except Exception:  # the simulator keeps running; the caller learns it failed
                    log.exception("command %s failed", self._command())
                    self._answer(HTTPStatus.INTERNAL_SERVER_ERROR, {"detail": "the command failed; see the log"})

            def do_PUT(self) -> None:
                self._answer(HTTPStatus.METHOD_NOT_ALLOWED, {"detail": "POST a JSON object to /<command>"})

            do_PATCH = do_DELETE = do_PUT

            def _command(self) -> str:
                return self.path.split("?", 1)[0].strip("/")

            def _answer(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("commands: " + format, *args)

        return Request
