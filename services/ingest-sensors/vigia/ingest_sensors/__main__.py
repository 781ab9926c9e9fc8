"""``python -m vigia.ingest_sensors``: serve the sensor gateway with uvicorn on uvloop.

Start-up, top-down: configure logging, read settings, build the app, serve it with a
:class:`~vigia.ingest_sensors.server.DrainingServer`. The app's lifespan connects to the database,
Redis and the broker (declaring the topology). On SIGTERM the server stops listening, every socket
publishes what it holds, waits for the broker's confirms, sends its last ack and closes with 1012;
then the broker connection closes. One process per container: scale with replicas.
"""

from __future__ import annotations

from vigia.common.observability import configure_logging
from vigia.ingest_sensors.app import SERVICE, create_app
from vigia.ingest_sensors.server import DrainingServer, uvicorn_config
from vigia.ingest_sensors.settings import IngestSensorsSettings


def main() -> None:
    settings = IngestSensorsSettings(service_name=SERVICE)
    configure_logging(settings.log_level, settings.log_json)
    DrainingServer(uvicorn_config(create_app(settings), settings)).run()


if __name__ == "__main__":
    main()
