"""The message contract of Vigia: one envelope, one pydantic model per message type.

Every message on the broker is an :class:`Envelope` — ``id`` (UUIDv7, the idempotency key),
``type``, ``v`` (schema version), ``org``, ``source``, ``time`` (UTC, nanosecond precision),
``trace`` (W3C traceparent) and ``data``, whose model is chosen by ``type``. JSON is encoded with
orjson. Frames and audio chunks are the exception: their body is the JPEG (the PCM samples) and the
envelope travels in AMQP headers (:func:`envelope_headers` / :func:`envelope_from_headers`).

Add a message type by declaring its data model with ``@message_type("area.verb")``.
"""

from __future__ import annotations

import enum
import os
import re
import time as _time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializeAsAny,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from vigia.common.channels.registry import ACTION_KINDS
from vigia.common.ids import uuid7

# --- time with nanosecond precision ----------------------------------------------------------

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$"
)


def _parse_time_ns(value: Any) -> int:
    """Accept ns since the epoch (int), a datetime, or an RFC 3339 string with up to 9 digits."""
    if isinstance(value, bool):
        raise ValueError("time must be an RFC 3339 string or nanoseconds since the epoch")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("time must not be negative")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("time must carry a time zone")
        return _since_epoch_ns(value, value.microsecond * 1000)
    if isinstance(value, str):
        match = _RFC3339.match(value)
        if not match:
            raise ValueError("time must be RFC 3339, e.g. 2026-01-02T03:04:05.123456789Z")
        day, clock, fraction, zone = match.groups()
        base = datetime.fromisoformat(f"{day}T{clock}{'+00:00' if zone == 'Z' else zone}")
        return _since_epoch_ns(base, int((fraction or "0").ljust(9, "0")))
    raise ValueError("time must be an RFC 3339 string or nanoseconds since the epoch")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _since_epoch_ns(moment: datetime, nanos: int) -> int:
    """Whole seconds of ``moment`` since the epoch plus ``nanos``, in integers: float timestamps
    lose sub-microsecond digits and truncate the wrong way before 1970."""
    delta = moment.replace(microsecond=0) - _EPOCH
    ns = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + nanos
    if ns < 0:
        raise ValueError("time must not be before 1970-01-01T00:00:00Z")
    return ns


