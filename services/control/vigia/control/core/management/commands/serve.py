"""Serve the control plane API with uWSGI (``pyuwsgi``, the server built into a Python wheel).

Requests are CPU-bound Python with short database waits, so the default is a few worker
processes per core, each with few threads: processes use every core (threads of one process
share the GIL) and the spare ones cover the database waits. uWSGI parses HTTP in C, where
gunicorn's gthread worker parsed it, kept connections alive and handed each request to a thread
in Python: measured with ``tests/bench/bench_control_api.py`` (same workers and threads, 60
requests/s, three interleaved pairs), the API's CPU per request went from 3.86-4.49 ms to
3.44-3.66 ms. Each answer closes its connection (``Connection: close``): a worker never sits on
an idle kept-alive client (HAProxy in front already closes its server side after each request,
``option http-server-close``). SIGTERM is a graceful shutdown (requests in flight finish, for up to
``VIGIA_CONTROL_GRACE_S``, 20 s). No request is cut short for its length (no harakiri: evidence
downloads stream for as long as the client reads, and the database's statement timeout bounds the
queries), as gunicorn's gthread workers cut none. The master loads the application once and forks
the workers from it (its loaded modules frozen out of the collector, see :mod:`vigia.control.wsgi`,
and shared); a SIGTERM while it loads stops it too.
uWSGI's start-up banner is filtered out of the log: what is left is the application's log, the
request log, one "control ready" line, one "graceful shutdown triggered" line when it stops, and
uWSGI's own errors.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

#: Largest request head (request line and headers) accepted; uWSGI's own default is 4 KiB, less than a
#: browser's cookies and a bearer token can take. A bigger head is refused (the connection is closed).
BUFFER_BYTES = 32768
#: What uWSGI says when it starts and stops that says nothing an operator acts on.
_BANNER = (" ?\\*\\*\\*", "compiled with", "os: ", "nodename", "machine: ", "clock source", "pcre", "detected ",
           "current working", "uWSGI running", "your ", "lock engine", "thunder lock", "uwsgi socket",
           "Python version", "--- Python", "Python main", "python threads", "mapped ", "spawned uWSGI",
           "WSGI app", "running \"", "Gracefully killing", "worker \\d+ buried", "goodbye", "SIGINT/SIGTERM")


def default_workers() -> int:
    """``VIGIA_CONTROL_WORKERS`` or two per core (measured best on a 2-core box with the bench)."""
    return int(os.environ.get("VIGIA_CONTROL_WORKERS", "0")) or 2 * (os.cpu_count() or 1)


def default_threads() -> int:
    """``VIGIA_CONTROL_THREADS`` or two threads per worker."""
    return int(os.environ.get("VIGIA_CONTROL_THREADS", "0")) or 2


def _backlog(wanted: int = 256) -> int:
    """The listen queue: ``wanted``, or the kernel's ``somaxconn`` when lower (uWSGI refuses to start
    with a longer queue than the kernel allows, where gunicorn let the kernel shorten it)."""
    try:
        return min(wanted, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    except (OSError, ValueError):
        return 128


def uwsgi_executable() -> str:
    """The ``uwsgi`` script ``pyuwsgi`` installs beside this interpreter (or on the PATH)."""
    beside = Path(sys.executable).with_name("uwsgi")
    found = str(beside) if beside.exists() else shutil.which("uwsgi")
    if found is None:
        raise CommandError("uwsgi is not installed: pip install pyuwsgi (a dependency of vigia-control)")
    return found


def uwsgi_argv(bind: str, workers: int, threads: int, access_log: bool = True) -> list[str]:
    """The uWSGI command line for the control API."""
    grace = int(os.environ.get("VIGIA_CONTROL_GRACE_S") or 0) or 20
    argv = [
        uwsgi_executable(), "--strict", "--master", "--need-app", "--single-interpreter",
        "--http-socket", bind, "--module", "vigia.control.wsgi:application",
        "--processes", str(workers), "--listen", str(_backlog()), "--buffer-size", str(BUFFER_BYTES),
        "--add-header", "Connection: close",
        # SIGTERM (docker stop, Kubernetes): let the workers finish their requests, then exit.
        "--hook-master-start", "unix_signal:15 gracefully_kill_them_all",
        "--worker-reload-mercy", str(grace), "--reload-mercy", str(grace),
        "--hook-accepting1-once", f"log:control ready on {bind} ({workers} workers x {threads} threads)",
        "--log-master", "--log-filter", "^(?!(" + "|".join(_BANNER) + "))",
    ]
    if threads > 1:
        argv += ["--threads", str(threads)]
    if access_log:
        argv += ["--log-format", "%(addr) %(method) %(uri) => %(status) in %(msecs) ms"]
    else:
        argv.append("--disable-logging")
    return argv


class Command(BaseCommand):
    help = "Serve the API with uWSGI."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("VIGIA_CONTROL_BIND", "0.0.0.0:8000"))
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=default_threads())

    def handle(self, *args: Any, **options: Any) -> None:
        argv = uwsgi_argv(options["bind"], options["workers"], options["threads"])
        os.execv(argv[0], argv)  # replaces this process: signals reach uWSGI's master directly
