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
    fetched = str(tmp_path / "fetched" / "yolov8n.pt")
    missing = VisionSettings(vision_model=str(tmp_path / "none.pt"), vision_model_fetched=fetched)
    config, why = missing.detector_choice()
    assert config["type"] == "opencv"
    assert "no YOLO weights" in why and "make models" in why and fetched in why  # the log and /readyz say why
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"x")
    config, why = VisionSettings(vision_model=str(weights), vision_model_fetched=fetched).detector_choice()
    assert config == {**config, "type": "yolo", "model": str(weights)} and "VIGIA_VISION_MODEL" in why


def test_fetched_weights_are_used_when_the_configured_ones_do_not_exist(tmp_path) -> None:
    fetched = tmp_path / "var" / "models" / "yolov8n.pt"
    fetched.parent.mkdir(parents=True)
    fetched.write_bytes(b"x")
    settings = VisionSettings(vision_model="/models/yolov8n.pt", vision_model_fetched=str(fetched))
    config, why = settings.detector_choice()
    assert config["type"] == "yolo" and config["model"] == str(fetched) and "fetched" in why
    assert VisionSettings(vision_detector="opencv", vision_model_fetched=str(fetched)).detector_config() == {
        "type": "opencv", "hog_width": 800}


def test_per_camera_motion_sensitivity_is_validated_naming_the_field() -> None:
    camera = "0192f3a0-0000-7000-8000-000000000001"
    gate = VisionSettings(vision_motion_cameras={camera: {"threshold": 12}}).motion_gate()
    assert gate is not None and gate.config_for(camera).threshold == 12 and gate.config_for("x").threshold == 25
    with pytest.raises(ValidationError, match="threshold"):
        VisionSettings(vision_motion_cameras={camera: {"threshold": 0}})
    with pytest.raises(ValidationError, match="sensitivity"):
        VisionSettings(vision_motion_cameras={camera: {"sensitivity": 3}})
    with pytest.raises(ValidationError, match="camera id"):
        VisionSettings(vision_motion_cameras={"front-door": {"threshold": 12}})
    assert VisionSettings(vision_motion=False).motion_gate() is None