def format_time_ns(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def time_ns_to_datetime(ns: int) -> datetime:
    """A timezone-aware datetime (microsecond precision) for storing in databases."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=nanos // 1000)


TimeNs = Annotated[
    int,
    BeforeValidator(_parse_time_ns),
    PlainSerializer(format_time_ns, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""Nanoseconds since the Unix epoch in Python, RFC 3339 with 9 fractional digits in JSON."""

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$")


def new_traceparent() -> str:
    return f"00-{os.urandom(16).hex()}-{os.urandom(8).hex()}-01"


def _check_traceparent(value: Any) -> Any:
    if value is not None and (not isinstance(value, str) or not _TRACEPARENT.match(value)):
        raise ValueError("trace must be a W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>")
    return value


Traceparent = Annotated[str | None, BeforeValidator(_check_traceparent)]


class Strict(BaseModel):
    """Base of every message model: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- registry ---------------------------------------------------------------------------------

MESSAGE_TYPES: dict[str, type[Strict]] = {}
M = TypeVar("M", bound=type[Strict])


def message_type(*names: str) -> Callable[[M], M]:
    """Register a data model for one or more message types."""

    def register(model: M) -> M:
        for name in names:
            if name in MESSAGE_TYPES:
                raise ValueError(f"message type {name!r} registered twice")
            MESSAGE_TYPES[name] = model
        return model

    return register


# --- shared value types -----------------------------------------------------------------------


class Severity(enum.StrEnum):
    low = "low"
    medium = "medium"
    high = "high"
    critical = "critical"


class DeviceStatus(enum.StrEnum):
    ON = "ON"
    OFF = "OFF"
    WARNING = "WARNING"


class Box(Strict):
    """A bounding box in pixels of the frame it was found in (x1, y1) top-left, (x2, y2) bottom-right."""

    x1: float = Field(ge=0)
    y1: float = Field(ge=0)
    x2: float = Field(ge=0)
    y2: float = Field(ge=0)


class GeoPoint(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


# --- frames -----------------------------------------------------------------------------------


@message_type("frame.captured")
class FrameCaptured(Strict):
    """Metadata of one sampled camera frame; the JPEG itself is the message body."""

    camera: uuid.UUID
    width: int = Field(gt=0, le=16384)
    height: int = Field(gt=0, le=16384)
    content_type: Literal["image/jpeg", "image/png"] = "image/jpeg"
    seq: int = Field(0, ge=0, description="per-camera frame counter")


# --- data plane events ------------------------------------------------------------------------


#: The label of a face's detection (its ``identity`` says whose it is).
FACE_LABEL = "face"


@message_type("detection.created")
class DetectionCreated(Strict):
    """One object found in one frame; a face found in a person's box is one too (label ``face``,
    ``identity`` and ``identity_distance``, see vigia.common.faces)."""

    camera: uuid.UUID
    frame: uuid.UUID = Field(description="id of the frame message it was found in")
    captured_at: TimeNs
    label: str = Field(min_length=1, max_length=64)
    confidence: float = Field(ge=0, le=1)
    box: Box
    frame_width: int | None = Field(None, gt=0, le=16384, description="width in pixels of the frame the box is in")
    frame_height: int | None = Field(None, gt=0, le=16384, description="height in pixels of the frame the box is in")
    plate_text: str | None = Field(None, max_length=16)
    plate_confidence: float | None = Field(None, ge=0, le=1)
    track: str | None = Field(None, max_length=64, description="tracker id of the object in this camera")
    snapshot_key: str | None = Field(None, max_length=512)
    crop_key: str | None = Field(None, max_length=512)
    # Faces (label ``face``, cameras whose ``faces`` switch is on) came later: None for the rest.
    identity: uuid.UUID | None = Field(None, description="a face: the organization's enrolled person it "
                                       "matched; None: a face matching nobody, or not a face")
    identity_distance: float | None = Field(None, ge=0, description="a face: distance of its embedding to the "
                                            "nearest enrolled one (one person below 0.6)")


class PlateRunnerUp(Strict):
    """A plate the readings of a visit also spelt, that lost the vote."""

    plate_text: str = Field(min_length=7, max_length=8)
    readings: int = Field(ge=1, description="readings of the visit that spelt it exactly")
    confidence: float = Field(ge=0, le=1, description="the best of those readings' confidences")


@message_type("plate.read")
class PlateRead(Strict):
    """The plate decided for one vehicle visit by voting across its frames: published when the
    vote is decided, again if it changes, and at the visit's end (``final``) if the last one
    published was not the outcome. The recorder keeps one passage per visit (camera, visit,
    first_seen), the newest message's view of it. Fields after ``snapshot_key`` came later: a
    consumer must not need them (older producers leave them at their defaults)."""

    camera: uuid.UUID
    visit: str = Field(min_length=1, max_length=64)
    plate_text: str = Field(min_length=7, max_length=8)
    confidence: float = Field(ge=0, le=1)
    votes: int = Field(ge=1, description="readings that voted")
    first_seen: TimeNs
    last_seen: TimeNs
    snapshot_key: str | None = Field(None, max_length=512, description="the frame the best crop was cut from")
    label: str | None = Field(None, max_length=64, description="what carried the plate: car, truck, bus, "
                              "motorcycle, or plate (a plate seen without its vehicle)")
    agreeing: int | None = Field(None, ge=0, description="readings that spelt the winning plate exactly")
    runner_ups: list[PlateRunnerUp] = Field(default_factory=list, max_length=5,
                                            description="other plates the readings spelt, most read first")
    crop_key: str | None = Field(None, max_length=512, description="the best crop of the plate (snapshots bucket)")
    final: bool = Field(False, description="the visit ended: no later message will change its plate")


#: What found an anomaly: fusion's detectors, or the forecast service (``forecast``: a metric's
#: resampled value outside the band its forecast gave for that step; ``details`` then hold
#: ``metric``, ``expected``, ``lower``, ``upper`` and ``model``).
AnomalyKind = Literal["magnetic", "imu", "audio_infrasound", "audio_ultrasound", "audio_voice", "humanoid",
                      "forecast"]


@message_type("anomaly.detected")
class AnomalyDetected(Strict):
    """A per-device signal left its normal range."""

    device: uuid.UUID
    kind: AnomalyKind
    severity: Severity
    score: float = Field(description="z-score or detector-specific strength")
    observed_at: TimeNs
    value: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class EventSource(Strict):
    kind: str = Field(min_length=1, max_length=32, description="magnetic, audio, humanoid, person, ...")
    ref: str = Field(min_length=1, max_length=128, description="id of the anomaly or detection")
    device: uuid.UUID | None = None
    camera: uuid.UUID | None = None
    weight: float = Field(0, ge=0, le=1)


@message_type("event.created", "event.updated")
class EventChanged(Strict):
    """A correlated incident: created once, updated while the burst lasts."""

    event: uuid.UUID
    event_type: str = Field(min_length=1, max_length=64)
    severity: Severity
    score: float = Field(ge=0)
    started_at: TimeNs
    ended_at: TimeNs | None = None
    site: str | None = Field(None, max_length=128)
    sources: list[EventSource] = Field(default_factory=list)
    description: str = Field("", max_length=2000)
    occurrences: int = Field(1, ge=1, description="1 + the repeats of the same cause at the same site "
                             "folded into this event while it was unresolved.")
    false_alarm_score: float | None = Field(None, ge=0, le=1, description=(
        "Probability that operators would call it a false alarm, by the organization's active "
        "false-alarm classifier (None: no active model, or no evidence to score)."))
    false_alarm_model: uuid.UUID | None = Field(None, description="the classifier version that scored it")
    likely_false_alarm: bool = Field(False, description=(
        "false_alarm_score reached the organization's correlation.false_alarm_threshold: pipelines' "
        "suppressed condition holds its notifications; nothing is deleted."))


NOTE_MAX = 4000  # control's API refuses longer operator notes


@message_type("event.triaged")
class EventTriaged(Strict):
    """An operator acknowledged, resolved or classified an event: its operator fields as control
    wrote them, in the same transaction (outbox), once per event that changed. For the operators'
    screens only (live forwards it as ``event_triaged``): the ``events`` row is already written and
    nothing stores this message."""

    event: uuid.UUID
    change: Literal["acknowledged", "resolved", "classified"] = Field(
        description="what the operator did (resolving an open event also acknowledges it: 'resolved')")
    event_type: str = Field(min_length=1, max_length=64)
    severity: Severity
    status: Literal["open", "acknowledged", "resolved"]
    classification: Literal["unclassified", "true_positive", "false_positive", "test"]
    notes: str = Field("", max_length=NOTE_MAX, description="the classification's notes")
    acknowledged_by: uuid.UUID | None = None
    acknowledged_by_email: str | None = Field(None, max_length=254)
    acknowledged_at: TimeNs | None = None
    acknowledgement_note: str = Field("", max_length=NOTE_MAX)
    resolved_by: uuid.UUID | None = None
    resolved_by_email: str | None = Field(None, max_length=254)
    resolved_at: TimeNs | None = None
    resolution_note: str = Field("", max_length=NOTE_MAX)
    updated_at: TimeNs = Field(description="the event row's updated_at after the change")


@message_type("device.status")
class DeviceStatusChanged(Strict):
    device: uuid.UUID
    status: DeviceStatus
    previous: DeviceStatus | None = None
    last_seen: TimeNs | None = None
    reason: str = Field("", max_length=256)


class CameraStatus(enum.StrEnum):
    """What operators see of a camera: ``provisioning`` until its first frame, then ``online``
    while frames arrive, ``offline`` when they stopped, ``error`` while the streamer's circuit
    breaker for it is open (the camera cannot be reached)."""

    PROVISIONING = "provisioning"
    ONLINE = "online"
    OFFLINE = "offline"
    ERROR = "error"


@message_type("camera.health")
class CameraHealth(Strict):
    """A camera's status changed from ``previous`` to ``status``: published once per transition
    by its one owner, the watchdog (vigia.watchdog.cameras). ``last_frame_at`` is the camera's
    last frame known then (None if it never sent one)."""

    camera: uuid.UUID
    status: CameraStatus
    previous: CameraStatus | None = None
    last_frame_at: TimeNs | None = None
    detail: str = Field("", max_length=512)

    @model_validator(mode="before")
    @classmethod
    def _read_legacy_status(cls, data: Any) -> Any:
        # Reports of the earlier watchdog (ok / stale / down / restarting) may still sit in queues
        # during an upgrade: read them as the status they meant rather than dead-letter them.
        status = data.get("status") if isinstance(data, dict) else None
        if isinstance(status, str) and status in _LEGACY_CAMERA_HEALTH:
            return {**data, "status": _LEGACY_CAMERA_HEALTH[status]}
        return data


_LEGACY_CAMERA_HEALTH = {"ok": "online", "stale": "offline", "down": "offline", "restarting": "offline"}


class ForecastAnomaly(Strict):
    """One step of a forecast-kind anomaly, as the feed shows it beside the chart."""

    id: uuid.UUID = Field(description="id of its anomaly.detected message")
    observed_at: TimeNs = Field(description="the step's start")
    value: float = Field(description="the step's resampled value")
    lower: float
    upper: float
    severity: Severity


@message_type("forecast.updated")
class ForecastUpdated(Strict):
    """The forecast service stored a new forecast of one device metric (table ``forecasts``): for
    the operators' screens only (live forwards it as ``forecast_updated``), which read the points at
    ``GET /api/v1/devices/{id}/forecast``. ``anomalies``: the steps the refresh that made it found
    outside the previous forecast's band (published as ``anomaly.detected``, kind ``forecast``)."""

    device: uuid.UUID
    metric: str = Field(min_length=1, max_length=64)
    model: str = Field(min_length=1, max_length=64)
    fallback: str | None = Field(None, max_length=500, description="why another model than configured made it")
    made_at: TimeNs
    start: TimeNs = Field(description="time of the first forecast step")
    step_s: int = Field(gt=0, le=86_400)
    horizon: int = Field(gt=0, le=10_000)
    anomalies: list[ForecastAnomaly] = Field(default_factory=list, max_length=1000)


