"""What phones send, and its validation in bulk.

A text frame holds one packet object, a JSON array of packets, or a control message (an object
with a ``"type"``: ``auth``, ``audio``). A packet has :class:`~vigia.common.messages.SensorPacket`'s
fields plus an optional ``device_id``.

Speed matters here (tens of thousands of packets a second per process), so a frame is validated
in one call into pydantic-core, straight from the JSON text, against TypedDicts (plain dicts out, no
model instances), in *strict* mode: a string is not a number, ``1`` is not ``true``, and
``NaN``/``Infinity`` (which the parser reads, so the error can name the field) are not finite. Only
when that fails does the slow path run: it parses the frame once more, item by item, to reject just
the bad packets (naming the field) and keep the good ones. The checks that depend on the connection
(sequence numbers increase, timestamps within the accepted window, ``device_id`` is the token's
device) are one plain loop over the validated dicts, see :class:`PacketChecker`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, with_config
from typing_extensions import TypedDict  # pydantic needs this one on Python < 3.12

from vigia.common.messages import SensorPacket

MAX_INT = 2**63 - 1  # what every consumer (orjson, PostgreSQL bigint) can hold
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

Count = Annotated[int, Field(ge=0, le=MAX_INT)]


@with_config(_STRICT)
class WireVector3(TypedDict):
    x: float
    y: float
    z: float


@with_config(_STRICT)
class WireMagnetometer(TypedDict):
    x: float
    y: float
    z: float
    magnitude: NotRequired[float | None]


@with_config(_STRICT)
class WireOrientation(TypedDict):
    roll: float
    pitch: float
    yaw: float


@with_config(_STRICT)
class WirePacket(TypedDict):
    """One packet as a phone sends it: SensorPacket's fields (checked to match in the tests) plus
    the optional ``device_id``, which must be the token's device and is dropped before publishing."""

    timestamp: Count
    seq: Count
    device_id: NotRequired[str]
    magnetometer: NotRequired[WireMagnetometer | None]
    accelerometer: NotRequired[WireVector3 | None]
    gyroscope: NotRequired[WireVector3 | None]
    orientation: NotRequired[WireOrientation | None]
    audio_peak: NotRequired[float | None]
    humanoid_detected: NotRequired[bool]
    bluetooth_devices_count: NotRequired[Count | None]


PACKETS: TypeAdapter[list[WirePacket]] = TypeAdapter(list[WirePacket])
PACKET: TypeAdapter[WirePacket] = TypeAdapter(WirePacket)
PUBLISHED_FIELDS = frozenset(SensorPacket.model_fields)


class AudioHeader(BaseModel):
    """``{"type":"audio","seq":N,"timestamp":ns,"sample_rate":16000}``: the next binary frame holds
    that chunk's PCM16 little-endian mono samples."""

    model_config = _STRICT

    type: Literal["audio"]
    seq: Count
    timestamp: Count
    sample_rate: int = Field(ge=8000, le=96000)


class AuthMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["auth"]
    token: str = Field(max_length=256)


@dataclass(slots=True)
class Rejection:
    """An item refused with an error frame: its ``seq`` (None when unreadable), the ``field`` at
    fault (``frame`` for the frame as a whole) and why. ``reason`` labels the metric."""

    seq: int | None
    field: str
    message: str
    reason: str = "invalid"

    def frame(self) -> str:
        return orjson.dumps({"type": "error", "seq": self.seq, "field": self.field,
                             "message": self.message}).decode()


Entry = dict[str, Any] | Rejection
"""A validated packet (a dict) or the refusal of an item, in the order the phone sent them."""


# --- frames --------------------------------------------------------------------------------------


@dataclass(slots=True)
class Control:
    """A control message (auth, audio header) or its refusal."""

    message: AuthMessage | AudioHeader | None
    rejection: Rejection | None = None


