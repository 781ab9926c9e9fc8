"""Input nodes: what enters a pipeline -- detections, plate reads, anomalies and telemetry,
correlated events, device and camera status, webhook posts. Each takes items of some kinds
(``Item.kind``) from some sources and hands their data on as records."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from vigia.common.messages import AnomalyKind
from vigia.common.pipelines.registry import Category, Environment, Node, NodeConfig, Outputs, PortType, node_type
from vigia.common.pipelines.values import SEVERITY_RANK, epoch_seconds

if TYPE_CHECKING:
    from vigia.common.pipelines.engine import Run

Severity = Literal["low", "medium", "high", "critical"]
Stream = Literal["anomaly", "telemetry"]
StatusKind = Literal["device_status", "camera_health"]


def _anomalies() -> list[Stream]:
    return ["anomaly"]


def _both_statuses() -> list[StatusKind]:
    return ["device_status", "camera_health"]


def _ids(*groups: Any) -> frozenset[str] | None:
    """The chosen ids as strings, None when none is chosen (every one of the organization's)."""
    chosen = {str(value) for group in groups if group for value in (group if isinstance(group, list) else [group])}
    return frozenset(chosen) or None


class CameraRtspConfig(NodeConfig):
    """Detections the vision workers publish for the chosen cameras (every camera of the
    organization when none is chosen)."""

    camera: uuid.UUID | None = Field(None, description="One camera; must belong to the organization.")
    cameras: list[uuid.UUID] = Field(default_factory=list, max_length=200, description="Cameras to read.")


@node_type("camera_rtsp", CameraRtspConfig, category=Category.INPUT, label="Camera RTSP",
           outputs={"detections": PortType.DETECTIONS})
class CameraRtsp(Node):
    __slots__ = ("_sources",)
    kinds = frozenset({"detection"})

    def __init__(self, node_id: str, config: CameraRtspConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._sources = _ids(config.camera, config.cameras)

    def sources(self) -> frozenset[str] | None:
        return self._sources

    def accept(self, run: Run) -> Outputs:
        return (("detections", run.item.data),)


class SensorDataConfig(NodeConfig):
    """Anomalies (and, when chosen, telemetry) of the chosen devices (every device when none)."""

    device: uuid.UUID | None = Field(None, description="One device; must belong to the organization.")
    devices: list[uuid.UUID] = Field(default_factory=list, max_length=500)
    streams: list[Stream] = Field(default_factory=lambda: _anomalies(), min_length=1)
    anomaly_kinds: list[AnomalyKind] = Field(default_factory=list, description="Anomaly kinds; empty: all.")
    min_severity: Severity = "low"


@node_type("sensor_data", SensorDataConfig, category=Category.INPUT, label="Sensor data",
           outputs={"readings": PortType.SENSOR_READINGS})
class SensorData(Node):
    __slots__ = ("_kinds", "_min", "_sources", "_streams")

    def __init__(self, node_id: str, config: SensorDataConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._sources = _ids(config.device, config.devices)
        self._kinds = frozenset(config.anomaly_kinds) or None
        self._min = SEVERITY_RANK[config.min_severity]
        self._streams = frozenset(config.streams)

    def takes(self) -> frozenset[str]:
        return self._streams

    def sources(self) -> frozenset[str] | None:
        return self._sources

    def accept(self, run: Run) -> Outputs:
        data = run.item.data
        if run.item.kind == "anomaly":
            if self._kinds is not None and data.get("kind") not in self._kinds:
                return None
            if SEVERITY_RANK.get(data.get("severity", "low"), 0) < self._min:
                return None
        return (("readings", data),)


class ApiWebhookConfig(NodeConfig):
    """JSON an external system posts to ``/api/v1/hooks/{pipeline}/{node}``, signed with the node's
    secret (HMAC-SHA256 of the body in ``X-Vigia-Signature``)."""


@node_type("api_webhook", ApiWebhookConfig, category=Category.INPUT, label="API webhook",
           outputs={"data": PortType.ANY})
class ApiWebhook(Node):
    __slots__ = ("_sources",)
    kinds = frozenset({"webhook"})

    def __init__(self, node_id: str, config: ApiWebhookConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._sources = frozenset({node_id})  # a post names the node it is for

    def sources(self) -> frozenset[str] | None:
        return self._sources

    def accept(self, run: Run) -> Outputs:
        return (("data", run.item.data),)


class PlateConfig(NodeConfig):
    """Licence plates read by the chosen cameras (one reading per vehicle visit, after voting)."""

    camera: uuid.UUID | None = None
    cameras: list[uuid.UUID] = Field(default_factory=list, max_length=200)
    min_confidence: float = Field(0, ge=0, le=1)


@node_type("plate", PlateConfig, category=Category.INPUT, label="Plate read", outputs={"plates": PortType.PLATES})
class Plate(Node):
    __slots__ = ("_min", "_sources")
    kinds = frozenset({"plate"})

    def __init__(self, node_id: str, config: PlateConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._sources = _ids(config.camera, config.cameras)
        self._min = config.min_confidence

    def sources(self) -> frozenset[str] | None:
        return self._sources

    def accept(self, run: Run) -> Outputs:
        data = run.item.data
        if data.get("confidence", 1.0) < self._min:
            return None
        return (("plates", data),)


class EventConfig(NodeConfig):
    """Correlated events. ``mode: changed`` hands on each event as it is raised or updated;
    ``mode: unacknowledged`` hands on, once, each event nobody acknowledged (or resolved) within
    ``unacknowledged_for`` seconds (default: the organization's escalation delay)."""

    event_types: list[str] = Field(default_factory=list, max_length=50, description="Empty: every type.")
    min_severity: Severity = "low"
    sites: list[str] = Field(default_factory=list, max_length=50, description="Empty: every site.")
    mode: Literal["changed", "unacknowledged"] = "changed"
    unacknowledged_for: float | None = Field(None, gt=0, le=7 * 86_400,
                                             description="Seconds; default: the organization's escalation delay.")


#: An escalated event is remembered (so it escalates once) until handled, or this long.
_FORGET_ESCALATED_S = 7 * 86_400
#: Event fields that mean someone took care of it (as control's events carry them).
_HANDLED = ("acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by")


@node_type("event", EventConfig, category=Category.INPUT, label="Event", outputs={"events": PortType.EVENTS})
class Event(Node):
    __slots__ = ("_after", "_min", "_sites", "_types", "_waits")
    kinds = frozenset({"event"})

    def __init__(self, node_id: str, config: EventConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._types = frozenset(config.event_types) or None
        self._sites = frozenset(config.sites) or None
        self._min = SEVERITY_RANK[config.min_severity]
        self._waits = config.mode == "unacknowledged"
        self._after = config.unacknowledged_for or env.escalation_delay_s

    def needs_ticks(self) -> bool:
        return self._waits

    def accept(self, run: Run) -> Outputs:
        data = run.item.data
        if self._types is not None and data.get("event_type") not in self._types:
            return None
        if self._sites is not None and data.get("site") not in self._sites:
            return None
        if SEVERITY_RANK.get(data.get("severity", "low"), 0) < self._min:
            return None
        if not self._waits:
            return (("events", data),)
        event = str(data.get("event", ""))
        handled = any(data.get(name) for name in _HANDLED) or data.get("status") in ("acknowledged", "resolved")
        waiting = run.state.get(self.id, event)
        if handled:
            if waiting is not None:
                run.state.delete(self.id, event)
            return None
        if waiting is None:
            since = epoch_seconds(data.get("started_at")) or run.now_s
            run.state.set(self.id, event, {"due": since + self._after, "event": dict(data)})
        elif waiting.get("due") is not None:  # still waiting: keep the latest data
            run.state.set(self.id, event, {"due": waiting["due"], "event": dict(data)})
        return self._due(run, [(event, run.state.get(self.id, event))])

    def tick(self, run: Run) -> Outputs:
        entries = run.state.items(self.id)
        for event, entry in entries:
            if entry.get("due") is None and run.now_s - entry.get("escalated_at", run.now_s) > _FORGET_ESCALATED_S:
                run.state.delete(self.id, event)
        return self._due(run, entries)

    def _due(self, run: Run, waiting: Any) -> Outputs:
        out: list[tuple[str, Any]] = []
        for event, entry in waiting:
            due = entry.get("due")
            if due is not None and due <= run.now_s:
                out.append(("events", {**entry["event"], "unacknowledged_for_s": round(run.now_s - due
                                                                                       + self._after, 3)}))
                # Remember it escalated (due None) until it is handled, so it escalates once.
                run.state.set(self.id, event, {"due": None, "escalated_at": run.now_s,
                                               "event": {"event": entry["event"].get("event")}})
        return out


class StatusConfig(NodeConfig):
    """Status changes of devices (ON / OFF / WARNING) and cameras (online / offline / error...)."""

    devices: list[uuid.UUID] = Field(default_factory=list, max_length=500, description="Empty: every device.")
    cameras: list[uuid.UUID] = Field(default_factory=list, max_length=200, description="Empty: every camera.")
    kinds: list[StatusKind] = Field(default_factory=lambda: _both_statuses(), min_length=1)
    statuses: list[str] = Field(default_factory=list, max_length=20,
                                description="Statuses to hand on (e.g. OFF, offline, error); empty: all.")


@node_type("status", StatusConfig, category=Category.INPUT, label="Device / camera status",
           outputs={"status": PortType.STATUS})
class Status(Node):
    __slots__ = ("_by_kind", "_kinds", "_sources", "_statuses")

    def __init__(self, node_id: str, config: StatusConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._kinds = frozenset(config.kinds)
        self._by_kind = {"device_status": _ids(config.devices), "camera_health": _ids(config.cameras)}
        chosen = [self._by_kind[kind] for kind in self._kinds]
        self._sources = None if any(s is None for s in chosen) else frozenset().union(*chosen)  # type: ignore[arg-type]
        self._statuses = frozenset(config.statuses) or None

    def takes(self) -> frozenset[str]:
        return self._kinds

    def sources(self) -> frozenset[str] | None:
        return self._sources

    def accept(self, run: Run) -> Outputs:
        data = run.item.data
        if self._statuses is not None and data.get("status") not in self._statuses:
            return None
        allowed = self._by_kind[run.item.kind]
        if allowed is not None and run.item.source not in allowed:
            return None
        return (("status", {**data, "kind": run.item.kind}),)
