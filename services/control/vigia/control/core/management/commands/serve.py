"""Serve the control plane API with gunicorn (threads, graceful shutdown on SIGTERM)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve the API with gunicorn."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=os.environ.get("VIGIA_CONTROL_BIND", "0.0.0.0:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("VIGIA_CONTROL_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args: Any, **options: Any) -> None:
        argv = [
            sys.executable, "-m", "gunicorn", "vigia.control.wsgi:application",
            "--bind", options["bind"], "--workers", str(options["workers"]),
            "--threads", str(options["threads"]), "--worker-class", "gthread",
            "--graceful-timeout", "20", "--timeout", "60", "--access-logfile", "-",
        ]
        os.execv(sys.executable, argv)  # replaces this process: signals reach gunicorn directly
