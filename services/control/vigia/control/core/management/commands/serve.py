"""Serve the control plane API with gunicorn (gthread workers, graceful shutdown on SIGTERM).

Requests are CPU-bound Python with short database waits, so the default is a few worker
processes per core, each with few threads: processes use every core (threads of one process
share the GIL), the spare ones cover the database waits, and gthread keeps client connections
alive. ``tests/bench/bench_control_api.py`` starts gunicorn with the same :func:`gunicorn_argv`.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


def default_workers() -> int:
    """``VIGIA_CONTROL_WORKERS`` or two per core (measured best on a 2-core box with the bench)."""
    return int(os.environ.get("VIGIA_CONTROL_WORKERS", "0")) or 2 * (os.cpu_count() or 1)


def default_threads() -> int:
    """``VIGIA_CONTROL_THREADS`` or two threads per worker."""
    return int(os.environ.get("VIGIA_CONTROL_THREADS", "0")) or 2


def gunicorn_argv(bind: str, workers: int, threads: int, access_log: bool = True) -> list[str]:
    """The gunicorn command line for the control API."""
    argv = [
        sys.executable, "-m", "gunicorn", "vigia.control.wsgi:application",
        "--bind", bind, "--workers", str(workers), "--threads", str(threads),
        "--worker-class", "gthread", "--keep-alive", "30", "--backlog", "256",
        "--graceful-timeout", "20", "--timeout", "60",
        "--config", "python:vigia.control.gunicorn_conf",  # hooks: the "control ready" line
    ]
    return argv + (["--access-logfile", "-"] if access_log else ["--log-level", "warning"])


class Command(BaseCommand):
    help = "Serve the API with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("VIGIA_CONTROL_BIND", "0.0.0.0:8000"))
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=default_threads())

    def handle(self, *args: Any, **options: Any) -> None:
        argv = gunicorn_argv(options["bind"], options["workers"], options["threads"])
        os.execv(sys.executable, argv)  # replaces this process: signals reach gunicorn directly
