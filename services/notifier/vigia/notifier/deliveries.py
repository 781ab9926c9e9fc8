"""The delivery and attempt rows (control's ``notification_deliveries`` / ``notification_attempts``).

A delivery is one (action, channel, recipient), keyed by :func:`idempotency_key`. Sending it is a
two-step affair so that a crash in between is visible and harmless:

1. :meth:`Deliveries.claim` (one transaction): create the row if new; if it is delivered or
   failed, stop (a delivered key is never sent again); if another replica holds its lease, stop
   and try later; if a lease ran out (its sender died mid-attempt), mark that attempt
   ``interrupted``; then count a new attempt, take the lease (``sending_until``) and record the
   attempt as ``sending``.
2. :meth:`Deliveries.finish` (one statement, shared with the outcomes finished about the same
   time): the attempt's outcome, latency and error, and the delivery's new status; the lease is
   released.

New deliveries claimed about the same time are created in one statement too, so under load a
delivery costs the database two shared commits rather than two of its own.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from vigia.common.ids import uuid7


def idempotency_key(action: uuid.UUID, channel: uuid.UUID, recipient: str) -> str:
    """SHA-256 (hex) of action, channel and recipient: the delivery's unique key."""
    return hashlib.sha256(f"{action}\n{channel}\n{recipient}".encode()).hexdigest()


class Claim(enum.Enum):
    SEND = "send"          # the caller holds the lease: send, then finish()
    DONE = "done"          # delivered or failed already: nothing to do
    BUSY = "busy"          # another replica is sending it now: look again later


@dataclass(frozen=True)
class Claimed:
    outcome: Claim
    delivery: uuid.UUID | None = None
    attempt: int = 0
    status: str = ""


@dataclass(frozen=True)
class NewDelivery:
    org: uuid.UUID
    action: uuid.UUID
    channel: uuid.UUID | None
    kind: str
    event: uuid.UUID | None
    pipeline: uuid.UUID | None
    node: str
    recipient: str
    key: str


_INSERT = """
INSERT INTO notification_deliveries (id, org_id, action_id, channel_id, kind, event_id, pipeline_id, node,
                                     recipient, idempotency_key)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (idempotency_key) DO NOTHING
"""
# New deliveries (the common case) are created already claimed, with their first attempt, many in
# one statement (the batch as one JSON document); only a key seen before takes the transaction of
# Deliveries._claim_seen.
_CREATE_CLAIMED = """
WITH batch AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS b(id uuid, org_id uuid, action_id uuid, channel_id uuid,
        kind text, event_id uuid, pipeline_id uuid, node text, recipient text, idempotency_key text, lease_s float8)
), created AS (
    INSERT INTO notification_deliveries (id, org_id, action_id, channel_id, kind, event_id, pipeline_id, node,
                                         recipient, idempotency_key, status, attempts, sending_until)
    SELECT id, org_id, action_id, channel_id, kind, event_id, pipeline_id, node, recipient, idempotency_key,
           'sending', 1, now() + make_interval(secs => lease_s)
    FROM batch
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, org_id
), first_attempts AS (
    INSERT INTO notification_attempts (org_id, delivery_id, attempt, status)
    SELECT org_id, id, 1, 'sending' FROM created
)
SELECT id FROM created
"""
# Outcomes finished about the same time: one statement for the attempts and their deliveries.
_FINISH = """
WITH batch AS (
    SELECT * FROM jsonb_to_recordset(%s::jsonb) AS b(delivery uuid, attempt int, attempt_status text,
        response text, latency_ms float8, error text, status text, delivered boolean)
), attempts AS (
    UPDATE notification_attempts a SET status = b.attempt_status, response = b.response,
           latency_ms = b.latency_ms, error = b.error
    FROM batch b WHERE a.delivery_id = b.delivery AND a.attempt = b.attempt
)
UPDATE notification_deliveries d SET status = b.status, last_error = b.error, sending_until = NULL,
       delivered_at = CASE WHEN b.delivered THEN now() END, updated_at = now()
FROM batch b WHERE d.id = b.delivery
"""
_LOCK = """
SELECT id, status, attempts, sending_until > now() FROM notification_deliveries
WHERE idempotency_key = %s FOR UPDATE
"""


BATCH_WINDOW_S = 0.001
BATCH_MAX = 200

Row = dict[str, Any]
T = TypeVar("T")


