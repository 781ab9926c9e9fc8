"""gunicorn's settings module for ``python -m vigia.control serve`` (``--config
python:vigia.control.gunicorn_conf``): the server hooks. Every other option is on the command line
(:func:`vigia.control.core.management.commands.serve.gunicorn_argv`)."""

from __future__ import annotations

import os
from typing import Any

#: A keep-alive connection answers this many requests, the last one with ``Connection: close``
#: (nginx's ``keepalive_requests``). A kept-alive connection stays with the worker that accepted
#: it, and a few clients (a proxy's pool, the bench's 64 connections) can land mostly on one
#: worker, whose single core of Python then queues their requests while the others idle (measured:
#: 50 of 64 on one of 4 workers, and runs at 300 requests/s whose median was 43 ms to 4.3 s).
#: Reconnecting every few seconds lets the accept spread them again (tests/bench/bench_control_api.py,
#: three interleaved pairs: median 4.6-4300 ms without, 5.1-5.9 ms with; p95 still 21-180 ms).
KEEPALIVE_REQUESTS = int(os.environ.get("VIGIA_CONTROL_KEEPALIVE_REQUESTS", "0") or 25)


def post_worker_init(worker: Any) -> None:
    """Say once that control is ready: when the first worker has loaded the Django app."""
    if worker.age != 1:  # the master numbers the workers it spawns; 1 is the first of its life
        return
    cfg = worker.cfg
    worker.log.info("control ready on %s (%d workers x %d threads)", ", ".join(cfg.bind), cfg.workers, cfg.threads)


def pre_request(worker: Any, req: Any) -> None:
    """Close the connection after its :data:`KEEPALIVE_REQUESTS`-th request (see there)."""
    if req.req_number >= KEEPALIVE_REQUESTS:
        req.must_close = True