# --- control plane changes (outbox) -----------------------------------------------------------


class CameraZone(Strict):
    """A named area of a camera's image: a simple polygon in normalised coordinates (x from the
    left edge 0 to the right 1, y from the top 0 to the bottom 1); control validates the shape."""

    name: str = Field(min_length=1, max_length=64)
    points: list[tuple[float, float]] = Field(min_length=3, max_length=200)


class CameraLine(Strict):
    """A named line across a camera's image, two points in normalised coordinates."""

    name: str = Field(min_length=1, max_length=64)
    points: tuple[tuple[float, float], tuple[float, float]]


@message_type("camera.created", "camera.updated")
class CameraChanged(Strict):
    """A camera was added or changed. It names the camera and never carries its RTSP URL (which
    holds credentials): a consumer that needs the URL reads the encrypted column of ``cameras``
    and decrypts it, as the streamer does, so no message, queue, DLQ or outbox row holds it."""

    camera: uuid.UUID
    name: str
    fps: float = Field(gt=0, le=60)
    enabled: bool = True
    site: str | None = None
    zones: list[CameraZone] = Field(default_factory=list, description="the camera's zones (pipelines use them)")
    lines: list[CameraLine] = Field(default_factory=list, description="the camera's lines (pipelines use them)")
    version: int = Field(1, ge=1)
    faces: bool = Field(False, description="vision recognises faces on the camera's person boxes")

    @model_validator(mode="before")
    @classmethod
    def _drop_legacy_rtsp_url(cls, data: Any) -> Any:
        # Messages written before the URL left them may still sit in queues during an upgrade:
        # they are read (and acked) without it rather than dead-lettered with the secret inside.
        if isinstance(data, dict) and "rtsp_url" in data:
            return {k: v for k, v in data.items() if k != "rtsp_url"}
        return data


