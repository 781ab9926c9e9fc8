"""Time-series storage. The plain path (this machine has no TimescaleDB): the janitor deletes only
rows past retention, in bounded batches. The TimescaleDB path cannot run here; its SQL is checked
for shape, and the migration is checked to leave plain tables when the extension is missing."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection

from vigia.control.observations.models import Anomaly, Detection, DeviceStatusChange, Event, Telemetry
from vigia.control.observations.timeseries import (
    TABLES,
    TimeSeriesSettings,
    run_janitor,
    setup_timescale,
    timescale_available,
    timescale_statements,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _detections(org, times):
    return Detection.objects.bulk_create(
        Detection(org=org, camera_id=uuid.uuid4(), time=t, label="car", confidence=0.5, box={})
        for t in times)


def test_janitor_deletes_only_rows_past_retention(org):
    settings = TimeSeriesSettings(retention_detections_days=30, retention_events_days=365,
                                  retention_telemetry_days=7, retention_anomalies_days=90,
                                  retention_device_status_days=365)
    old = _detections(org, [NOW - timedelta(days=31, minutes=i) for i in range(5)])
    kept = _detections(org, [NOW - timedelta(days=29), NOW - timedelta(hours=1)])
    Event.objects.create(org=org, time=NOW - timedelta(days=200), event_type="x", severity="low", score=1)
    Event.objects.create(org=org, time=NOW - timedelta(days=400), event_type="x", severity="low", score=1)
    Telemetry.objects.create(org=org, device_id=uuid.uuid4(), time=NOW - timedelta(days=8), seq=1)
    Telemetry.objects.create(org=org, device_id=uuid.uuid4(), time=NOW - timedelta(days=6), seq=2)
    Anomaly.objects.create(org=org, device_id=uuid.uuid4(), time=NOW - timedelta(days=91), kind="imu",
                           severity="low", score=1)
    DeviceStatusChange.objects.create(org=org, device_id=uuid.uuid4(), time=NOW - timedelta(days=10),
                                      status="ON")

    report = run_janitor(settings, now=NOW, batch_size=100)

    assert set(Detection.objects.values_list("id", flat=True)) == {d.id for d in kept}
    assert not Detection.objects.filter(id__in=[d.id for d in old]).exists()
    assert list(Event.objects.values_list("time", flat=True)) == [NOW - timedelta(days=200)]
    assert list(Telemetry.objects.values_list("seq", flat=True)) == [2]
    assert Anomaly.objects.count() == 0
    assert DeviceStatusChange.objects.count() == 1
    counts = {name: entry["deleted"] for name, entry in report.as_dict().items()}
    assert counts == {"detections": 5, "events": 1, "anomalies": 1, "telemetry": 1,
                      "device_status_changes": 0}


def test_janitor_deletes_in_bounded_batches(org):
    _detections(org, [NOW - timedelta(days=40, seconds=i) for i in range(7)])
    _detections(org, [NOW - timedelta(days=1)])
    report = run_janitor(TimeSeriesSettings(), now=NOW, batch_size=3, tables=["detections"])
    (cleanup,) = report.tables
    # 3 + 3 + 1: the last, short batch tells the janitor it is done
    assert (cleanup.deleted, cleanup.batches) == (7, 3)
    assert Detection.objects.count() == 1


def test_janitor_max_batches_bounds_one_run(org):
    _detections(org, [NOW - timedelta(days=40, seconds=i) for i in range(7)])
    report = run_janitor(TimeSeriesSettings(), now=NOW, batch_size=2, max_batches=2, tables=["detections"])
    assert (report.tables[0].deleted, report.tables[0].batches) == (4, 2)
    assert Detection.objects.count() == 3


def test_janitor_command_prints_one_json_report(org):
    _detections(org, [datetime.now(UTC) - timedelta(days=400)])
    out = io.StringIO()
    call_command("timeseries_janitor", "--batch-size", "10", "--table", "detections", stdout=out)
    report = json.loads(out.getvalue())
    assert report["deleted"] == 1
    assert report["tables"]["detections"]["batches"] == 1
    assert Detection.objects.count() == 0


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
    assert {t.name for t in TABLES} == {"detections", "events", "anomalies", "telemetry",
                                        "device_status_changes"}


def test_primary_key_names_the_timescale_path_drops_exist():
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                           "AND contype = 'p'", [table.name])
            assert cursor.fetchone() is not None, table.name
