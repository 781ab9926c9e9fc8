from __future__ import annotations

import pytest
from pydantic import ValidationError

from vigia.vision.detectors import build_detector, parse_config, registered
from vigia.vision.detectors.opencv import OpenCVConfig
from vigia.vision.detectors.yolo import YoloConfig
from vigia.vision.settings import VisionSettings


def test_both_builtin_backends_are_registered_by_type() -> None:
    assert registered() == {"yolo": YoloConfig, "opencv": OpenCVConfig}


def test_config_is_discriminated_on_type() -> None:
    assert isinstance(parse_config({"type": "opencv", "hog_width": 640}), OpenCVConfig)
    assert isinstance(parse_config({"type": "yolo", "model": "m.pt"}), YoloConfig)
    with pytest.raises(ValidationError):
        parse_config({"type": "tflite"})
    with pytest.raises(ValidationError):
        parse_config({"type": "opencv", "model": "m.pt"})  # a yolo field on the opencv config


def test_missing_yolo_weights_are_refused_instead_of_downloaded(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        build_detector({"type": "yolo", "model": str(tmp_path / "yolov8n.pt")})


def test_auto_picks_opencv_without_weights_and_yolo_with_them(tmp_path) -> None:
    missing = VisionSettings(vision_model=str(tmp_path / "none.pt"))
    assert missing.detector_config()["type"] == "opencv"
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    assert VisionSettings(vision_model=str(weights)).detector_config()["type"] == "yolo"