@message_type("camera.deleted")
class CameraDeleted(Strict):
    camera: uuid.UUID


@message_type("camera.restart")
class CameraRestart(Strict):
    camera: uuid.UUID
    reason: str = Field("", max_length=256)


@message_type("device.created", "device.updated")
class DeviceChanged(Strict):
    device: uuid.UUID
    name: str
    kind: Literal["phone", "camera", "plc", "sensor", "gateway"]
    site: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    version: int = Field(1, ge=1)


@message_type("device.deleted")
class DeviceDeleted(Strict):
    device: uuid.UUID


@message_type("pipeline.created", "pipeline.updated", "pipeline.started", "pipeline.stopped")
class PipelineChanged(Strict):
    pipeline: uuid.UUID
    name: str
    state: Literal["draft", "running", "stopped", "error"]
    graph: dict[str, Any]
    version: int = Field(1, ge=1)


@message_type("pipeline.deleted")
class PipelineDeleted(Strict):
    pipeline: uuid.UUID


@message_type("pipeline.hook")
class PipelineHook(Strict):
    """A JSON object an external system posted to a pipeline's ``api_webhook`` node (signature
    checked by control), for the automation runtime to feed to that node."""

    pipeline: uuid.UUID
    node: str = Field(min_length=1, max_length=64)
    body: dict[str, Any]


