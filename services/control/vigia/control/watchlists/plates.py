"""Brazilian licence plates as watch-lists hold them: upper case, letters and digits only."""

from __future__ import annotations

import re

#: Old ``ABC1234`` and Mercosul ``ABC1D23`` share every slot but the fifth (digit or letter).
PLATE = re.compile(r"^[A-Z]{3}[0-9][0-9A-Z][0-9]{2}$")
_SEPARATORS = re.compile(r"[\s-]")


class InvalidPlate(ValueError):
    """Not a Brazilian plate, old or Mercosul."""


def normalise(text: str) -> str:
    """``" abc-1d23"`` -> ``"ABC1D23"``; raises :class:`InvalidPlate` for anything but a plate."""
    plate = _SEPARATORS.sub("", text).upper()
    if not PLATE.match(plate):
        raise InvalidPlate(f"{text!r} is not a Brazilian plate (ABC1234 or Mercosul ABC1D23)")
    return plate
