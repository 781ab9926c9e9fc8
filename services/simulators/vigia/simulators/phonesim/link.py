"""One phone's WebSocket to ingest-sensors, behaving like a careful real client.

Protocol (the #4 contract): connect to ``ws://host:8002/api/v1/sensors/ws``; authenticate with the
device token in the query (``?token=``) or as the first frame ``{"type":"auth","token":…}``; wait
for ``{"type":"hello", "max_frame_bytes", "rate_limit", …}``; then send packets (one JSON object,
or an array when several are waiting) and audio chunks (a ``{"type":"audio", "seq", "timestamp",
"sample_rate"}`` header frame followed by one binary frame of PCM16 LE mono). Every item has a
seq from one per-phone increasing counter. The server answers ``{"type":"ack","seq":N}``
(cumulative: all items <= N sent on this connection are confirmed or rejected) and
``{"type":"error","seq":…,"field":…,"message":…}`` for rejected packets.

What a phone keeps: every item not yet acked, in seq order, in a bounded buffer (items and bytes;
when full, the oldest are dropped and counted — a phone's memory is finite). After a reconnect it
resends every buffered item, i.e. everything after the last ack, before anything new, paced under
the server's ``rate_limit`` and split under ``max_frame_bytes``. Connection failures are retried
with exponential back-off and full jitter; a token the server refuses (close 4401) is retried at
the longest back-off, since an operator may fix it. On stop, it keeps the connection until every
buffered item is acked or ``drain_timeout`` passes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

log = logging.getLogger(__name__)

CLOSE_UNAUTHORIZED = 4401


class Refused(Exception):
    """The server refused the phone (bad token, or a hello that is not one)."""


@dataclass
class Item:
    """One thing to deliver: a packet (``text`` is its JSON) or an audio chunk (header + ``blob``)."""

    seq: int
    kind: Literal["packet", "audio"]
    text: str
    blob: bytes | None = None
    sent_at: float = 0.0  # monotonic time of the latest send, for ack latency
    sends: int = 0

    @property
    def size(self) -> int:
        return len(self.text) + (len(self.blob) if self.blob is not None else 0)


@dataclass(frozen=True)
class LinkOptions:
    url: str  # ws://host:port/api/v1/sensors/ws
    token: str
    auth: Literal["message", "query"] = "message"
    batch: int = 1  # packets per frame while live (more only when they pile up)
    resend_batch: int = 50  # packets per frame while catching up
    max_buffer_items: int = 6_000
    max_buffer_bytes: int = 8 * 1024 * 1024
    backoff_initial: float = 0.2
    backoff_max: float = 10.0
    hello_timeout: float = 10.0
    drain_timeout: float = 5.0
    rate_margin: float = 0.9  # send at most this share of the server's rate_limit


@dataclass
class LinkStats:
    """Counters of one phone's link (items are packets and audio chunks)."""

    queued: int = 0
    items_sent: int = 0
    frames_sent: int = 0
    resent: int = 0
    acked_packets: int = 0
    acked_audio: int = 0
    rejected: int = 0
    errors: int = 0
    dropped: int = 0
    connects: int = 0
    disconnects: int = 0
    last_ack: int | None = None
    close_codes: dict[str, int] = field(default_factory=dict)
    latencies: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=50_000))

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "latencies"}
        out["close_codes"] = dict(self.close_codes)
        return out


