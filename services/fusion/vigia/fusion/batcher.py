"""Group commit: many broker messages' rows share one COPY; each message learns when its rows
are committed, and only then is it acknowledged.

:meth:`TelemetryBatcher.store` queues one message's rows and waits. A single flusher task takes
everything queued once ``batch_rows`` rows are waiting or the oldest has waited ``linger_s``, and
writes it in one transaction on a dedicated thread (the connection is used by that thread only).

* PostgreSQL unreachable (connection errors): the flusher keeps the batch, retries with doubling
  back-off up to ``retry_max_s`` and reports not ready meanwhile; the messages stay unacked, so a
  worker that is stopped or killed meanwhile loses nothing (the broker redelivers them).
* A batch PostgreSQL refuses for its content (e.g. an integer out of range): each message is then
  written alone, so only the offending message fails (the consumer nacks it; past the delivery
  limit it goes to the DLQ) and the others are stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg
from prometheus_client import Counter, Gauge, Histogram

from vigia.fusion.telemetry import Row, TelemetryWriter

log = logging.getLogger(__name__)

ROWS_WRITTEN = Counter("fusion_telemetry_rows_total", "Telemetry rows fusion handed to PostgreSQL, "
                       "by outcome (stored: new rows; duplicate: already stored, e.g. redelivered)",
                       ["outcome"])
BATCH_ROWS = Histogram("fusion_telemetry_batch_rows", "Rows per telemetry COPY transaction",
                       buckets=(1, 10, 50, 100, 500, 1000, 2500, 5000, 10_000, 50_000))
WRITE_SECONDS = Histogram("fusion_telemetry_write_seconds", "Time to write and commit one telemetry batch",
                          buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
WRITE_RETRIES = Counter("fusion_telemetry_write_retries_total", "Telemetry batches retried because "
                        "PostgreSQL was unreachable")
DATABASE_UP = Gauge("fusion_database_up", "1 while the last telemetry write (or ping) reached PostgreSQL")

TRANSIENT = (psycopg.OperationalError, psycopg.errors.AdminShutdown, psycopg.errors.CannotConnectNow)


@dataclass
class _Pending:
    rows: Sequence[Row]
    merge: bool
    done: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class TelemetryBatcher:
    def __init__(self, writer: TelemetryWriter, *, batch_rows: int = 5000, linger_s: float = 0.02,
                 retry_max_s: float = 10.0) -> None:
        self.writer = writer
        self.batch_rows = batch_rows
        self.linger_s = linger_s
        self.retry_max_s = retry_max_s
        self._queue: list[_Pending] = []
        self._queued_rows = 0
        self._arrived = asyncio.Event()
        self._full = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="telemetry-writer")
        self._task: asyncio.Task[None] | None = None
        self.database_up = False

    # --- lifecycle ---

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telemetry-flusher")

    async def close(self) -> None:
        """Stop the flusher; rows still queued are not written (their messages were not acked)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        for pending in self._queue:
            if not pending.done.done():
                pending.done.cancel()
        self._queue.clear()
        await asyncio.get_running_loop().run_in_executor(self._executor, self.writer.close)
        self._executor.shutdown(wait=True)

    # --- the API ---

    async def store(self, rows: Sequence[Row], *, merge: bool = False) -> int:
        """Queue ``rows``; returns how many were new once they are committed."""
        if not rows:
            return 0
        pending = _Pending(rows, merge)
        self._queue.append(pending)
        self._queued_rows += len(rows)
        self._arrived.set()
        if self._queued_rows >= self.batch_rows:
            self._full.set()
        return await asyncio.shield(pending.done) if self._task is not None else await self._alone(pending)

    async def _alone(self, pending: _Pending) -> int:
        # No flusher (tests, benchmarks): write this message right away.
        self._queue.remove(pending)
        self._queued_rows -= len(pending.rows)
        await self._flush([pending])
        return pending.done.result()

    def ping(self) -> bool:
        return self.database_up

    # --- the flusher ---

    async def _run(self) -> None:
        while True:
            await self._arrived.wait()
            if self._queued_rows < self.batch_rows and self.linger_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self.linger_s)
            batch, self._queue = self._queue, []
            self._queued_rows = 0
            self._arrived.clear()
            self._full.clear()
            batch = [p for p in batch if not p.done.done()]  # cancelled by a shutdown
            if batch:
                await self._flush(batch)

    async def _write(self, rows: Sequence[Row], merge: bool) -> int:
        loop = asyncio.get_running_loop()
        delay = 0.2
        while True:
            try:
                started = time.perf_counter()
                stored = await loop.run_in_executor(self._executor, lambda: self.writer.write(rows, merge=merge))
                WRITE_SECONDS.observe(time.perf_counter() - started)
                self.database_up = True
                DATABASE_UP.set(1)
                return stored
            except TRANSIENT as exc:
                self.database_up = False
                DATABASE_UP.set(0)
                WRITE_RETRIES.inc()
                log.warning("PostgreSQL unreachable, retrying the telemetry batch",
                            extra={"rows": len(rows), "retry_in_s": round(delay, 2), "error": str(exc)[:300]})
                await loop.run_in_executor(self._executor, self.writer.discard_connection)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)

    async def _flush(self, batch: list[_Pending]) -> None:
        rows: list[Row] = []
        for pending in batch:
            rows.extend(pending.rows)
        merge = any(p.merge for p in batch)
        BATCH_ROWS.observe(len(rows))
        try:
            stored = await self._write(rows, merge)
        except psycopg.Error as exc:
            if len(batch) == 1:
                self._settle(batch[0], error=exc)
                return
            log.warning("telemetry batch refused, writing its messages one by one",
                        extra={"messages": len(batch), "error": str(exc)[:300]})
            for pending in batch:
                try:
                    self._settle(pending, await self._write(pending.rows, pending.merge))
                except psycopg.Error as one:
                    self._settle(pending, error=one)
            return
        ROWS_WRITTEN.labels("stored").inc(stored)
        ROWS_WRITTEN.labels("duplicate").inc(len(rows) - stored)
        # Per-message counts are not known after a merged COPY; each message gets its row count
        # when nothing was a duplicate, else the batch's.
        for pending in batch:
            self._settle(pending, len(pending.rows) if stored == len(rows) else stored)

    @staticmethod
    def _settle(pending: _Pending, stored: int = 0, error: BaseException | None = None) -> None:
        if pending.done.done():
            return
        if error is not None:
            pending.done.set_exception(error)
        else:
            pending.done.set_result(stored)
