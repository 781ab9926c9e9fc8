"""``python -m vigia.control timeseries_janitor``: apply retention to plain time-series tables.

Where TimescaleDB runs, its retention policies do this and the janitor skips the hypertables.
Run it from cron/the watchdog, or as a long-lived process with ``--loop``.
"""

from __future__ import annotations

import json
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections

from vigia.control.observations.timeseries import TABLES, TimeSeriesSettings, run_janitor


class Command(BaseCommand):
    help = "Delete time-series rows older than their retention, in bounded batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=None,
                            help="Rows per transaction (default VIGIA_JANITOR_BATCH_SIZE).")
        parser.add_argument("--max-batches", type=int, default=None,
                            help="Most batches per table and run (default: until done).")
        parser.add_argument("--table", action="append", choices=[t.name for t in TABLES],
                            help="Only this table (repeatable).")
        parser.add_argument("--loop", action="store_true",
                            help="Run every VIGIA_JANITOR_INTERVAL_SECONDS until SIGTERM.")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = TimeSeriesSettings.model_validate({})
        batch = options["batch_size"]
        if batch is not None and batch < 1:
            raise CommandError("--batch-size must be at least 1")
        stop = threading.Event()
        if options["loop"]:
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        while True:
            if options["loop"]:
                close_old_connections()  # a long loop outlives CONN_MAX_AGE and database restarts
            report = run_janitor(settings, batch_size=batch, max_batches=options["max_batches"],
                                 tables=options["table"])
            self.stdout.write(json.dumps({"deleted": report.deleted, "tables": report.as_dict()}))
            if not options["loop"] or stop.wait(settings.janitor_interval_seconds):
                return
