"""Processing nodes: detectors and transformations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vigia.control.pipelines.nodes.registry import Category, NodeConfig, PortType, node_type


@node_type("object_detection", category=Category.PROCESSING, label="Object detection",
           inputs={"frames": PortType.FRAMES}, outputs={"detections": PortType.DETECTIONS})
class ObjectDetection(NodeConfig):
    """Objects (people, vehicles, plates...) found in frames by the vision workers."""

    model: str = Field("yolov8n", min_length=1, max_length=128)
    classes: list[str] = Field(default_factory=list, max_length=100)
    confidence: float = Field(0.5, ge=0, le=1)


@node_type("data_transform", category=Category.PROCESSING, label="Data transform",
           inputs={"data": PortType.ANY}, outputs={"data": PortType.ANY})
class DataTransform(NodeConfig):
    """Keep, rename or convert fields of whatever flows through."""

    operation: Literal["filter", "map", "rename", "convert"] = "map"
    fields: dict[str, str] = Field(default_factory=dict)


@node_type("computer_vision", category=Category.PROCESSING, label="Computer vision",
           inputs={"frames": PortType.FRAMES}, outputs={"frames": PortType.FRAMES})
class ComputerVision(NodeConfig):
    """An OpenCV operation on each frame."""

    operation: Literal["grayscale", "blur", "resize", "crop", "edges", "motion"] = "resize"
    width: int | None = Field(None, gt=0, le=8192)
    height: int | None = Field(None, gt=0, le=8192)


@node_type("analytics", category=Category.PROCESSING, label="Analytics",
           inputs={"data": PortType.ANY}, outputs={"metrics": PortType.EVENTS})
class Analytics(NodeConfig):
    """A metric over a sliding window (count, average...), emitted as events."""

    metric: Literal["count", "rate", "average", "min", "max"] = "count"
    field: str | None = Field(None, max_length=64)
    window_s: float = Field(60, gt=0, le=86_400)


@node_type("ai_model", category=Category.PROCESSING, label="AI/ML model",
           inputs={"frames": PortType.FRAMES}, outputs={"detections": PortType.DETECTIONS})
class AiModel(NodeConfig):
    """A custom model from the ``models`` bucket."""

    model_key: str = Field(min_length=1, max_length=512)
    confidence: float = Field(0.5, ge=0, le=1)
