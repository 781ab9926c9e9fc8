"""One phone's socket, apart from the transport: buffering, batching, confirms and acks.

The contract (see the protocol in the README): ``{"type":"ack","seq":N}`` means every item with
``seq <= N`` this connection sent was confirmed by the broker or refused with an error frame.

How it holds while batching:

* Frames are handled synchronously (:meth:`SensorSession.receive_text` / :meth:`receive_bytes`):
  validated packets go into the connection's buffer, refusals become error frames at once.
* The buffer is published as one ``sensor.batch`` when it holds ``max_batch`` packets or its
  oldest packet has waited ``linger`` seconds. Each publish is a :class:`Flight` carrying ``upto``,
  the highest seq resolved (accepted or refused) when it left.
* Flights are kept in send order. The ack loop pops them from the front only as their confirms
  arrive, and acks the ``upto`` of the last one popped: a later batch confirmed early waits for the
  earlier ones, so an ack never covers an unconfirmed item.
* An audio chunk first flushes the buffer (its packets precede it at the broker, so fusion sees the
  device in order), then flies alone.
* A publish that fails (no confirm, nacked, unroutable) stops the session: nothing after it is ever
  acked, the socket is closed with 1013, and the phone resends everything above its last ack.
* At most ``inflight`` flights: beyond that the reader waits, and TCP pushes back on the phone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from vigia.common.auth import DeviceIdentity
from vigia.ingest_sensors.intake import SensorIntake
from vigia.ingest_sensors.metrics import ACK_LATENCY, PACKETS_ACCEPTED, PACKETS_REJECTED
from vigia.ingest_sensors.ratelimit import DeviceRateLimiter
from vigia.ingest_sensors.wire import (
    AudioHeader,
    AuthMessage,
    Control,
    PacketChecker,
    Rejection,
    decode_frame,
)

log = logging.getLogger(__name__)

_ACCEPTED_WS = PACKETS_ACCEPTED.labels("websocket")


class CloseConnection(Exception):
    """The socket must be closed with ``code`` once what it sent before is settled."""

    def __init__(self, code: int, reason: str, metric: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.metric = metric


@dataclass(frozen=True, slots=True)
class SessionLimits:
    max_frame_bytes: int
    max_batch: int
    linger_s: float
    inflight: int


@dataclass(slots=True)
class Flight:
    """Items sent to the broker together (or only refused: ``task`` None), in send order."""

    upto: int
    received_at: float
    packets: int
    task: asyncio.Task[None] | None


class SensorSession:
    """The per-connection state machine; ``send`` writes one text frame to the phone."""

    def __init__(self, identity: DeviceIdentity, intake: SensorIntake, limiter: DeviceRateLimiter,
                 checker: PacketChecker, limits: SessionLimits, send: Callable[[str], Awaitable[None]],
                 on_failure: Callable[[], None] | None = None) -> None:
        self.identity = identity
        self._intake = intake
        self._limiter = limiter
        self._checker = checker
        self._limits = limits
        self._send = send
        self._on_failure = on_failure
        self._loop = asyncio.get_running_loop()
        self._buffer: list[dict[str, Any]] = []
        self._buffer_since = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._flights: deque[Flight] = deque()
        self._flushed_upto = -1
        self._acked = -1
        self._audio: AudioHeader | None = None
        self._upto_before_audio = -1
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._stopping = False
        self.closed = False  # the phone is gone (or the socket closed): send nothing more
        self.failure: BaseException | None = None
        self._acker = asyncio.create_task(self._ack_loop(), name=f"sensor-acks-{identity.device}")

    @property
    def acked(self) -> int:
        return self._acked

    # --- frames in ------------------------------------------------------------------------------

    def receive_text(self, text: str) -> list[str]:
        """Handle one text frame; returns the error frames to send. Raises :class:`CloseConnection`."""
        received = time.perf_counter()
        if len(text) > self._limits.max_frame_bytes:
            raise CloseConnection(1009, f"frame larger than {self._limits.max_frame_bytes} bytes", "too_large")
        out: list[str] = []
        if self._audio is not None:
            self._abandon_audio(out)
        decoded = decode_frame(text)
        if isinstance(decoded, Control):
            self._control(decoded, out)
            return out
        if not decoded:
            return out
        if not self._limiter.take(self.identity.device, len(decoded)):
            raise CloseConnection(1008, f"rate limit of {self._limiter.rate:g} items/s exceeded", "rate_limited")
        rejections: list[Rejection] = []
        accepted = self._checker.check(decoded, rejections)
        if rejections:
            self._count(rejections, out)
        if accepted:
            buffer = self._buffer
            if not buffer:
                self._buffer_since = received
            buffer.extend(accepted)
            if len(buffer) >= self._limits.max_batch or self._limits.linger_s <= 0:
                self._flush()
            elif self._timer is None:
                self._timer = self._loop.call_later(self._limits.linger_s, self._flush)
        elif rejections:
            self._settle_refusals()
        return out

    def receive_bytes(self, data: bytes) -> list[str]:
        """Handle one binary frame: the samples of the audio chunk announced just before."""
        received = time.perf_counter()
        if len(data) > self._limits.max_frame_bytes:
            raise CloseConnection(1009, f"frame larger than {self._limits.max_frame_bytes} bytes", "too_large")
        header, self._audio = self._audio, None
        if header is None:
            rejection = Rejection(None, "audio", "binary frame without a preceding audio header", "audio")
            PACKETS_REJECTED.labels("audio").inc()
            return [rejection.frame()]
        if not data or len(data) % 2:
            rejection = Rejection(header.seq, "audio", "PCM16 samples: a non-empty, even number of bytes",
                                  "audio")
            PACKETS_REJECTED.labels("audio").inc()
            self._settle_refusals()
            return [rejection.frame()]
        self._flush(self._upto_before_audio)  # the packets before the chunk go first
        task = asyncio.create_task(self._intake.publish_audio(
            self.identity, header.seq, header.timestamp, header.sample_rate, data))
        self._fly(Flight(header.seq, received, 0, task))
        self._flushed_upto = header.seq
        return []

    def _control(self, control: Control, out: list[str]) -> None:
        message = control.message
        if control.rejection is not None:
            self._checker.reject_seq(control.rejection.seq)
            self._count([control.rejection], out)
            self._settle_refusals()
        elif isinstance(message, AudioHeader):
            if not self._limiter.take(self.identity.device, 1):
                raise CloseConnection(1008, f"rate limit of {self._limiter.rate:g} items/s exceeded",
                                      "rate_limited")
            before = self._checker.upto
            rejection = self._checker.check_audio(message)
            if rejection is not None:
                self._count([rejection], out)
                self._settle_refusals()
            else:
                self._audio, self._upto_before_audio = message, before
        elif isinstance(message, AuthMessage):
            out.append(Rejection(None, "type", "already authenticated: one device per connection").frame())

    def _abandon_audio(self, out: list[str]) -> None:
        """A text frame came where the audio samples were due: the chunk is refused."""
        header, self._audio = self._audio, None
        assert header is not None
        self._count([Rejection(header.seq, "audio", "audio header not followed by a binary frame", "audio")],
                    out)
        self._settle_refusals()

    @staticmethod
    def _count(rejections: list[Rejection], out: list[str]) -> None:
        for rejection in rejections:
            PACKETS_REJECTED.labels(rejection.reason).inc()
            out.append(rejection.frame())

    # --- flights ----------------------------------------------------------------------------------

    def _settle_refusals(self) -> None:
        """Refused items need an ack too; with packets buffered, their flight will carry it."""
        if not self._buffer and self._audio is None:
            self._flush()

    def _flush(self, upto: int | None = None) -> None:
        """Send the buffer (and the refusals resolved since the last flush) as one flight."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if upto is None:
            upto = self._upto_before_audio if self._audio is not None else self._checker.upto
        if not self._buffer:
            if upto > self._flushed_upto:
                self._fly(Flight(upto, time.perf_counter(), 0, None))
                self._flushed_upto = upto
            return
        packets, self._buffer = self._buffer, []
        task = asyncio.create_task(self._intake.publish_packets(self.identity, packets))
        self._fly(Flight(upto, self._buffer_since, len(packets), task))
        self._flushed_upto = upto

    def _fly(self, flight: Flight) -> None:
        self._flights.append(flight)
        if flight.task is None:
            self._wake.set()
        else:
            flight.task.add_done_callback(self._landed)
        if len(self._flights) >= self._limits.inflight:
            self._room.clear()

    def _landed(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled():
            task.exception()  # retrieved here; the ack loop decides what it means
        self._wake.set()

    async def wait_for_room(self) -> None:
        """Return once fewer than ``inflight`` flights are unconfirmed (or the session failed)."""
        while len(self._flights) >= self._limits.inflight and self.failure is None and not self._acker.done():
            self._room.clear()
            await self._room.wait()

    async def _ack_loop(self) -> None:
        flights = self._flights
        while True:
            await self._wake.wait()
            self._wake.clear()
            now = time.perf_counter()
            upto = -1
            accepted = 0
            while flights:
                head = flights[0]
                task = head.task
                if task is not None:
                    if not task.done():
                        break
                    error = asyncio.CancelledError() if task.cancelled() else task.exception()
                    if error is not None:
                        self._fail(error)
                        return
                    ACK_LATENCY.observe(now - head.received_at)
                    accepted += head.packets
                flights.popleft()
                upto = head.upto
            if accepted:
                _ACCEPTED_WS.inc(accepted)
            if len(flights) < self._limits.inflight:
                self._room.set()
            if upto > self._acked:
                self._acked = upto
                if not self.closed:
                    try:
                        await self._send(orjson.dumps({"type": "ack", "seq": upto}).decode())
                    except Exception:  # the phone went away: it resends what it did not see acked
                        self.closed = True
            if self._stopping and not flights:
                return

    def _fail(self, error: BaseException) -> None:
        self.failure = error
        log.warning("sensor publish failed; closing the socket so the phone resends", extra={
            "device": str(self.identity.device), "error": str(error), "acked": self._acked})
        self._room.set()
        if self._on_failure is not None:
            self._on_failure()

    # --- the end ----------------------------------------------------------------------------------

    async def finish(self, grace_s: float) -> None:
        """Publish what is buffered, wait (up to ``grace_s``) for every confirm and send the last
        ack. A pending audio header whose samples never came is dropped unacked (resent)."""
        upto = self._upto_before_audio if self._audio is not None else self._checker.upto
        self._audio = None
        if self.failure is None:
            self._flush(upto)
        self._stopping = True
        self._wake.set()
        try:
            async with asyncio.timeout(grace_s):
                await asyncio.shield(self._acker)
        except TimeoutError:
            log.warning("confirms still missing at close; the phone will resend them", extra={
                "device": str(self.identity.device), "unconfirmed": len(self._flights)})
            self._acker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._acker
