"""Detector backends behind one registry (see :mod:`.base`). Importing this package registers
every built-in backend: ``yolo`` (ultralytics) and ``opencv`` (HOG people, Haar plates)."""

from vigia.vision.detectors import opencv, yolo
from vigia.vision.detectors.base import (
    LABELS,
    VEHICLE_LABELS,
    Detection,
    Detector,
    DetectorConfig,
    build_detector,
    parse_config,
    register,
    registered,
)

__all__ = ["LABELS", "VEHICLE_LABELS", "Detection", "Detector", "DetectorConfig", "build_detector",
           "opencv", "parse_config", "register", "registered", "yolo"]
