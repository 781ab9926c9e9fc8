"""The telemetry writer against the real table: COPY, and idempotence on redelivery."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from services.fusion.tests.conftest import packets, telemetry_count
from vigia.common.messages import SensorPacket
from vigia.fusion.telemetry import RowError, TelemetryWriter, packet_rows, packet_time


@pytest.fixture
def writer(database_url: str):
    w = TelemetryWriter(database_url)
    yield w
    w.close()


def test_every_packet_becomes_one_row_with_its_values(writer: TelemetryWriter, db: psycopg.Connection[Any]) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    sent = packets(120)
    sent[5] = SensorPacket(timestamp=sent[5].timestamp, seq=sent[5].seq,
                           magnetometer={"x": 3.0, "y": 4.0, "z": 0.0})  # no magnitude, no IMU
    assert writer.write(packet_rows(org, device, sent)) == 120
    assert telemetry_count(db, device) == (120, 120)
    row = db.execute("SELECT org_id, time, mag_magnitude, acc_y, humanoid, bluetooth_devices FROM telemetry "
                     "WHERE device_id = %s AND seq = %s", (device, sent[5].seq)).fetchone()
    assert row == (org, packet_time(sent[5].timestamp), 5.0, None, False, None)


def test_rows_written_again_are_stored_once(writer: TelemetryWriter, db: psycopg.Connection[Any]) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    rows = packet_rows(org, device, packets(100))
    assert writer.write(rows[:60]) == 60
    # A redelivered message overlapping what was committed: the fast COPY fails, the merge stores the rest.
    assert writer.write(rows) == 40
    assert writer.write(rows, merge=True) == 0
    assert telemetry_count(db, device) == (100, 100)


def test_duplicates_inside_one_batch_are_stored_once(writer: TelemetryWriter, db: psycopg.Connection[Any]) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    rows = packet_rows(org, device, packets(10))
    assert writer.write(rows + rows[:3]) == 10
    assert telemetry_count(db, device) == (10, 10)


def test_integers_beyond_their_columns_are_refused_not_wrapped() -> None:
    # Binary COPY would write 2**40 into an int4 column as 0.
    sent = packets(2)
    sent[1] = sent[1].model_copy(update={"bluetooth_devices_count": 2**40})
    with pytest.raises(RowError, match="bluetooth_devices_count"):
        packet_rows(uuid.uuid4(), uuid.uuid4(), sent)
    sent[1] = sent[1].model_copy(update={"bluetooth_devices_count": 1, "seq": 2**63})
    with pytest.raises(RowError, match="seq"):
        packet_rows(uuid.uuid4(), uuid.uuid4(), sent)


def test_a_refused_batch_leaves_nothing_behind(writer: TelemetryWriter, db: psycopg.Connection[Any]) -> None:
    org, device = uuid.uuid4(), uuid.uuid4()
    rows = packet_rows(org, device, packets(10))
    bad = (None, *rows[9][1:])  # no org: NOT NULL
    with pytest.raises(psycopg.errors.NotNullViolation):
        writer.write([*rows[:9], bad])
    assert telemetry_count(db, device) == (0, 0)
    assert writer.write(rows) == 10  # the connection is usable afterwards


def test_storage_kind_is_reported(writer: TelemetryWriter) -> None:
    assert writer.storage() in {"table", "hypertable"}
