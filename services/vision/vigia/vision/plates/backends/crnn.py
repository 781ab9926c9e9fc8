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

import numpy as np

from vigia.vision.plates.backends.base import read_plates, register
from vigia.vision.plates.brazil import PlateFormat, PlateReading

if TYPE_CHECKING:
    from vigia.vision.settings import VisionSettings

#: The weights that ship with the package.
DEFAULT_WEIGHTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "weights", "crnn.pt")


@register
class CrnnBackend:
    """Reads plate crops with the trained CRNN (CPU; a few milliseconds a crop).

    A missing, damaged or foreign weights file is refused when the backend is built, with a
    :class:`vigia.vision.plates.training.model.WeightsError` naming the file and the reason."""

    name: ClassVar[str] = "crnn"
    #: On camsim (seeds 1-5, 120 s) the CRNN reads non-plate candidates as plates at 0.07-0.53 and
    #: its correct readings at 0.72 or more; on the held-out dev seed the floor loses no exact read.
    min_confidence: ClassVar[float] = 0.5

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

    def probabilities(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per crop, the network's (24 x 37) step probabilities over blank + A-Z + 0-9: one batch."""
        from vigia.vision.plates.training import model

        return model.probabilities(self.net, crops)

    def read_plates(self, crops: Sequence[np.ndarray],
                    priors: Sequence[Mapping[PlateFormat, float] | None] | None = None) -> list[PlateReading | None]:
        """:func:`vigia.vision.plates.backends.read_plates` with this backend."""
        return read_plates(self, crops, priors)
