"""The delivery and attempt rows (control's ``notification_deliveries`` / ``notification_attempts``).

A delivery is one (action, channel, recipient), keyed by :func:`idempotency_key`. Sending it is a
two-step affair so that a crash in between is visible and harmless:

1. :meth:`Deliveries.claim` (one transaction): create the row if new; if it is delivered or
   failed, stop (a delivered key is never sent again); if another replica holds its lease, stop
   and try later; if a lease ran out (its sender died mid-attempt), mark that attempt
   ``interrupted``; then count a new attempt, take the lease (``sending_until``) and record the
   attempt as ``sending``.
2. :meth:`Deliveries.finish` (one transaction, shared with the outcomes finished in the same
   millisecond): the attempt's outcome, latency and error, and the delivery's new status; the
   lease is released.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import time
import uuid
from dataclasses import dataclass
from typing import Any

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
# A new delivery (the common case) is created already claimed, with its first attempt, in one
# statement; only a key seen before takes the transaction below.
_CREATE_CLAIMED = """
WITH created AS (
    INSERT INTO notification_deliveries (id, org_id, action_id, channel_id, kind, event_id, pipeline_id, node,
                                         recipient, idempotency_key, status, attempts, sending_until)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'sending', 1, now() + make_interval(secs => %s))
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING id, org_id
)
INSERT INTO notification_attempts (org_id, delivery_id, attempt, status)
SELECT org_id, id, 1, 'sending' FROM created
RETURNING delivery_id
"""
_FINISH = """
WITH attempt AS (
    UPDATE notification_attempts SET status = %(attempt_status)s, response = %(response)s,
           latency_ms = %(latency_ms)s, error = %(error)s
    WHERE delivery_id = %(delivery)s AND attempt = %(attempt)s
)
UPDATE notification_deliveries SET status = %(status)s, last_error = %(error)s, sending_until = NULL,
       delivered_at = CASE WHEN %(delivered)s THEN now() END, updated_at = now()
WHERE id = %(delivery)s
"""
_LOCK = """
SELECT id, status, attempts, sending_until > now() FROM notification_deliveries
WHERE idempotency_key = %s FOR UPDATE
"""


BATCH_WINDOW_S = 0.001
BATCH_MAX = 100


class Deliveries:
    def __init__(self, pool: AsyncConnectionPool, lease_s: float) -> None:
        self.pool = pool
        self.lease_s = lease_s
        self._pending: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def claim(self, new: NewDelivery, *, refuse: str | None = None, lease_s: float | None = None) -> Claimed:
        """Step 1 (see the module docstring). ``refuse``: record the attempt as rejected at once
        with this error (a disabled channel, no recipient) instead of taking the lease. ``lease_s``:
        a longer lease than the configured one, for a send that holds (a Modbus pulse)."""
        lease = max(self.lease_s, lease_s or 0.0)
        if refuse is None:
            async with self.pool.connection() as conn:
                row = await (await conn.execute(_CREATE_CLAIMED, (
                    uuid7(), new.org, new.action, new.channel, new.kind, new.event, new.pipeline, new.node,
                    new.recipient, new.key, lease))).fetchone()
            if row is not None:
                return Claimed(Claim.SEND, row[0], 1, "sending")
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

        Outcomes finished within the same millisecond are written together, in one transaction
        (one commit for many deliveries); each caller returns once its own is committed. The send
        already happened, so a database that is away is waited for (while the lease lasts) rather
        than letting the action be handled again: that would find the lease, then its end, and
        send a second time."""
        values = {"attempt_status": attempt_status, "response": response[:200], "latency_ms": latency_ms,
                  "error": error, "delivery": claimed.delivery, "attempt": claimed.attempt,
                  "status": delivery_status, "delivered": delivery_status == "delivered"}
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((values, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        await asyncio.sleep(BATCH_WINDOW_S)  # let the outcomes finishing about now join
        while self._pending:
            batch, self._pending = self._pending[:BATCH_MAX], self._pending[BATCH_MAX:]
            try:
                await self._write([values for values, _ in batch])
            except Exception as exc:
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
            else:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _write(self, rows: list[dict[str, Any]]) -> None:
        deadline = time.monotonic() + self.lease_s
        pause = 0.1
        while True:
            try:
                async with self.pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                    await cursor.executemany(_FINISH, rows)
                return
            except (psycopg.OperationalError, PoolTimeout):
                if time.monotonic() + pause > deadline:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
