"""Janitor jobs of the watchdog: retention of plain time-series tables and of the published
outbox, the object store's lifecycle, DLQ depth, stale leases.

Each is a :class:`~vigia.watchdog.checks.PeriodicCheck`, so it runs only on the replica holding the
leader lease, at its own interval:

* :class:`Retention` — where TimescaleDB is absent (docs/adr/0002-time-series-storage.md) the
  time-series tables are plain BRIN-indexed tables: rows older than their retention
  (``VIGIA_RETENTION_*_DAYS``, which control's migrations also give TimescaleDB's policies) are
  deleted in bounded batches, one short transaction each. Hypertables are skipped: TimescaleDB's
  own retention policies clean them. The ``outbox`` is retained the same way on ``published_at``
  (``VIGIA_OUTBOX_RETENTION``): rows the relay has published go after that long, rows still
  waiting to be published (``published_at`` null) are never deleted.
* :class:`OrganizationRetention` — each organization's own retention of what identifies people
  and vehicles (LGPD, :mod:`vigia.common.privacy`): its passages last seen before its
  ``retention.passages_days`` are deleted in bounded batches, so are its notification deliveries
  (with their attempts) created before its ``retention.notifications_days``
  (``VIGIA_RETENTION_NOTIFICATIONS_DAYS`` by default) once delivered or failed for good — one
  still being sent or retried is kept — and its snapshots (frames and crops)
  older than its ``retention.snapshots_days`` are deleted from the object store, day prefix by day
  prefix of each of its cameras (the bucket's own lifecycle still removes what is older than it,
  cameras deleted since included), and its events' evidence bundles written before its
  ``retention.evidence_days`` (``VIGIA_RETENTION_EVIDENCE_DAYS`` by default), each whole, manifest
  first, and its face sightings seen before its ``faces.sightings_days`` (30 by default) and, when
  it set ``faces.enrolment_days``, the enrolled people not renewed since then (photos, embeddings
  and sightings with them). With either store, S3 or the filesystem. The watchdog is the one place anything is
  pruned: this job for passages, snapshots, evidence and deliveries, :class:`Retention` for time
  series (control's ``timeseries_janitor`` command, a second path, was removed).
* :class:`ObjectLifecycle` — the embedded filesystem object store has no server to apply its
  buckets' lifecycle rules (``vigia.common.storage.BUCKETS``: snapshots 30 days, as compose's MinIO
  rule), so this job does: objects older than their bucket's rule are deleted. With S3 (MinIO) the
  bucket's own lifecycle configuration expires them and the job is not scheduled.
* :class:`DeadLetterDepth` — every queue of the broker's vhost whose name ends in ``.dlq`` is read
  from the RabbitMQ management API into the gauge ``vigia_dlq_messages{queue}``; a DLQ that
  disappears loses its series.
* :class:`StaleLeases` — a ``camera:{id}:lease`` whose holder (a streamer replica) no longer
  heartbeats in ``streamer:replicas`` is deleted (compare-and-delete: a lease taken over meanwhile
  is left alone), so a survivor picks the camera up at once instead of after the lease's TTL; a
  lease without a TTL (it could never expire) is dropped the same way when its holder is gone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from sqlalchemy import Engine, TextClause, text

from vigia.common.privacy import (
    EVIDENCE,
    EVIDENCE_DAYS_DEFAULT,
    NOTIFICATIONS_DAYS_DEFAULT,
    SNAPSHOTS,
    SNAPSHOTS_DAYS_MAX,
    evidence_prefix,
    faces_policy,
    organization_retention,
    snapshot_day_prefix,
)
from vigia.common.storage import FileStore, ObjectStore, StorageError, ensure_default_buckets

log = logging.getLogger(__name__)

RETENTION_DELETED = Counter("watchdog_retention_deleted_rows", "Rows deleted by the retention janitor "
                            "(time-series tables, published outbox rows)", ["table"])
RETENTION_LAST_RUN = Gauge("watchdog_retention_last_run_timestamp_seconds", "Unix time the retention janitor "
                           "last finished a run")
ORG_RETENTION_DELETED = Counter("watchdog_org_retention_deleted", "Passages, snapshots, evidence bundles, "
                                "notification deliveries (with their attempts) and face sightings deleted under "
                                "their "
                                "organization's retention (LGPD)", ["kind"])
ORG_RETENTION_LAST_RUN = Gauge("watchdog_org_retention_last_run_timestamp_seconds", "Unix time the "
                               "per-organization retention janitor last finished a run")
OBJECTS_EXPIRED = Counter("watchdog_expired_objects", "Objects the janitor deleted from the filesystem "
                          "object store under their bucket's lifecycle rule")
OBJECT_LIFECYCLE_LAST_RUN = Gauge("watchdog_object_lifecycle_last_run_timestamp_seconds", "Unix time the "
                                  "object lifecycle janitor last finished a run")
DLQ_MESSAGES = Gauge("vigia_dlq_messages", "Messages waiting in a dead-letter queue", ["queue"])
#: The file the correlator writes last in a bundle: its presence means complete.
EVIDENCE_MANIFEST = "manifest.json"
STALE_LEASES = Counter("watchdog_stale_leases_removed", "Camera leases deleted because their holder was gone")

# The streamer's contract (vigia.streamer.leases): live replicas heartbeat in this sorted set (score ms).
REPLICAS_KEY = "streamer:replicas"
LEASE_PATTERN = "camera:*:lease"
_DELETE_IF_HELD_BY = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# --- retention ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetainedTable:
    """A table whose rows are kept for ``keep`` after their ``time_column`` (rows where it is null
    are kept forever)."""

    name: str
    keep: timedelta
    time_column: str = "time"


class Retention:
    """Deletes expired rows from the time-series tables that are not TimescaleDB hypertables."""

    name = "retention"

    def __init__(self, engine: Engine, tables: list[RetainedTable], *, interval: float, batch_size: int,
                 max_batches: int | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.tables = tables
        self.interval = interval
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.clock = clock

    def hypertables(self) -> set[str]:
        with self.engine.connect() as conn:
            if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")).first() is None:
                return set()
            rows = conn.execute(text("SELECT hypertable_name FROM timescaledb_information.hypertables"))
            return {row[0] for row in rows}

    def clean(self, table: RetainedTable, cutoff: datetime) -> int:
        """Delete rows older than ``cutoff`` in batches of ``batch_size``; returns how many went."""
        # ctid batches: one shape for every table whatever its key. Names come from code, never input.
        statement = text(f'DELETE FROM "{table.name}" WHERE ctid = ANY(ARRAY('  # noqa: S608
                         f'SELECT ctid FROM "{table.name}" WHERE "{table.time_column}" < :cutoff LIMIT :n))')
        deleted = batches = 0
        while self.max_batches is None or batches < self.max_batches:
            with self.engine.begin() as conn:
                count = int(conn.execute(statement, {"cutoff": cutoff, "n": self.batch_size}).rowcount or 0)
            batches += 1
            deleted += count
            RETENTION_DELETED.labels(table.name).inc(count)
            if count < self.batch_size:
                break
        return deleted

    def run_sync(self) -> dict[str, int]:
        skip = self.hypertables()
        now = self.clock()
        report = {}
        for table in self.tables:
            if table.name in skip:
                continue
            report[table.name] = self.clean(table, now - table.keep)
        RETENTION_LAST_RUN.set(time.time())
        if any(report.values()):
            log.info("retention applied", extra={"deleted": report})
        return report

    async def run(self) -> None:
        await asyncio.to_thread(self.run_sync)


# --- per-organization retention (LGPD) ---------------------------------------------------------------


class OrganizationRetention:
    """Deletes each organization's passages, snapshots, evidence bundles, notification
    deliveries and face sightings older than its own retention."""

    name = "org_retention"

    def __init__(self, engine: Engine, store: ObjectStore | None, *, default_passages_days: int, interval: float,
                 batch_size: int, default_notifications_days: int = NOTIFICATIONS_DAYS_DEFAULT,
                 default_evidence_days: int = EVIDENCE_DAYS_DEFAULT, max_batches: int | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.engine = engine
        self.store = store
        self.default_passages_days = default_passages_days
        self.default_notifications_days = default_notifications_days
        self.default_evidence_days = default_evidence_days
        self.interval = interval
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.clock = clock

    def prune_passages(self, org: object, cutoff: datetime) -> int:
        """Delete the organization's passages last seen before ``cutoff``, in batches."""
        # On the (org_id, last_seen) index; ctid batches keep each transaction short.
        statement = text("DELETE FROM passages WHERE ctid = ANY(ARRAY(SELECT ctid FROM passages "
                         "WHERE org_id = :org AND last_seen < :cutoff LIMIT :n))")
        return self._delete_in_batches(statement, org, cutoff, "passages")

    def prune_notifications(self, org: object, cutoff: datetime) -> int:
        """Delete the organization's deliveries created before ``cutoff`` that are over (delivered
        or failed), their attempts with them, in batches; returns how many deliveries went."""
        # On the (org_id, created_at) index; attempts by the (delivery_id, attempt) unique index.
        statement = text(
            "WITH doomed AS (SELECT id FROM notification_deliveries WHERE org_id = :org AND created_at < :cutoff "
            "AND status IN ('delivered', 'failed') LIMIT :n), "
            "attempts AS (DELETE FROM notification_attempts WHERE delivery_id IN (SELECT id FROM doomed)) "
            "DELETE FROM notification_deliveries WHERE id IN (SELECT id FROM doomed)")
        return self._delete_in_batches(statement, org, cutoff, "notifications")

    def prune_face_sightings(self, org: object, cutoff: datetime) -> int:
        """Delete the organization's face sightings seen before ``cutoff``, in batches."""
        # On the (org_id, person_id, time) index's org prefix; ctid batches as for passages.
        statement = text("DELETE FROM face_sightings WHERE ctid = ANY(ARRAY(SELECT ctid FROM face_sightings "
                         "WHERE org_id = :org AND time < :cutoff LIMIT :n))")
        return self._delete_in_batches(statement, org, cutoff, "face_sightings")

    def prune_enrolments(self, org: object, cutoff: datetime) -> int:
        """Erase the organization's enrolled people not renewed since ``cutoff`` (their photos,
        embeddings and sightings with them), in batches; returns how many people went."""
        statement = text(
            "WITH doomed AS (SELECT id FROM face_people WHERE org_id = :org AND updated_at < :cutoff LIMIT :n), "
            "photos AS (DELETE FROM face_photos WHERE person_id IN (SELECT id FROM doomed)), "
            "sightings AS (DELETE FROM face_sightings WHERE org_id = :org AND person_id IN (SELECT id FROM doomed)) "
            "DELETE FROM face_people WHERE id IN (SELECT id FROM doomed)")
        return self._delete_in_batches(statement, org, cutoff, "face_enrolments")

    def _delete_in_batches(self, statement: TextClause, org: object, cutoff: datetime, kind: str) -> int:
        """Run ``statement`` (deleting up to ``:n`` rows of ``:org`` older than ``:cutoff``), one
        transaction per batch, until a batch deletes fewer than ``:n`` or ``max_batches`` ran."""
        deleted = batches = 0
        while self.max_batches is None or batches < self.max_batches:
            with self.engine.begin() as conn:
                count = int(conn.execute(statement, {"org": org, "cutoff": cutoff, "n": self.batch_size}).rowcount or 0)
            batches += 1
            deleted += count
            if count < self.batch_size:
                break
        ORG_RETENTION_DELETED.labels(kind).inc(deleted)
        return deleted

    def prune_snapshots(self, org: object, cameras: list[object], cutoff: datetime) -> int:
        """Delete the organization's snapshots stored before ``cutoff``: the day prefixes of each
        camera from the bucket's lifecycle to the cutoff's day (that day's by modification time)."""
        assert self.store is not None
        deleted = 0
        last_day = cutoff.date()
        for camera in cameras:
            for back in range(SNAPSHOTS_DAYS_MAX + 1):
                day = last_day - timedelta(days=back)
                for info in list(self.store.list(SNAPSHOTS, snapshot_day_prefix(str(org), str(camera), day))):
                    if day < last_day or info.modified < cutoff:
                        self.store.delete(SNAPSHOTS, info.key)
                        deleted += 1
        ORG_RETENTION_DELETED.labels("snapshots").inc(deleted)
        return deleted

    def prune_evidence(self, org: object, cutoff: datetime) -> int:
        """Delete the organization's evidence bundles whose newest file was written before
        ``cutoff``, each whole and its manifest first; returns how many bundles went."""
        assert self.store is not None
        # Bundles are small sets of files under <org>/<event>/: one listing of the organization's.
        newest: dict[str, datetime] = {}
        files: dict[str, list[str]] = {}
        prefix = evidence_prefix(str(org))
        for info in self.store.list(EVIDENCE, prefix):
            bundle = info.key[len(prefix):].split("/", 1)[0]
            files.setdefault(bundle, []).append(info.key)
            newest[bundle] = max(newest.get(bundle, info.modified), info.modified)
        deleted = 0
        for bundle, keys in files.items():
            if newest[bundle] >= cutoff:
                continue
            manifest = evidence_prefix(str(org), bundle) + EVIDENCE_MANIFEST
            for key in sorted(keys, key=lambda k: k != manifest):  # a bundle without manifest is not ready
                self.store.delete(EVIDENCE, key)
            deleted += 1
        ORG_RETENTION_DELETED.labels("evidence").inc(deleted)
        return deleted

    def run_sync(self) -> dict[str, dict[str, int]]:
        now = self.clock()
        with self.engine.connect() as conn:
            orgs = conn.execute(text("SELECT id, settings FROM organizations")).all()
        report: dict[str, dict[str, int]] = {}
        for org, settings in orgs:
            keep = organization_retention(settings, self.default_passages_days, self.default_notifications_days,
                                          self.default_evidence_days)
            done = {"passages": self.prune_passages(org, now - timedelta(days=keep.passages_days))}
            notifications = self.prune_notifications(org, now - timedelta(days=keep.notifications_days))
            if notifications:  # reported when there were some, like snapshots when they are retained
                done["notifications"] = notifications
            faces = faces_policy(settings)
            sightings = self.prune_face_sightings(org, now - timedelta(days=faces.sightings_days))
            if sightings:
                done["face_sightings"] = sightings
            if faces.enrolment_days is not None:
                enrolments = self.prune_enrolments(org, now - timedelta(days=faces.enrolment_days))
                if enrolments:
                    done["face_enrolments"] = enrolments
            if self.store is not None and keep.snapshots_days < SNAPSHOTS_DAYS_MAX:
                with self.engine.connect() as conn:
                    cameras = [row[0] for row in conn.execute(
                        text("SELECT id FROM cameras WHERE org_id = :org"), {"org": org})]
                try:
                    done["snapshots"] = self.prune_snapshots(org, cameras, now - timedelta(days=keep.snapshots_days))
                except StorageError:
                    log.warning("could not apply an organization's snapshot retention", exc_info=True,
                                extra={"org": str(org)})
            if self.store is not None:
                try:
                    evidence = self.prune_evidence(org, now - timedelta(days=keep.evidence_days))
                except StorageError:
                    log.warning("could not apply an organization's evidence retention", exc_info=True,
                                extra={"org": str(org)})
                else:
                    if evidence:
                        done["evidence"] = evidence
            if any(done.values()):
                report[str(org)] = done
        ORG_RETENTION_LAST_RUN.set(time.time())
        if report:
            log.info("organization retention applied", extra={"deleted": report})
        return report

    async def run(self) -> None:
        await asyncio.to_thread(self.run_sync)


