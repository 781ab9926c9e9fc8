"""Logic nodes: conditions, timing, iteration, state and behaviour rules."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from vigia.control.pipelines.nodes.registry import Category, NodeConfig, PortType, node_type


@node_type("conditional", category=Category.LOGIC, label="Conditional",
           inputs={"in": PortType.ANY}, outputs={"true": PortType.ANY, "false": PortType.ANY})
class Conditional(NodeConfig):
    """Route each item to ``true`` or ``false`` by comparing one of its fields."""

    field: str = Field(min_length=1, max_length=128)
    operator: Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "in"] = "eq"
    value: Any = None


@node_type("timer", category=Category.LOGIC, label="Timer / scheduler", outputs={"tick": PortType.EVENTS})
class Timer(NodeConfig):
    """Emit an event every ``interval_s`` seconds or on a cron schedule."""

    interval_s: float | None = Field(None, gt=0, le=31_536_000)
    cron: str | None = Field(None, max_length=128, pattern=r"^[\d*/,\- ]+$")

    @model_validator(mode="after")
    def _one_schedule(self) -> Timer:
        if (self.interval_s is None) == (self.cron is None):
            raise ValueError("set exactly one of interval_s or cron")
        return self


@node_type("loop", category=Category.LOGIC, label="Loop / iterate",
           inputs={"in": PortType.ANY}, outputs={"item": PortType.ANY})
class Loop(NodeConfig):
    """Emit each element of a list field separately."""

    field: str = Field("items", min_length=1, max_length=128)
    max_items: int = Field(100, ge=1, le=10_000)


@node_type("data_storage", category=Category.LOGIC, label="Data storage",
           inputs={"in": PortType.ANY}, outputs={"out": PortType.ANY})
class DataStorage(NodeConfig):
    """Keep items (cache or persistent) and pass them on."""

    mode: Literal["cache", "persist"] = "cache"
    ttl_s: float = Field(3600, gt=0, le=31_536_000)


@node_type("loitering", category=Category.LOGIC, label="Loitering",
           inputs={"detections": PortType.DETECTIONS}, outputs={"events": PortType.EVENTS})
class Loitering(NodeConfig):
    """An event when a tracked object stays in a zone longer than ``seconds``."""

    zone: str | None = Field(None, max_length=64)
    seconds: float = Field(30, gt=0, le=86_400)
    labels: list[str] = Field(default_factory=lambda: ["person"], max_length=50)


@node_type("zone_analysis", category=Category.LOGIC, label="Zone analysis",
           inputs={"detections": PortType.DETECTIONS}, outputs={"events": PortType.EVENTS})
class ZoneAnalysis(NodeConfig):
    """Events when objects enter, leave or crowd a camera's zones."""

    zones: list[str] = Field(default_factory=list, max_length=50)
    trigger: Literal["enter", "exit", "count"] = "enter"
    threshold: int = Field(1, ge=1, le=10_000)
