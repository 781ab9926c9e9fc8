"""The detector contract and its registry.

A backend is one module that declares a pydantic config with a ``type`` literal and registers a
factory for it with :func:`register`; :func:`build_detector` parses a config (a dict or a model)
against every registered config, discriminated on ``type``, and builds the backend. Adding a
backend is adding one file (and importing it in :mod:`vigia.vision.detectors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Protocol, TypeVar, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

BoxXYXY = tuple[float, float, float, float]

#: Labels a detector may report; vehicles are the objects plates are read on.
VEHICLE_LABELS = frozenset({"car", "motorcycle", "bus", "truck"})
LABELS = VEHICLE_LABELS | {"person", "plate"}


@dataclass(frozen=True)
class Detection:
    """One object in one frame: ``label`` (see :data:`LABELS`), ``confidence`` in [0, 1] and
    ``box`` (x1, y1, x2, y2) in pixels of that frame, clipped to it."""

    label: str
    confidence: float
    box: BoxXYXY

    @property
    def is_vehicle(self) -> bool:
        return self.label in VEHICLE_LABELS


class Detector(Protocol):
    """A batch object detector. ``finds_vehicles`` says whether plates can be searched inside
    vehicle boxes; ``finds_plates`` whether the detector itself reports plate boxes."""

    name: str
    finds_vehicles: bool
    finds_plates: bool

    def detect(self, frames: Sequence[np.ndarray]) -> list[list[Detection]]:
        """Detections of each BGR frame, in order (one list per frame, possibly empty)."""
        ...


class DetectorConfig(BaseModel):
    """Base of every backend's config; subclasses set ``type: Literal["<name>"]``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    type: str
    confidence: float = Field(0.35, ge=0, le=1, description="Lowest confidence reported.")


C = TypeVar("C", bound=DetectorConfig)
Factory = Callable[[Any], Detector]


class _Registry:
    configs: ClassVar[dict[str, type[DetectorConfig]]] = {}
    factories: ClassVar[dict[str, Factory]] = {}


def register(config: type[C]) -> Callable[[Callable[[C], Detector]], Callable[[C], Detector]]:
    """Register the factory of a backend for its config class (keyed by its ``type`` default)."""
    name = config.model_fields["type"].default
    if not isinstance(name, str):
        raise TypeError(f"{config.__name__}.type needs a default literal value")

    def decorate(factory: Callable[[C], Detector]) -> Callable[[C], Detector]:
        if name in _Registry.configs:
            raise ValueError(f"detector type {name!r} registered twice")
        _Registry.configs[name] = config
        _Registry.factories[name] = factory
        return factory

    return decorate


def registered() -> dict[str, type[DetectorConfig]]:
    """Backend type -> config class, for every registered backend."""
    return dict(_Registry.configs)


def parse_config(value: DetectorConfig | dict[str, Any]) -> DetectorConfig:
    """Validate ``value`` against the registered configs, discriminated on ``type``."""
    if isinstance(value, DetectorConfig):
        return value
    configs = tuple(_Registry.configs.values())
    if not configs:
        raise RuntimeError("no detector backend registered")
    if len(configs) == 1:
        return configs[0].model_validate(value)
    union = Annotated[Union[configs], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007
    return TypeAdapter(union).validate_python(value)


def build_detector(value: DetectorConfig | dict[str, Any]) -> Detector:
    """The backend described by ``value`` (see :func:`parse_config`)."""
    config = parse_config(value)
    return _Registry.factories[config.type](config)
