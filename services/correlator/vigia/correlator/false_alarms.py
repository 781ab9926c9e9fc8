"""Scoring events with the organization's active false-alarm classifier.

:class:`ActiveModels` keeps, per organization, the version an admin activated (table
``classifier_models``, ``is_active``) loaded from the ``models`` bucket (a TorchScript file the
trainer exported), for ``false_alarm_model_ttl_s`` or until ``model.activated`` drops it. An
organization without an active version costs one cached lookup per event change.

:class:`FalseAlarmScorer` scores an event from the same inputs its evidence bundle holds
(:mod:`vigia.common.false_alarms`): from the live sources while the incident is open or just
closed (:meth:`EvidenceBuilder.sources`), from the stored bundle once it is built. A score at or
above the organization's ``correlation.false_alarm_threshold`` marks the event a likely false
alarm; without a threshold nothing is marked. Nothing is ever deleted or withheld here: the score
travels on ``event.created`` / ``event.updated``, and pipelines decide (their ``suppressed`` node).
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from sqlalchemy import Engine, select

from vigia.common import db
from vigia.common.false_alarms import EvidenceSample, sample_from_bundle, sample_from_sources
from vigia.common.storage import ObjectStore, StorageError
from vigia.correlator.evidence import EvidenceBuilder

log = logging.getLogger(__name__)

MODELS_BUCKET = "models"


@dataclass(frozen=True)
class ActiveModel:
    id: uuid.UUID
    version: int
    module: Any  # a torch.jit.ScriptModule


@dataclass(frozen=True)
class Scoring:
    """An event's false-alarm score by one classifier version, and whether policy marks it."""

    score: float
    model: uuid.UUID
    likely_false_alarm: bool


class ActiveModels:
    """Each organization's active classifier, loaded once and cached (blocking on a miss)."""

    def __init__(self, engine: Engine, store: ObjectStore, ttl_s: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[uuid.UUID, tuple[float, ActiveModel | None]] = {}
        self._lock = threading.Lock()

    def invalidate(self, org: uuid.UUID) -> None:
        with self._lock:
            self._cache.pop(org, None)

    def get(self, org: uuid.UUID) -> ActiveModel | None:
        now = self.clock()
        with self._lock:
            cached = self._cache.get(org)
        if cached is not None and now - cached[0] < self.ttl_s:
            return cached[1]
        table = db.classifier_models
        with self.engine.connect() as conn:
            row = conn.execute(select(table.c.id, table.c.version, table.c.artifact_key)
                               .where(table.c.org_id == org, table.c.is_active.is_(True))).first()
        model = None
        if row is not None:
            previous = cached[1] if cached is not None else None
            if previous is not None and previous.id == row.id:
                model = previous
            else:
                try:
                    module = torch.jit.load(io.BytesIO(self.store.get(MODELS_BUCKET, row.artifact_key)),
                                            map_location="cpu")
                    module.eval()
                    model = ActiveModel(row.id, row.version, module)
                    log.info("false-alarm classifier loaded", extra={"org": str(org), "model": str(row.id),
                                                                     "version": row.version})
                except (StorageError, RuntimeError, ValueError):
                    log.exception("the active false-alarm classifier could not be loaded; events go unscored",
                                  extra={"org": str(org), "model": str(row.id)})
        with self._lock:
            self._cache[org] = (now, model)
        return model


def score_sample(model: ActiveModel, sample: EvidenceSample) -> float:
    """The false-alarm probability of one sample (blocking)."""
    with torch.no_grad():
        logit = model.module(torch.from_numpy(sample.frames[None]), torch.from_numpy(sample.audio[None]),
                             torch.from_numpy(sample.sensors[None]))
    return float(torch.sigmoid(logit).reshape(-1)[0])


class FalseAlarmScorer:
    """Scores events from their live sources or their stored bundle (see the module docstring)."""

    def __init__(self, models: ActiveModels, builder: EvidenceBuilder) -> None:
        self.models = models
        self.builder = builder

    async def active(self, org: uuid.UUID) -> ActiveModel | None:
        return await asyncio.to_thread(self.models.get, org)

    async def score_sources(self, job: dict[str, Any], threshold: float | None) -> Scoring | None:
        """Score the event an evidence ``job`` describes from its live sources (Redis, telemetry)."""
        model = await self.active(uuid.UUID(job["org"]))
        if model is None:
            return None
        jpegs, audio, sensors_csv = await self.builder.sources(job)
        meta = {"sources": job.get("sources", []), "correlation_score": job.get("score"),
                "started_at": job["started_at"], "ended_at": job["ended_at"]}
        sample = await asyncio.to_thread(sample_from_sources, jpegs, audio, sensors_csv, meta, self.builder.ffmpeg)
        return _scoring(model, await asyncio.to_thread(score_sample, model, sample), threshold)

    async def score_bundle(self, org: uuid.UUID, event: str, threshold: float | None) -> Scoring | None:
        """Score the event from its stored evidence bundle (None without a model or a bundle)."""
        model = await self.active(org)
        if model is None:
            return None
        files = await asyncio.to_thread(self.builder.bundle_files, str(org), event)
        if files is None:
            return None
        sample = await asyncio.to_thread(sample_from_bundle, files, self.builder.ffmpeg)
        return _scoring(model, await asyncio.to_thread(score_sample, model, sample), threshold)


def _scoring(model: ActiveModel, score: float, threshold: float | None) -> Scoring:
    return Scoring(score, model.id, threshold is not None and score >= threshold)
