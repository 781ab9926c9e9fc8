"""Plate OCR backends behind one registry (see :mod:`.base`). Importing this package imports every
module in it, so each backend registers itself: adding a backend is adding one file here."""

import importlib
import pkgutil

from vigia.vision.plates.backends.base import (
    Backend,
    backend_class,
    build_backend,
    read_plates,
    register,
    registered,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["Backend", "backend_class", "build_backend", "read_plates", "register", "registered"]
