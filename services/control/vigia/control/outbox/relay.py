"""The outbox relay: publishes committed outbox rows to RabbitMQ, at least once, in id order.

Each cycle, in one transaction::

    SELECT … FROM outbox WHERE published_at IS NULL AND (next_attempt_at IS NULL OR <= now())
    ORDER BY id LIMIT batch FOR UPDATE SKIP LOCKED

then publishes every row with publisher confirms and ``mandatory``, and marks the confirmed ones
``published_at``. ``SKIP LOCKED`` lets several relays run side by side without publishing a row
twice concurrently. Failures:

* broker unreachable / connection lost / nack: the rows confirmed so far are marked, the failing
  row records ``attempts`` and ``last_error``, the rest stay pending, and the relay sleeps with
  exponential back-off (capped) before reconnecting and re-declaring the topology;
* unroutable (no queue bound): the row is deferred with its own back-off (``next_attempt_at``)
  and the batch goes on, so one unroutable message never blocks the others -- except a type of
  :data:`~vigia.common.broker.topology.FEED_ONLY_TYPES` (``event.triaged``), which only live
  instances bind: unroutable, it had nobody to tell, and is marked published (counted in
  ``vigia_outbox_unheard_total``) rather than retried until a live instance comes.

A crash after the broker confirmed but before the mark commits publishes that row again later:
consumers dedupe by the message id (the envelope id, also the AMQP ``message_id``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone
from pika.exceptions import AMQPError
from prometheus_client import Counter, Gauge

from vigia.common.broker.connection import redact
from vigia.common.broker.errors import BrokerError, PublishError, UnroutableError
from vigia.common.broker.settings import BrokerSettings
from vigia.common.broker.sync import SyncPublisher
from vigia.common.broker.topology import FEED_ONLY_TYPES, ORG_HEADER
from vigia.control.outbox.models import OutboxMessage

log = logging.getLogger(__name__)

OUTBOX_PENDING = Gauge("vigia_outbox_pending", "Outbox rows not yet published")
OUTBOX_PUBLISHED = Counter("vigia_outbox_published_total", "Outbox rows published and confirmed")
OUTBOX_FAILURES = Counter("vigia_outbox_publish_failures_total", "Failed outbox publishes", ["reason"])
OUTBOX_UNHEARD = Counter("vigia_outbox_unheard_total",
                         "Feed-only outbox rows no live instance was bound for: marked published, not retried",
                         ["type"])

MAX_ERROR_CHARS = 1000


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off: ``initial * 2**(n-1)``, capped at ``maximum`` seconds."""

    initial: float = 0.5
    maximum: float = 30.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.maximum, self.initial * (2 ** min(failures - 1, 30)))


@dataclass
class CycleResult:
    """What one relay cycle did."""

    published: int = 0
    deferred: int = 0
    broker_failed: bool = False


def _headers(row: OutboxMessage) -> dict[str, Any]:
    headers: dict[str, Any] = {"x-vigia-outbox-attempt": row.attempts + 1}
    if row.org_id is not None:  # the automation shards hash it (vigia.common.broker.topology)
        headers[ORG_HEADER] = str(row.org_id)
    return headers