@message_type("forecast.requested")
class ForecastRequested(Strict):
    """Someone asked for a device's forecasts now (``POST /api/v1/devices/{id}/forecast/refresh``):
    the forecast service refreshes that device's metrics (only ``metric`` when given) at once
    instead of at its next scheduled round."""

    device: uuid.UUID
    metric: str | None = Field(None, min_length=1, max_length=64, description="one metric; None: all")


@message_type("training.requested")
class TrainingRequested(Strict):
    """Someone asked for the organization's false-alarm classifier to be trained again
    (``POST /api/v1/models/train``): the trainer takes the ``training_runs`` row ``run`` (queued)
    and trains on the events its operators classified."""

    run: uuid.UUID


@message_type("model.activated")
class ModelActivated(Strict):
    """An admin activated one of the organization's false-alarm classifier versions
    (``POST /api/v1/models/{id}/activate``): the correlator scores its events with that one from
    now on (it drops its cached model)."""

    model: uuid.UUID
    version: int = Field(ge=1)


@message_type("watchlist.created", "watchlist.updated")
class WatchlistChanged(Strict):
    """A plate watch-list was created or changed (its name, kind or entries): the automation
    runtime rereads its entries (``plate_watchlist_entries``) and recompiles the pipelines using it."""

    watchlist: uuid.UUID
    name: str
    kind: Literal["allow", "deny"]
    version: int = Field(1, ge=1)


@message_type("watchlist.deleted")
class WatchlistDeleted(Strict):
    watchlist: uuid.UUID


