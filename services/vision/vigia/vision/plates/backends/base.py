"""The plate-text recogniser contract and its registry.

A backend reads plate crops (already cut to their text band) and gives, for each crop, its
recogniser's per-step probabilities folded to blank + A-Z + 0-9
(:func:`vigia.vision.plates.ctc.fold`, columns :data:`vigia.vision.plates.ctc.CLASSES`). The plate
itself is then found by the slot-constrained CTC decoding (:func:`vigia.vision.plates.ctc.decode`)
and voted per visit (:mod:`vigia.vision.plates.voting`), the same for every backend.

A backend is one module of this package holding a class decorated with :func:`register`; the
package imports every module in it, so adding a backend is adding one file. ``VIGIA_PLATE_OCR_BACKEND``
names the one the vision worker builds (:func:`build_backend`).

Each backend also sets its confidence floor, ``min_confidence``: a decoded reading whose
characters are less certain than that (geometric mean, :attr:`vigia.vision.plates.ctc.Decoded.confidence`)
is no reading. Recognisers are calibrated differently -- the CRNN gives non-plate candidates
(grilles, signs) a valid-looking plate at 0.07-0.30 while its real reads sit well above -- so the
floor belongs to the backend, not to the decoder.

A backend may also read each crop as several views (test-time augmentation): a method
``views(crop) -> list[np.ndarray]`` whose first view is the crop as it is. Then every view of every
crop goes through one ``probabilities`` call and one batched decoding, and each crop's reading is
the plate its views agree on (:func:`vigia.vision.plates.ctc.agree`: the most summed confidence);
the floor applies to that reading.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

import numpy as np

from vigia.vision.plates.brazil import PlateFormat, PlateReading
from vigia.vision.plates.ctc import agree, decode_many

#: The confidence floor of a backend that does not set its own ``min_confidence``.
DEFAULT_MIN_CONFIDENCE = 0.05

if TYPE_CHECKING:
    from vigia.vision.settings import VisionSettings


class Backend(Protocol):
    """A plate-text recogniser. ``name`` is its registry key."""

    name: ClassVar[str]
    #: Readings less confident than this are dropped (see the module's docstring).
    min_confidence: ClassVar[float]

    @classmethod
    def from_settings(cls, settings: VisionSettings) -> Backend:
        """The backend as the vision worker's settings describe it (weights, device)."""
        ...

    def probabilities(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Per crop (BGR or grey), a (steps x 37) array: each step's probabilities of blank, A-Z,
        0-9 (:data:`vigia.vision.plates.ctc.CLASSES`), rows summing to 1. One batched call."""
        ...


B = TypeVar("B", bound=type)
_BACKENDS: dict[str, type[Any]] = {}


def register(cls: B) -> B:
    """Class decorator: register a backend under its ``name``."""
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{cls.__name__} needs a class attribute 'name'")
    if name in _BACKENDS and _BACKENDS[name] is not cls:
        raise ValueError(f"plate OCR backend {name!r} registered twice")
    _BACKENDS[name] = cls
    return cls


def registered() -> dict[str, type[Backend]]:
    """Backend name -> class, for every registered backend."""
    return dict(_BACKENDS)


def backend_class(name: str) -> type[Backend]:
    """The class registered as ``name``; ``ValueError`` naming the registered ones otherwise."""
    try:
        return _BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown plate OCR backend {name!r}; registered: {', '.join(sorted(_BACKENDS))}") from None


def build_backend(name: str, settings: VisionSettings) -> Backend:
    """The backend ``name`` built from the vision settings."""
    return backend_class(name).from_settings(settings)


def read_plates(backend: Backend, crops: Sequence[np.ndarray],
                priors: Sequence[Mapping[PlateFormat, float] | None] | None = None) -> list[PlateReading | None]:
    """The most likely valid Brazilian plate in each crop: the backend's probabilities decoded
    under each format's slot rules; ``priors`` weigh the formats per crop. With the backend's
    ``views``, each crop's views are decoded and agree on one reading. ``None`` for a crop whose
    reading is below the backend's ``min_confidence``."""
    floor = float(getattr(backend, "min_confidence", DEFAULT_MIN_CONFIDENCE))
    views = getattr(backend, "views", None)
    groups = [views(crop) for crop in crops] if views is not None else [[crop] for crop in crops]
    probs = backend.probabilities([view for group in groups for view in group])
    decoded = decode_many(probs, [priors[i] if priors else None for i, group in enumerate(groups) for _ in group], 0.0)
    readings: list[PlateReading | None] = []
    start = 0
    for group in groups:
        reading = agree(decoded[start:start + len(group)])
        start += len(group)
        readings.append(reading if reading is not None and reading.confidence >= floor else None)
    return readings