class _Batches(Generic[T]):
    """Rows handed in about the same time are written together: the first one waits
    :data:`BATCH_WINDOW_S` for others to join, and rows arriving while a batch is written form the
    next. ``write`` takes the rows and returns one result per row; each caller gets its own once
    the batch is committed (or the batch's exception)."""

    def __init__(self, write: Callable[[list[Row]], Awaitable[list[T]]]) -> None:
        self._write = write
        self._pending: list[tuple[Row, asyncio.Future[T]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def put(self, row: Row) -> T:
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((row, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        await asyncio.sleep(BATCH_WINDOW_S)  # let the rows handed in about now join
        while self._pending:
            batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
            try:
                results = await self._write([row for row, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for (_, done), result in zip(batch, results, strict=True):
                    if not done.done():
                        done.set_result(result)


class Deliveries:
    def __init__(self, pool: AsyncConnectionPool, lease_s: float) -> None:
        self.pool = pool
        self.lease_s = lease_s
        self._claims: _Batches[bool] = _Batches(self._create_claimed)
        self._outcomes: _Batches[None] = _Batches(self._write_outcomes)

    async def claim(self, new: NewDelivery, *, refuse: str | None = None, lease_s: float | None = None) -> Claimed:
        """Step 1 (see the module docstring). ``refuse``: record the attempt as rejected at once
        with this error (a disabled channel, no recipient) instead of taking the lease. ``lease_s``:
        a longer lease than the configured one, for a send that holds (a Modbus pulse).

        A new key is created claimed in a batch with the others claimed about the same time (one
        statement, committed before this returns); a key seen before is claimed on its own."""
        lease = max(self.lease_s, lease_s or 0.0)
        if refuse is None:
            delivery = uuid7()
            created = await self._claims.put({
                "id": delivery, "org_id": new.org, "action_id": new.action, "channel_id": new.channel,
                "kind": new.kind, "event_id": new.event, "pipeline_id": new.pipeline, "node": new.node,
                "recipient": new.recipient, "idempotency_key": new.key, "lease_s": lease})
            if created:
                return Claimed(Claim.SEND, delivery, 1, "sending")
        return await self._claim_seen(new, refuse, lease)

    async def _create_claimed(self, rows: list[Row]) -> list[bool]:
        """Create the batch's deliveries claimed; whether each was created (False: its key exists,
        or the same key came twice in the batch and the first one took it)."""
        unique: dict[str, Row] = {}
        for row in rows:
            unique.setdefault(row["idempotency_key"], row)
        async with self.pool.connection() as conn:
            created = {r[0] for r in await (await conn.execute(
                _CREATE_CLAIMED, (orjson.dumps(list(unique.values())).decode(),))).fetchall()}
        return [row["id"] in created for row in rows]

    async def _claim_seen(self, new: NewDelivery, refuse: str | None, lease: float) -> Claimed:
        async with self.pool.connection() as conn, conn.transaction():
            await conn.execute(_INSERT, (uuid7(), new.org, new.action, new.channel, new.kind, new.event,
                                         new.pipeline, new.node, new.recipient, new.key))
            row = await (await conn.execute(_LOCK, (new.key,))).fetchone()
            assert row is not None
            delivery, status, attempts, leased = row
            if status in ("delivered", "failed"):
                return Claimed(Claim.DONE, delivery, attempts, status)
            if status == "sending" and leased:
                return Claimed(Claim.BUSY, delivery, attempts, status)
            if status == "sending":
                await conn.execute(
                    "UPDATE notification_attempts SET status = 'interrupted', error = %s "
                    "WHERE delivery_id = %s AND attempt = %s AND status = 'sending'",
                    ("the notifier stopped during this attempt (its lease ran out)", delivery, attempts))
            attempt = attempts + 1
            if refuse is not None:
                await conn.execute(
                    "UPDATE notification_deliveries SET status = 'failed', attempts = %s, last_error = %s, "
                    "sending_until = NULL, updated_at = now() WHERE id = %s", (attempt, refuse, delivery))
                await conn.execute(
                    "INSERT INTO notification_attempts (org_id, delivery_id, attempt, status, error) "
                    "VALUES (%s, %s, %s, 'rejected', %s)", (new.org, delivery, attempt, refuse))
                return Claimed(Claim.DONE, delivery, attempt, "failed")
            await conn.execute(
                "UPDATE notification_deliveries SET status = 'sending', attempts = %s, "
                "sending_until = now() + make_interval(secs => %s), updated_at = now() WHERE id = %s",
                (attempt, lease, delivery))
            await conn.execute(
                "INSERT INTO notification_attempts (org_id, delivery_id, attempt, status) "
                "VALUES (%s, %s, %s, 'sending')", (new.org, delivery, attempt))
            return Claimed(Claim.SEND, delivery, attempt, "sending")

    async def finish(self, claimed: Claimed, *, attempt_status: str, delivery_status: str, response: str = "",
                     latency_ms: float | None = None, error: str = "") -> None:
        """Step 2: record the attempt's outcome and the delivery's status; release the lease.

        Outcomes finished about the same time are written together, in one statement (one commit
        for many deliveries); each caller returns once its own is committed. The send already
        happened, so a database that is away is waited for (while the lease lasts) rather than
        letting the action be handled again: that would find the lease, then its end, and send a
        second time."""
        await self._outcomes.put({
            "delivery": claimed.delivery, "attempt": claimed.attempt, "attempt_status": attempt_status,
            "response": response[:200], "latency_ms": latency_ms, "error": error, "status": delivery_status,
            "delivered": delivery_status == "delivered"})

    async def _write_outcomes(self, rows: list[Row]) -> list[None]:
        deadline = time.monotonic() + self.lease_s
        pause = 0.1
        document = orjson.dumps(rows).decode()
        while True:
            try:
                async with self.pool.connection() as conn:
                    await conn.execute(_FINISH, (document,))
                return [None] * len(rows)
            except (psycopg.OperationalError, PoolTimeout):
                if time.monotonic() + pause > deadline:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
