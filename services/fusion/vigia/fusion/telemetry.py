"""The telemetry writer: every sensor packet becomes one ``telemetry`` row, written with COPY.

Idempotent on redelivery without slowing down the normal case:

* fast path — ``COPY telemetry FROM STDIN`` inside a savepoint: as fast as a bare COPY;
* if the table's unique key ``(device_id, time, seq)`` (``telemetry_unique_reading``) refuses a
  row — a redelivered message whose rows were committed before the worker died, or a packet the
  phone resent — the savepoint is rolled back and the same rows go through the merge path:
  COPY into a temporary table, then ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``, which stores
  only the rows not there yet. Batches known to hold redeliveries take the merge path directly.

``ON CONFLICT DO NOTHING`` has no conflict target, so it works with the plain table's ``(id)``
primary key and with the ``(id, time)`` key of the TimescaleDB hypertable
(docs/adr/0002-time-series-storage.md); COPY and INSERT route rows into hypertable chunks by
themselves, and TimescaleDB (≥ 2.11) accepts both into compressed chunks, so the writer takes the
same path in both cases and only reports which one it found (:meth:`TelemetryWriter.storage`).

The writer is synchronous (psycopg 3, one connection) and meant to run in one worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import math
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import errors, sql

from vigia.common.messages import SensorPacket

log = logging.getLogger(__name__)

TABLE = "telemetry"
COLUMNS = (
    "org_id", "device_id", "time", "seq",
    "mag_x", "mag_y", "mag_z", "mag_magnitude", "acc_x", "acc_y", "acc_z",
    "gyro_x", "gyro_y", "gyro_z", "roll", "pitch", "yaw", "audio_peak",
    "humanoid", "bluetooth_devices",
)
# Binary COPY: no text formatting on either side. Types in COLUMNS order.
COLUMN_TYPES = ("uuid", "uuid", "timestamptz", "int8") + ("float8",) * 14 + ("bool", "int4")
STAGING = "fusion_telemetry_incoming"

Row = tuple[Any, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NONE3 = (None, None, None)


def packet_time(timestamp_ns: int) -> datetime:
    """The packet's time as stored (timestamptz keeps microseconds; the ns remainder is dropped)."""
    return _EPOCH + timedelta(microseconds=timestamp_ns // 1000)


INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1


class RowError(ValueError):
    """A packet that cannot be a telemetry row (a value outside its column's range)."""


def packet_rows(org: uuid.UUID, device: uuid.UUID, packets: Iterable[SensorPacket]) -> list[Row]:
    """One row per packet, in COLUMNS order. A missing magnitude is computed from x, y, z.

    Integers are range-checked here: binary COPY would silently wrap an out-of-range int4/int8."""
    rows: list[Row] = []
    append = rows.append
    for p in packets:
        if p.seq > INT8_MAX:
            raise RowError(f"seq: {p.seq} does not fit a bigint")
        if p.bluetooth_devices_count is not None and p.bluetooth_devices_count > INT4_MAX:
            raise RowError(f"bluetooth_devices_count: {p.bluetooth_devices_count} does not fit an integer")
        m = p.magnetometer
        mag: tuple[float | None, ...]
        if m is not None:
            magnitude = m.magnitude if m.magnitude is not None else math.sqrt(m.x * m.x + m.y * m.y + m.z * m.z)
            mag = (m.x, m.y, m.z, magnitude)
        else:
            mag = (None, None, None, None)
        a, g, o = p.accelerometer, p.gyroscope, p.orientation
        append((org, device, _EPOCH + timedelta(microseconds=p.timestamp // 1000), p.seq, *mag,
                *((a.x, a.y, a.z) if a is not None else _NONE3),
                *((g.x, g.y, g.z) if g is not None else _NONE3),
                *((o.roll, o.pitch, o.yaw) if o is not None else _NONE3),
                p.audio_peak, p.humanoid_detected, p.bluetooth_devices_count))
    return rows


class TelemetryWriter:
    """Writes row batches to ``telemetry`` in one transaction each; see the module docstring."""

    def __init__(self, database_url: str, *, application_name: str = "vigia-fusion") -> None:
        self.database_url = database_url
        self.application_name = application_name
        self._conn: psycopg.Connection[Any] | None = None
        self._staging_ready = False
        self._copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(TABLE), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
        self._copy_staging_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(STAGING), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
        self._merge_sql = sql.SQL("INSERT INTO {table} ({cols}) SELECT {cols} FROM {staging} "
                                  "ON CONFLICT DO NOTHING").format(
            table=sql.Identifier(TABLE), staging=sql.Identifier(STAGING),
            cols=sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))

    # --- connection ---

    def connect(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, application_name=self.application_name,
                                         options="-c statement_timeout=60000")
            self._staging_ready = False
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def discard_connection(self) -> None:
        """Forget a connection that failed (it is reopened by the next write)."""
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is gone anyway
            self.close()
        self._conn = None

    def ping(self) -> bool:
        conn = self.connect()
        with conn.transaction():
            return conn.execute("SELECT 1").fetchone() == (1,)

    def storage(self) -> str:
        """``"hypertable"`` when telemetry is a TimescaleDB hypertable, else ``"table"``."""
        conn = self.connect()
        with conn.transaction():
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone() is None:
                return "table"
            found = conn.execute("SELECT 1 FROM timescaledb_information.hypertables "
                                 "WHERE hypertable_name = %s", (TABLE,)).fetchone()
        return "hypertable" if found else "table"

    # --- writing ---

    def _copy(self, cursor: psycopg.Cursor[Any], statement: sql.Composed, rows: Sequence[Row]) -> None:
        with cursor.copy(statement) as copy:
            copy.set_types(COLUMN_TYPES)
            write = copy.write_row
            for row in rows:
                write(row)

    def _ensure_staging(self, cursor: psycopg.Cursor[Any]) -> None:
        if not self._staging_ready:
            # The staging table has telemetry's columns (not its id, keys or indexes); it lives as long
            # as the connection and is emptied at each commit.
            if self._conn is not None and self._conn.execute(
                    "SELECT 1 FROM pg_class WHERE relname = %s AND relpersistence = 't' "
                    "AND pg_table_is_visible(oid)", (STAGING,)).fetchone() is None:
                cursor.execute(sql.SQL("CREATE TEMP TABLE {} ON COMMIT DELETE ROWS AS SELECT {} FROM {} "
                                       "WITH NO DATA").format(sql.Identifier(STAGING),
                                                              sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
                                                              sql.Identifier(TABLE)))
            self._staging_ready = True

    def write(self, rows: Sequence[Row], *, merge: bool = False) -> int:
        """Store ``rows`` (one transaction); returns how many were new. ``merge=True`` skips the
        fast path (the caller knows some rows may already be stored)."""
        if not rows:
            return 0
        conn = self.connect()
        with conn.transaction(), conn.cursor() as cursor:
            if not merge:
                try:
                    with conn.transaction():  # a savepoint
                        self._copy(cursor, self._copy_sql, rows)
                    return len(rows)
                except errors.UniqueViolation:
                    log.info("telemetry rows already stored, merging", extra={"rows": len(rows)})
            self._ensure_staging(cursor)
            self._copy(cursor, self._copy_staging_sql, rows)
            cursor.execute(self._merge_sql)
            return max(cursor.rowcount, 0)


def bare_copy(conn: psycopg.Connection[Any], rows: Sequence[Row]) -> None:
    """A plain binary COPY of ``rows`` into telemetry in one transaction: the benchmark's baseline."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(TABLE), sql.SQL(", ").join(map(sql.Identifier, COLUMNS)))
    with conn.transaction(), conn.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(COLUMN_TYPES)
        for row in rows:
            copy.write_row(row)
