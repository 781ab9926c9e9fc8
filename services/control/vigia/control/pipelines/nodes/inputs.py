"""Input nodes: where data enters a pipeline."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import Field

from vigia.control.pipelines.nodes.registry import Category, NodeConfig, PortType, node_type


@node_type("camera_rtsp", category=Category.INPUT, label="Camera RTSP",
           outputs={"frames": PortType.FRAMES})
class CameraRtsp(NodeConfig):
    """Frames sampled from one of the organization's cameras."""

    camera: uuid.UUID | None = Field(None, description="Camera id; must belong to the organization.")
    fps: float | None = Field(None, gt=0, le=30, description="Override of the camera's sampling rate.")


@node_type("webcam", category=Category.INPUT, label="Webcam (local)", outputs={"frames": PortType.FRAMES})
class Webcam(NodeConfig):
    """Frames from a USB camera attached to an edge gateway."""

    device_index: int = Field(0, ge=0, le=63)
    fps: float = Field(1.0, gt=0, le=30)


@node_type("sensor_data", category=Category.INPUT, label="Sensor data",
           outputs={"readings": PortType.SENSOR_READINGS})
class SensorData(NodeConfig):
    """Readings of one device (phone, sensor, PLC) or of every device of a site."""

    device: uuid.UUID | None = None
    site: str | None = Field(None, max_length=64)
    sensors: list[Literal["magnetometer", "accelerometer", "gyroscope", "orientation", "audio",
                          "humanoid", "bluetooth"]] = Field(default_factory=list)


@node_type("api_webhook", category=Category.INPUT, label="API webhook", outputs={"data": PortType.ANY})
class ApiWebhook(NodeConfig):
    """JSON posted by an external system to the pipeline's webhook."""

    path: str = Field("hook", pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")


@node_type("file_input", category=Category.INPUT, label="File input", outputs={"data": PortType.ANY})
class FileInput(NodeConfig):
    """Records or media read from an object-store key."""

    key: str = Field(min_length=1, max_length=512)
    format: Literal["csv", "json", "image", "video"] = "json"
