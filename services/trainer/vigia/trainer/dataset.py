"""The training set: the events an organization's operators classified, with their evidence.

An event counts when its ``classification`` is ``true_positive`` (label 0) or ``false_positive``
(label 1, a false alarm) and its evidence bundle is complete (``manifest.json`` present in the
``evidence`` bucket); ``test`` and unclassified events are not examples of either. Events are taken
oldest first (time, then id), so the data set's hash (:func:`vigia.common.false_alarms.dataset_hash`)
names exactly which events with which labels a version learnt from.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

import numpy as np
import orjson
from sqlalchemy import Engine, select

from vigia.common import db
from vigia.common.false_alarms import LABELS, EvidenceSample, classifier_inputs, dataset_hash, sample_from_bundle
from vigia.common.privacy import evidence_prefix
from vigia.common.storage import ObjectNotFound, ObjectStore, StorageError

log = logging.getLogger(__name__)

EVIDENCE_BUCKET = "evidence"
MANIFEST = "manifest.json"


@dataclass
class Dataset:
    """Samples in event order with their labels (1: false alarm) and ids."""

    ids: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    samples: list[EvidenceSample] = field(default_factory=list)
    skipped: int = 0  # classified events without a complete bundle

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def hash(self) -> str:
        return dataset_hash(zip(self.ids, self.labels, strict=True))

    def arrays(self, indices: list[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """frames, audio, sensors and labels (float32) of the samples at ``indices``."""
        picked = [self.samples[i] for i in indices]
        return (np.stack([s.frames for s in picked]), np.stack([s.audio for s in picked]),
                np.stack([s.sensors for s in picked]),
                np.asarray([self.labels[i] for i in indices], dtype=np.float32))


def labelled_events(engine: Engine, org: uuid.UUID, limit: int) -> list[tuple[uuid.UUID, int]]:
    """(event id, label) of the organization's classified events, oldest first (the ``limit`` newest)."""
    events = db.events
    query = (select(events.c.id, events.c.classification, events.c.time)
             .where(events.c.org_id == org, events.c.classification.in_(list(LABELS)))
             .order_by(events.c.time.desc(), events.c.id.desc()).limit(limit))
    with engine.connect() as conn:
        rows = list(conn.execute(query).all())
    rows.sort(key=lambda r: (r.time, r.id))
    return [(row.id, LABELS[row.classification]) for row in rows]


def bundle_files(store: ObjectStore, org: uuid.UUID, event: uuid.UUID) -> dict[str, bytes] | None:
    """The files of the event's complete bundle the classifier reads, by name; None without one."""
    prefix = evidence_prefix(str(org), str(event))
    try:
        manifest = orjson.loads(store.get(EVIDENCE_BUCKET, prefix + MANIFEST))
    except ObjectNotFound:
        return None
    names = [str(entry.get("name", "")) for entry in manifest.get("files", [])]
    files = {name: store.get(EVIDENCE_BUCKET, prefix + name) for name in classifier_inputs(names)}
    return files


def build_dataset(engine: Engine, store: ObjectStore, org: uuid.UUID, *, limit: int = 20_000,
                  ffmpeg: str = "ffmpeg") -> Dataset:
    """Every classified event of ``org`` with a complete bundle, as samples (blocking)."""
    dataset = Dataset()
    for event, label in labelled_events(engine, org, limit):
        try:
            files = bundle_files(store, org, event)
        except StorageError:
            log.warning("evidence bundle unreadable; event left out", extra={"event": str(event)})
            files = None
        if files is None:
            dataset.skipped += 1
            continue
        dataset.ids.append(str(event))
        dataset.labels.append(label)
        dataset.samples.append(sample_from_bundle(files, ffmpeg))
    return dataset
