"""gunicorn's settings module for ``python -m vigia.control serve`` (``--config
python:vigia.control.gunicorn_conf``): the server hooks. Every other option is on the command line
(:func:`vigia.control.core.management.commands.serve.gunicorn_argv`)."""

from __future__ import annotations

from typing import Any


def post_worker_init(worker: Any) -> None:
    """Say once that control is ready: when the first worker has loaded the Django app."""
    if worker.age != 1:  # the master numbers the workers it spawns; 1 is the first of its life
        return
    cfg = worker.cfg
    worker.log.info("control ready on %s (%d workers x %d threads)", ", ".join(cfg.bind), cfg.workers, cfg.threads)
