"""``python -m vigia.trainer``: train the organizations' false-alarm classifiers.

* ``python -m vigia.trainer train --org <slug>`` — one run now (a one-shot Job or compose service):
  queues a run of that organization, carries it out, prints one JSON line (run, status, version,
  samples, the data set's hash, metrics) and exits 0 when a version was made, 1 otherwise.
* ``python -m vigia.trainer`` (or ``serve``) — the runs asked for through ``POST /api/v1/models/train``:
  logging, settings, PostgreSQL, the object store, one broker connection (topology declared), runs
  a dead trainer left running past VIGIA_TRAINER_STALE_RUN_S marked failed, metrics/health on
  :9113, the ``trainer.control`` consumer (one run at a time) until SIGTERM, which stops
  consuming, lets the run in flight finish and closes.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from dataclasses import asdict

import orjson
from sqlalchemy import select

from vigia.common import db
from vigia.common.broker import Consumer, connect, declare_topology
from vigia.common.broker.topology import TRAINER_CONTROL
from vigia.common.db import database_ready, make_engine
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.storage import ensure_default_buckets, open_store
from vigia.trainer.service import TrainerService, run_training
from vigia.trainer.settings import DEFAULT_METRICS_PORT, TrainerSettings
from vigia.trainer.training import TrainingOptions
from vigia.trainer.versions import create_run, fail_stale_runs, organization_by_slug

log = logging.getLogger("vigia.trainer")

#: On SIGTERM a run in flight is let finish this long (k8s and compose give the trainer 600 s):
#: cut short, its row would stay running and its request would not come back.
RUN_GRACE_S = 570.0


def options_of(settings: TrainerSettings, epochs: int | None = None) -> TrainingOptions:
    return TrainingOptions(epochs=epochs or settings.trainer_epochs, batch_size=settings.trainer_batch_size,
                           learning_rate=settings.trainer_learning_rate, test_share=settings.trainer_test_share,
                           min_samples=settings.trainer_min_samples, seed=settings.trainer_seed,
                           accelerator=settings.trainer_accelerator)


def train_once(settings: TrainerSettings, slug: str, epochs: int | None = None) -> int:
    """The ``train`` command: one run for the organization ``slug``; its exit status."""
    engine = make_engine(settings.database_url, pool_size=1, application_name="vigia-trainer")
    store = open_store(settings.object_store, settings)
    try:
        ensure_default_buckets(store)
        org = organization_by_slug(engine, slug)
        if org is None:
            print(orjson.dumps({"status": "failed", "error": f"no organization with slug {slug!r}"}).decode())
            return 2
        run = create_run(engine, org)
        outcome = run_training(engine, store, org, run, options_of(settings, epochs),
                               max_samples=settings.trainer_max_samples, ffmpeg=settings.trainer_ffmpeg_path)
        line = asdict(outcome)
        if outcome.model is not None:
            with engine.connect() as conn:
                line["metrics"] = conn.execute(select(db.classifier_models.c.metrics)
                                               .where(db.classifier_models.c.id == outcome.model)).scalar()
        print(orjson.dumps(line).decode())
        return 0 if outcome.status == "succeeded" else 1
    finally:
        engine.dispose()


async def serve(settings: TrainerSettings, stopping: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until ``stopping`` is set, when given: tests run it in-process)."""
    instance = settings.trainer_instance or f"{socket.gethostname()}:{os.getpid()}"
    engine = make_engine(settings.database_url, pool_size=2, application_name="vigia-trainer")
    store = open_store(settings.object_store, settings)
    await asyncio.to_thread(ensure_default_buckets, store)
    connection = await connect(settings.amqp_url, name=f"trainer:{instance}")
    service = TrainerService(engine, store, options_of(settings), max_samples=settings.trainer_max_samples,
                             ffmpeg=settings.trainer_ffmpeg_path)
    stale = await asyncio.to_thread(fail_stale_runs, engine, settings.trainer_stale_run_s)
    if stale:
        log.warning("runs left running by a stopped trainer marked failed", extra={"runs": stale})

    async def setup(channel: object) -> None:
        await declare_topology(channel, settings)

    requests = Consumer(settings.amqp_url, TRAINER_CONTROL, service.handle_request, settings=settings,
                        setup=setup, connection=connection, prefetch=1, grace_period=RUN_GRACE_S)
    health.add("database", lambda: database_ready(engine))
    health.add("broker", lambda: not connection.is_closed)
    health.add("object_store", store.ping)
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)
    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    await requests.start()
    log.info("trainer ready: consuming %s, metrics on :%d", TRAINER_CONTROL, metrics_port,
             extra={"instance": instance, "metrics_port": metrics_port})
    try:
        await stopping.wait()
    finally:
        await requests.shutdown()
        server.shutdown()
        await connection.close()
        engine.dispose()
        log.info("trainer stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigia.trainer", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command")
    once = commands.add_parser("train", help="train one organization's classifier now and exit")
    once.add_argument("--org", required=True, help="the organization's slug")
    once.add_argument("--epochs", type=int, default=None, help="override VIGIA_TRAINER_EPOCHS")
    commands.add_parser("serve", help="carry out the runs asked for through the API (the default)")
    args = parser.parse_args(argv)
    settings = TrainerSettings()
    configure_logging(settings.log_level, settings.log_json)
    if args.command == "train":
        return train_once(settings, args.org, args.epochs)
    asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
