"""What operators do to events: acknowledge (seen, with a note) and resolve (done, with a note).

Both keep the first decision: acknowledging an acknowledged or resolved event, or resolving a
resolved one, changes nothing. Resolving an event nobody acknowledged acknowledges it too, by the
same person at the same moment (it was seen). Callers hold the event's row lock and save the
fields returned, then :func:`announce` each event that changed, so other operators' screens hear of
it (``event.triaged``, through the outbox in the same transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from vigia.common.messages import NOTE_MAX, EventTriaged
from vigia.control.audit.choices import AuditAction
from vigia.control.observations.models import Event, EventStatus
from vigia.control.outbox.enqueue import announce as enqueue_announcement
from vigia.control.tenancy.models import User

Action = Literal["acknowledge", "resolve"]
Change = Literal["acknowledged", "resolved", "classified"]
AUDIT_ACTIONS: dict[str, AuditAction] = {"acknowledge": AuditAction.EVENT_ACKNOWLEDGED,
                                         "resolve": AuditAction.EVENT_RESOLVED}
CHANGES: dict[str, Change] = {"acknowledge": "acknowledged", "resolve": "resolved"}


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


def _email(user: User | None) -> str | None:
    return user.email if user is not None else None


def triaged(event: Event, change: Change) -> EventTriaged:
    """The ``event.triaged`` data of a saved event (its users read if not loaded with it)."""
    return EventTriaged(
        event=event.pk, change=change, event_type=event.event_type, severity=event.severity,
        status=event.status, classification=event.classification, notes=event.notes[:NOTE_MAX],
        acknowledged_by=event.acknowledged_by_id, acknowledged_by_email=_email(event.acknowledged_by),
        acknowledged_at=event.acknowledged_at, acknowledgement_note=event.acknowledgement_note[:NOTE_MAX],
        resolved_by=event.resolved_by_id, resolved_by_email=_email(event.resolved_by),
        resolved_at=event.resolved_at, resolution_note=event.resolution_note[:NOTE_MAX],
        updated_at=event.updated_at)


def announce(event: Event, change: Change) -> None:
    """Enqueue ``event.triaged`` for an event just saved, in the transaction that saved it: a
    decision rolled back announces nothing. Call it only for an event that changed."""
    enqueue_announcement("event.triaged", event.org_id, triaged(event, change))
