"""Every exchange, queue and binding of Vigia, declared idempotently from one description.

:func:`build_topology` describes the broker as plain data (:class:`ExchangeSpec`,
:class:`QueueSpec`, :class:`Binding`); :func:`declare_topology` (aio-pika) and
:func:`declare_topology_sync` (pika) both declare exactly that, so async services and Django see
the same broker. Declaring twice is a no-op; declaring over an entity that exists with other
arguments raises :class:`~vigia.common.broker.errors.TopologyConflictError`.

Layout (see ARCHITECTURE.md "Broker topology")::

    vigia.frames  (topic)    frame.#   -> vigia.frames.shards (x-consistent-hash, internal)
                                          weight "1"         -> vision.frames.<0..F-1> (classic, perishable)
    vigia.sensors (topic)    sensor.#  -> vigia.sensors.shards (x-consistent-hash, internal)
                                          weight "1"         -> fusion.sensors.<0..N-1> (SAC)
    vigia.events  (topic)    detection.# plate.read.# event.# anomaly.# device.status.# camera.health.#
                                                                             -> recorder.events
                             detection.# anomaly.# plate.read.# camera.health.# -> correlator.in
                             (per-instance, exclusive)        -> live.<instance>
                             pipeline.status.# triage.# forecast.# -> live.<instance> only (FEED_ONLY_TYPES)
    vigia.control (topic)    camera.# device.# pipeline.# model.activated.# -> correlator.control
                             camera.#                         -> streamer.control
                             forecast.requested.#             -> forecast.control
                             training.requested.#             -> trainer.control
    vigia.actions (direct)   action.<kind>                    -> notifier.actions
                             notifier.retry.<ms>              -> notifier.retry.<ms> (TTL <ms>, then
                                                                 dead-lettered to notifier.actions)
    vigia.events  (topic)    detection.# plate.read.# anomaly.# event.# device.status.# camera.health.#
    vigia.control (topic)    pipeline.# camera.# watchlist.#
                               -> vigia.automation.shards (x-consistent-hash on header x-vigia-org)
                                  weight "1"         -> automation.<0..A-1> (SAC)
    vigia.dlx     (topic)    <queue name>                     -> <queue>.dlq

Decisions:

* ``vigia.sensors`` is a topic exchange with an internal consistent-hash exchange behind it, as
  ARCHITECTURE says "topic -> consistent hash": other consumers (a raw archive, debugging) can bind
  to ``vigia.sensors`` by key, while the shards see every ``sensor.#`` message hashed by routing
  key, so one device always lands on one shard, processed in order by its single active consumer.
* Frames are sharded by camera like sensor packets by device (ARCHITECTURE names one
  ``vision.frames`` queue): a vision worker keeps each camera's tracker and plate votes in memory,
  so all of one camera's frames must reach one worker, in order. ``vision.frames.<k>`` has a
  single active consumer and vision replicas share the shards through Redis leases
  (:mod:`vigia.common.shards`); ``VIGIA_FRAME_SHARDS`` bounds the useful vision replicas.
* The ``vision.frames.<k>`` queues are *classic* queues. RabbitMQ 3.10 supports ``x-message-ttl``,
  ``x-max-length`` and ``x-overflow=drop-head`` on classic and on quorum queues, but frames are
  perishable and large: replicating and fsyncing them (quorum) buys nothing. The queues are
  durable (they survive a restart), their messages are transient, and they have no DLQ: an expired,
  shed or rejected frame is simply gone.
* Every other durable queue is a quorum queue with ``x-delivery-limit``; past the limit a message
  is dead-lettered to ``vigia.dlx`` with ``x-dead-letter-routing-key`` = the queue's own name and
  lands in ``<queue>.dlq``. ARCHITECTURE says "original routing key", but recorder.events and
  correlator.in share keys (``detection.#``): with the original key, a detection poisoned in
  correlator.in would also appear in recorder.events.dlq. The original exchange and routing key
  are still in the message's ``x-death`` header.
* ``plate.read.#`` and ``camera.health.#`` are bound to ``correlator.in`` (watch-list and
  camera-tampering rules) so that these messages are never unroutable while no live instance runs.
* ``streamer.control`` only binds ``camera.#``: streamers do not act on devices or pipelines.
* The action kinds (``action.<kind>``) are the channel registry's (:mod:`vigia.common.channels`):
  a new channel kind is bound and routed without touching this module.
* The notifier retries a failed delivery through delay queues, one per back-off step of
  ``VIGIA_NOTIFIER_RETRY_DELAYS_MS``: ``notifier.retry.<ms>`` holds a message ``<ms>`` (queue TTL,
  so every message in it expires in order) and dead-letters it, at least once, back to
  ``notifier.actions`` through the default exchange. A queue per delay, not a per-message TTL in
  one queue, because RabbitMQ only expires messages at the head of a queue. After the last step
  the notifier publishes the action to ``notifier.actions.dlq`` itself.
* The automation runtime is sharded by ORGANIZATION, not by camera or device: a pipeline reads
  several cameras and devices and keeps state across them, so everything of one organization --
  its detections, plate reads, anomalies, events, statuses and the changes of its pipelines,
  cameras and watch-lists -- must reach one replica, in order. ``vigia.automation.shards`` hashes
  the ``x-vigia-org`` header (:data:`ORG_HEADER`, set on every envelope published, see
  :func:`vigia.common.broker.publisher.envelope_message`) instead of the routing key, whose org
  sits in a different word per area and is absent from control keys. It is not internal: the
  runtime publishes ``automation.probe`` messages straight to it to find which replica holds an
  organization (RabbitMQ's hash ring cannot be computed outside the broker).
* An operator's triage of an event (``event.triaged``: acknowledged, resolved, classified; written
  by control through its outbox) is routed ``triage.<org>.<severity>``, NOT under ``event.#``: it
  is news for the operators' screens only. Under ``event.#`` it would reach ``recorder.events``
  (which refuses types it does not store: it would end in ``recorder.events.dlq``, unless the
  recorder got a deliberate blind spot in its binding-mistake check) and the automation shards
  (per-organization, in-order queues, to be taken and dropped there), and a consumer of an older
  release would dead-letter the unknown type. Only ``live.<instance>`` binds ``triage.#``.
  So no durable queue holds it, and while no live instance runs it is unroutable: such types are
  listed in :data:`FEED_ONLY_TYPES`, whose publishers (the outbox relay, the automation runtime
  for ``pipeline.status``) drop an unroutable one instead of retrying it -- nobody is connected to
  be told, and the database already holds the decision, which a screen reads when it opens.
* ``forecast.updated`` (the forecast service stored a forecast) is feed-only in the same way,
  routed ``forecast.<org>.<device>``: the ``forecasts`` table holds it, screens reread it.
  ``forecast.requested`` (an operator asked for a device's forecasts now; control's outbox) goes
  to ``vigia.control`` as ``forecast.requested.<org>.<device>`` and only ``forecast.control``
  binds it: one forecast replica takes each request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from vigia.common.broker.errors import RoutingError, TopologyConflictError
from vigia.common.broker.settings import BrokerSettings
from vigia.common.channels import ACTION_KINDS
from vigia.common.messages import Envelope

FRAMES = "vigia.frames"
FRAME_SHARDS = "vigia.frames.shards"
SENSORS = "vigia.sensors"
SENSOR_SHARDS = "vigia.sensors.shards"
EVENTS = "vigia.events"
CONTROL = "vigia.control"
ACTIONS = "vigia.actions"
DLX = "vigia.dlx"

VISION_FRAMES = "vision.frames"  # the prefix of the frame shard queues vision.frames.<k>
RECORDER_EVENTS = "recorder.events"
CORRELATOR_IN = "correlator.in"
CORRELATOR_CONTROL = "correlator.control"
STREAMER_CONTROL = "streamer.control"
NOTIFIER_ACTIONS = "notifier.actions"
FORECAST_CONTROL = "forecast.control"
TRAINER_CONTROL = "trainer.control"
AUTOMATION_SHARDS = "vigia.automation.shards"
AUTOMATION = "automation"  # the prefix of the automation shard queues automation.<k>
#: AMQP header carrying the envelope's organization; vigia.automation.shards hashes it.
ORG_HEADER = "x-vigia-org"
AUTOMATION_EVENT_KEYS = ("detection.#", "plate.read.#", "anomaly.#", "event.#", "device.status.#",
                         "camera.health.#")
AUTOMATION_CONTROL_KEYS = ("pipeline.#", "camera.#", "watchlist.#")
NOTIFIER_RETRY = "notifier.retry"  # the prefix of the notifier's delay queues notifier.retry.<ms>
LIVE_BINDING_KEYS = ("detection.#", "event.#", "anomaly.#", "device.status.#", "camera.health.#",
                     "plate.read.#", "triage.#", "forecast.#")


def sensor_shard_queue(shard: int) -> str:
    return f"fusion.sensors.{shard}"


def automation_shard_queue(shard: int) -> str:
    return f"{AUTOMATION}.{shard}"


def automation_shard_queues(settings: BrokerSettings | None = None) -> list[str]:
    """Every ``automation.<k>`` queue for the given settings (defaults from the environment)."""
    return [automation_shard_queue(k) for k in range((settings or BrokerSettings()).automation_shards)]


def frame_shard_queue(shard: int) -> str:
    return f"{VISION_FRAMES}.{shard}"


def frame_shard_queues(settings: BrokerSettings | None = None) -> list[str]:
    """Every ``vision.frames.<k>`` queue for the given settings (defaults from the environment)."""
    return [frame_shard_queue(k) for k in range((settings or BrokerSettings()).frame_shards)]


def notifier_retry_queue(delay_ms: int) -> str:
    return f"{NOTIFIER_RETRY}.{delay_ms}"


def dlq_name(queue: str) -> str:
    return f"{queue}.dlq"


def live_queue_name(instance: str) -> str:
    return f"live.{instance}"


# --- the description ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExchangeSpec:
    """An exchange; ``internal`` ones only receive from other exchanges."""

    name: str
    type: str
    durable: bool = True
    internal: bool = False
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueSpec:
    name: str
    durable: bool = True
    exclusive: bool = False
    auto_delete: bool = False
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    """``source`` exchange -> ``destination`` queue (or exchange) for ``routing_key``.

    For the consistent-hash exchange the routing key is the binding's weight (``"1"``)."""

    source: str
    destination: str
    routing_key: str
    destination_kind: Literal["queue", "exchange"] = "queue"
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Topology:
    exchanges: tuple[ExchangeSpec, ...]
    queues: tuple[QueueSpec, ...]
    bindings: tuple[Binding, ...]

    def queue(self, name: str) -> QueueSpec:
        for spec in self.queues:
            if spec.name == name:
                return spec
        raise KeyError(name)


