"""What the runtime hands the engine: one :class:`~vigia.common.pipelines.engine.Item` per message
of the data plane, per tick and per event left unacknowledged.

Times: ``Item.time`` is the observation time of what the message reports (a detection's frame, a
plate visit's last sighting, an anomaly's observation), else the envelope's; ``Item.received`` the
wall-clock time the runtime took the message, which ticks age keys by (ADR 0004). A tick's time is
the wall clock; the first one a pipeline gets after its state was loaded says ``resumed``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from vigia.common.ids import uuid7_of
from vigia.common.messages import Envelope, time_ns_to_datetime
from vigia.common.pipelines.engine import Item

#: Message type -> (item kind, the data field naming the source, the data field with the time).
_KINDS: dict[str, tuple[str, str | None, str | None]] = {
    "detection.created": ("detection", "camera", "captured_at"),
    "plate.read": ("plate", "camera", "last_seen"),
    "anomaly.detected": ("anomaly", "device", "observed_at"),
    "event.created": ("event", "site", None),
    "event.updated": ("event", "site", None),
    "device.status": ("device_status", "device", None),
    "camera.health": ("camera_health", "camera", None),
}

DATA_TYPES = frozenset(_KINDS) | {"pipeline.hook"}


def _when(ns: int) -> datetime:
    return time_ns_to_datetime(ns)


def raised_by_a_pipeline(data: Mapping[str, Any]) -> bool:
    """Whether an event was raised by a pipeline's dashboard node (the runtime does not feed those
    back to pipelines: a pipeline reading events and raising one would loop forever)."""
    return any(isinstance(s, Mapping) and s.get("kind") == "pipeline" for s in data.get("sources") or ())


def item_of(envelope: Envelope, received: datetime | None = None) -> Item | None:
    """The item of a data-plane message taken at ``received``; None for a message no pipeline reads."""
    if envelope.type == "pipeline.hook":
        return _hook_item(envelope, received)
    kind = _KINDS.get(envelope.type)
    if kind is None:
        return None
    name, source_field, time_field = kind
    data = envelope.data.model_dump(mode="json")
    if name == "event" and raised_by_a_pipeline(data):
        return None
    raw_time = getattr(envelope.data, time_field) if time_field else envelope.time
    source = data.get(source_field) if source_field else None
    return Item(kind=name, org=envelope.org, time=_when(raw_time), source="" if source is None else str(source),
                data=data, message_id=envelope.id, received=received)


def _hook_item(envelope: Envelope, received: datetime | None) -> Item:
    data = envelope.data
    body = getattr(data, "body", None)
    if body is None:
        body = getattr(data, "payload", {})
    return Item(kind="webhook", org=envelope.org, time=_when(envelope.time), source=str(getattr(data, "node", "")),
                data=body if isinstance(body, Mapping) else {"body": body}, message_id=envelope.id,
                received=received)


_RESUMED = {"resumed": True}


def tick_item(org: uuid.UUID, at: datetime, *, resumed: bool = False) -> Item:
    """The tick of ``org`` at ``at`` (whole seconds); its id is the same whoever computes it.
    ``resumed``: the first tick after the pipeline's state was loaded (the time the runtime was away
    is not time its keys were idle)."""
    ns = int(at.timestamp()) * 1_000_000_000
    return Item(kind="tick", org=org, time=at, source="", data=_RESUMED if resumed else {},
                message_id=uuid7_of(ns, f"tick/{org}"))


def unacknowledged_item(org: uuid.UUID, row: Mapping[str, Any], at: datetime) -> Item:
    """An event read from the database (not acknowledged, or just acknowledged/resolved) as the
    event input nodes read event messages; its id changes when it is handled, not otherwise."""
    started: datetime = row["time"]
    handled = row.get("acknowledged_at") or row.get("resolved_at")
    data: dict[str, Any] = {
        "event": str(row["id"]), "event_type": row["event_type"], "severity": row["severity"],
        "score": row["score"], "started_at": _iso(started), "ended_at": _iso(row.get("ended_at")),
        "site": row.get("site"), "sources": row.get("sources") or [], "description": row.get("description") or "",
        "status": row.get("status"), "acknowledged_at": _iso(row.get("acknowledged_at")),
        "resolved_at": _iso(row.get("resolved_at")),
    }
    key = f"event/{row['id']}/{_iso(handled) or 'open'}"
    return Item(kind="event", org=org, time=at, source=row.get("site") or "",
                data=data, message_id=uuid7_of(int(started.timestamp() * 1e9), key))


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value is not None else None


def item_record(item: Item) -> dict[str, Any]:
    """The item as stored in a run's ``trigger`` (JSON types)."""
    return {"kind": item.kind, "source": item.source, "time": item.time.isoformat(),
            "message_id": str(item.message_id), "data": dict(item.data)}


ItemOf = Callable[[Envelope], Item | None]
