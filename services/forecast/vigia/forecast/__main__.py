"""``python -m vigia.forecast``: forecast every active device's metrics on a schedule and on request,
publish readings outside the forecast band as anomalies; metrics and health on :9107.

Start-up: logging, settings, the model (the forecast registry), PostgreSQL, Redis, one broker
connection (topology declared), the publisher, metrics/health, the ``forecast.control`` consumer
(on-demand refreshes), then the scheduled rounds under the Redis leader lease until SIGTERM, which
stops consuming (finishing the refresh in flight), cancels the round, releases the lease, closes.

``python -m vigia.forecast train-ttm --org <slug> --out <dir>`` trains a TinyTimeMixer on the
organization's own history instead (:mod:`vigia.forecast.training`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from redis.asyncio import Redis
from sqlalchemy.exc import InterfaceError, OperationalError

from vigia.common.broker import AsyncPublisher, Consumer, connect, declare_topology
from vigia.common.broker.topology import FORECAST_CONTROL
from vigia.common.db import database_ready, make_engine
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.forecast import models
from vigia.forecast.schedule import RefreshSchedule, default_holder
from vigia.forecast.service import ForecastService
from vigia.forecast.settings import DEFAULT_METRICS_PORT, ForecastSettings

log = logging.getLogger("vigia.forecast")

# The database away (restarting) is no fault of a request: it is held and retried, not dead-lettered.
DEPENDENCY_DOWN = (OperationalError, InterfaceError)


async def run(settings: ForecastSettings, stopping: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until ``stopping`` is set, when given: tests run it in-process)."""
    holder = settings.forecast_instance or default_holder()
    model = models.build(settings.forecast_model or models.DEFAULT, **settings.model_options())
    metrics = settings.metric_specs()
    engine = make_engine(settings.database_url, pool_size=2, application_name="vigia-forecast")
    redis = Redis.from_url(settings.redis_url)
    connection = await connect(settings.amqp_url, name=f"forecast:{holder}")
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, declare=True, connection=connection)
    await publisher.connect()

    service = ForecastService(engine, model, metrics, publisher.publish,
                              threshold=settings.forecast_residual_threshold,
                              min_history=settings.forecast_min_history_steps,
                              source=settings.service_name if settings.service_name != "vigia" else "forecast")

    async def setup(channel: object) -> None:
        await declare_topology(channel, settings)

    requests = Consumer(settings.amqp_url, FORECAST_CONTROL, service.handle_request, settings=settings,
                        setup=setup, connection=connection, unavailable=DEPENDENCY_DOWN, prefetch=1)
    schedule = RefreshSchedule(redis, holder, service.refresh_active, interval=settings.forecast_refresh_s,
                               active_s=settings.forecast_active_s, lease_s=settings.forecast_lease_s)
    health.add("database", lambda: database_ready(engine))
    health.add("broker", lambda: not connection.is_closed)
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)

    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    await requests.start()
    log.info("forecast ready: model %s, metrics %s, metrics on :%d", model.name,
             ",".join(m.name for m in metrics), metrics_port,
             extra={"holder": holder, "model": model.name, "metrics": [m.name for m in metrics],
                    "metrics_port": metrics_port})
    try:
        await schedule.run(stopping)
    finally:
        await requests.shutdown()
        server.shutdown()
        await publisher.close()
        await connection.close()
        await redis.aclose()
        engine.dispose()
        log.info("forecast stopped")


def main() -> None:
    settings = ForecastSettings()
    configure_logging(settings.log_level, settings.log_json)
    if sys.argv[1:2] == ["train-ttm"]:  # a TTM trained on an organization's own history
        from vigia.forecast.training import main as train_main

        sys.exit(train_main(sys.argv[2:]))
    asyncio.run(run(settings))


if __name__ == "__main__":
    main()
