"""What counts as a signal, how much it weighs, and the score of a window of signals.

Seed 000 §2.3 scores a moment by the *kinds* of evidence present: magnetic 0.4 + audio 0.4 +
humanoid 0.2, and raises an event from 0.6 (two independent signals). Here a window holds the
signals of one site whose observation times fit in ``window_ms``; its score is the sum of the
weights of the distinct kinds in it, so ten magnetic spikes still weigh 0.4.

An event's severity is graded from that score and from how many independent sensors (devices and
cameras) took part (:class:`SeverityGrades`), never from how far one anomaly stood out: one phone's
strong spike with a passer-by is an event to look at, not an emergency.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from vigia.common.messages import AnomalyDetected, DetectionCreated, Envelope, Severity

log = logging.getLogger(__name__)

#: Signal kinds (what the weights are keyed by) of each anomaly kind.
ANOMALY_SIGNAL_KINDS: dict[str, str] = {
    "magnetic": "magnetic",
    "audio_infrasound": "audio",
    "audio_ultrasound": "audio",
    "audio_voice": "audio",
    "humanoid": "humanoid",
    "imu": "imu",
    "forecast": "forecast",
}
PERSON_LABEL = "person"
SEVERITY_ORDER = (Severity.low, Severity.medium, Severity.high, Severity.critical)


class SeverityGrades(BaseModel):
    """How an event's severity follows from its strongest coincidence: the window's score and the
    number of distinct sensors (devices and cameras) whose signals are in that window.

    ========  ==================================================================================
    low       score below ``medium`` (with the default weights: one anomaly and a person, 0.6)
    medium    score ≥ ``medium`` (default 0.8: two anomaly kinds, e.g. magnetic + audio)
    high      score ≥ ``high`` (default 1.0: magnetic + audio + a person)
    critical  score ≥ ``critical`` (default 1.0) seen by at least ``critical_sensors`` distinct
              devices/cameras (default 2: e.g. a phone's magnetic + audio and a camera's person)
    ========  ==================================================================================

    An incident's severity is the highest grade any of its windows reached; it never goes down.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    medium: float = Field(0.8, ge=0, le=10, description="Score from which an event is medium.")
    high: float = Field(1.0, ge=0, le=10, description="Score from which an event is high.")
    critical: float = Field(1.0, ge=0, le=10, description="Score from which an event seen by "
                            "critical_sensors sensors is critical.")
    critical_sensors: int = Field(2, ge=1, le=100, description="Distinct devices and cameras a "
                                  "critical event's coincidence needs.")

    @model_validator(mode="after")
    def _ordered(self) -> SeverityGrades:
        if not self.medium <= self.high <= self.critical:
            raise ValueError("severity thresholds must satisfy medium <= high <= critical")
        return self

    def grade(self, value: float, sensors: int) -> Severity:
        if value + 1e-9 >= self.critical and sensors >= self.critical_sensors:
            return Severity.critical
        if value + 1e-9 >= self.high:
            return Severity.high
        if value + 1e-9 >= self.medium:
            return Severity.medium
        return Severity.low


