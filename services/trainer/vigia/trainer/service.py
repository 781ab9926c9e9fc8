"""One training run, start to finish, and the handler of ``training.requested``.

:func:`run_training` takes a queued ``training_runs`` row: marks it running, builds the data set,
trains, stores the version and marks the run succeeded (with the version) or failed (with why).
:meth:`TrainerService.handle_request` is the ``trainer.control`` consumer's handler: the run must be
the envelope's organization's and still queued (a redelivered request finds it taken and is done).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from dataclasses import dataclass

from prometheus_client import Counter, Histogram
from sqlalchemy import Engine

from vigia.common.broker import MessageMeta
from vigia.common.messages import Envelope, TrainingRequested
from vigia.common.storage import ObjectStore
from vigia.trainer.dataset import build_dataset
from vigia.trainer.training import NotEnoughExamples, TrainingOptions, train
from vigia.trainer.versions import finish_run, save_version, start_run

log = logging.getLogger(__name__)

RUNS = Counter("vigia_trainer_runs_total", "Training runs carried out, by outcome (succeeded: a new version; "
               "failed: too few labelled events or an error, said on the run; skipped: not a queued run of the "
               "organization, e.g. a redelivered request)", ["outcome"])
RUN_SECONDS = Histogram("vigia_trainer_run_seconds", "Time of one training run that started (data set, training, "
                        "measuring, storing the version)", buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 3600))


@dataclass(frozen=True)
class RunOutcome:
    run: uuid.UUID
    status: str  # succeeded, failed, skipped (not a queued run of that org)
    model: uuid.UUID | None = None
    version: int | None = None
    samples: int = 0
    dataset_hash: str | None = None
    error: str = ""


def run_training(engine: Engine, store: ObjectStore, org: uuid.UUID, run: uuid.UUID, options: TrainingOptions,
                 *, max_samples: int = 20_000, ffmpeg: str = "ffmpeg") -> RunOutcome:
    """Carry out the organization's queued run ``run`` (blocking)."""
    if not start_run(engine, org, run):
        RUNS.labels("skipped").inc()
        return RunOutcome(run, "skipped")
    samples = 0
    started = time.monotonic()
    try:
        dataset = build_dataset(engine, store, org, limit=max_samples, ffmpeg=ffmpeg)
        samples = len(dataset)
        trained = train(dataset, options)
        model, version = save_version(engine, store, org, trained, dataset, run)
    except NotEnoughExamples as exc:
        finish_run(engine, run, samples=samples, error=str(exc))
        RUNS.labels("failed").inc()
        RUN_SECONDS.observe(time.monotonic() - started)
        return RunOutcome(run, "failed", samples=samples, error=str(exc))
    except Exception as exc:
        log.exception("training run failed", extra={"run": str(run), "org": str(org)})
        finish_run(engine, run, samples=samples, error=f"{type(exc).__name__}: {exc}")
        RUNS.labels("failed").inc()
        RUN_SECONDS.observe(time.monotonic() - started)
        raise
    finish_run(engine, run, model=model, samples=samples)
    RUNS.labels("succeeded").inc()
    RUN_SECONDS.observe(time.monotonic() - started)
    log.info("training run succeeded", extra={"run": str(run), "org": str(org), "model": str(model),
                                              "version": version, "samples": samples})
    return RunOutcome(run, "succeeded", model, version, samples, dataset.hash)


class TrainerService:
    """Runs the training runs asked for through the API, one at a time."""

    def __init__(self, engine: Engine, store: ObjectStore, options: TrainingOptions, *, max_samples: int = 20_000,
                 ffmpeg: str = "ffmpeg") -> None:
        self.engine = engine
        self.store = store
        self.options = options
        self.max_samples = max_samples
        self.ffmpeg = ffmpeg

    async def handle_request(self, envelope: Envelope, meta: MessageMeta | None = None) -> None:
        await self.carry_out(envelope)

    async def carry_out(self, envelope: Envelope) -> RunOutcome | None:
        """The run a ``training.requested`` envelope names, carried out (None for another type)."""
        data = envelope.data
        if not isinstance(data, TrainingRequested):
            return None
        try:
            return await asyncio.to_thread(run_training, self.engine, self.store, envelope.org, data.run,
                                           self.options, max_samples=self.max_samples, ffmpeg=self.ffmpeg)
        except Exception:
            return RunOutcome(data.run, "failed")  # recorded on the run's row; retrying would fail alike
