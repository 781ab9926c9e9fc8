"""What counts as a signal, how much it weighs, and the score of a window of signals.

Seed 000 §2.3 scores a moment by the *kinds* of evidence present: magnetic 0.4 + audio 0.4 +
humanoid 0.2, and raises an event from 0.6 (two independent signals). Here a window holds the
signals of one site whose observation times fit in ``window_ms``; its score is the sum of the
weights of the distinct kinds in it, so ten magnetic spikes still weigh 0.4.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
}
PERSON_LABEL = "person"
SEVERITY_ORDER = (Severity.low, Severity.medium, Severity.high, Severity.critical)


class CorrelationConfig(BaseModel):
    """One organization's correlation rule. Its ``settings`` JSON may hold overrides, which its
    admins edit through control's ``PATCH /api/v1/organization/settings``::

        {"correlation": {"window_ms": 1500, "threshold": 0.8, "weights": {"audio": 0.3}}}

    Weights not named keep their default. The correlator rereads them every VIGIA_ORG_CONFIG_TTL_S
    (:meth:`vigia.correlator.sites.SiteDirectory.org_config`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_ms: int = Field(1000, ge=10, le=600_000)
    threshold: float = Field(0.6, ge=0, le=10)
    weights: dict[str, float] = Field(default_factory=lambda: {
        "magnetic": 0.4, "audio": 0.4, "humanoid": 0.2, "imu": 0.0})
    person_min_confidence: float = Field(0.5, ge=0, le=1)

    def with_overrides(self, overrides: Any) -> CorrelationConfig:
        """This config with an org's ``correlation`` overrides; invalid overrides are logged and
        ignored (a typo in one org's settings must not stop correlation for it)."""
        if not isinstance(overrides, Mapping) or not overrides:
            return self
        values = self.model_dump()
        values.update({k: v for k, v in overrides.items() if k != "weights"})
        weights = overrides.get("weights")
        if isinstance(weights, Mapping):
            values["weights"] = {**self.weights, **weights}
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


def severity_of(signals: Iterable[Signal], value: float) -> Severity:
    """The worst severity among the anomalies, raised to high when three or more kinds agree
    (score ≥ 1.0) and at least medium when the rule fired at all."""
    worst = max((SEVERITY_ORDER.index(s.severity) for s in signals), default=0)
    by_score = 2 if value >= 1.0 - 1e-9 else 1
    return SEVERITY_ORDER[max(worst, by_score)]


EVENT_NAMESPACE = uuid.UUID("6f7a1c52-8d0e-4b7e-9a57-3c0f5e1d2b90")


def event_id(org: uuid.UUID | str, first_signal_id: str) -> uuid.UUID:
    """The event's id, derived from its first contributing message: a replay after a restart
    raises the same event, never a second one."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{org}/{first_signal_id}")
