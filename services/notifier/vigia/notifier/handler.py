"""One action, start to end: for each recipient claim the delivery, wait for the channel's rate
limit, render, send, record; then retry what failed through a delay queue or dead-letter it.

The consumer acks the action only after this returns, i.e. after every recipient's outcome is
committed and any retry copy is confirmed by the broker. A redelivered action (a crash, a retry
copy) is handled again from the start: delivered recipients are skipped by their idempotency key,
interrupted attempts are recorded as such, and the rest are tried.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from prometheus_client import Counter, Histogram

from vigia.common.broker import AsyncPublisher, MessageMeta, envelope_message
from vigia.common.broker.topology import ACTIONS, DLX, NOTIFIER_ACTIONS, notifier_retry_queue
from vigia.common.channels import DeliveryError, PermanentError, SendContext
from vigia.common.messages import ActionRequested, Envelope
from vigia.notifier.channels import Channel, ChannelDirectory
from vigia.notifier.deliveries import Claim, Deliveries, NewDelivery, idempotency_key
from vigia.notifier.messages import Composer
from vigia.notifier.ratelimit import RateLimiter

log = logging.getLogger("vigia.notifier")

DELIVERIES = Counter("vigia_notifier_deliveries_total", "Delivery attempts by channel kind and outcome "
                     "(delivered, retry, failed: permanent or retries exhausted, skipped: delivered or "
                     "being sent already)", ["kind", "outcome"])
SEND_SECONDS = Histogram("vigia_notifier_send_seconds", "Time of one send to the far side", ["kind"],
                         buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
DELIVERY_SECONDS = Histogram("vigia_notifier_delivery_seconds", "From the action (its envelope's time) to its "
                             "delivery accepted by the far side, retries and back-off included", ["kind"],
                             buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))


class Outcome(enum.Enum):
    DELIVERED = "delivered"
    SKIPPED = "skipped"
    FAILED = "failed"          # permanent, or the last retry failed: dead-lettered
    RETRY = "retry"            # failed, will be tried again after its back-off
    LATER = "later"            # not tried now (rate limit, another replica sending): look again soon


@dataclass(frozen=True)
class Result:
    recipient: str
    outcome: Outcome
    attempt: int = 0


class Notifier:
    """Handles ``action.<kind>`` envelopes from ``notifier.actions``."""

    def __init__(self, channels: ChannelDirectory, deliveries: Deliveries, limiter: RateLimiter,
                 composer: Composer, publisher: AsyncPublisher, context: SendContext,
                 retry_delays_ms: Sequence[int], rate_wait_max_s: float, http_sends: int = 100) -> None:
        self.channels = channels
        self.deliveries = deliveries
        self.limiter = limiter
        self.composer = composer
        self.publisher = publisher
        self.context = context
        self.retry_delays_ms = tuple(retry_delays_ms)
        self.rate_wait_max_s = rate_wait_max_s
        # HTTP sends beyond the client's connections wait here: in the client's pool every queued
        # request is matched against every connection again at each change (CPU per request).
        self.http_sends = asyncio.Semaphore(http_sends)

    @property
    def max_attempts(self) -> int:
        return len(self.retry_delays_ms) + 1

    async def handle(self, envelope: Envelope, meta: MessageMeta | None = None) -> None:
        action = envelope.data
        if not isinstance(action, ActionRequested):
            raise TypeError(f"not an action: {envelope.type}")
        kind = envelope.type.removeprefix("action.")
        channel = await self.channels.get(envelope.org, action.channel)
        refuse = None
        if channel is None:
            refuse = "no such channel in this organization"
        elif channel.kind.kind != kind:
            refuse = f"the channel is a {channel.kind.kind} channel, the action is {envelope.type}"
        elif not channel.enabled:
            refuse = "the channel is disabled"
        if channel is None or refuse is not None:
            log.warning("action refused: %s", refuse,
                        extra={"action": str(envelope.id), "channel": str(action.channel)})
            await self._refuse(envelope, action, kind, channel, refuse or "")
            return
        recipients = self._recipients(action, channel)
        if not recipients:
            await self._refuse(envelope, action, kind, channel, "no recipient: the action and the channel name none")
            return
        if len(recipients) == 1:  # the common case, without a task per recipient
            results = [await self._deliver(envelope, action, channel, recipients[0])]
        else:
            results = list(await asyncio.gather(*(self._deliver(envelope, action, channel, r) for r in recipients)))
        await self._follow_up(envelope, action, results)

    @staticmethod
    def _recipients(action: ActionRequested, channel: Channel) -> list[str]:
        if not channel.kind.needs_recipient:
            return [""]
        return list(dict.fromkeys(action.recipients or channel.config.recipients))

    def _new(self, envelope: Envelope, action: ActionRequested, kind: str, channel: Channel | None,
             recipient: str) -> NewDelivery:
        channel_id = channel.id if channel is not None else None
        return NewDelivery(org=envelope.org, action=envelope.id, channel=channel_id, kind=kind, event=action.event,
                           pipeline=action.pipeline, node=action.node or "", recipient=recipient,
                           key=idempotency_key(envelope.id, action.channel, recipient))

    async def _refuse(self, envelope: Envelope, action: ActionRequested, kind: str, channel: Channel | None,
                      error: str) -> None:
        for recipient in action.recipients or [""]:
            await self.deliveries.claim(self._new(envelope, action, kind, channel, recipient), refuse=error)
            DELIVERIES.labels(kind, "failed").inc()

    async def _deliver(self, envelope: Envelope, action: ActionRequested, channel: Channel,
                       recipient: str) -> Result:
        kind = channel.kind.kind
        config = channel.config
        wait = await self.limiter.take(channel.id, config.rate_per_s, config.burst)
        while wait > 0:
            if wait > self.rate_wait_max_s:
                return Result(recipient, Outcome.LATER)
            await asyncio.sleep(wait)
            wait = await self.limiter.take(channel.id, config.rate_per_s, config.burst)
        new = self._new(envelope, action, kind, channel, recipient)
        hold = channel.kind.hold_s(config, action.payload) if channel.kind.hold_s else 0.0
        time_out = self.context.timeout_s + hold + 1
        claimed = await self.deliveries.claim(new, lease_s=time_out + 1)  # the lease outlasts the send
        if claimed.outcome is Claim.DONE:
            DELIVERIES.labels(kind, "skipped").inc()
            return Result(recipient, Outcome.SKIPPED, claimed.attempt)
        if claimed.outcome is Claim.BUSY:
            DELIVERIES.labels(kind, "skipped").inc()
            return Result(recipient, Outcome.LATER, claimed.attempt)
        started = time.perf_counter()
        try:
            message = await self.composer.compose(envelope, action, channel, recipient)
            context = replace(self.context, idempotency_key=new.key, channel_id=str(channel.id))
            async with asyncio.timeout(time_out):  # the wait for a turn too: the lease outlasts both
                if channel.kind.http:
                    async with self.http_sends:
                        answer = await channel.kind.send(config, recipient, message, context)
                else:
                    answer = await channel.kind.send(config, recipient, message, context)
        except Exception as exc:  # every failure is recorded; a bug in a channel counts as transient
            if not isinstance(exc, DeliveryError | TimeoutError | OSError):
                log.exception("channel send raised", extra={"action": str(envelope.id), "kind": kind})
            latency = (time.perf_counter() - started) * 1000
            SEND_SECONDS.labels(kind).observe(latency / 1000)
            error = f"{type(exc).__name__}: {exc}"[:2000]
            final = isinstance(exc, PermanentError) or claimed.attempt >= self.max_attempts
            await self.deliveries.finish(claimed, attempt_status="rejected" if isinstance(exc, PermanentError)
                                         else "failed", delivery_status="failed" if final else "retrying",
                                         latency_ms=latency, error=error)
            DELIVERIES.labels(kind, "failed" if final else "retry").inc()
            log.info("delivery attempt failed", extra={"action": str(envelope.id), "kind": kind,
                                                       "attempt": claimed.attempt, "final": final, "error": error})
            return Result(recipient, Outcome.FAILED if final else Outcome.RETRY, claimed.attempt)
        latency = (time.perf_counter() - started) * 1000
        SEND_SECONDS.labels(kind).observe(latency / 1000)
        await self.deliveries.finish(claimed, attempt_status="delivered", delivery_status="delivered",
                                     response=f"{answer.status} {answer.detail}".strip(), latency_ms=latency)
        DELIVERIES.labels(kind, "delivered").inc()
        DELIVERY_SECONDS.labels(kind).observe(max(0.0, (time.time_ns() - envelope.time) / 1e9))
        return Result(recipient, Outcome.DELIVERED, claimed.attempt)

    async def _follow_up(self, envelope: Envelope, action: ActionRequested, results: Sequence[Result]) -> None:
        """Publish (confirmed) a copy of the action for the recipients to try again, to the delay
        queue of their back-off step, and the recipients that failed for good to the DLQ."""
        retry = [r for r in results if r.outcome in (Outcome.RETRY, Outcome.LATER)]
        if retry:
            # The step of the recipient furthest along decides the delay; LATER ones wait the first step.
            step = max((r.attempt for r in retry if r.outcome is Outcome.RETRY), default=1)
            delay = self.retry_delays_ms[min(step, len(self.retry_delays_ms)) - 1]
            await self._republish(envelope, action, [r.recipient for r in retry], ACTIONS, notifier_retry_queue(delay))
        failed = [r.recipient for r in results if r.outcome is Outcome.FAILED]
        if failed:
            await self._republish(envelope, action, failed, DLX, NOTIFIER_ACTIONS)

    async def _republish(self, envelope: Envelope, action: ActionRequested, recipients: list[str],
                         exchange: str, routing_key: str) -> None:
        data = action.model_copy(update={"recipients": [r for r in recipients if r] or action.recipients})
        copy = envelope.model_copy(update={"data": data})
        await self.publisher.publish_message(exchange, routing_key, envelope_message(copy))
