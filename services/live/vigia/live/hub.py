"""The fan-out: who is connected, per organization, and a bounded send queue per client.

Contract:

* :meth:`Hub.dispatch` never blocks and never buffers without bound: each matching client gets the
  message in its queue (``put_nowait``); a client whose queue is full is *too slow* and is closed
  with :data:`CLOSE_TOO_SLOW` (4008), counted in ``vigia_live_disconnects_total{reason="too_slow"}``.
* A message reaches only clients whose token's ``org`` equals the envelope's ``org`` and whose
  ``?types=`` filter (if any) includes its feed type.
* Closing is a request: :meth:`Client.close` records the first code/reason and wakes the socket's
  task, which sends the close frame (see :mod:`vigia.live.app`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge

from vigia.common.messages import Envelope
from vigia.live.wire import feed_message

CLOSE_GOING_AWAY = 1001
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_SLOW = 4008

CLIENTS = Gauge("vigia_live_clients", "Operator WebSockets currently connected to this instance")
MESSAGES_SENT = Counter("vigia_live_messages_sent_total", "Feed messages written to operator sockets",
                        ["type"])
MESSAGES_RECEIVED = Counter("vigia_live_events_received_total", "Envelopes taken from the broker, by "
                            "envelope type", ["type"])
DISCONNECTS = Counter("vigia_live_disconnects_total", "Operator sockets closed, by reason (too_slow: "
                      "send queue full; expired: token expired; unauthorized; shutdown; client; ...)",
                      ["reason"])


def close_reason(text: str) -> str:
    """A close reason that fits the 123 bytes RFC 6455 allows."""
    raw = text.encode("utf-8")
    return text if len(raw) <= 123 else raw[:120].decode("utf-8", "ignore") + "..."


@dataclass(eq=False)
class Client:
    """One operator socket: who it is, what it wants, what waits to be sent to it."""

    org: uuid.UUID
    user: uuid.UUID
    types: frozenset[str] | None
    queue: asyncio.Queue[tuple[str, str]]  # (feed type, JSON text)
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    close_text: str = ""
    label: str = ""  # the metrics reason for the close
    expires_at: float = float("inf")  # unix seconds after which the token no longer holds

    @classmethod
    def new(cls, org: uuid.UUID, user: uuid.UUID, types: frozenset[str] | None, queue_size: int) -> Client:
        return cls(org=org, user=user, types=types, queue=asyncio.Queue(maxsize=queue_size))

    def wants(self, feed_type: str) -> bool:
        return self.types is None or feed_type in self.types

    def offer(self, feed_type: str, text: str) -> bool:
        """Queue a message; False (and a 4008 close request) when the client is too slow."""
        if self.closing.is_set():
            return False
        try:
            self.queue.put_nowait((feed_type, text))
        except asyncio.QueueFull:
            self.close(CLOSE_TOO_SLOW, "too slow: send queue full", "too_slow")
            return False
        return True

    def close(self, code: int, reason: str, label: str) -> None:
        """Ask the socket's task to close with ``code``; the first request wins."""
        if self.closing.is_set():
            return
        self.close_code, self.close_text, self.label = code, close_reason(reason), label
        self.closing.set()


class Hub:
    """Clients by organization; :meth:`dispatch` fans an envelope out to those of its org."""

    def __init__(self, max_clients: int) -> None:
        self.max_clients = max_clients
        self._by_org: dict[uuid.UUID, set[Client]] = defaultdict(set)
        self._count = 0
        self._empty = asyncio.Event()
        self._empty.set()
        self.closing = False

    def __len__(self) -> int:
        return self._count

    def add(self, client: Client) -> bool:
        """Register a client; False when the instance is full or shutting down."""
        if self.closing or self._count >= self.max_clients:
            return False
        self._by_org[client.org].add(client)
        self._count += 1
        self._empty.clear()
        CLIENTS.set(self._count)
        return True

    def remove(self, client: Client) -> None:
        clients = self._by_org.get(client.org)
        if clients is None or client not in clients:
            return
        clients.discard(client)
        if not clients:
            del self._by_org[client.org]
        self._count -= 1
        if not self._count:
            self._empty.set()
        CLIENTS.set(self._count)

    def dispatch(self, envelope: Envelope) -> int:
        """Queue the envelope's feed message for every interested client of its org; returns how
        many got it. Never blocks."""
        MESSAGES_RECEIVED.labels(envelope.type).inc()
        clients = self._by_org.get(envelope.org)
        if not clients:
            return 0
        translated = feed_message(envelope)
        if translated is None:
            return 0
        feed_type, text = translated
        return sum(1 for client in list(clients) if client.wants(feed_type) and client.offer(feed_type, text))

    async def close_all(self, code: int, reason: str, label: str, grace: float) -> None:
        """Refuse new clients, ask every client to close, wait up to ``grace`` s for them to go."""
        self.closing = True
        for clients in list(self._by_org.values()):
            for client in list(clients):
                client.close(code, reason, label)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._empty.wait(), grace)
