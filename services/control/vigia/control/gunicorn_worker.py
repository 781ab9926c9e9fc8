"""gunicorn's threaded worker, accepting only while it has a thread free (``--worker-class
vigia.control.gunicorn_worker.GatedThreadWorker``).

gunicorn's gthread workers all poll the one listening socket and accept whatever comes, busy or
not: a worker whose threads are all taken still accepts, and the new connection -- kept alive
afterwards -- queues behind requests it could have skipped on an idle worker. Under steady load a
few workers end up holding most connections (measured with ``tests/bench/bench_control_api.py``:
50 of 64 on one of 4 workers) and their requests wait while the other cores idle. This worker
stops accepting while every thread is busy, so a new or reconnecting client goes to a worker that
can answer now; combined with recycling kept-alive connections (``gunicorn_conf.pre_request``)
the load spreads again within seconds.

It relies on the internals of gunicorn 27's ``ThreadWorker`` (``enqueue_req``, ``finish_request``,
``set_accept_enabled``), hence the pin ``gunicorn>=27,<28``; ``tests`` check the gating on a real
server.
"""

from __future__ import annotations

from typing import Any

from gunicorn.workers.gthread import ThreadWorker


class GatedThreadWorker(ThreadWorker):  # type: ignore[misc]  # gunicorn ships no type hints
    """A gthread worker that accepts connections only while fewer than ``threads`` requests are in
    its thread pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight = 0

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and self.in_flight < self.cfg.threads)

    def enqueue_req(self, conn: Any) -> None:
        self.in_flight += 1
        if self.in_flight >= self.cfg.threads:
            self.set_accept_enabled(False)
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self.in_flight -= 1
        try:
            super().finish_request(conn, fs)  # may enqueue the connection's next request at once
        finally:
            self.set_accept_enabled(self.alive and self.nr_conns < self.worker_connections)
