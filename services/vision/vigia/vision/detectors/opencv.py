"""OpenCV built-ins, for when no YOLO weights are present: HOG people and Haar plates.

Both models ship inside opencv-python (``cv2.HOGDescriptor_getDefaultPeopleDetector`` and
``cv2.data.haarcascades``), so this backend needs no download and no GPU. It finds no vehicles:
plates are then searched in the whole frame and tracked on their own.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Literal

import cv2
import cv2.data
import numpy as np
from pydantic import Field

from vigia.vision.detectors.base import Detection, DetectorConfig, register

PLATE_CASCADES = ("haarcascade_russian_plate_number.xml", "haarcascade_license_plate_rus_16stages.xml")


class OpenCVConfig(DetectorConfig):
    """HOG people detector and Haar plate cascade."""

    type: Literal["opencv"] = "opencv"
    confidence: float = Field(0.3, ge=0, le=1, description="Lowest (squashed) HOG score reported.")
    people: bool = Field(True, description="Run the HOG people detector.")
    plates: bool = Field(False, description="Run the Haar plate cascade (the shape finder usually "
                         "finds plates better; the cascade adds candidates where it did not).")
    hog_width: int = Field(800, ge=160, le=4096, description="Frames are scaled to this width for HOG "
                           "(HOG's cost grows with the pixel count).")


def _squash(score: float) -> float:
    """HOG's SVM margin as a 0..1 confidence."""
    return float(1.0 / (1.0 + np.exp(-2.0 * score)))


class OpenCVDetector:
    name = "opencv"
    finds_vehicles = False

    def __init__(self, config: OpenCVConfig) -> None:
        self.config = config
        self.finds_plates = config.plates
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32))
        self.cascade: cv2.CascadeClassifier | None = None
        if config.plates:
            for name in PLATE_CASCADES:
                path = os.path.join(cv2.data.haarcascades, name)
                if os.path.isfile(path):
                    self.cascade = cv2.CascadeClassifier(path)
                    break
            if self.cascade is None or self.cascade.empty():
                raise FileNotFoundError(f"none of the Haar plate cascades {PLATE_CASCADES} ships with this OpenCV")

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        return [self._one(frame) for frame in frames]

    def _one(self, frame: np.ndarray) -> list[Detection]:
        h, w = frame.shape[:2]
        found: list[Detection] = []
        if self.config.people:
            scale = min(1.0, self.config.hog_width / w)
            small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frame
            rects, weights = self.hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
            boxes = [[int(x), int(y), int(bw), int(bh)] for x, y, bw, bh in rects]
            scores = [float(s) for s in np.asarray(weights).reshape(-1)]
            keep = cv2.dnn.NMSBoxes(boxes, scores, 0.0, 0.4) if boxes else []
            for i in np.asarray(keep).reshape(-1):
                x, y, bw, bh = boxes[int(i)]
                conf = _squash(scores[int(i)])
                if conf < self.config.confidence:
                    continue
                found.append(Detection("person", conf, (
                    max(0.0, x / scale), max(0.0, y / scale), min(float(w), (x + bw) / scale),
                    min(float(h), (y + bh) / scale))))
        if self.cascade is not None:
            grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            for x, y, bw, bh in self.cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=4, minSize=(48, 12)):
                found.append(Detection("plate", 0.5, (float(x), float(y), float(x + bw), float(y + bh))))
        return found


@register(OpenCVConfig)
def _build(config: OpenCVConfig) -> OpenCVDetector:
    return OpenCVDetector(config)