@message_type("pipeline.status")
class PipelineStatus(Strict):
    """What a running pipeline did, for operators (live forwards it as ``pipeline_status_update``):
    the automation runtime ``started`` or ``stopped`` running it, one of its nodes failed
    (``error``), or an output node ``fired``."""

    pipeline: uuid.UUID
    state: Literal["started", "stopped", "error", "fired"]
    node: str | None = Field(None, max_length=64, description="the node that failed or fired")
    error: str | None = Field(None, max_length=2000)
    time: TimeNs = Field(description="when it happened (the input's time for error and fired)")


@message_type("automation.probe")
class AutomationProbe(Strict):
    """Sent by an automation replica straight to the automation shards with an organization's
    header: whichever replica holds that organization's shard loads its pipelines. RabbitMQ's hash
    ring is not computable outside the broker, so this is how a replica learns the organizations of
    a shard it took that have running pipelines but no traffic yet (schedules, escalations)."""

    reason: Literal["shard_taken", "pipeline_started"] = "shard_taken"


# --- sensors ----------------------------------------------------------------------------------


class Vector3(Strict):
    x: float
    y: float
    z: float


class Magnetometer(Vector3):
    magnitude: float | None = None


class Orientation(Strict):
    roll: float
    pitch: float
    yaw: float


class SensorPacket(Strict):
    """One reading of a phone's sensors (seed 000 §1.2)."""

    timestamp: int = Field(ge=0, description="device clock, ns since the epoch")
    seq: int = Field(ge=0, description="per-device sequence number, for acks and dedup")
    magnetometer: Magnetometer | None = None
    accelerometer: Vector3 | None = None
    gyroscope: Vector3 | None = None
    orientation: Orientation | None = None
    audio_peak: float | None = None
    humanoid_detected: bool = False
    bluetooth_devices_count: int | None = Field(None, ge=0)


@message_type("sensor.batch")
class SensorBatch(Strict):
    device: uuid.UUID
    packets: list[SensorPacket] = Field(min_length=1, max_length=10_000)


@message_type("sensor.audio")
class AudioChunk(Strict):
    """Metadata of one chunk of a phone's audio; the PCM16 little-endian mono samples are the
    message body and the envelope travels in AMQP headers, like frames. ``seq`` shares the device's
    packet sequence space, so packets and chunks of a device are ordered (and acked) together."""

    device: uuid.UUID
    seq: int = Field(ge=0, description="per-device sequence number, shared with the sensor packets")
    timestamp: int = Field(ge=0, description="device clock at the chunk's first sample, ns since the epoch")
    sample_rate: int = Field(ge=8000, le=96000, description="samples per second")
    samples: int = Field(ge=1, description="number of samples in the body (body bytes / 2)")


# --- actions ----------------------------------------------------------------------------------


@message_type(*(f"action.{kind}" for kind in ACTION_KINDS))
class ActionRequested(Strict):
    """Something the notifier does outside Vigia because a pipeline fired (or an admin tests a
    channel): the envelope's id is the action id, and with the channel and each recipient it makes
    the delivery's idempotency key. The message carries the channel's id, never its credentials;
    the kinds are the channel registry's (:mod:`vigia.common.channels`)."""

    pipeline: uuid.UUID | None = Field(None, description="the pipeline whose output node fired; None for a test")
    node: str | None = Field(None, max_length=64, description="the output node that fired")
    event: uuid.UUID | None = Field(None, description="the event the action is about, if any")
    channel: uuid.UUID = Field(description="the notifier channel (of the envelope's organization)")
    recipients: list[str] = Field(default_factory=list, max_length=100, description="phone numbers, "
                                  "chat ids or addresses; empty: the channel's own (webhook, Modbus: none)")
    template: str | None = Field(None, max_length=4000, description="Jinja2 template of the text; "
                                 "the channel's, else the kind's default, when None")
    payload: dict[str, Any] = Field(default_factory=dict, description="fields the template may use "
                                    "(event fields, item data, severity, title, snapshot_key...)")
    locale: str | None = Field(None, pattern=r"^(pt-BR|en)$", description="language of the default template")

    @field_validator("recipients")
    @classmethod
    def _recipients_are_short_text(cls, value: list[str]) -> list[str]:
        for recipient in value:
            if not 0 < len(recipient) <= 320 or any(c in recipient for c in "\r\n"):
                raise ValueError(f"recipient {recipient[:40]!r}: 1 to 320 characters, one line")
        return value


