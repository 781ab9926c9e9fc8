"""The recorder: persists what the data plane publishes on ``vigia.events``, idempotently.

:class:`Recorder` is plain data-plane code over a SQLAlchemy :class:`~sqlalchemy.Engine` (no
Django ORM), so it is tested without a broker and runs under any process. Per message type:

* ``detection.created`` -> a ``detections`` row whose id is the envelope id; a face's (label
  ``face``) also a ``face_sightings`` row with whose it is (the face search reads those);
* ``anomaly.detected`` -> an ``anomalies`` row whose id is the envelope id;
* ``event.created`` / ``event.updated`` -> an ``events`` row whose id is ``data.event``, created
  or updated; an update whose envelope time is not newer than ``last_message_time`` is ignored,
  and operator fields (status, classification, notes, acknowledgement) are never touched;
* ``device.status`` -> a ``device_status_changes`` row whose id is the envelope id, and the
  device's ``status`` (unless a newer change is already recorded) and ``last_seen`` (only
  forward) in ``devices``;
* ``plate.read`` -> a ``passages`` row per visit whose id is derived from (camera, visit,
  first_seen), upserted: a newer message of the visit (the vote changed, the visit ended) updates
  it, an older or redelivered one is ignored (``message_time``), and a message without crop or
  frame keeps the ones stored. The passage is marked, when written, with the organization's
  watch-lists whose entries match its plate and had not expired when it was last seen, OCR
  look-alikes tolerated (:mod:`vigia.control.observations.marking`, which also re-marks passages
  when a watch-list changes), and carries its camera's site;
* ``camera.health`` -> the camera's ``status`` and ``status_changed_at`` (the envelope time; a
  report older than the stored one leaves the status alone) and ``last_frame_at`` (only forward)
  in ``cameras``, nothing else: its version and ``updated_at`` describe the configuration.

Inserts are ``ON CONFLICT DO NOTHING``, so a redelivered message stores one row; each message is
one transaction, and :meth:`Recorder.handle` returns only after it committed, so the consumer acks
after the commit. The org comes from the envelope and must exist: a message for an unknown org
raises :class:`UnknownOrganization` (the broker retries it, then dead-letters it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, and_, case, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import insert

from vigia.common import db
from vigia.common.ids import uuid7_of
from vigia.common.messages import (
    FACE_LABEL,
    AnomalyDetected,
    CameraHealth,
    DetectionCreated,
    DeviceStatusChanged,
    Envelope,
    EventChanged,
    PlateRead,
    time_ns_to_datetime,
)
from vigia.common.plates import look_alike_key, plate_key
from vigia.control.observations import marking
from vigia.control.observations.plates import normalise_plate

log = logging.getLogger(__name__)

RECORDED_TYPES = frozenset({"detection.created", "plate.read", "anomaly.detected", "event.created", "event.updated",
                            "device.status", "camera.health"})


def passage_id(camera: uuid.UUID, visit: str, first_seen_ns: int) -> uuid.UUID:
    """The id of a visit's passage: every plate.read of the visit derives the same one."""
    return uuid7_of(first_seen_ns, f"{camera}:{visit}")


class UnknownOrganization(LookupError):
    """The envelope names an organization that does not exist."""


class UnsupportedMessage(ValueError):
    """A message type the recorder does not store reached its queue (a binding mistake)."""