# --- object store lifecycle --------------------------------------------------------------------------


class ObjectLifecycle:
    """Deletes objects of the filesystem store older than their bucket's lifecycle rule."""

    name = "object_lifecycle"

    def __init__(self, store: FileStore, *, interval: float,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.interval = interval
        self.clock = clock

    def run_sync(self) -> int:
        # The rules are Vigia's (BUCKETS), whichever service or version created the buckets.
        ensure_default_buckets(self.store)
        deleted = self.store.expire(self.clock())
        OBJECTS_EXPIRED.inc(deleted)
        OBJECT_LIFECYCLE_LAST_RUN.set(time.time())
        if deleted:
            log.info("object lifecycle applied", extra={"deleted": deleted, "store": str(self.store.root)})
        return deleted

    async def run(self) -> None:
        await asyncio.to_thread(self.run_sync)


# --- dead-letter queues -----------------------------------------------------------------------------


class DeadLetterDepth:
    """Publishes the depth of every ``*.dlq`` queue of one vhost as ``vigia_dlq_messages{queue}``."""

    name = "dlq_depth"

    def __init__(self, client: httpx.AsyncClient, vhost: str, *, interval: float) -> None:
        self.client = client
        self.vhost = vhost
        self.interval = interval
        self._known: set[str] = set()

    async def depths(self) -> dict[str, int]:
        response = await self.client.get(f"/api/queues/{quote(self.vhost, safe='')}",
                                         params={"columns": "name,messages"})
        response.raise_for_status()
        return {q["name"]: int(q.get("messages") or 0) for q in response.json()
                if str(q.get("name", "")).endswith(".dlq")}

    async def run(self) -> None:
        found = await self.depths()
        for queue, messages in found.items():
            DLQ_MESSAGES.labels(queue).set(messages)
        for gone in self._known - set(found):
            DLQ_MESSAGES.remove(gone)
        self._known = set(found)
        waiting = {q: n for q, n in found.items() if n}
        if waiting:
            log.warning("dead-letter queues are not empty", extra={"dlq": waiting})


# --- stale leases ------------------------------------------------------------------------------------


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class StaleLeases:
    """Deletes camera leases held by streamer replicas that stopped heartbeating."""

    name = "stale_leases"

    def __init__(self, redis: Redis, *, interval: float, grace_seconds: float,
                 clock: Callable[[], float] = time.time) -> None:
        self.redis = redis
        self.interval = interval
        self.grace_ms = int(grace_seconds * 1000)
        self.clock = clock
        self._delete = redis.register_script(_DELETE_IF_HELD_BY)

    async def live_holders(self) -> set[str]:
        since = int(self.clock() * 1000) - self.grace_ms
        members = await self.redis.zrangebyscore(REPLICAS_KEY, since, "+inf")
        return {_text(m) for m in members if isinstance(m, bytes | str)}

    async def run(self) -> int:
        live = await self.live_holders()
        removed = 0
        async for key in self.redis.scan_iter(match=LEASE_PATTERN, count=1000):
            holder = await self.redis.get(key)
            if holder is None or _text(holder) in live:
                continue
            if await self._delete(keys=[key], args=[holder]):
                removed += 1
                STALE_LEASES.inc()
                log.info("stale camera lease removed", extra={"lease": _text(key), "holder": _text(holder)})
        # Heartbeats of replicas gone for longer than the grace are dropped too.
        await self.redis.zremrangebyscore(REPLICAS_KEY, "-inf", f"({int(self.clock() * 1000) - self.grace_ms}")
        return removed