def _first_char(text: str | bytes) -> str:
    head = text[:1] if not isinstance(text, bytes) else text[:1].decode("latin-1")
    if head in ("[", "{"):
        return head
    stripped = text.lstrip()
    if not stripped:
        return ""
    return stripped[:1] if not isinstance(stripped, bytes) else stripped[:1].decode("latin-1")


def decode_frame(text: str | bytes) -> list[Entry] | Control:
    """The entries of a packet frame, or the control message it carries."""
    kind = _first_char(text)
    if kind == "[":
        try:
            return list(PACKETS.validate_json(text))  # type: ignore[arg-type]  # TypedDicts are dicts
        except ValidationError as exc:
            return _slow_array(text, exc)
    if kind == "{":
        if ('"type"' in text) if isinstance(text, str) else (b'"type"' in text):
            return _control(text)
        try:
            return [PACKET.validate_json(text)]  # type: ignore[list-item]
        except ValidationError as exc:
            return _slow_array(text, exc, single=True)
    return [Rejection(None, "frame", "a text frame holds a packet object, an array of packets or a "
                      "control message (JSON)")]


def decode_body(body: bytes) -> list[Entry]:
    """The entries of an HTTP batch body (a JSON array of packets; one object is taken as one)."""
    decoded = decode_frame(body)
    if isinstance(decoded, Control):
        return [decoded.rejection or Rejection(None, "frame", "the body must be a JSON array of packets")]
    return decoded


def _loads(text: str | bytes) -> Any:
    """Parse with orjson; fall back to the standard library, which reads NaN and Infinity, so the
    packet holding one can be named and the others kept. ValueError when it is not JSON at all."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def _slow_array(text: str | bytes, exc: ValidationError, single: bool = False) -> list[Entry]:
    """Reject the bad items of a frame that failed validation, keep (revalidated) the good ones."""
    errors = exc.errors(include_url=False)
    if any(err["type"] == "json_invalid" for err in errors):
        return [Rejection(None, "frame", f"malformed JSON: {errors[0]['msg'].removeprefix('Invalid JSON: ')}")]
    try:
        parsed = _loads(text)
    except ValueError as parse_error:
        return [Rejection(None, "frame", f"malformed JSON: {parse_error}")]
    items: list[Any] = [parsed] if single else parsed
    if not isinstance(items, list):
        return [Rejection(None, "frame", "expected a packet object or an array of packets")]
    first: dict[int, Any] = {}
    for err in errors:
        loc = err["loc"] if single else err["loc"][1:]
        index = 0 if single else (err["loc"][0] if err["loc"] else -1)
        if not isinstance(index, int) or index < 0:
            return [Rejection(None, "frame", "expected a packet object or an array of packets")]
        first.setdefault(index, {**err, "loc": loc})
    entries: list[Entry] = []
    for index, item in enumerate(items):
        problem = first.get(index)
        if problem is None:
            entries.append(dict(PACKET.validate_json(orjson.dumps(item))))
        else:
            entries.append(_rejection(item, problem))
    return entries


def _rejection(item: Any, err: Any) -> Rejection:
    field = ".".join(str(part) for part in err["loc"]) or "packet"
    message = {"extra_forbidden": "unknown field", "missing": "required field is missing"}.get(
        err["type"], err["msg"])
    return Rejection(item_seq(item), field, message)


def item_seq(item: Any) -> int | None:
    """The usable sequence number of a raw item, if it has one."""
    seq = item.get("seq") if isinstance(item, dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and 0 <= seq <= MAX_INT else None


def _control(text: str | bytes) -> Control:
    try:
        obj = _loads(text)
    except ValueError as exc:
        return Control(None, Rejection(None, "frame", f"malformed JSON: {exc}"))
    if not isinstance(obj, dict):
        return Control(None, Rejection(None, "frame", "expected a JSON object"))
    kind = obj.get("type")
    model: type[AuthMessage | AudioHeader]
    if kind == "audio":
        model = AudioHeader
    elif kind == "auth":
        model = AuthMessage
    else:
        return Control(None, Rejection(item_seq(obj), "type", f"unknown message type {kind!r} (auth, audio; "
                                       "packets have no type)"))
    try:
        return Control(model.model_validate_json(text if not isinstance(text, str) else text.encode()))
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        return Control(None, _rejection(obj, err))


# --- per-connection checks -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Packet timestamps accepted relative to the gateway's clock."""

    max_past_ns: int
    max_future_ns: int

    @classmethod
    def of_seconds(cls, past_s: float, future_s: float) -> TimeWindow:
        return cls(int(past_s * 1e9), int(future_s * 1e9))