class Recorder:
    """Stores envelopes in the shared database; one call of :meth:`handle` per message."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._known_orgs: set[uuid.UUID] = set()
        self._lock = threading.Lock()
        self._stores: dict[str, Callable[[Connection, Envelope], bool]] = {
            "detection.created": self._store_detection,
            "plate.read": self._store_passage,
            "anomaly.detected": self._store_anomaly,
            "event.created": self._store_event,
            "event.updated": self._store_event,
            "device.status": self._store_device_status,
            "camera.health": self._store_camera_health,
        }

    def handle(self, envelope: Envelope) -> bool:
        """Store one message in one transaction; True if it changed the database, False if it was
        a duplicate or an outdated update. Raises on anything that should be retried or
        dead-lettered."""
        store = self._stores.get(envelope.type)
        if store is None:
            raise UnsupportedMessage(f"the recorder does not store {envelope.type!r} messages")
        with self.engine.begin() as conn:
            self._check_org(conn, envelope.org)
            return store(conn, envelope)

    async def __call__(self, envelope: Envelope, meta: Any = None) -> None:
        """The consumer handler (``async def handler(envelope, meta)``): the blocking database
        work runs in a worker thread so other deliveries keep flowing."""
        changed = await asyncio.to_thread(self.handle, envelope)
        log.debug("recorded", extra={"message_id": str(envelope.id), "type": envelope.type,
                                     "changed": changed})

    # --- per type -------------------------------------------------------------------------------

    def _check_org(self, conn: Connection, org: uuid.UUID) -> None:
        # Organizations are never re-keyed: a positive answer can be cached for the process life.
        if org in self._known_orgs:
            return
        found = conn.execute(select(db.organizations.c.id).where(db.organizations.c.id == org)).first()
        if found is None:
            raise UnknownOrganization(f"organization {org} does not exist")
        with self._lock:
            self._known_orgs.add(org)

    @staticmethod
    def _inserted(conn: Connection, statement: Any) -> bool:
        # No conflict target: works with the plain (id) key and the hypertables' (id, time) key.
        # RETURNING, not rowcount: the driver does not always report rowcount for INSERT.
        returning = statement.on_conflict_do_nothing().returning(statement.table.c.id)
        return conn.execute(returning).first() is not None

    def _store_detection(self, conn: Connection, envelope: Envelope) -> bool:
        data = envelope.data
        assert isinstance(data, DetectionCreated)
        if data.label == FACE_LABEL:
            conn.execute(insert(db.face_sightings).values(
                id=envelope.id, org_id=envelope.org, person_id=data.identity, camera_id=data.camera,
                time=time_ns_to_datetime(data.captured_at), distance=data.identity_distance,
                box=data.box.model_dump(), track=data.track, snapshot_key=data.snapshot_key,
                crop_key=data.crop_key, received_at=func.now()).on_conflict_do_nothing(index_elements=["id"]))
        return self._inserted(conn, insert(db.detections).values(
            id=envelope.id, org_id=envelope.org, camera_id=data.camera, frame_id=data.frame,
            time=time_ns_to_datetime(data.captured_at), label=data.label, confidence=data.confidence,
            box=data.box.model_dump(), plate_text=normalise_plate(data.plate_text),
            plate_confidence=data.plate_confidence, track=data.track, snapshot_key=data.snapshot_key,
            crop_key=data.crop_key, received_at=func.now()))

    def _store_passage(self, conn: Connection, envelope: Envelope) -> bool:
        data = envelope.data
        assert isinstance(data, PlateRead)
        passages, cameras = db.passages, db.cameras
        plate = plate_key(data.plate_text)
        last_seen = time_ns_to_datetime(data.last_seen)
        # Watch-list changes of the organization wait for this passage (or it for them): see marking.
        conn.exec_driver_sql(marking.LOCK_SHARED, {"org": str(envelope.org)})
        site = conn.execute(select(cameras.c.site).where(
            cameras.c.id == data.camera, cameras.c.org_id == envelope.org)).scalar()
        statement = insert(passages).values(
            id=passage_id(data.camera, data.visit, data.first_seen), org_id=envelope.org, camera_id=data.camera,
            site=site or "", visit=data.visit, first_seen=time_ns_to_datetime(data.first_seen), last_seen=last_seen,
            label=data.label or "", plate_text=plate, plate_folded=look_alike_key(plate),
            confidence=data.confidence, votes=data.votes, agreeing=data.agreeing,
            runner_ups=[r.model_dump() for r in data.runner_ups], crop_key=data.crop_key,
            snapshot_key=data.snapshot_key, final=data.final, watchlist_ids=[], watchlist_matches=[],
            message_time=time_ns_to_datetime(envelope.time), received_at=func.now(), updated_at=func.now())
        new = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=[passages.c.id],
            set_={
                "last_seen": func.greatest(passages.c.last_seen, new.last_seen),
                "label": func.coalesce(func.nullif(new.label, ""), passages.c.label),
                "plate_text": new.plate_text, "plate_folded": new.plate_folded, "confidence": new.confidence,
                "votes": new.votes, "agreeing": new.agreeing, "runner_ups": new.runner_ups,
                "crop_key": func.coalesce(new.crop_key, passages.c.crop_key),
                "snapshot_key": func.coalesce(new.snapshot_key, passages.c.snapshot_key),
                "final": or_(passages.c.final, new.final),
                "message_time": new.message_time, "updated_at": func.now(),
            },
            # A redelivered or late message of the visit must not undo a newer one.
            where=and_(passages.c.org_id == new.org_id, passages.c.message_time < new.message_time),
        ).returning(passages.c.id)
        written = conn.execute(upsert).first()
        if written is None:
            return False
        # Its plate or last_seen may have changed: marked again from the lists as they are.
        conn.exec_driver_sql(marking.MARK_PASSAGE, {"id": written.id})
        return True

    def _store_anomaly(self, conn: Connection, envelope: Envelope) -> bool:
        data = envelope.data
        assert isinstance(data, AnomalyDetected)
        return self._inserted(conn, insert(db.anomalies).values(
            id=envelope.id, org_id=envelope.org, device_id=data.device,
            time=time_ns_to_datetime(data.observed_at), kind=data.kind, severity=data.severity.value,
            score=data.score, value=data.value, details=data.details))

    def _store_event(self, conn: Connection, envelope: Envelope) -> bool:
        data = envelope.data
        assert isinstance(data, EventChanged)
        events = db.events
        message_time = time_ns_to_datetime(envelope.time)
        changes: dict[str, Any] = {
            "ended_at": time_ns_to_datetime(data.ended_at) if data.ended_at is not None else None,
            "event_type": data.event_type, "severity": data.severity.value, "score": data.score,
            "site": data.site, "sources": [source.model_dump(mode="json") for source in data.sources],
            "description": data.description, "occurrences": data.occurrences, "last_message_time": message_time,
            "updated_at": func.now(),
        }
        if data.false_alarm_score is not None:  # an unscored update keeps the last score
            changes.update(false_alarm_score=data.false_alarm_score, false_alarm_model_id=data.false_alarm_model,
                           likely_false_alarm=data.likely_false_alarm)
        # Two attempts: a concurrent insert of the same event can win the race between our
        # SELECT and INSERT; the second pass then updates the row it created.
        for _ in range(2):
            current = conn.execute(
                select(events.c.org_id, events.c.last_message_time)
                .where(events.c.id == data.event).with_for_update()).first()
            if current is None:
                created = self._inserted(conn, insert(events).values(
                    id=data.event, org_id=envelope.org, time=time_ns_to_datetime(data.started_at),
                    status="open", classification="unclassified", notes="", **changes))
                if created:
                    return True
                continue
            if current.org_id != envelope.org:
                raise UnknownOrganization(f"event {data.event} belongs to another organization")
            if current.last_message_time is not None and current.last_message_time >= message_time:
                log.info("ignored an outdated event update", extra={
                    "event": str(data.event), "message_id": str(envelope.id)})
                return False
            conn.execute(events.update().where(events.c.id == data.event).values(**changes))
            return True
        raise RuntimeError(f"event {data.event} could be neither inserted nor found")

    def _store_device_status(self, conn: Connection, envelope: Envelope) -> bool:
        data = envelope.data
        assert isinstance(data, DeviceStatusChanged)
        history, devices = db.device_status_changes, db.devices
        changed_at = time_ns_to_datetime(envelope.time)
        inserted = self._inserted(conn, insert(history).values(
            id=envelope.id, org_id=envelope.org, device_id=data.device, time=changed_at,
            status=data.status.value, previous=data.previous.value if data.previous else None,
            reason=data.reason))
        newer_change = exists().where(and_(
            history.c.org_id == envelope.org, history.c.device_id == data.device,
            history.c.time > changed_at))
        # A late, older status message must not overwrite a newer status.
        values: dict[str, Any] = {
            "status": case((newer_change, devices.c.status), else_=literal(data.status.value)),
            "updated_at": func.now(),
        }
        if data.last_seen is not None:
            # GREATEST ignores NULL: last_seen only ever moves forward.
            values["last_seen"] = func.greatest(devices.c.last_seen, time_ns_to_datetime(data.last_seen))
        conn.execute(devices.update().where(and_(devices.c.id == data.device,
                                                 devices.c.org_id == envelope.org)).values(**values))
        return inserted

    def _store_camera_health(self, conn: Connection, envelope: Envelope) -> bool:
        data = envelope.data
        assert isinstance(data, CameraHealth)
        # Only status columns: version and updated_at describe the configuration, which the
        # streamer follows; a health report must not look like a configuration change.
        cameras = db.cameras
        changed_at = time_ns_to_datetime(envelope.time)
        newer = or_(cameras.c.status_changed_at.is_(None), cameras.c.status_changed_at < changed_at)
        values: dict[str, Any] = {
            "status": case((newer, literal(data.status.value)), else_=cameras.c.status),
            "status_changed_at": case((newer, literal(changed_at)), else_=cameras.c.status_changed_at),
        }
        moves: list[Any] = [newer]
        if data.last_frame_at is not None:
            last_frame = time_ns_to_datetime(data.last_frame_at)
            # GREATEST ignores NULL: last_frame_at only ever moves forward.
            values["last_frame_at"] = func.greatest(cameras.c.last_frame_at, last_frame)
            moves.append(or_(cameras.c.last_frame_at.is_(None), cameras.c.last_frame_at < last_frame))
        result = conn.execute(cameras.update().where(and_(
            cameras.c.id == data.camera, cameras.c.org_id == envelope.org, or_(*moves))).values(**values))
        return bool(result.rowcount)
