"""Brazilian licence plates: validation and slot-aware correction of OCR confusions.

Two formats are valid: Mercosul ``ABC1D23`` (letter letter letter digit letter digit digit) and
the old grey plate ``ABC-1234`` (three letters, four digits; the hyphen is printed, OCR often
drops it). Each slot of a format says whether it holds a letter or a digit, so an OCR slip of a
look-alike (``0``/``O``, ``1``/``I``, ``5``/``S``, ``8``/``B``, ``2``/``Z``, ``6``/``G``, ``4``/``A``,
``7``/``T``) is fixed by the slot, and the format that needs the fewest fixes wins.

Canonical text: Mercosul without separator (``ABC1D23``), old with its hyphen (``ABC-1234``);
:func:`plate_key` gives the 7-character form without the hyphen, used for voting and comparing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

PlateFormat = Literal["mercosul", "old"]

L, N = "L", "N"
FORMATS: dict[PlateFormat, str] = {"mercosul": "LLLNLNN", "old": "LLLNNNN"}

#: What a digit read in a letter slot most likely was, and the reverse.
DIGIT_TO_LETTER = {"0": "O", "1": "I", "5": "S", "8": "B", "2": "Z", "6": "G", "4": "A", "7": "T"}
LETTER_TO_DIGIT = {"O": "0", "Q": "0", "D": "0", "U": "0", "I": "1", "L": "1", "J": "1", "S": "5",
                   "B": "8", "Z": "2", "G": "6", "A": "4", "T": "7"}

#: Each correction multiplies the reading's confidence by this: a fixed slot is a weaker reading.
CORRECTION_PENALTY = 0.85
#: Extra characters (border or screw read as a glyph) may be dropped, at this cost each.
MAX_EXTRA_CHARS = 2

_MERCOSUL = re.compile(r"^[A-Z]{3}[0-9][A-Z][0-9]{2}$")
_OLD = re.compile(r"^[A-Z]{3}-?[0-9]{4}$")


@dataclass(frozen=True)
class PlateReading:
    """A valid plate read from OCR text: canonical ``text``, ``confidence`` in [0, 1] (the OCR's,
    lowered per correction), its ``format`` and how many characters were ``corrected``; ``slots``,
    when the reader knew them, holds per slot the probabilities of the likeliest characters."""

    text: str
    confidence: float
    format: PlateFormat
    corrected: int = 0
    slots: tuple[Mapping[str, float], ...] | None = None

    @property
    def key(self) -> str:
        return plate_key(self.text)


def plate_key(text: str) -> str:
    """The 7-character comparison form of a plate: uppercase, separators removed."""
    return re.sub(r"[^A-Z0-9]", "", text.upper())


def plate_format(text: str) -> PlateFormat | None:
    """The format of a valid plate (hyphen optional for the old format), else ``None``."""
    upper = text.upper()
    if _MERCOSUL.match(upper):
        return "mercosul"
    if _OLD.match(upper):
        return "old"
    return None


def canonical(key: str, fmt: PlateFormat) -> str:
    """``key`` (7 characters) written the way the format is printed."""
    return f"{key[:3]}-{key[3:]}" if fmt == "old" else key


def fit_format(chars: str, fmt: PlateFormat) -> tuple[str, int] | None:
    """``chars`` (7 characters) made to fit ``fmt`` slot by slot: the fixed text and the number of
    fixes, or ``None`` when some slot holds a character with no look-alike of the right kind."""
    if len(chars) != 7:
        return None
    out: list[str] = []
    fixes = 0
    for char, slot in zip(chars, FORMATS[fmt], strict=True):
        if slot == L:
            if char.isalpha():
                out.append(char)
            elif char in DIGIT_TO_LETTER:
                out.append(DIGIT_TO_LETTER[char])
                fixes += 1
            else:
                return None
        elif char.isdigit():
            out.append(char)
        elif char in LETTER_TO_DIGIT:
            out.append(LETTER_TO_DIGIT[char])
            fixes += 1
        else:
            return None
    return "".join(out), fixes


def correct_plate(raw: str, confidence: float = 1.0) -> PlateReading | None:
    """The most likely valid plate behind OCR text ``raw``, or ``None`` if none is plausible.

    Non-alphanumerics are dropped; up to :data:`MAX_EXTRA_CHARS` surplus characters at either end
    may be dropped too (each counts as a fix), and an eighth character where the old plate's
    hyphen is (read as a glyph) is dropped at no cost. Among the windows and formats that fit, the fewest fixes
    win; on a tie Mercosul (the current format) wins.
    """
    chars = plate_key(raw)
    extra = len(chars) - 7
    if extra < 0 or extra > MAX_EXTRA_CHARS:
        return None
    # (characters, what dropping them costs): every 7-character window; and for 8 characters,
    # the old plate's hyphen read as a glyph (often I, J or H), dropped for free for that format.
    options: list[tuple[str, int, tuple[PlateFormat, ...]]] = []
    if len(chars) == 8:  # first, so it wins ties
        options.append((chars[:3] + chars[4:], 0, ("old",)))
    options += [(chars[start:start + 7], extra, ("mercosul", "old")) for start in range(extra + 1)]
    best: tuple[int, int, str, PlateFormat] | None = None  # (fixes, format rank, key, format)
    for window, dropped, formats in options:
        for fmt in formats:
            rank = 0 if fmt == "mercosul" else 1
            fitted = fit_format(window, fmt)
            if fitted is None:
                continue
            key, fixes = fitted
            candidate = (fixes + dropped, rank, key, fmt)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    if best is None:
        return None
    fixes, _, key, fmt = best
    conf = max(0.0, min(1.0, float(confidence))) * CORRECTION_PENALTY ** fixes
    return PlateReading(canonical(key, fmt), conf, fmt, fixes)