class TokenBucket:
    """``rate`` items per second with a burst of ``capacity``; :meth:`take` waits for tokens."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate, self.capacity = rate, max(1.0, capacity)
        self.tokens, self.stamp = self.capacity, time.monotonic()

    async def take(self, n: int) -> None:
        n = min(n, int(self.capacity))
        while True:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= n:
                self.tokens -= n
                return
            await asyncio.sleep((n - self.tokens) / self.rate)


class PhoneLink:
    """The buffer and the connection of one phone. :meth:`put` queues items; :meth:`run` delivers."""

    def __init__(self, options: LinkOptions, *, name: str = "phone") -> None:
        self.options = options
        self.name = name
        self.stats = LinkStats()
        self.hello: dict[str, Any] | None = None
        self.errors: collections.deque[dict[str, Any]] = collections.deque(maxlen=100)
        self.connected = asyncio.Event()
        self._inflight: collections.deque[Item] = collections.deque()  # sent on this connection
        self._pending: collections.deque[Item] = collections.deque()  # not sent on this connection
        self._bytes = 0
        self._rejected: set[int] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._drain_deadline = 0.0

    # --- the buffer ------------------------------------------------------------------------------

    @property
    def unacked(self) -> int:
        return len(self._inflight) + len(self._pending)

    def put(self, item: Item) -> None:
        """Queue an item (seqs must increase); drop the oldest ones if the buffer is full."""
        self._pending.append(item)
        self._bytes += item.size
        self.stats.queued += 1
        opts = self.options
        while self.unacked > opts.max_buffer_items or (self._bytes > opts.max_buffer_bytes and self.unacked > 1):
            old = self._inflight.popleft() if self._inflight else self._pending.popleft()
            self._bytes -= old.size
            self.stats.dropped += 1
        self._wake.set()

    def _acked(self, seq: int) -> None:
        now = time.monotonic()
        stats = self.stats
        stats.last_ack = seq if stats.last_ack is None else max(stats.last_ack, seq)
        while self._inflight and self._inflight[0].seq <= seq:
            item = self._inflight.popleft()
            self._bytes -= item.size
            stats.latencies.append(now - item.sent_at)
            if item.seq in self._rejected:
                self._rejected.discard(item.seq)
                stats.rejected += 1
            elif item.kind == "packet":
                stats.acked_packets += 1
            else:
                stats.acked_audio += 1
        self._wake.set()

    def _requeue(self) -> None:
        """A new connection: what the old one sent but got no ack for is sent again first."""
        if self._inflight:
            self.stats.resent += len(self._inflight)
            self._pending.extendleft(reversed(self._inflight))
            self._inflight.clear()
        self._rejected.clear()

    # --- the connection --------------------------------------------------------------------------

    def stop(self) -> None:
        """Deliver what is buffered (up to ``drain_timeout``), then close and return from :meth:`run`."""
        if not self._stopping.is_set():
            self._drain_deadline = time.monotonic() + self.options.drain_timeout
            self._stopping.set()
            self._wake.set()

    def _done(self) -> bool:
        return self._stopping.is_set() and (self.unacked == 0 or time.monotonic() >= self._drain_deadline)

    async def run(self) -> None:
        """Connect, deliver, reconnect with back-off, until :meth:`stop` and drained."""
        delay = self.options.backoff_initial
        while not self._done():
            try:
                await self._connection()
            except Refused as exc:
                log.error("%s: refused by the server: %s", self.name, exc)
                delay = self.options.backoff_max
            except (OSError, TimeoutError, ConnectionClosed, InvalidHandshake) as exc:
                if self._done():
                    break  # our own close after draining
                code = getattr(getattr(exc, "rcvd", None), "code", None)
                if isinstance(exc, InvalidStatus):
                    code = exc.response.status_code
                self.stats.close_codes[str(code or type(exc).__name__)] = \
                    self.stats.close_codes.get(str(code or type(exc).__name__), 0) + 1
                if code == CLOSE_UNAUTHORIZED:
                    log.error("%s: token refused (4401)", self.name)
                    delay = self.options.backoff_max
                else:
                    log.info("%s: connection lost (%s); retrying", self.name, code or type(exc).__name__)
            except Exception:  # a bug must not silently end a phone: log it and go on like a lost link
                log.exception("%s: unexpected error; reconnecting", self.name)
                self.stats.close_codes["error"] = self.stats.close_codes.get("error", 0) + 1
            finally:
                if self.connected.is_set():  # it got as far as the hello: start backing off afresh
                    self.stats.disconnects += 1
                    delay = self.options.backoff_initial
                self.connected.clear()
            if self._done():
                break
            # Full jitter: phones that lost the gateway together do not come back together.
            pause = random.uniform(0, delay)
            if self._stopping.is_set():  # draining: retry until the deadline, still backing off
                await asyncio.sleep(min(pause, max(0.0, self._drain_deadline - time.monotonic())))
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), pause)
            delay = min(self.options.backoff_max, max(delay, 0.05) * 2)

    async def _connection(self) -> None:
        opts = self.options
        url = opts.url
        if opts.auth == "query":
            url += ("&" if "?" in url else "?") + "token=" + quote(opts.token, safe="")
        async with connect(url, open_timeout=opts.hello_timeout, compression=None, max_size=1 << 20,
                           close_timeout=2, user_agent_header="vigia-phonesim") as ws:
            if opts.auth == "message":
                await ws.send(orjson.dumps({"type": "auth", "token": opts.token}).decode())
            self.hello = await self._await_hello(ws)
            self.stats.connects += 1
            self.connected.set()
            self._requeue()
            reader = asyncio.create_task(self._read(ws), name=f"{self.name}-read")
            sender = asyncio.create_task(self._send(ws), name=f"{self.name}-send")
            try:
                done, _ = await asyncio.wait({reader, sender}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (reader, sender):
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await asyncio.gather(reader, sender, return_exceptions=False)
            for task in done:
                task.result()  # raises ConnectionClosed & co. for the retry loop
            if not self._done():
                raise _closed(ws)

    async def _await_hello(self, ws: ClientConnection) -> dict[str, Any]:
        raw = await asyncio.wait_for(ws.recv(), self.options.hello_timeout)  # a 4401 close raises here
        try:
            hello = orjson.loads(raw)
        except orjson.JSONDecodeError:
            hello = None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            raise Refused(f"expected a hello frame, got {str(raw)[:200]!r}")
        return hello

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            if isinstance(raw, bytes):
                continue
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError:
                log.warning("%s: unreadable frame from the server: %r", self.name, raw[:200])
                continue
            kind = message.get("type") if isinstance(message, dict) else None
            if kind == "ack" and isinstance(message.get("seq"), int):
                self._acked(message["seq"])
            elif kind == "error":
                self.stats.errors += 1
                self.errors.append(message)
                if isinstance(message.get("seq"), int):
                    self._rejected.add(message["seq"])
                if self.stats.errors <= 10 or self.stats.errors % 1000 == 0:
                    log.warning("%s: server rejected seq %s: %s: %s", self.name, message.get("seq"),
                                message.get("field"), message.get("message"))
        # The server closed the connection (normally or not): let the retry loop decide.
        raise _closed(ws)

    async def _send(self, ws: ClientConnection) -> None:
        hello = self.hello or {}
        max_frame = int(hello.get("max_frame_bytes") or 1 << 20)
        rate = float(hello.get("rate_limit") or 0)
        bucket = TokenBucket(rate * self.options.rate_margin, rate * self.options.rate_margin) if rate > 0 else None
        while True:
            if self._done():
                await ws.close(1000, "phone stopping")
                return
            if not self._pending:
                self._wake.clear()
                if self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), max(0.0, self._drain_deadline - time.monotonic()))
                else:
                    await self._wake.wait()
                continue
            first = self._pending[0]
            if first.kind == "audio":
                items = [first]
                if max(len(first.text), len(first.blob or b"")) > max_frame:
                    self._oversize(first, max_frame)
                    continue
            else:
                items = self._packets(max_frame)
                if not items:
                    self._oversize(first, max_frame)
                    continue
            if bucket is not None:
                await bucket.take(len(items))
            for _ in items:
                self._inflight.append(self._pending.popleft())
            now = time.monotonic()
            for item in items:
                item.sent_at, item.sends = now, item.sends + 1
            if first.kind == "audio":
                await ws.send(first.text)
                assert first.blob is not None
                await ws.send(first.blob)
                self.stats.frames_sent += 2
            else:
                await ws.send(items[0].text if len(items) == 1 else "[" + ",".join(i.text for i in items) + "]")
                self.stats.frames_sent += 1
            self.stats.items_sent += len(items)

    def _packets(self, max_frame: int) -> list[Item]:
        """Leading packets of the pending queue that fit one frame: one at a time while live,
        up to ``resend_batch`` when they piled up (after a reconnect)."""
        limit = self.options.resend_batch if len(self._pending) > self.options.batch else self.options.batch
        out: list[Item] = []
        size = 2
        for item in self._pending:
            if item.kind != "packet" or len(out) >= limit or size + len(item.text) + 1 > max_frame:
                break
            out.append(item)
            size += len(item.text) + 1
        return out

    def _oversize(self, item: Item, max_frame: int) -> None:
        # It can never be accepted: drop it rather than loop on close 1009.
        log.error("%s: item %s (%d bytes) exceeds the server's max_frame_bytes %d; dropped",
                  self.name, item.seq, item.size, max_frame)
        self._pending.popleft()
        self._bytes -= item.size
        self.stats.dropped += 1


def _closed(ws: ClientConnection) -> ConnectionClosed:
    """The exception :meth:`ClientConnection.recv` would raise for this (closed) connection."""
    proto = ws.protocol
    return ConnectionClosed(proto.close_rcvd, proto.close_sent, proto.close_rcvd_then_sent)
