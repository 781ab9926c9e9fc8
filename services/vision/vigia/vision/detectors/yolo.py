"""YOLO through ultralytics: vehicles and people, batched, on the GPU when there is one.

Weights come from a local path (``VIGIA_VISION_MODEL``); nothing is downloaded: a weights file
that does not exist is refused before ultralytics could try to fetch it. A ``.yaml`` model
description (e.g. ultralytics' own ``yolov8n.yaml``) builds an *untrained* network: tests use it
to exercise shapes, batching and class filtering without any weights. Class ids are COCO's.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from vigia.vision.detectors.base import Detection, DetectorConfig, register

# Ultralytics phones home (events, hub, asset downloads) unless told it is offline.
os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_VERBOSE", "False")

#: The COCO classes Vigia reports, by COCO id.
COCO_CLASSES: dict[int, str] = {0: "person", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}


class YoloConfig(DetectorConfig):
    """A YOLO model from a local weights file (or an untrained one from a ``.yaml``)."""

    type: Literal["yolo"] = "yolo"
    model: str = Field("yolov8n.pt", description="Path of the weights (.pt) or a model .yaml (untrained).")
    device: str = Field("auto", description="auto (cuda:0 when available, else cpu), cpu, cuda:N.")
    iou: float = Field(0.45, ge=0, le=1, description="NMS IoU threshold.")
    imgsz: int = Field(640, ge=32, le=4096, description="Inference size (pixels, multiple of 32).")
    max_det: int = Field(100, ge=1, le=1000, description="Most detections per frame.")


def resolve_model(model: str) -> str:
    """``model`` if it can be loaded without a download: an existing file, or a model ``.yaml``
    (ultralytics ships those); raises FileNotFoundError otherwise."""
    if model.endswith((".yaml", ".yml")) or Path(model).is_file():
        return model
    raise FileNotFoundError(f"YOLO weights {model!r} not found (set VIGIA_VISION_MODEL to a local file)")


def select_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"


class YoloDetector:
    """Batched YOLO inference reporting :data:`COCO_CLASSES` only."""

    name = "yolo"
    finds_vehicles = True
    finds_plates = False

    def __init__(self, config: YoloConfig) -> None:
        from ultralytics import YOLO

        self.config = config
        self.device = select_device(config.device)
        self.model: Any = YOLO(resolve_model(config.model), task="detect")
        self.classes = sorted(COCO_CLASSES)

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        if not frames:
            return []
        c = self.config
        results = self.model.predict(
            list(frames), imgsz=c.imgsz, conf=c.confidence, iou=c.iou, classes=self.classes,
            device=self.device, max_det=c.max_det, half=self.device.startswith("cuda"), verbose=False)
        out: list[list[Detection]] = []
        for frame, result in zip(frames, results, strict=True):
            h, w = frame.shape[:2]
            boxes = result.boxes
            xyxy = boxes.xyxy.cpu().numpy() if len(boxes) else np.zeros((0, 4))
            conf = boxes.conf.cpu().numpy() if len(boxes) else np.zeros(0)
            cls = boxes.cls.cpu().numpy().astype(int) if len(boxes) else np.zeros(0, int)
            found = []
            for (x1, y1, x2, y2), score, class_id in zip(xyxy, conf, cls, strict=True):
                label = COCO_CLASSES.get(int(class_id))
                if label is None:
                    continue
                box = (float(np.clip(x1, 0, w)), float(np.clip(y1, 0, h)),
                       float(np.clip(x2, 0, w)), float(np.clip(y2, 0, h)))
                found.append(Detection(label, float(min(1.0, max(0.0, score))), box))
            out.append(found)
        return out


@register(YoloConfig)
def _build(config: YoloConfig) -> YoloDetector:
    return YoloDetector(config)