class PacketChecker:
    """The checks that need the connection's state: ``seq`` strictly increases over the items a
    connection sent (accepted or rejected: a rejected item is acknowledged too, and never resent),
    timestamps lie in the window, ``device_id`` (optional) is the connection's device.

    ``upto`` is the highest seq resolved so far: what an ack may cover once the items before it
    are confirmed."""

    def __init__(self, device: uuid.UUID, window: TimeWindow) -> None:
        self.device = device
        self._device_str = str(device)
        self._window = window
        self.upto = -1

    def _bounds(self) -> tuple[int, int]:
        now = time.time_ns()
        return now - self._window.max_past_ns, now + self._window.max_future_ns

    def check(self, entries: list[Entry], rejections: list[Rejection]) -> list[dict[str, Any]]:
        """The packets of ``entries`` that pass, in order, ready to publish (``device_id`` removed);
        refusals are appended to ``rejections``."""
        lo, hi = self._bounds()
        last = self.upto
        accepted: list[dict[str, Any]] = []
        for entry in entries:
            if type(entry) is not dict:
                assert isinstance(entry, Rejection)
                if entry.seq is not None and entry.seq > last:
                    last = entry.seq
                rejections.append(entry)
                continue
            seq = entry["seq"]
            if seq <= last:
                rejections.append(Rejection(seq, "seq", f"must be greater than {last}, the last seq "
                                            "sent on this connection", "seq"))
                continue
            last = seq
            timestamp = entry["timestamp"]
            if timestamp < lo or timestamp > hi:
                rejections.append(self._time_rejection(seq, timestamp, lo))
                continue
            if "device_id" in entry and not self._same_device(entry.pop("device_id")):
                rejections.append(Rejection(seq, "device_id", "not the device of this connection's token",
                                            "device_id"))
                continue
            accepted.append(entry)
        self.upto = last
        return accepted

    def check_audio(self, header: AudioHeader) -> Rejection | None:
        """Admit an audio chunk's header (seq and timestamp), or say why not."""
        if header.seq <= self.upto:
            return Rejection(header.seq, "seq", f"must be greater than {self.upto}, the last seq sent on "
                             "this connection", "seq")
        self.upto = header.seq
        lo, hi = self._bounds()
        if header.timestamp < lo or header.timestamp > hi:
            return self._time_rejection(header.seq, header.timestamp, lo)
        return None

    def reject_seq(self, seq: int | None) -> int | None:
        """Account for an item refused outside :meth:`check`; returns the seq an ack may cover."""
        if seq is None or seq <= self.upto:
            return None
        self.upto = seq
        return seq

    def _time_rejection(self, seq: int, timestamp: int, lo: int) -> Rejection:
        if timestamp < lo:
            return Rejection(seq, "timestamp", f"more than {self._window.max_past_ns / 1e9:g} s in the past "
                             "(ns since the epoch expected)", "timestamp")
        return Rejection(seq, "timestamp", f"more than {self._window.max_future_ns / 1e9:g} s in the "
                         "future (ns since the epoch expected)", "timestamp")

    def _same_device(self, value: str) -> bool:
        if value == self._device_str:
            return True
        try:
            return uuid.UUID(value) == self.device
        except ValueError:
            return False