class OutboxRelay:
    """Publishes pending outbox rows through a :class:`SyncPublisher` (one per relay, one thread)."""

    def __init__(self, amqp_url: str, *, batch: int = 100, poll_seconds: float = 0.5,
                 backoff: Backoff | None = None, broker_settings: BrokerSettings | None = None) -> None:
        self.amqp_url = amqp_url
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.backoff = backoff or Backoff()
        self.broker_settings = broker_settings
        self._publisher: SyncPublisher | None = None
        self._broker_failures = 0
        self._running = False  # the start-up line reports the first connection; later ones log their own

    # --- broker -----------------------------------------------------------------------------

    def _connected_publisher(self) -> SyncPublisher:
        """The publisher, connecting and declaring the topology first if needed."""
        if self._publisher is None:
            publisher = SyncPublisher(self.amqp_url, settings=self.broker_settings, declare=True,
                                      connection_name="vigia-outbox-relay")
            publisher.connect()  # declares every exchange/queue/binding, idempotently
            self._publisher = publisher
            if self._running:
                log.info("outbox relay connected to the broker", extra={"amqp": redact(self.amqp_url)})
        return self._publisher

    def connect(self) -> bool:
        """Connect and declare the topology now; False (logged) if the broker cannot be reached."""
        try:
            self._connected_publisher()
            return True
        except (AMQPError, BrokerError, OSError) as exc:
            log.warning("broker unreachable, will retry", extra={"amqp": redact(self.amqp_url),
                                                                  "error": repr(exc)})
            self._drop_publisher()
            return False

    def _drop_publisher(self) -> None:
        publisher, self._publisher = self._publisher, None
        if publisher is not None:
            with contextlib.suppress(AMQPError, OSError):  # a dead connection may fail to close
                publisher.close()

    def close(self) -> None:
        self._drop_publisher()

    # --- one cycle --------------------------------------------------------------------------

    def run_once(self) -> CycleResult:
        """Publish one batch of due rows in one transaction; never raises for broker trouble."""
        result = CycleResult()
        now = timezone.now()
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(published_at__isnull=True)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("id")[: self.batch]
            )
            if not rows:
                return result
            try:
                publisher = self._connected_publisher()
            except (AMQPError, BrokerError, OSError) as exc:
                self._record_failure(rows[0], f"broker unreachable: {exc!r}", defer=False)
                result.broker_failed = True
                OUTBOX_FAILURES.labels(reason="connect").inc()
                self._drop_publisher()
                return result
            published: list[Any] = []
            for row in rows:
                try:
                    publisher.publish_raw(row.exchange, row.routing_key, bytes(row.body),
                                          message_id=str(row.id), type=row.type,
                                          headers=_headers(row))
                except UnroutableError as exc:
                    if row.type in FEED_ONLY_TYPES:  # no live instance, no operator to tell: done
                        OUTBOX_UNHEARD.labels(type=row.type).inc()
                        published.append(row.id)
                        continue
                    # No queue bound for it yet: retry this one later, keep publishing the others.
                    self._record_failure(row, str(exc), defer=True)
                    result.deferred += 1
                    OUTBOX_FAILURES.labels(reason="unroutable").inc()
                    log.warning("outbox message unroutable, deferred",
                                extra={"message_id": str(row.id), "type": row.type,
                                       "exchange": row.exchange, "routing_key": row.routing_key,
                                       "attempts": row.attempts})
                    continue
                except (PublishError, AMQPError, OSError) as exc:
                    self._record_failure(row, str(exc), defer=False)
                    result.broker_failed = True
                    OUTBOX_FAILURES.labels(reason="broker").inc()
                    self._drop_publisher()
                    break
                published.append(row.id)
            if published:
                OutboxMessage.objects.filter(id__in=published).update(published_at=timezone.now())
                OUTBOX_PUBLISHED.inc(len(published))
            result.published = len(published)
        return result

    def _record_failure(self, row: OutboxMessage, error: str, *, defer: bool) -> None:
        row.attempts += 1
        row.last_error = error[:MAX_ERROR_CHARS]
        fields = ["attempts", "last_error"]
        if defer:
            row.next_attempt_at = timezone.now() + timedelta(seconds=self.backoff.delay(row.attempts))
            fields.append("next_attempt_at")
        row.save(update_fields=fields)

    def pending(self) -> int:
        """Rows not yet published (also exported as ``vigia_outbox_pending``)."""
        count = OutboxMessage.objects.filter(published_at__isnull=True).count()
        OUTBOX_PENDING.set(count)
        return count

    # --- the loop ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Relay until ``stop`` is set; the batch in flight finishes first (SIGTERM sets ``stop``)."""
        last_gauge = 0.0
        connected = self.connect()  # declare the topology at start-up so consumers find their queues early
        log.info("outbox relay ready: batch %d, broker %s", self.batch, "connected" if connected else
                 "unreachable (retrying)", extra={"amqp": redact(self.amqp_url), "batch": self.batch,
                                                  "connected": connected})
        self._running = True
        try:
            while not stop.is_set():
                close_old_connections()  # drop a connection the database closed or that aged out
                try:
                    result = self.run_once()
                except Exception:
                    # A database hiccup must not kill the relay: log it, back off, try again.
                    log.exception("outbox relay cycle failed")
                    result = CycleResult(broker_failed=True)
                if time.monotonic() - last_gauge > 5 or result.broker_failed:
                    self._safe_gauge()
                    last_gauge = time.monotonic()
                if result.broker_failed:
                    self._broker_failures += 1
                    delay = self.backoff.delay(self._broker_failures)
                    log.warning("broker unavailable, outbox relay backing off",
                                extra={"retry_in_s": delay, "failures": self._broker_failures})
                    stop.wait(delay)
                    continue
                self._broker_failures = 0
                if result.published < self.batch:
                    stop.wait(self.poll_seconds)  # caught up: poll; a full batch loops at once
        finally:
            self.close()
            connection.close()  # this thread's database connection, so nothing outlives the relay
            log.info("outbox relay stopped")

    def _safe_gauge(self) -> None:
        try:
            self.pending()
        except Exception:  # the gauge is advisory; the next cycle reports the real problem
            log.debug("could not count pending outbox rows", exc_info=True)