def _durable_queue(name: str, delivery_limit: int, extra: Mapping[str, Any] | None = None
                   ) -> tuple[QueueSpec, QueueSpec, Binding]:
    """A quorum queue dead-lettering to its own DLQ, the DLQ, and the DLQ's binding."""
    main = QueueSpec(name, arguments={
        "x-queue-type": "quorum",
        "x-delivery-limit": delivery_limit,
        "x-dead-letter-exchange": DLX,
        "x-dead-letter-routing-key": name,
        **(extra or {}),
    })
    dlq = QueueSpec(dlq_name(name), arguments={"x-queue-type": "quorum"})
    return main, dlq, Binding(DLX, dlq.name, name)


def build_topology(settings: BrokerSettings | None = None) -> Topology:
    """The whole broker layout for the given settings (defaults from the environment)."""
    s = settings or BrokerSettings()
    exchanges = (
        ExchangeSpec(FRAMES, "topic"),
        ExchangeSpec(FRAME_SHARDS, "x-consistent-hash", internal=True),
        ExchangeSpec(SENSORS, "topic"),
        ExchangeSpec(SENSOR_SHARDS, "x-consistent-hash", internal=True),
        ExchangeSpec(EVENTS, "topic"),
        ExchangeSpec(CONTROL, "topic"),
        ExchangeSpec(ACTIONS, "direct"),
        ExchangeSpec(DLX, "topic"),
        ExchangeSpec(AUTOMATION_SHARDS, "x-consistent-hash", arguments={"hash-header": ORG_HEADER}),
    )
    queues: list[QueueSpec] = [
        QueueSpec(frame_shard_queue(shard), arguments={
            "x-queue-type": "classic",
            "x-message-ttl": s.frame_ttl_ms,
            "x-max-length": s.frames_max_length,
            "x-overflow": "drop-head",
            "x-single-active-consumer": True,
        }) for shard in range(s.frame_shards)
    ]
    bindings: list[Binding] = [
        Binding(FRAMES, FRAME_SHARDS, "frame.#", destination_kind="exchange"),
        *(Binding(FRAME_SHARDS, frame_shard_queue(shard), "1") for shard in range(s.frame_shards)),
        Binding(SENSORS, SENSOR_SHARDS, "sensor.#", destination_kind="exchange"),
    ]

    def durable(name: str, source: str, keys: Sequence[str], extra: Mapping[str, Any] | None = None) -> None:
        main, dlq, dlq_binding = _durable_queue(name, s.delivery_limit, extra)
        queues.extend((main, dlq))
        bindings.extend(Binding(source, name, key) for key in keys)
        bindings.append(dlq_binding)

    for shard in range(s.sensor_shards):
        durable(sensor_shard_queue(shard), SENSOR_SHARDS, ["1"], {"x-single-active-consumer": True})
    durable(RECORDER_EVENTS, EVENTS, ["detection.#", "plate.read.#", "event.#", "anomaly.#", "device.status.#",
                                      "camera.health.#"])
    durable(CORRELATOR_IN, EVENTS, ["detection.#", "anomaly.#", "plate.read.#", "camera.health.#"])
    durable(CORRELATOR_CONTROL, CONTROL, ["camera.#", "device.#", "pipeline.#", "model.activated.#"])
    durable(STREAMER_CONTROL, CONTROL, ["camera.#"])
    durable(FORECAST_CONTROL, CONTROL, ["forecast.requested.#"])
    durable(TRAINER_CONTROL, CONTROL, ["training.requested.#"])
    durable(NOTIFIER_ACTIONS, ACTIONS, [f"action.{kind}" for kind in ACTION_KINDS])
    for delay_ms in s.notifier_retry_delays():
        queues.append(QueueSpec(notifier_retry_queue(delay_ms), arguments={
            "x-queue-type": "quorum",
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": NOTIFIER_ACTIONS,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }))
        bindings.append(Binding(ACTIONS, notifier_retry_queue(delay_ms), notifier_retry_queue(delay_ms)))
    bindings.extend(Binding(EVENTS, AUTOMATION_SHARDS, key, destination_kind="exchange")
                    for key in AUTOMATION_EVENT_KEYS)
    bindings.extend(Binding(CONTROL, AUTOMATION_SHARDS, key, destination_kind="exchange")
                    for key in AUTOMATION_CONTROL_KEYS)
    for shard in range(s.automation_shards):
        durable(automation_shard_queue(shard), AUTOMATION_SHARDS, ["1"], {"x-single-active-consumer": True})
    return Topology(exchanges, tuple(queues), tuple(bindings))


def live_queue_spec(instance: str, max_length: int = 10_000) -> QueueSpec:
    """A live fan-out instance's private queue: gone with its connection, bounded so a stalled
    instance sheds the oldest events instead of growing without limit."""
    return QueueSpec(live_queue_name(instance), durable=False, exclusive=True, auto_delete=True,
                     arguments={"x-queue-type": "classic", "x-max-length": max_length,
                                "x-overflow": "drop-head"})


# --- routing of messages --------------------------------------------------------------------------

RouteKey = Callable[[Envelope], str]


def _attr(name: str) -> Callable[[Envelope], str]:
    def get(envelope: Envelope) -> str:
        return str(getattr(envelope.data, name))

    return get


def _org_key(prefix: str, part: Callable[[Envelope], str]) -> RouteKey:
    return lambda env: f"{prefix}.{env.org}.{part(env)}"


def _type_key(env: Envelope) -> str:
    return env.type


_ROUTES: dict[str, tuple[str, RouteKey]] = {
    "frame.captured": (FRAMES, _org_key("frame", _attr("camera"))),
    "sensor.batch": (SENSORS, _org_key("sensor", _attr("device"))),
    # Same key as the device's batches: same shard, so fusion sees packets and audio in order.
    "sensor.audio": (SENSORS, _org_key("sensor", _attr("device"))),
    "detection.created": (EVENTS, _org_key("detection", _attr("camera"))),
    "plate.read": (EVENTS, _org_key("plate.read", _attr("camera"))),
    "anomaly.detected": (EVENTS, _org_key("anomaly", _attr("device"))),
    "event.created": (EVENTS, _org_key("event", _attr("severity"))),
    "event.updated": (EVENTS, _org_key("event", _attr("severity"))),
    # Not event.#: only the live feed binds it (see the module's decisions and FEED_ONLY_TYPES).
    "event.triaged": (EVENTS, _org_key("triage", _attr("severity"))),
    "device.status": (EVENTS, _org_key("device.status", _attr("device"))),
    "camera.health": (EVENTS, _org_key("camera.health", _attr("camera"))),
    # Not anomaly.# nor event.#: only the live feed binds it (FEED_ONLY_TYPES).
    "forecast.updated": (EVENTS, _org_key("forecast", _attr("device"))),
    "forecast.requested": (CONTROL, _org_key("forecast.requested", _attr("device"))),
    "training.requested": (CONTROL, _org_key("training.requested", _attr("run"))),
    "model.activated": (CONTROL, _org_key("model.activated", _attr("model"))),
    "camera.restart": (CONTROL, lambda env: f"camera.restart.{_attr('camera')(env)}"),
    **{t: (CONTROL, _type_key) for t in ("camera.created", "camera.updated", "camera.deleted",
                                         "device.created", "device.updated", "device.deleted",
                                         "pipeline.created", "pipeline.updated", "pipeline.started",
                                         "pipeline.stopped", "pipeline.deleted")},
    **{f"action.{kind}": (ACTIONS, _type_key) for kind in ACTION_KINDS},
    "pipeline.status": (EVENTS, _org_key("pipeline.status", _attr("pipeline"))),
    "pipeline.hook": (CONTROL, _org_key("pipeline.hook", _attr("pipeline"))),
    **{t: (CONTROL, _org_key("watchlist", _attr("watchlist")))
       for t in ("watchlist.created", "watchlist.updated", "watchlist.deleted")},
    # Straight to the automation shards (the key is ignored: the exchange hashes the org header).
    "automation.probe": (AUTOMATION_SHARDS, lambda env: "probe"),
}

#: Types whose messages are perishable: published transient, never dead-lettered.
PERISHABLE_TYPES = frozenset({"frame.captured"})
#: Types only the operators' live feed binds (``live.<instance>``, exclusive, gone with its
#: process): published mandatory like every message, but unroutable means no live instance runs,
#: so no operator to tell; publishers drop such a message instead of retrying it.
FEED_ONLY_TYPES = frozenset({"pipeline.status", "event.triaged", "forecast.updated"})


def exchange_for(message_type: str) -> str:
    """The exchange a message of this type is published to."""
    try:
        return _ROUTES[message_type][0]
    except KeyError:
        raise RoutingError(f"no route for message type {message_type!r}") from None


def routing_key(envelope: Envelope) -> str:
    """The routing key of an envelope, e.g. ``detection.<org>.<camera>``."""
    try:
        return _ROUTES[envelope.type][1](envelope)
    except KeyError:
        raise RoutingError(f"no route for message type {envelope.type!r}") from None


def route(envelope: Envelope) -> tuple[str, str]:
    """``(exchange, routing_key)`` of an envelope."""
    try:
        exchange, key = _ROUTES[envelope.type]
    except KeyError:
        raise RoutingError(f"no route for message type {envelope.type!r}") from None
    return exchange, key(envelope)


def routed_types() -> frozenset[str]:
    return frozenset(_ROUTES)


# --- declaration ------------------------------------------------------------------------------

def _conflict(kind: str, name: str, exc: BaseException) -> TopologyConflictError:
    return TopologyConflictError(kind, name, str(exc))


async def declare_topology(channel: Any, settings: BrokerSettings | None = None,
                           topology: Topology | None = None) -> Topology:
    """Declare every exchange, queue and binding on an aio-pika channel; returns what it declared.

    A conflict (406 PRECONDITION_FAILED) closes the channel and raises TopologyConflictError.
    """
    import aio_pika
    from aio_pika.exceptions import ChannelPreconditionFailed

    topo = topology or build_topology(settings)
    exchanges: dict[str, Any] = {}
    for ex in topo.exchanges:
        try:
            exchanges[ex.name] = await channel.declare_exchange(
                ex.name, aio_pika.ExchangeType(ex.type), durable=ex.durable, internal=ex.internal,
                auto_delete=False, arguments=dict(ex.arguments) or None)
        except ChannelPreconditionFailed as exc:
            raise _conflict("exchange", ex.name, exc) from exc
    queues: dict[str, Any] = {}
    for q in topo.queues:
        queues[q.name] = await _declare_queue_async(channel, q)
    for b in topo.bindings:
        if b.destination_kind == "queue":
            await queues[b.destination].bind(exchanges[b.source], b.routing_key,
                                              arguments=dict(b.arguments) or None)
        else:
            await exchanges[b.destination].bind(exchanges[b.source], b.routing_key,
                                                arguments=dict(b.arguments) or None)
    return topo


async def _declare_queue_async(channel: Any, spec: QueueSpec) -> Any:
    from aio_pika.exceptions import ChannelPreconditionFailed

    try:
        return await channel.declare_queue(
            spec.name, durable=spec.durable, exclusive=spec.exclusive, auto_delete=spec.auto_delete,
            arguments=dict(spec.arguments))
    except ChannelPreconditionFailed as exc:
        raise _conflict("queue", spec.name, exc) from exc


async def declare_live_queue(channel: Any, instance: str | None = None,
                             binding_keys: Sequence[str] = LIVE_BINDING_KEYS,
                             max_length: int = 10_000) -> Any:
    """Declare ``live.<instance>`` (exclusive, auto-delete, non-durable) bound to vigia.events.

    ``instance`` defaults to a random id; returns the aio-pika queue. The exchange is declared too
    (idempotently) so a live instance can start before the rest of the topology."""
    import aio_pika

    spec = live_queue_spec(instance or uuid.uuid4().hex[:12], max_length)
    exchange = await channel.declare_exchange(EVENTS, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await _declare_queue_async(channel, spec)
    for key in binding_keys:
        await queue.bind(exchange, key)
    return queue


def declare_topology_sync(channel: Any, settings: BrokerSettings | None = None,
                          topology: Topology | None = None) -> Topology:
    """Declare the same topology on a pika ``BlockingChannel`` (Django, scripts)."""
    from pika.exceptions import ChannelClosedByBroker

    topo = topology or build_topology(settings)
    current = ("", "")
    try:
        for ex in topo.exchanges:
            current = ("exchange", ex.name)
            channel.exchange_declare(ex.name, exchange_type=ex.type, durable=ex.durable,
                                     internal=ex.internal, auto_delete=False,
                                     arguments=dict(ex.arguments) or None)
        for q in topo.queues:
            current = ("queue", q.name)
            channel.queue_declare(q.name, durable=q.durable, exclusive=q.exclusive,
                                  auto_delete=q.auto_delete, arguments=dict(q.arguments))
        for b in topo.bindings:
            current = ("binding", f"{b.source} -> {b.destination} ({b.routing_key})")
            if b.destination_kind == "queue":
                channel.queue_bind(b.destination, b.source, routing_key=b.routing_key,
                                   arguments=dict(b.arguments) or None)
            else:
                channel.exchange_bind(b.destination, b.source, routing_key=b.routing_key,
                                      arguments=dict(b.arguments) or None)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 406:
            raise _conflict(current[0], current[1], exc) from exc
        raise
    return topo