class CorrelationConfig(BaseModel):
    """One organization's correlation rule. Its ``settings`` JSON may hold overrides, which its
    admins edit through control's ``PATCH /api/v1/organization/settings``::

        {"correlation": {"window_ms": 1500, "threshold": 0.8, "weights": {"audio": 0.3},
                         "severity": {"medium": 0.9, "critical_sensors": 3}, "fold_window_s": 900}}

    Weights and severity thresholds not named keep their default. The correlator rereads them
    every VIGIA_ORG_CONFIG_TTL_S (:meth:`vigia.correlator.sites.SiteDirectory.org_config`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_ms: int = Field(1000, ge=10, le=600_000)
    threshold: float = Field(0.6, ge=0, le=10)
    weights: dict[str, float] = Field(default_factory=lambda: {
        "magnetic": 0.4, "audio": 0.4, "humanoid": 0.2, "imu": 0.0, "forecast": 0.2})
    person_min_confidence: float = Field(0.5, ge=0, le=1)
    severity: SeverityGrades = Field(default_factory=SeverityGrades)
    false_alarm_threshold: float | None = Field(None, ge=0, le=1, description=(
        "An event whose false-alarm score reaches this is marked likely_false_alarm; None: never."))
    fold_window_s: float = Field(600.0, ge=0, le=86_400, description=(
        "A new incident at the same site within this long of a previous one's last signal, whose "
        "signal kinds that one all saw and no more severe, reopens that event unless it was resolved "
        "(s); 0: never fold."))

    def with_overrides(self, overrides: Any) -> CorrelationConfig:
        """This config with an org's ``correlation`` overrides; invalid overrides are logged and
        ignored (a typo in one org's settings must not stop correlation for it)."""
        if not isinstance(overrides, Mapping) or not overrides:
            return self
        values = self.model_dump()
        values.update({k: v for k, v in overrides.items() if k not in ("weights", "severity")})
        weights = overrides.get("weights")
        if isinstance(weights, Mapping):
            values["weights"] = {**self.weights, **weights}
        grades = overrides.get("severity")
        if isinstance(grades, Mapping):
            values["severity"] = {**self.severity.model_dump(), **grades}
        try:
            config = CorrelationConfig.model_validate(values)
        except ValidationError as exc:
            log.warning("invalid correlation overrides ignored", extra={"error": str(exc)[:500]})
            return self
        if any(not isinstance(w, int | float) or not 0 <= w <= 1 for w in config.weights.values()):
            log.warning("invalid correlation weights ignored", extra={"weights": config.weights})
            return self
        return config

    def weight(self, kind: str) -> float:
        return float(self.weights.get(kind, 0.0))


@dataclass(frozen=True)
class Signal:
    """One piece of evidence at a site: an anomaly of a device or a person seen by a camera."""

    id: str  # the message id: the idempotency key and the source ref
    kind: str  # magnetic, audio, humanoid, imu
    detail: str  # the anomaly kind or the detection label
    time: int  # observation time, ns
    severity: Severity
    device: str | None = None
    camera: str | None = None
    value: float | None = None
    snapshot_key: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "detail": self.detail, "time": self.time,
                "severity": self.severity.value, "device": self.device, "camera": self.camera,
                "value": self.value, "snapshot_key": self.snapshot_key}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Signal:
        return cls(id=data["id"], kind=data["kind"], detail=data["detail"], time=int(data["time"]),
                   severity=Severity(data["severity"]), device=data.get("device"), camera=data.get("camera"),
                   value=data.get("value"), snapshot_key=data.get("snapshot_key"))


def signal_of(envelope: Envelope, config: CorrelationConfig) -> Signal | None:
    """The signal a data-plane message carries, or None (a car, a low-confidence person, a plate)."""
    data = envelope.data
    if isinstance(data, AnomalyDetected):
        kind = ANOMALY_SIGNAL_KINDS.get(data.kind)
        if kind is None:
            return None
        return Signal(str(envelope.id), kind, data.kind, data.observed_at, data.severity,
                      device=str(data.device), value=data.value)
    if isinstance(data, DetectionCreated):
        if data.label.lower() != PERSON_LABEL or data.confidence < config.person_min_confidence:
            return None
        return Signal(str(envelope.id), "humanoid", PERSON_LABEL, data.captured_at, Severity.low,
                      camera=str(data.camera), value=data.confidence, snapshot_key=data.snapshot_key)
    return None


def score(signals: Iterable[Signal], config: CorrelationConfig) -> float:
    """Sum of the weights of the distinct signal kinds present."""
    return round(sum(config.weight(kind) for kind in {s.kind for s in signals}), 6)


def best_window(signals: Sequence[Signal], anchor: Signal, config: CorrelationConfig
                ) -> tuple[float, list[Signal]]:
    """The highest-scoring set of signals that includes ``anchor`` and spans at most
    ``window_ms``; ties go to the earliest window (so replays pick the same one)."""
    width = config.window_ms * 1_000_000
    ordered = sorted(signals, key=lambda s: (s.time, s.id))
    best: tuple[float, list[Signal]] = (score([anchor], config), [anchor])
    for start in ordered:
        if not anchor.time - width <= start.time <= anchor.time:
            continue
        members = [s for s in ordered if start.time <= s.time <= start.time + width]
        if anchor not in members:
            continue
        value = score(members, config)
        if value > best[0]:
            best = (value, members)
    return best


def sensors(signals: Iterable[Signal]) -> int:
    """How many distinct devices and cameras the signals come from."""
    return len({s.device or s.camera for s in signals} - {None})


def severity_of(signals: Iterable[Signal], value: float, config: CorrelationConfig) -> Severity:
    """The grade of a window of ``signals`` scoring ``value`` (see :class:`SeverityGrades`)."""
    return config.severity.grade(value, sensors(signals))


def more_severe(a: Severity, b: Severity) -> Severity:
    return a if SEVERITY_ORDER.index(a) >= SEVERITY_ORDER.index(b) else b


def cause_of(signals: Iterable[Signal]) -> list[str]:
    """What an incident is about: the distinct signal kinds of its signals, sorted."""
    return sorted({s.kind for s in signals})


EVENT_NAMESPACE = uuid.UUID("6f7a1c52-8d0e-4b7e-9a57-3c0f5e1d2b90")


def event_id(org: uuid.UUID | str, first_signal_id: str) -> uuid.UUID:
    """The event's id, derived from its first contributing message: a replay after a restart
    raises the same event, never a second one."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{org}/{first_signal_id}")
