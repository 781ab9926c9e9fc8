"""``python -m vigia.trainer``: the one-shot ``train --org`` command (a k8s Job, a compose profile
service) and the service that carries out the runs asked for through the broker (what
``POST /api/v1/models/train`` puts in the outbox), one at a time, another org's run left alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, select

from vigia.common import db
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import TrainingRequested, make
from vigia.trainer.__main__ import serve
from vigia.trainer.settings import TrainerSettings
from vigia.trainer.versions import create_run

FAST_ENV = {"VIGIA_TRAINER_EPOCHS": "6", "VIGIA_TRAINER_BATCH_SIZE": "8", "VIGIA_TRAINER_ACCELERATOR": "cpu",
            "VIGIA_LOG_JSON": "false"}


def test_train_command_trains_one_organization_and_prints_its_version(
        database_url: str, engine: Engine, objects: Path, org: uuid.UUID, classified: Callable[..., Any]) -> None:
    classified(true=5, false=5)
    with engine.connect() as conn:
        slug = conn.execute(select(db.organizations.c.slug).where(db.organizations.c.id == org)).scalar_one()
    env = {**os.environ, **FAST_ENV, "VIGIA_DATABASE_URL": database_url, "VIGIA_OBJECT_STORE": f"file://{objects}"}
    done = subprocess.run([sys.executable, "-m", "vigia.trainer", "train", "--org", slug], env=env,
                          capture_output=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    line = orjson.loads(done.stdout.decode().strip().splitlines()[-1])
    assert (line["status"], line["version"], line["samples"]) == ("succeeded", 1, 10)
    assert set(line["metrics"]) >= {"accuracy", "precision", "recall", "f1", "auc", "loss"}

    unknown = subprocess.run([sys.executable, "-m", "vigia.trainer", "train", "--org", "no-such-org"], env=env,
                             capture_output=True, timeout=120, check=False)
    assert unknown.returncode == 2 and b"no organization" in unknown.stdout


async def test_the_service_carries_out_runs_requested_through_the_broker(
        database_url: str, amqp_url: str, engine: Engine, objects: Path, org: uuid.UUID,
        classified: Callable[..., Any]) -> None:
    classified(true=5, false=5)
    run, foreign = create_run(engine, org), create_run(engine, org)
    settings = TrainerSettings(database_url=database_url, amqp_url=amqp_url, object_store=f"file://{objects}",
                               metrics_port=0, trainer_epochs=6, trainer_batch_size=8, trainer_accelerator="cpu")
    stopping = asyncio.Event()
    task = asyncio.create_task(serve(settings, stopping))
    try:
        async with AsyncPublisher(amqp_url, declare=True) as publisher:
            # Another organization naming this org's run: not its run, left queued.
            await publisher.publish(make("training.requested", uuid.uuid4(), "control", TrainingRequested(run=foreign)))
            await publisher.publish(make("training.requested", org, "control", TrainingRequested(run=run)))
        status = None
        for _ in range(1200):
            with engine.connect() as conn:
                status = conn.execute(select(db.training_runs.c.status)
                                      .where(db.training_runs.c.id == run)).scalar()
            if status in ("succeeded", "failed"):
                break
            await asyncio.sleep(0.1)
        assert status == "succeeded"
        with engine.connect() as conn:
            assert conn.execute(select(db.training_runs.c.status)
                                .where(db.training_runs.c.id == foreign)).scalar() == "queued"
            assert conn.execute(select(db.classifier_models.c.version)
                                .where(db.classifier_models.c.org_id == org)).scalars().all() == [1]
    finally:
        stopping.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 30)
