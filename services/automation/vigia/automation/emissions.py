"""What the runtime publishes: the envelopes of the engine's emissions and of pipeline statuses.

* An action (kind whatsapp, telegram, email, modbus, webhook) -> ``action.<kind>`` on vigia.actions
  with :class:`~vigia.common.messages.ActionRequested`; the envelope id is the emission id, which
  the engine derives from the input's message id, so a redelivered input asks for the same action
  and the notifier delivers it once.
* A dashboard emission -> ``event.created`` on vigia.events (the recorder stores it, live shows
  it); the event id is the emission id and its one source is ``{kind: pipeline, ref:
  <pipeline>/<node>}``.
* ``pipeline.status`` -> vigia.events, for the operators' feed.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from vigia.common.ids import uuid7_of
from vigia.common.messages import Envelope
from vigia.common.pipelines.engine import Emission, Item

SOURCE = "automation"
SEVERITIES = ("low", "medium", "high", "critical")


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def emission_envelope(emission: Emission, item: Item, trace: str | None) -> Envelope:
    """The message of one emission of a run on ``item``."""
    if emission.kind == "dashboard":
        return _dashboard_event(emission, item, trace)
    event = _uuid(emission.payload.get("event")) or (_uuid(item.data.get("event")) if item.kind == "event" else None)
    data = {"pipeline": emission.pipeline, "node": emission.node, "event": event, "channel": emission.channel,
            "recipients": list(emission.recipients), "template": emission.template, "payload": emission.payload}
    return _envelope(emission.id, f"action.{emission.kind}", item, data, trace)


def _dashboard_event(emission: Emission, item: Item, trace: str | None) -> Envelope:
    payload = emission.payload
    severity = payload.get("severity")
    title = str(payload.get("title") or emission.node)
    description = str(payload.get("description") or "")
    score = payload.get("score")
    data = {
        "event": emission.id,
        "event_type": str(payload.get("event_type") or "pipeline")[:64],
        "severity": severity if severity in SEVERITIES else "medium",
        "score": float(score) if isinstance(score, int | float) and score >= 0 else 1.0,
        "started_at": _ns(item.time),
        "site": payload.get("site") if isinstance(payload.get("site"), str) else None,
        "sources": [{"kind": "pipeline", "ref": f"{emission.pipeline}/{emission.node}"[:128]}],
        "description": (f"{title}: {description}" if description else title)[:2000],
    }
    return _envelope(emission.id, "event.created", item, data, trace)


def _envelope(id: uuid.UUID, type: str, item: Item, data: dict[str, Any], trace: str | None) -> Envelope:
    values: dict[str, Any] = {"id": id, "type": type, "org": item.org, "source": SOURCE, "time": _ns(item.time),
                              "data": data}
    if trace is not None:
        values["trace"] = trace
    return Envelope(**values)


def status_envelope(org: uuid.UUID, pipeline: uuid.UUID, state: str, at: datetime, *, node: str | None = None,
                    error: str | None = None, cause: uuid.UUID | None = None) -> Envelope:
    """A ``pipeline.status`` message; its id derives from its cause (the input or change message)
    when there is one, so a redelivered cause announces the same status once."""
    ns = _ns(at)
    values: dict[str, Any] = {"type": "pipeline.status", "org": org, "source": SOURCE, "time": ns, "data": {
        "pipeline": pipeline, "state": state, "node": node, "error": error[:2000] if error else None, "time": ns}}
    if cause is not None:
        values["id"] = uuid7_of(ns, f"status/{pipeline}/{state}/{cause}")
    return Envelope(**values)
