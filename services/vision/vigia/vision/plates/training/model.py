"""The plate-text recogniser: a small CRNN read with CTC over blank + A-Z + 0-9.

A crop (BGR or grey, any size) becomes a grey :data:`INPUT_HEIGHT` x :data:`INPUT_WIDTH` image
(:func:`prepare`: stretched to that size, its contrast spread between the 2nd and 98th
percentiles, so night, infrared and washed-out crops look alike to the network). Five 3x3
convolutions shrink it to a 3 x 24 map; each of the 24 columns is one CTC step, read by two
convolutions along the steps (each step sees its neighbours: about two characters either side)
and a linear layer into :data:`vigia.vision.plates.ctc.CLASSES` order (column 0 blank). It is
convolutional throughout because on a shared 2-core CPU an LSTM cost as much as the whole
feature stack, for text whose length and layout are fixed. The softmax is already the folded probability matrix that
:func:`vigia.vision.plates.ctc.decode` expects.

The weights file (:func:`save` / :func:`load`) is a ``torch.save`` of ``{"format", "config",
"state"}``: the architecture's size is stored with the weights, so a file always rebuilds the net
it was trained as.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from vigia.vision.plates.ctc import CLASSES

INPUT_HEIGHT = 24
INPUT_WIDTH = 96
WEIGHTS_FORMAT = "vigia-crnn-1"


@dataclass(frozen=True)
class CrnnConfig:
    """The network's size: channels of the five convolutions and of the two step convolutions."""

    channels: tuple[int, int, int, int, int] = (16, 32, 48, 64, 64)
    hidden: int = 128
    classes: int = len(CLASSES)


def _conv(cin: int, cout: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


class PlateCRNN(nn.Module):
    """(N, 1, 24, 96) grey in [-1, 1] -> (N, 24, classes) logits, one row per CTC step."""

    def __init__(self, config: CrnnConfig | None = None) -> None:
        super().__init__()
        self.config = config or CrnnConfig()
        c1, c2, c3, c4, c5 = self.config.channels
        self.features = nn.Sequential(
            *_conv(1, c1), nn.MaxPool2d(2),  # 12 x 48
            *_conv(c1, c2), nn.MaxPool2d(2),  # 6 x 24
            *_conv(c2, c3), *_conv(c3, c4), nn.MaxPool2d((2, 1)),  # 3 x 24
            *_conv(c4, c5),
        )
        hidden = self.config.hidden
        self.sequence = nn.Sequential(
            nn.Conv1d(c5 * (INPUT_HEIGHT // 8), hidden, 3, padding=1, bias=False), nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True), nn.Dropout(0.1),
            nn.Conv1d(hidden, hidden, 3, padding=1, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, self.config.classes, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x)  # N, C, 3, 24
        n, c, h, w = f.shape
        logits = self.sequence(f.reshape(n, c * h, w))  # N, classes, steps
        return logits.transpose(1, 2)


def prepare(crop: np.ndarray) -> np.ndarray:
    """A crop as the network reads it: grey, :data:`INPUT_HEIGHT` x :data:`INPUT_WIDTH`, float32
    in [-1, 1] with its contrast stretched (2nd-98th percentile to the full range)."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    interpolation = cv2.INTER_AREA if grey.shape[0] > INPUT_HEIGHT else cv2.INTER_LINEAR
    line = cv2.resize(grey, (INPUT_WIDTH, INPUT_HEIGHT), interpolation=interpolation).astype(np.float32)
    low, high = np.percentile(line, (2, 98))
    span = max(float(high - low), 16.0)
    return np.clip((line - float(low)) / span * 2.0 - 1.0, -1.0, 1.0)


def save(path: str, model: PlateCRNN, meta: Mapping[str, Any] | None = None) -> None:
    """Writes ``model``'s weights (float16 halves the file; the net runs in float32) and ``meta``."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    plain = json.loads(json.dumps(dict(meta or {}), default=str))  # torch.load(weights_only) takes plain types only
    torch.save({"format": WEIGHTS_FORMAT, "config": asdict(model.config), "state": state, "meta": plain}, path)


class WeightsError(ValueError):
    """The weights file is missing, unreadable or not a plate CRNN's."""


def load(path: str) -> PlateCRNN:
    """The network stored at ``path``, in eval mode; :class:`WeightsError` says why it cannot be."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise WeightsError(f"plate CRNN weights not found: {path!r}") from exc
    except Exception as exc:  # torch raises many kinds on a damaged file
        raise WeightsError(f"plate CRNN weights unreadable ({path!r}): {exc.__class__.__name__}: {exc}") from exc
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise WeightsError(f"{path!r} is not a {WEIGHTS_FORMAT} weights file")
    config = blob["config"]
    model = PlateCRNN(CrnnConfig(channels=tuple(config["channels"]), hidden=int(config["hidden"]),
                                 classes=int(config["classes"])))
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state"].items()})
    except RuntimeError as exc:
        raise WeightsError(f"plate CRNN weights do not fit the network ({path!r}): {exc}") from exc
    model.eval()
    return model


def probabilities(model: PlateCRNN, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Per-step class probabilities (steps x :data:`CLASSES`, float64) of each crop, one batch."""
    if not crops:
        return []
    batch = torch.from_numpy(np.stack([prepare(c) for c in crops])[:, None])
    with torch.inference_mode():
        probs = torch.softmax(model(batch), dim=2).numpy().astype(np.float64)
    return list(probs)
