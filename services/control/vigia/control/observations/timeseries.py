"""Storage of the time-series tables: TimescaleDB hypertables when the extension exists, plain
BRIN-indexed tables cleaned by a janitor otherwise (docs/adr/0002-time-series-storage.md).

:func:`setup_timescale` (run by migration ``0002_timeseries``) turns the tables of :data:`TABLES`
into hypertables with compression and retention policies, when ``VIGIA_TIMESCALE`` allows it and
the extension can be created. Where they stay plain tables, the watchdog's janitor
(``vigia.watchdog.janitor.Retention``) deletes rows older than the same retention settings; it is
the one place time series, passages and the rest are pruned (control had a ``timeseries_janitor``
command doing the same: removed, it was a second path).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from django.db import connection as default_connection
from pydantic import Field
from pydantic_settings import SettingsConfigDict

from vigia.common.settings import RetentionSettings

log = logging.getLogger(__name__)


class TimeSeriesSettings(RetentionSettings):
    """Storage of the time-series tables, and their retention (TimescaleDB's policies; the
    watchdog's janitor reads the same settings for plain tables). Environment prefix ``VIGIA_``."""

    model_config = SettingsConfigDict(env_prefix="VIGIA_", extra="forbid")

    timescale: Literal["auto", "on", "off"] = Field(
        "auto", description="Use TimescaleDB hypertables: auto (when the extension can be created), "
        "on (fail the migration without it) or off (plain tables + janitor).")
    compress_after_days: int = Field(7, ge=1, description="TimescaleDB: chunks older than this are "
                                     "compressed (detections, anomalies, telemetry).")


@dataclass(frozen=True)
class TimeSeriesTable:
    """One time-series table: its hypertable shape and which retention setting applies."""

    name: str
    retention_setting: str
    chunk_days: int
    segment_by: str
    compress: bool = True
    time_column: str = "time"


TABLES: tuple[TimeSeriesTable, ...] = (
    TimeSeriesTable("detections", "retention_detections_days", 1, "org_id, camera_id"),
    TimeSeriesTable("events", "retention_events_days", 30, "org_id", compress=False),
    TimeSeriesTable("anomalies", "retention_anomalies_days", 7, "org_id, device_id"),
    TimeSeriesTable("telemetry", "retention_telemetry_days", 1, "org_id, device_id"),
    TimeSeriesTable("device_status_changes", "retention_device_status_days", 30, "org_id, device_id",
                    compress=False),
    # Compressed after VIGIA_COMPRESS_AFTER_DAYS like the rest; the latest row per metric is always
    # in the newest, uncompressed chunk.
    TimeSeriesTable("forecasts", "retention_forecasts_days", 1, "org_id, device_id, metric",
                    time_column="made_at"),
)


def retention_days(table: TimeSeriesTable, settings: TimeSeriesSettings) -> int:
    return int(getattr(settings, table.retention_setting))


# --- TimescaleDB --------------------------------------------------------------------------------


def timescale_statements(table: TimeSeriesTable, settings: TimeSeriesSettings,
                         primary_key_name: str) -> list[str]:
    """The SQL that turns ``table`` into a hypertable (idempotent where TimescaleDB allows it).

    A hypertable's unique constraints must include its time column, so the ``id`` primary key
    becomes ``(id, time)``; the recorder inserts with ``ON CONFLICT DO NOTHING`` without a target,
    which works with either key. Events are not compressed: operators still update them.
    """
    t, tc = table.name, table.time_column
    statements = [
        f'ALTER TABLE "{t}" DROP CONSTRAINT "{primary_key_name}"',
        f'ALTER TABLE "{t}" ADD PRIMARY KEY (id, "{tc}")',
        f"SELECT create_hypertable('{t}', '{tc}', chunk_time_interval => INTERVAL '{table.chunk_days} days', "
        "migrate_data => true, if_not_exists => true)",
    ]
    if table.compress:
        statements += [
            f"ALTER TABLE \"{t}\" SET (timescaledb.compress, timescaledb.compress_segmentby = "
            f"'{table.segment_by}', timescaledb.compress_orderby = '{tc} DESC, id')",
            f"SELECT add_compression_policy('{t}', INTERVAL '{settings.compress_after_days} days', "
            "if_not_exists => true)",
        ]
    statements.append(
        f"SELECT add_retention_policy('{t}', INTERVAL '{retention_days(table, settings)} days', "
        "if_not_exists => true)")
    return statements


def timescale_available(cursor: Any) -> bool:
    """Whether ``CREATE EXTENSION timescaledb`` can work here: packaged and preloaded."""
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    if cursor.fetchone() is None:
        return False
    cursor.execute("SELECT current_setting('shared_preload_libraries')")
    row = cursor.fetchone()
    return row is not None and "timescaledb" in str(row[0])


def setup_timescale(conn: Any = None, settings: TimeSeriesSettings | None = None) -> bool:
    """Create the extension and the hypertables if the settings and the server allow it.

    Returns True when the tables are hypertables afterwards. ``VIGIA_TIMESCALE=on`` without the
    extension raises; ``auto`` quietly keeps plain tables (the janitor then applies retention).
    """
    conn = conn or default_connection
    settings = settings or TimeSeriesSettings.model_validate({})
    if settings.timescale == "off":
        return False
    with conn.cursor() as cursor:
        if not timescale_available(cursor):
            if settings.timescale == "on":
                raise RuntimeError("VIGIA_TIMESCALE=on but the timescaledb extension is not available "
                                   "(install it and add it to shared_preload_libraries)")
            log.info("timescaledb not available: time series stay plain tables with a janitor")
            return False
        cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        for table in TABLES:
            if _is_hypertable(cursor, table.name):
                continue
            cursor.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                           "AND contype = 'p'", [table.name])
            pk = cursor.fetchone()
            if pk is None:
                raise RuntimeError(f"{table.name} has no primary key")
            for statement in timescale_statements(table, settings, pk[0]):
                cursor.execute(statement)
    return True


def _is_hypertable(cursor: Any, table: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    if cursor.fetchone() is None:
        return False
    cursor.execute("SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = %s",
                   [table])
    return cursor.fetchone() is not None
