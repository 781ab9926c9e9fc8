"""The shared database as the data-plane services see it (SQLAlchemy 2.0 Core over psycopg 3).

Django's migrations own the schema; these declarations mirror only the tables the data plane
reads or writes (telemetry writer, correlator, watchdog, gateways), and a test in the control
plane checks that they match what the migrations create. Change both together.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Double,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    Uuid,
    create_engine,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

_Json = JSON().with_variant(JSONB(), "postgresql")


def _tz() -> DateTime:
    return DateTime(timezone=True)


organizations = Table(
    "organizations", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("slug", String(64), nullable=False, unique=True),
    Column("is_active", Boolean, nullable=False, server_default=text("true")),
    Column("settings", _Json, nullable=False),
    Column("created_at", _tz(), nullable=False),
)

cameras = Table(
    "cameras", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("rtsp_url_encrypted", Text, nullable=False),
    Column("fps", Double, nullable=False),
    Column("zones", _Json, nullable=False),
    Column("location", String(200), nullable=False),
    Column("site", String(64), nullable=False),
    Column("latitude", Double),
    Column("longitude", Double),
    Column("enabled", Boolean, nullable=False),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", _tz(), nullable=False),
    Column("updated_at", _tz(), nullable=False),
    Column("last_frame_at", _tz()),
    Column("status_changed_at", _tz()),
)

devices = Table(
    "devices", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(8), nullable=False),
    Column("last_seen", _tz()),
    Column("reporting_interval", Double, nullable=False),
    Column("location", String(200), nullable=False),
    Column("site", String(64), nullable=False),
    Column("latitude", Double),
    Column("longitude", Double),
    Column("config", _Json, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", _tz(), nullable=False),
    Column("updated_at", _tz(), nullable=False),
)

device_credentials = Table(
    "device_credentials", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("device_id", Uuid, nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", _tz(), nullable=False),
    Column("revoked_at", _tz()),
    Column("last_used_at", _tz()),
)

detections = Table(
    "detections", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("camera_id", Uuid, nullable=False),
    Column("frame_id", Uuid),
    Column("time", _tz(), nullable=False),
    Column("label", String(64), nullable=False),
    Column("confidence", Double, nullable=False),
    Column("box", _Json, nullable=False),
    Column("plate_text", String(16)),
    Column("plate_confidence", Double),
    Column("track", String(64)),
    Column("snapshot_key", String(512)),
    Column("crop_key", String(512)),
    Column("received_at", _tz(), nullable=False),
)

#: Faces the cameras recognised (a ``face`` detection's copy with whose it is); control's faces app.
face_sightings = Table(
    "face_sightings", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("person_id", Uuid),
    Column("camera_id", Uuid, nullable=False),
    Column("time", _tz(), nullable=False),
    Column("distance", Double),
    Column("box", _Json, nullable=False),
    Column("track", String(64)),
    Column("snapshot_key", String(512)),
    Column("crop_key", String(512)),
    Column("received_at", _tz(), nullable=False),
)

anomalies = Table(
    "anomalies", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("device_id", Uuid, nullable=False),
    Column("time", _tz(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("score", Double, nullable=False),
    Column("value", Double),
    Column("details", _Json, nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("time", _tz(), nullable=False),
    Column("ended_at", _tz()),
    Column("event_type", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("score", Double, nullable=False),
    Column("site", String(128)),
    Column("sources", _Json, nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("classification", String(16), nullable=False),
    Column("notes", Text, nullable=False),
    Column("acknowledged_by_id", Uuid),
    Column("acknowledged_at", _tz()),
    Column("acknowledgement_note", Text, nullable=False, server_default=text("''")),
    Column("resolved_by_id", Uuid),
    Column("resolved_at", _tz()),
    Column("resolution_note", Text, nullable=False, server_default=text("''")),
    Column("occurrences", Integer, nullable=False, server_default=text("1")),
    Column("last_message_time", _tz()),
    Column("updated_at", _tz(), nullable=False),
    Column("false_alarm_score", Double),
    Column("false_alarm_model_id", Uuid),
    Column("likely_false_alarm", Boolean, nullable=False, server_default=text("false")),
)

# The organization's false-alarm classifier versions (control's classifiers app; the trainer
# inserts them, an admin activates one, the correlator scores events with the active one).
classifier_models = Table(
    "classifier_models", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", _tz(), nullable=False),
    Column("artifact_key", String(256), nullable=False),
    Column("dataset_hash", String(64), nullable=False),
    Column("samples", Integer, nullable=False),
    Column("metrics", _Json, nullable=False),
    Column("parameters", _Json, nullable=False),
    Column("training_run_id", Uuid),
    Column("is_active", Boolean, nullable=False, server_default=text("false")),
    Column("activated_at", _tz()),
    Column("activated_by_id", Uuid),
)

# Training runs of the false-alarm classifier: queued by the API (or the trainer's CLI), then
# running, succeeded (with the model it made) or failed (with why).
training_runs = Table(
    "training_runs", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("status", String(16), nullable=False),
    Column("requested_by_id", Uuid),
    Column("created_at", _tz(), nullable=False),
    Column("started_at", _tz()),
    Column("finished_at", _tz()),
    Column("error", Text, nullable=False, server_default=text("''")),
    Column("model_id", Uuid),
    Column("samples", Integer),
)

device_status_changes = Table(
    "device_status_changes", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("device_id", Uuid, nullable=False),
    Column("time", _tz(), nullable=False),
    Column("status", String(8), nullable=False),
    Column("previous", String(8)),
    Column("reason", String(256), nullable=False),
)

# One row per vehicle visit (the recorder upserts it from plate.read; control's passages API).
passages = Table(
    "passages", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("camera_id", Uuid, nullable=False),
    Column("site", String(64), nullable=False, server_default=text("''")),
    Column("visit", String(64), nullable=False),
    Column("first_seen", _tz(), nullable=False),
    Column("last_seen", _tz(), nullable=False),
    Column("label", String(64), nullable=False, server_default=text("''")),
    Column("plate_text", String(8), nullable=False),
    Column("plate_folded", String(8), nullable=False),
    Column("confidence", Double, nullable=False),
    Column("votes", Integer, nullable=False),
    Column("agreeing", Integer),
    Column("runner_ups", _Json, nullable=False),
    Column("crop_key", String(512)),
    Column("snapshot_key", String(512)),
    Column("final", Boolean, nullable=False),
    Column("watchlist_ids", ARRAY(Uuid), nullable=False),
    Column("watchlist_matches", _Json, nullable=False),
    Column("message_time", _tz(), nullable=False),
    Column("received_at", _tz(), nullable=False),
    Column("updated_at", _tz(), nullable=False),
)

# Plate watch-lists (control's watchlists app): the recorder marks passages with the lists they match.
plate_watchlists = Table(
    "plate_watchlists", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("description", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", _tz(), nullable=False),
    Column("updated_at", _tz(), nullable=False),
)

plate_watchlist_entries = Table(
    "plate_watchlist_entries", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("watchlist_id", Uuid, nullable=False),
    Column("plate", String(7), nullable=False),
    Column("label", String(200), nullable=False),
    Column("expires_at", _tz()),
    Column("created_at", _tz(), nullable=False),
    Column("updated_at", _tz(), nullable=False),
)

_TELEMETRY_READINGS = ("mag_x", "mag_y", "mag_z", "mag_magnitude", "acc_x", "acc_y", "acc_z",
                       "gyro_x", "gyro_y", "gyro_z", "roll", "pitch", "yaw", "audio_peak")
#: The telemetry columns that hold a number a device measured (what a forecast may follow).
TELEMETRY_METRICS = (*_TELEMETRY_READINGS, "bluetooth_devices")

telemetry = Table(
    "telemetry", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("org_id", Uuid, nullable=False),
    Column("device_id", Uuid, nullable=False),
    Column("time", _tz(), nullable=False),
    Column("seq", BigInteger, nullable=False),
    *(Column(name, Double) for name in _TELEMETRY_READINGS),
    Column("humanoid", Boolean, nullable=False),
    Column("bluetooth_devices", Integer),
)

#: Resampled series cut their steps at whole multiples of the step from this instant, so every
#: reader (the forecast service, control's forecast API) cuts the same steps.
STEP_ORIGIN = datetime(2000, 1, 1, tzinfo=UTC)


def telemetry_steps_sql(metric: str) -> str:
    """A device metric's mean per step, oldest first, as rows ``(bucket, value)``: SQL with
    pyformat parameters ``step`` (s), ``origin`` (:data:`STEP_ORIGIN`), ``org``, ``device``,
    ``since`` and ``until`` (steps with no reading are absent). For psycopg directly, SQLAlchemy's
    ``exec_driver_sql`` or a Django cursor."""
    if metric not in TELEMETRY_METRICS:  # the column name is written into the statement: only known ones
        raise ValueError(f"unknown metric {metric!r}")
    return (f"SELECT date_bin(make_interval(secs => %(step)s), time, %(origin)s) AS bucket, "  # noqa: S608
            f"avg({metric})::float8 AS value FROM telemetry WHERE org_id = %(org)s AND device_id = %(device)s "
            f"AND time >= %(since)s AND time < %(until)s AND {metric} IS NOT NULL GROUP BY bucket ORDER BY bucket")

# The forecast service writes forecasts and reads them back (residuals); control serves them.
forecasts = Table(
    "forecasts", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("device_id", Uuid, nullable=False),
    Column("metric", String(64), nullable=False),
    Column("model", String(64), nullable=False),
    Column("fallback", Text),
    Column("made_at", _tz(), nullable=False),
    Column("step_s", Integer, nullable=False),
    Column("history_steps", Integer, nullable=False),
    Column("start", _tz(), nullable=False),
    Column("level", SmallInteger, nullable=False),
    Column("mean", ARRAY(Double), nullable=False),
    Column("lower", ARRAY(Double), nullable=False),
    Column("upper", ARRAY(Double), nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid),
    Column("type", String(64), nullable=False),
    Column("exchange", String(64), nullable=False),
    Column("routing_key", String(255), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", _tz(), nullable=False),
    Column("published_at", _tz()),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("next_attempt_at", _tz()),
)


# The notifier reads channels and writes deliveries and attempts (control's notifications app).
notification_channels = Table(
    "notification_channels", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("name", String(200), nullable=False),
    Column("config_encrypted", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", _tz(), nullable=False),
    Column("updated_at", _tz(), nullable=False),
)

notification_deliveries = Table(
    "notification_deliveries", metadata,
    Column("id", Uuid, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("action_id", Uuid, nullable=False),
    Column("channel_id", Uuid),
    Column("kind", String(32), nullable=False),
    Column("event_id", Uuid),
    Column("pipeline_id", Uuid),
    Column("node", String(64), nullable=False, server_default=text("''")),
    Column("recipient", String(320), nullable=False, server_default=text("''")),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text, nullable=False, server_default=text("''")),
    Column("sending_until", _tz()),
    Column("delivered_at", _tz()),
    Column("created_at", _tz(), nullable=False, server_default=text("now()")),
    Column("updated_at", _tz(), nullable=False, server_default=text("now()")),
)

notification_attempts = Table(
    "notification_attempts", metadata,
    Column("id", BigInteger, primary_key=True),
    Column("org_id", Uuid, nullable=False),
    Column("delivery_id", Uuid, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("response", String(200), nullable=False, server_default=text("''")),
    Column("latency_ms", Double),
    Column("error", Text, nullable=False, server_default=text("''")),
    Column("time", _tz(), nullable=False, server_default=text("now()")),
)


def sqlalchemy_url(database_url: str) -> str:
    """Turn a libpq-style URL into SQLAlchemy's psycopg 3 dialect URL."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix):]
    raise ValueError("VIGIA_DATABASE_URL must start with postgresql://")


def make_engine(database_url: str, *, pool_size: int = 5, application_name: str = "vigia") -> Engine:
    """An engine with pre-ping (survives database restarts) and a statement timeout."""
    return create_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        connect_args={"application_name": application_name, "options": "-c statement_timeout=30000"},
    )


def database_ready(engine: Engine) -> bool:
    with engine.connect() as conn:
        return conn.execute(text("SELECT 1")).scalar() == 1
