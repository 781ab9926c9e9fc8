"""The correlator's handlers: signals in, incidents out.

:meth:`Correlator.handle_signal` is the handler of ``correlator.in``: it turns an anomaly or a
person detection into a :class:`~vigia.correlator.scoring.Signal`, finds its site, applies it to
the site's state (:mod:`vigia.correlator.incidents`) under a per-site lock, publishes what changed
with confirms, writes the new state to Redis and only then returns (so the message is acked after
both). :meth:`Correlator.tick` closes incidents whose site went quiet and queues their evidence.

Crash safety: a crash after the publish but before the state write redelivers the message, which
replays to the same incident (its id derives from its first signal), so a restart never raises
a second event; a crash after the write finds the signal already handled.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from vigia.common import db
from vigia.common.broker import AsyncPublisher, MessageMeta
from vigia.common.ids import uuid7
from vigia.common.messages import (
    AnomalyDetected,
    DetectionCreated,
    Envelope,
    EventChanged,
    EventSource,
    ModelActivated,
)
from vigia.correlator import metrics
from vigia.correlator.config import CorrelatorSettings
from vigia.correlator.false_alarms import FalseAlarmScorer, Scoring
from vigia.correlator.incidents import Change, Incident, Rules, SiteState, expire, observe
from vigia.correlator.scoring import CorrelationConfig, SeverityGrades, Signal, signal_of
from vigia.correlator.sites import Placement, SiteDirectory, site_key
from vigia.correlator.state import StateStore

log = logging.getLogger(__name__)

EVENT_TYPE = "correlated_anomaly"
SIGNAL_TYPES = frozenset({"anomaly.detected", "detection.created"})


def default_config(settings: CorrelatorSettings) -> CorrelationConfig:
    return CorrelationConfig(
        window_ms=settings.correlation_window_ms, threshold=settings.correlation_threshold,
        weights={"magnetic": settings.correlation_weight_magnetic, "audio": settings.correlation_weight_audio,
                 "humanoid": settings.correlation_weight_humanoid, "imu": settings.correlation_weight_imu,
                 "forecast": settings.correlation_weight_forecast},
        person_min_confidence=settings.correlation_person_min_confidence,
        severity=SeverityGrades(medium=settings.correlation_severity_medium, high=settings.correlation_severity_high,
                                critical=settings.correlation_severity_critical,
                                critical_sensors=settings.correlation_severity_critical_sensors),
        fold_window_s=settings.correlation_fold_window_s)


def source_of(signal: Signal, config: CorrelationConfig) -> EventSource:
    kind = "person" if signal.camera is not None else signal.kind
    return EventSource(kind=kind, ref=signal.id, device=uuid.UUID(signal.device) if signal.device else None,
                       camera=uuid.UUID(signal.camera) if signal.camera else None,
                       weight=min(1.0, config.weight(signal.kind)))


def event_envelope(org: uuid.UUID, site: str | None, change: Change, config: CorrelationConfig,
                   source: str, trace: str | None = None, scoring: Scoring | None = None) -> Envelope:
    """The event.created / event.updated message of a change, with its false-alarm ``scoring``
    when the organization has an active classifier. A created message's id derives from the
    event id, so a replayed creation is the same message for every consumer."""
    incident = change.incident
    kinds = sorted({source_of(s, config).kind for s in incident.sources})
    where = f"site {site}" if site else "an unassigned device or camera"
    repeats = f", {incident.occurrences} occurrences" if incident.occurrences > 1 else ""
    description = f"{' + '.join(kinds)} at {where} ({incident.source_count} signals{repeats})"
    data = EventChanged(event=uuid.UUID(incident.event), event_type=EVENT_TYPE, severity=incident.severity,
                        score=incident.score, started_at=incident.started_at, ended_at=incident.ended_at,
                        site=site, sources=[source_of(s, config) for s in incident.sources],
                        description=description, occurrences=incident.occurrences,
                        **scoring_fields(scoring))
    created = change.kind == "created"
    values: dict[str, Any] = {
        "id": uuid.uuid5(uuid.UUID(incident.event), "created") if created else uuid7(),
        "type": "event.created" if created else "event.updated", "org": org, "source": source, "data": data}
    if trace is not None:
        values["trace"] = trace
    return Envelope(**values)


def scoring_fields(scoring: Scoring | None) -> dict[str, Any]:
    if scoring is None:
        return {}
    return {"false_alarm_score": scoring.score, "false_alarm_model": scoring.model,
            "likely_false_alarm": scoring.likely_false_alarm}


class Correlator:
    """Joins the signals of each site into incidents; see the module docstring. With a
    ``scorer``, each event change is scored by the organization's active false-alarm classifier
    (:mod:`vigia.correlator.false_alarms`), and again once its evidence bundle is built
    (:meth:`score_evidence`)."""

    def __init__(self, directory: SiteDirectory, state: StateStore, publisher: AsyncPublisher,
                 settings: CorrelatorSettings, source: str = "correlator",
                 scorer: FalseAlarmScorer | None = None) -> None:
        self.scorer = scorer
        self.directory = directory
        self.state = state
        self.publisher = publisher
        self.settings = settings
        self.source = source
        self.quiet_ns = int(settings.incident_quiet_s * 1e9)
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._open: dict[str, tuple[uuid.UUID, str | None, int]] = {}  # key -> (org, site, last activity)

    def rules(self, config: CorrelationConfig) -> Rules:
        return Rules(config, self.quiet_ns, self.settings.incident_max_sources,
                     max_ns=int(self.settings.incident_max_s * 1e9))

    async def restore(self) -> None:
        """Pick up the open incidents a previous run left in Redis."""
        count = await self.state.restore()
        now = time.time_ns()
        for key in self.state.site_keys():
            org_text, site = self.state.parse_site_key(key)
            state = self.state.cached(key)
            if state is None or state.incident is None:
                continue
            # The queue may hold this incident's next signals, waiting since we went down: give
            # it a full quiet period from now to take them before it closes.
            state.incident.last_activity = max(state.incident.last_activity, now)
            await self.state.save(key, state)
            real_site = None if site.startswith(("device:", "camera:")) else site
            self._open[key] = (uuid.UUID(org_text), real_site, state.incident.last_activity)
        metrics.OPEN_INCIDENTS.set(len(self._open))
        log.info("correlator state restored", extra={"sites": count, "open_incidents": len(self._open)})

    # --- correlator.in ----------------------------------------------------------------------

    async def handle_signal(self, envelope: Envelope, meta: MessageMeta | None = None) -> None:
        if envelope.type not in SIGNAL_TYPES:
            metrics.IGNORED.labels("not_a_signal").inc()
            return
        config = await asyncio.to_thread(self.directory.org_config, envelope.org)
        signal = signal_of(envelope, config)
        if signal is None:
            metrics.IGNORED.labels("not_a_signal").inc()
            return
        placed = await asyncio.to_thread(self._place, envelope)
        if placed is None:
            metrics.IGNORED.labels("unknown_source").inc()
            log.warning("signal from an unknown device or camera of this org ignored",
                        extra={"message_id": str(envelope.id), "type": envelope.type})
            return
        placement, site = placed
        key = self.state.site_key(envelope.org, site)
        metrics.SIGNALS.labels(signal.kind).inc()
        async with self._locks[key]:
            state = await self.state.load(key)
            now = time.time_ns()
            changes = observe(state, signal, envelope.org, self.rules(config), now)
            for change in changes:
                # A repeat folds into its closed event only while no operator resolved it.
                if change.reopened and await asyncio.to_thread(self._resolved, envelope.org, change.incident.event):
                    state = await self.state.load(key)
                    state.forget(change.incident.event)
                    changes = observe(state, signal, envelope.org, self.rules(config), now)
                    break
            await self._commit(key, envelope.org, placement.site, state, changes, config, envelope.trace)
        if changes:
            metrics.DECISION_SECONDS.observe(max(0.0, (time.time_ns() - envelope.time) / 1e9))

    def _resolved(self, org: uuid.UUID, event: str) -> bool:
        """Whether the event's operators resolved it (blocking: call from a thread)."""
        with self.directory.engine.connect() as conn:
            status = conn.execute(select(db.events.c.status).where(
                db.events.c.id == uuid.UUID(event), db.events.c.org_id == org)).scalar()
        return status == "resolved"

    def _place(self, envelope: Envelope) -> tuple[Placement, str] | None:
        data = envelope.data
        if isinstance(data, AnomalyDetected):
            placement, kind, ident = self.directory.device(data.device), "device", data.device
        elif isinstance(data, DetectionCreated):
            placement, kind, ident = self.directory.camera(data.camera), "camera", data.camera
        else:
            return None
        if placement is None or placement.org != envelope.org:
            return None  # another org's device is no evidence for this one
        return placement, site_key(kind, ident, placement)

    async def _commit(self, key: str, org: uuid.UUID, site: str | None, state: SiteState,
                      changes: list[Change], config: CorrelationConfig, trace: str | None) -> None:
        """Publish ``changes`` (confirmed), then write the state and any evidence jobs."""
        jobs = []
        for change in changes:
            scoring = await self._score(org, key, site, change.incident, config)
            envelope = event_envelope(org, site, change, config, self.source, trace, scoring)
            await self.publisher.publish(envelope)
            metrics.EVENTS.labels(change.kind).inc()
            log.info("event %s", change.kind, extra={"event": change.incident.event, "site": site,
                                                      "score": change.incident.score})
            if change.kind == "closed":
                job, due = self._evidence_job(org, key, site, change.incident)
                # What was said last about the event: the evidence's scoring re-publishes it.
                job["site_key"], job["message"] = key, envelope.data.model_dump(mode="json")
                jobs.append((job, due))
        await self.state.save(key, state, jobs)
        if state.incident is not None:
            self._open[key] = (org, site, state.incident.last_activity)
        else:
            self._open.pop(key, None)
        metrics.OPEN_INCIDENTS.set(len(self._open))

    async def _score(self, org: uuid.UUID, key: str, site: str | None, incident: Incident,
                     config: CorrelationConfig) -> Scoring | None:
        """The incident's false-alarm scoring from its live sources; None without a scorer or an
        active classifier, or when scoring failed (it never holds an event back)."""
        if self.scorer is None:
            return None
        try:
            job, _ = self._evidence_job(org, key, site, incident)
            scoring = await self.scorer.score_sources(job, config.false_alarm_threshold)
        except Exception:
            metrics.FALSE_ALARM_SCORES.labels("live", "failed").inc()
            log.exception("false-alarm scoring failed; the event goes unscored", extra={"event": incident.event})
            return None
        if scoring is not None:
            metrics.FALSE_ALARM_SCORES.labels("live", "marked" if scoring.likely_false_alarm else "scored").inc()
        return scoring

    async def score_evidence(self, job: dict[str, Any]) -> None:
        """Score a closed event again from its built evidence bundle and publish that as an
        ``event.updated`` (what was last said of it, with the new score) — unless it was reopened
        since (a folded repeat: its own updates carry their scores)."""
        if self.scorer is None or "message" not in job:
            return
        org = uuid.UUID(job["org"])
        state = await self.state.load(job["site_key"])
        if state.incident is not None and state.incident.event == job["event"]:
            return
        config = await asyncio.to_thread(self.directory.org_config, org)
        try:
            scoring = await self.scorer.score_bundle(org, job["event"], config.false_alarm_threshold)
        except Exception:
            metrics.FALSE_ALARM_SCORES.labels("bundle", "failed").inc()
            raise
        if scoring is None:
            return
        metrics.FALSE_ALARM_SCORES.labels("bundle", "marked" if scoring.likely_false_alarm else "scored").inc()
        data = EventChanged.model_validate({**job["message"], **scoring_fields(scoring)})
        await self.publisher.publish(Envelope(id=uuid7(), type="event.updated", org=org, source=self.source,
                                              data=data))
        metrics.EVENTS.labels("scored").inc()
        log.info("event scored from its evidence", extra={"event": job["event"], "false_alarm_score": scoring.score,
                                                          "likely_false_alarm": scoring.likely_false_alarm})

    def _evidence_job(self, org: uuid.UUID, key: str, site: str | None, incident: Incident
                      ) -> tuple[dict[str, Any], float]:
        group = self.state.parse_site_key(key)[1]
        devices = [s.device for s in incident.sources if s.device]
        cameras = [s.camera for s in incident.sources if s.camera]
        devices += [str(d) for d in self.directory.devices_at(org, group) if str(d) not in devices]
        cameras += [str(c) for c in self.directory.cameras_at(org, group) if str(c) not in cameras]
        # One occurrence's window: the bundle of a folded event is its first occurrence's (a
        # bundle with a manifest is never rebuilt), later occurrences are listed as its sources.
        job = {"org": str(org), "event": incident.event, "site": site, "started_at": incident.opened_at,
               "ended_at": incident.ended_at or incident.last_signal_at, "score": incident.score,
               "severity": incident.severity.value, "devices": list(dict.fromkeys(devices)),
               "cameras": list(dict.fromkeys(cameras)), "sources": [s.to_json() for s in incident.sources]}
        due = time.time() + self.settings.evidence_margin_s + self.settings.evidence_delay_s
        return job, due

    # --- correlator.control -----------------------------------------------------------------

    async def handle_control(self, envelope: Envelope, meta: MessageMeta | None = None) -> None:
        if isinstance(envelope.data, ModelActivated):
            if self.scorer is not None:
                self.scorer.models.invalidate(envelope.org)
                log.info("false-alarm classifier activated", extra={"org": str(envelope.org),
                                                                    "model": str(envelope.data.model)})
            return
        if self.directory.apply(envelope):
            log.info("site assignment changed", extra={"type": envelope.type, "message_id": str(envelope.id)})

    # --- periodic ---------------------------------------------------------------------------

    async def tick(self) -> int:
        """Close every incident whose site has been quiet; returns how many closed."""
        now = time.time_ns()
        closed = 0
        for key, (org, site, last_activity) in list(self._open.items()):
            if now - last_activity < self.quiet_ns:
                continue
            async with self._locks[key]:
                state = await self.state.load(key)
                config = await asyncio.to_thread(self.directory.org_config, org)
                change = expire(state, self.rules(config), time.time_ns())
                if change is None:
                    if state.incident is None:
                        self._open.pop(key, None)
                    continue
                await self._commit(key, org, site, state, [change], config, None)
                closed += 1
        return closed