# --- the envelope -----------------------------------------------------------------------------


class Envelope(BaseModel):
    """The frame around every message. ``data`` is validated against ``type``'s model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: uuid.UUID = Field(default_factory=uuid7)
    type: str = Field(min_length=1, max_length=64)
    v: int = Field(1, ge=1)
    org: uuid.UUID
    source: str = Field(min_length=1, max_length=128)
    time: TimeNs = Field(default_factory=_time.time_ns)
    trace: Traceparent = Field(default_factory=new_traceparent)
    data: SerializeAsAny[Strict]

    @model_validator(mode="before")
    @classmethod
    def _validate_data_by_type(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        kind = values.get("type")
        model = MESSAGE_TYPES.get(kind) if isinstance(kind, str) else None
        if model is None:
            raise ValueError(f"unknown message type {kind!r}")
        data = values.get("data")
        if not isinstance(data, model):
            try:
                data = model.model_validate(data if data is not None else {})
            except ValidationError as exc:
                problems = "; ".join(
                    f"data.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
                )
                raise ValueError(problems) from None
            values = {**values, "data": data}
        return values

    def to_json(self) -> bytes:
        return orjson.dumps(self.model_dump(mode="json"))

    @classmethod
    def from_json(cls, raw: bytes | str) -> Envelope:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"message is not JSON: {exc}") from exc
        if not isinstance(payload, dict):
            raise ValueError("message must be a JSON object")
        return cls.model_validate(payload)


def make(type_: str, org: uuid.UUID | str, source: str, data: Strict | dict[str, Any],
         trace: str | None = None, time_ns: int | None = None) -> Envelope:
    """Build an envelope; ``trace`` continues an existing trace when given."""
    values: dict[str, Any] = {"type": type_, "org": org, "source": source, "data": data}
    if trace is not None:
        values["trace"] = trace
    if time_ns is not None:
        values["time"] = time_ns
    return Envelope(**values)


HEADER_PREFIX = "x-vigia-"


def envelope_headers(envelope: Envelope) -> dict[str, Any]:
    """Envelope fields as AMQP headers, for binary-bodied messages (frames). Absent (None) fields,
    such as a missing trace, are left out rather than written as the text 'None'."""
    dumped = envelope.model_dump(mode="json")
    headers = {HEADER_PREFIX + key: str(value) for key, value in dumped.items()
               if key != "data" and value is not None}
    headers[HEADER_PREFIX + "data"] = orjson.dumps(dumped["data"]).decode()
    return headers


def envelope_from_headers(headers: dict[str, Any]) -> Envelope:
    """The envelope carried by :func:`envelope_headers`; raises ValueError naming the bad field
    (a pydantic ValidationError for the fields, a plain ValueError for undecodable data)."""

    def text(key: str) -> Any:
        value = headers.get(HEADER_PREFIX + key)
        return value.decode() if isinstance(value, bytes) else value

    raw_data = text("data")
    try:
        data = orjson.loads(raw_data) if raw_data is not None else {}
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"data: header {HEADER_PREFIX}data is not JSON: {exc}") from None
    values: dict[str, Any] = {key: text(key) for key in ("id", "type", "v", "org", "source", "time")
                              if text(key) is not None}
    values["trace"] = text("trace")  # absent means the producer had no trace: keep it absent
    return Envelope.model_validate({**values, "data": data})
