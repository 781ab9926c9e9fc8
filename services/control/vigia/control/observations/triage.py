"""What operators do to events: acknowledge (seen, with a note) and resolve (done, with a note).

Both keep the first decision: acknowledging an acknowledged or resolved event, or resolving a
resolved one, changes nothing. Resolving an event nobody acknowledged acknowledges it too, by the
same person at the same moment (it was seen). Callers hold the event's row lock and save the
fields returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from vigia.control.audit.choices import AuditAction
from vigia.control.observations.models import Event, EventStatus
from vigia.control.tenancy.models import User

Action = Literal["acknowledge", "resolve"]
AUDIT_ACTIONS: dict[str, AuditAction] = {"acknowledge": AuditAction.EVENT_ACKNOWLEDGED,
                                         "resolve": AuditAction.EVENT_RESOLVED}


def acknowledge(event: Event, user: User, note: str, now: datetime) -> list[str]:
    """Acknowledge an open event; returns the fields changed (none if it was not open)."""
    if event.status != EventStatus.OPEN:
        return []
    event.status = EventStatus.ACKNOWLEDGED
    event.acknowledged_by = user
    event.acknowledged_at = now
    event.acknowledgement_note = note
    return ["status", "acknowledged_by", "acknowledged_at", "acknowledgement_note"]


def resolve(event: Event, user: User, note: str, now: datetime) -> list[str]:
    """Resolve an event not yet resolved; returns the fields changed."""
    if event.status == EventStatus.RESOLVED:
        return []
    fields = ["status", "resolved_by", "resolved_at", "resolution_note"]
    if event.acknowledged_at is None:
        event.acknowledged_by, event.acknowledged_at = user, now
        fields += ["acknowledged_by", "acknowledged_at"]
    event.status = EventStatus.RESOLVED
    event.resolved_by = user
    event.resolved_at = now
    event.resolution_note = note
    return fields


def apply(action: Action, event: Event, user: User, note: str, now: datetime) -> list[str]:
    return (acknowledge if action == "acknowledge" else resolve)(event, user, note, now)
