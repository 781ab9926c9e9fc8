"""Plate OCR with EasyOCR: kept for its import path; the backend lives in
:mod:`vigia.vision.plates.backends.easyocr` (one file per backend, see
:mod:`vigia.vision.plates.backends`)."""

from vigia.vision.plates.backends.easyocr import (
    ALLOWLIST,
    LINE_HEIGHT,
    TextRead,
    default_model_dir,
)
from vigia.vision.plates.backends.easyocr import EasyOCRBackend as PlateOCR

__all__ = ["ALLOWLIST", "LINE_HEIGHT", "PlateOCR", "TextRead", "default_model_dir"]
