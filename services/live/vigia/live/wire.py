"""What operators receive: broker envelopes translated into the feed's JSON messages.

The message types follow seed 001 ("WebSocket Events") and extend it:

==========================  =====================================================================
``new_detection``           ``{"type", "id", "time", "detection": {...DetectionCreated, "id"}}``
``new_event``               ``{"type", "id", "time", "change": "created"|"updated", "event": {...}}``
``event_triaged``           ``{"type", "id", "time", "change": "acknowledged"|"resolved"|"classified",
                            "event": {...EventTriaged but "change", "id"}}``: an operator's decision
                            on an event (status, classification, who and when, notes)
``device_status_update``    ``{"type", "id", "time", "device_id", "status", "previous",
                            "timestamp" (unix seconds, as in the seed), "last_seen", "reason"}``
``camera_health``           ``{"type", "id", "time", "camera_id", "status", "previous", "last_frame_at",
                            "detail"}``: one per status change (provisioning, online, offline, error)
``plate_read``              ``{"type", "id", "time", "plate_read": {...PlateRead}}``
``pipeline_status_update``  ``{"type", "id", "time", "pipeline_id", "status", "state", "node", "error",
                            "at"}``: ``status`` in the seed's words (``active`` once started and each
                            time it fires, ``inactive`` when stopped, ``error``), ``state`` the
                            runtime's (started, stopped, error, fired), ``node`` the node that
                            failed or fired, ``at`` when (ns)
``forecast_updated``        ``{"type", "id", "time", "forecast": {...ForecastUpdated}}``: a device
                            metric's new forecast is stored (read it at
                            ``GET /api/v1/devices/{id}/forecast``), with the steps its refresh
                            found outside the previous band (``anomalies``)
==========================  =====================================================================

``id`` is the envelope id (UUIDv7: clients dedupe and order by it), ``time`` the envelope time
(RFC 3339, ns). Control messages of the feed itself: ``pong`` (answer to ``{"type": "ping"}``),
``error`` (a client message that was not understood; the socket stays open).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from vigia.common.messages import Envelope

NEW_DETECTION = "new_detection"
NEW_EVENT = "new_event"
EVENT_TRIAGED = "event_triaged"
DEVICE_STATUS_UPDATE = "device_status_update"
CAMERA_HEALTH = "camera_health"
PLATE_READ = "plate_read"
PIPELINE_STATUS_UPDATE = "pipeline_status_update"
FORECAST_UPDATED = "forecast_updated"
FEED_TYPES = frozenset({NEW_DETECTION, NEW_EVENT, EVENT_TRIAGED, DEVICE_STATUS_UPDATE, CAMERA_HEALTH, PLATE_READ,
                        PIPELINE_STATUS_UPDATE, FORECAST_UPDATED})

#: The routing keys live binds on vigia.events: everything the feed can translate. ``triage.#``
#: (event.triaged), ``pipeline.status.#`` and ``forecast.#`` are bound by live alone (topology's
#: FEED_ONLY_TYPES).
BINDING_KEYS = ("detection.#", "event.#", "triage.#", "device.status.#", "camera.health.#", "plate.read.#",
                "pipeline.status.#", "forecast.#")
#: Seed 001's pipeline status words for the automation runtime's states.
PIPELINE_STATUS = {"started": "active", "fired": "active", "stopped": "inactive", "error": "error"}


def _detection(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": NEW_DETECTION, "detection": {"id": str(env.id), **data}}


def _event(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    event = {"id": data["event"], **{k: v for k, v in data.items() if k != "event"}}
    return {"type": NEW_EVENT, "change": env.type.rsplit(".", 1)[1], "event": event}


def _event_triaged(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    event = {"id": data["event"], **{k: v for k, v in data.items() if k not in ("event", "change")}}
    return {"type": EVENT_TRIAGED, "change": data["change"], "event": event}


def _device_status(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": DEVICE_STATUS_UPDATE, "device_id": data["device"], "status": data["status"],
            "previous": data.get("previous"), "timestamp": env.time // 1_000_000_000,
            "last_seen": data.get("last_seen"), "reason": data.get("reason", "")}


def _camera_health(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": CAMERA_HEALTH, "camera_id": data["camera"], "status": data["status"],
            "previous": data.get("previous"), "last_frame_at": data.get("last_frame_at"),
            "detail": data.get("detail", "")}


def _plate_read(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": PLATE_READ, "plate_read": data}


def _pipeline_status(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": PIPELINE_STATUS_UPDATE, "pipeline_id": data["pipeline"],
            "status": PIPELINE_STATUS[data["state"]], "state": data["state"], "node": data.get("node"),
            "error": data.get("error"), "at": data["time"]}


def _forecast(env: Envelope, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": FORECAST_UPDATED, "forecast": data}


_TRANSLATORS: dict[str, Callable[[Envelope, dict[str, Any]], dict[str, Any]]] = {
    "detection.created": _detection,
    "event.created": _event,
    "event.updated": _event,
    "event.triaged": _event_triaged,
    "device.status": _device_status,
    "camera.health": _camera_health,
    "plate.read": _plate_read,
    "pipeline.status": _pipeline_status,
    "forecast.updated": _forecast,
}


def feed_message(envelope: Envelope) -> tuple[str, str] | None:
    """``(feed type, JSON text)`` for an envelope, or None when the feed does not carry its type.

    Encoded once per envelope and shared by every client it goes to."""
    translate = _TRANSLATORS.get(envelope.type)
    if translate is None:
        return None
    dumped = envelope.model_dump(mode="json")
    body = translate(envelope, dumped["data"])
    message = {"type": body.pop("type"), "id": dumped["id"], "time": dumped["time"], **body}
    return message["type"], orjson.dumps(message).decode()


def control_message(type_: str, **fields: Any) -> str:
    """A message of the feed itself (``pong``, ``error``) as JSON text."""
    return orjson.dumps({"type": type_, **fields}).decode()


def parse_types(raw: str | None) -> frozenset[str] | None:
    """The ``?types=`` filter: None (everything) or a set of feed types; ValueError names bad ones."""
    if raw is None or not raw.strip():
        return None
    wanted = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(wanted - FEED_TYPES)
    if unknown:
        raise ValueError(f"types: unknown type(s) {', '.join(unknown)}; "
                         f"expected any of {', '.join(sorted(FEED_TYPES))}")
    return wanted
