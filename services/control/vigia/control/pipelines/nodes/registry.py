"""The node catalogue of pipelines: every node type registers itself here with a ``type`` key.

A node type declares its category, its typed input and output ports and a pydantic model of its
configuration. Adding a node type is adding one decorated class to a module of this package::

    @node_type("object_detection", category=Category.PROCESSING, label="Object detection",
               inputs={"frames": PortType.FRAMES}, outputs={"detections": PortType.DETECTIONS})
    class ObjectDetection(NodeConfig):
        model: str = "yolov8n"
"""

from __future__ import annotations

import builtins
import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict


class Category(enum.StrEnum):
    INPUT = "input"
    PROCESSING = "processing"
    LOGIC = "logic"
    OUTPUT = "output"


class PortType(enum.StrEnum):
    """What flows along an edge."""

    FRAMES = "frames"
    DETECTIONS = "detections"
    SENSOR_READINGS = "sensor_readings"
    EVENTS = "events"
    ANY = "any"

    def feeds(self, target: PortType) -> bool:
        """Whether an output of this type may be wired into an input of type ``target``."""
        if PortType.ANY in (self, target) or self is target:
            return True
        # A detection is a kind of event (it can trigger alerts directly).
        return self is PortType.DETECTIONS and target is PortType.EVENTS


class NodeConfig(BaseModel):
    """Base of every node's configuration: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class NodeType:
    """One entry of the catalogue."""

    type: str
    category: Category
    label: str
    description: str
    inputs: Mapping[str, PortType]
    outputs: Mapping[str, PortType]
    # ``builtins.type``: the ``type`` field above shadows the builtin inside this class body.
    config: builtins.type[NodeConfig]

    def describe(self) -> dict[str, Any]:
        """The catalogue entry as the console reads it (config as JSON Schema)."""
        return {
            "type": self.type,
            "category": self.category.value,
            "label": self.label,
            "description": self.description,
            "inputs": [{"name": name, "type": kind.value} for name, kind in self.inputs.items()],
            "outputs": [{"name": name, "type": kind.value} for name, kind in self.outputs.items()],
            "config_schema": self.config.model_json_schema(),
        }


NODE_TYPES: dict[str, NodeType] = {}
C = TypeVar("C", bound=type[NodeConfig])


def node_type(key: str, *, category: Category, label: str, inputs: Mapping[str, PortType] | None = None,
              outputs: Mapping[str, PortType] | None = None) -> Callable[[C], C]:
    """Register the decorated config model as node type ``key``; its docstring describes it."""

    def register(config: C) -> C:
        if key in NODE_TYPES:
            raise ValueError(f"node type {key!r} registered twice")
        NODE_TYPES[key] = NodeType(key, category, label, (config.__doc__ or "").strip(),
                                   dict(inputs or {}), dict(outputs or {}), config)
        return config

    return register


def catalogue() -> list[dict[str, Any]]:
    """Every node type, by category then type."""
    order = list(Category)
    ordered = sorted(NODE_TYPES.values(), key=lambda t: (order.index(t.category), t.type))
    return [t.describe() for t in ordered]
