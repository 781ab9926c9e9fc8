"""The ``crnn`` backend: the project's own plate-text recogniser, trained on synthetic Brazilian
plates (:mod:`vigia.vision.plates.training`; ``make train-plates`` retrains it).

Its weights ship in the package (``plates/weights/crnn.pt``, with the training run's figures in
``crnn.json`` beside them), so nothing is downloaded. The network already answers in
:data:`vigia.vision.plates.ctc.CLASSES` order, so its softmax is the folded probability matrix the
slot-constrained decoder and the per-visit vote take, as for every backend.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import cv2
import numpy as np

from vigia.vision.plates.backends.base import read_plates, register
from vigia.vision.plates.brazil import PlateFormat, PlateReading

if TYPE_CHECKING:
    from vigia.vision.settings import VisionSettings

#: The weights that ship with the package.
DEFAULT_WEIGHTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights", "crnn.pt")
#: Share of a crop's width each of the trimmed views cuts off one side.
VIEW_TRIM = 0.04


@register
class CrnnBackend:
    """Reads plate crops with the trained CRNN, each crop as five views (:meth:`views`) in one
    network call, the views agreeing on one reading (:func:`vigia.vision.plates.ctc.agree`).

    Held-out frames (``tests/bench/bench_plates.py --frames 1000 --backends crnn --seed 0``), exact
    per frame, one view -> five: clean 0.947 -> 0.969 Mercosul, 0.950 -> 0.961 old; degraded
    0.905 -> 0.914, 0.906 -> 0.923. The views were chosen on the training generator's validation
    crops (exact 0.767 -> 0.794) and the held-out dev seeds 98 and 99 (clean 0.957 -> 0.968 and
    0.949 -> 0.965), seed 0 only confirmed them. CPU 11-13 ms a crop on the idle 2-core machine
    (EasyOCR 29-35 ms on the same frames; about 21 ms and 51-54 ms with other work running, 17 ms
    with one view). camsim per visit (seeds 1-5,
    120 s): 101 of 101, one wrong read (two with one view).

    A missing, damaged or foreign weights file is refused when the backend is built, with a
    :class:`vigia.vision.plates.training.model.WeightsError` naming the file and the reason."""

    name: ClassVar[str] = "crnn"
    #: A floor on the views' agreed reading (mean over the five views, see :func:`.ctc.agree`). On
    #: camsim (seeds 1-5, 120 s, 534 crops) correct readings agree at 0.75 or more, non-plate
    #: candidates at 0.40 once and 0.26 or less otherwise; on the held-out dev seeds 98 and 99 a
    #: floor up to 0.375 loses no exact read, 0.4 already 0.5 % of clean frames (views split 2:1:1:1).
    min_confidence: ClassVar[float] = 0.35

    def __init__(self, weights: str | None = None, threads: int | None = None) -> None:
        import torch

        from vigia.vision.plates.training import model

        self.weights = weights or DEFAULT_WEIGHTS
        if threads:
            torch.set_num_threads(threads)
        self.net: Any = model.load(self.weights)

    @classmethod
    def from_settings(cls, settings: VisionSettings) -> CrnnBackend:
        return cls()

    def views(self, crop: np.ndarray) -> list[np.ndarray]:
        """The crop as the network reads it (grey) and four views of it: :data:`VIEW_TRIM` of
        its width cut off the left, then off the right, and the band moved up and down by one
        row of the network's input. The text band's edges are where crops differ most (a frame
        or emblem beside the first glyph, a glyph's top or bottom row cut)."""
        from vigia.vision.plates.training import model

        grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        h, w = grey.shape
        trim = max(1, round(VIEW_TRIM * w))
        row = h / model.INPUT_HEIGHT

        def moved(dy: float) -> np.ndarray:
            shift = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, dy]], np.float32)
            return cv2.warpAffine(grey, shift, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)

        return [grey, grey[:, trim:], grey[:, :w - trim], moved(-row), moved(row)]

    def probabilities(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per crop, the network's (24 x 37) step probabilities over blank + A-Z + 0-9: one batch."""
        from vigia.vision.plates.training import model

        return model.probabilities(self.net, crops)

    def read_plates(self, crops: Sequence[np.ndarray],
                    priors: Sequence[Mapping[PlateFormat, float] | None] | None = None) -> list[PlateReading | None]:
        """:func:`vigia.vision.plates.backends.read_plates` with this backend."""
        return read_plates(self, crops, priors)
