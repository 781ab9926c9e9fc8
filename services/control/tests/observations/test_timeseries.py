"""Time-series storage. The plain path (this machine has no TimescaleDB): the migration leaves plain
tables when the extension is missing (the watchdog's janitor prunes them: its own tests). The
TimescaleDB path cannot run here; its SQL is checked for shape."""

from __future__ import annotations

import pytest
from django.db import connection

from vigia.control.observations.timeseries import (
    TABLES,
    TimeSeriesSettings,
    setup_timescale,
    timescale_available,
    timescale_statements,
)

pytestmark = pytest.mark.django_db


def test_migrations_left_plain_tables_without_timescaledb():
    with connection.cursor() as cursor:
        assert not timescale_available(cursor)
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
        assert cursor.fetchone() is None
    assert setup_timescale(connection, TimeSeriesSettings(timescale="auto")) is False


def test_timescale_on_without_the_extension_fails_loudly():
    with pytest.raises(RuntimeError, match="timescaledb"):
        setup_timescale(connection, TimeSeriesSettings(timescale="on"))


def test_timescale_sql_makes_hypertables_keyed_by_id_and_time_with_policies():
    settings = TimeSeriesSettings(retention_detections_days=30, retention_events_days=365,
                                  compress_after_days=7)
    by_name = {t.name: t for t in TABLES}
    detections = timescale_statements(by_name["detections"], settings, "detections_pkey")
    assert detections[0] == 'ALTER TABLE "detections" DROP CONSTRAINT "detections_pkey"'
    assert detections[1] == 'ALTER TABLE "detections" ADD PRIMARY KEY (id, "time")'
    assert "create_hypertable('detections', 'time'" in detections[2]
    assert "migrate_data => true" in detections[2]
    assert any("timescaledb.compress_segmentby = 'org_id, camera_id'" in s for s in detections)
    assert any("add_compression_policy('detections', INTERVAL '7 days'" in s for s in detections)
    assert detections[-1].startswith("SELECT add_retention_policy('detections', INTERVAL '30 days'")
    events = timescale_statements(by_name["events"], settings, "events_pkey")
    assert events[-1].startswith("SELECT add_retention_policy('events', INTERVAL '365 days'")
    assert not any("compress" in s for s in events)  # operators still update events
    forecasts = timescale_statements(by_name["forecasts"], settings, "forecasts_pkey")
    assert forecasts[1] == 'ALTER TABLE "forecasts" ADD PRIMARY KEY (id, "made_at")'
    assert "create_hypertable('forecasts', 'made_at'" in forecasts[2]
    assert forecasts[-1].startswith("SELECT add_retention_policy('forecasts', INTERVAL '7 days'")
    assert {t.name for t in TABLES} == {"detections", "events", "anomalies", "telemetry",
                                        "device_status_changes", "forecasts"}


def test_primary_key_names_the_timescale_path_drops_exist():
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                           "AND contype = 'p'", [table.name])
            assert cursor.fetchone() is not None, table.name
