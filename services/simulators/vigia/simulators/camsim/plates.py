"""Brazilian licence plates: random valid strings in both formats and their rendered images.

Formats: Mercosul ``ABC1D23`` (letters, digit, letter, two digits; white plate, blue "BRASIL" band)
and the old grey ``ABC-1234`` (three letters, hyphen, four digits). Only numpy and OpenCV are used,
so the RTSP server can import this under Debian's system python3.
"""

from __future__ import annotations

import random
import re
import string
from typing import Literal

import cv2
import numpy as np

PlateFormat = Literal["mercosul", "old"]

MERCOSUL_RE = re.compile(r"^[A-Z]{3}[0-9][A-Z][0-9]{2}$")
OLD_RE = re.compile(r"^[A-Z]{3}-[0-9]{4}$")

# Real plates are 400 x 130 mm; images are drawn at twice this many pixels and scaled down.
PLATE_ASPECT = 400 / 130
CANVAS_W, CANVAS_H = 800, 260

MERCOSUL_BLUE = (153, 51, 0)  # BGR of the Mercosul band
OLD_GREY = (192, 192, 188)
INK = (20, 20, 20)


def random_plate(rng: random.Random, fmt: PlateFormat) -> str:
    """A random, valid plate string of format ``fmt`` drawn from ``rng``."""
    letters = string.ascii_uppercase
    head = "".join(rng.choice(letters) for _ in range(3))
    if fmt == "mercosul":
        return f"{head}{rng.choice(string.digits)}{rng.choice(letters)}{rng.choice(string.digits)}" \
               f"{rng.choice(string.digits)}"
    return f"{head}-{''.join(rng.choice(string.digits) for _ in range(4))}"


def plate_format(text: str) -> PlateFormat | None:
    """The format of ``text`` if it is a valid plate in either format, else ``None``."""
    if MERCOSUL_RE.match(text):
        return "mercosul"
    if OLD_RE.match(text):
        return "old"
    return None


def _put_centered(img: np.ndarray, text: str, box: tuple[int, int, int, int], font: int,
                  colour: tuple[int, int, int], thickness_ratio: float) -> None:
    """Draw ``text`` as large as fits in ``box`` (x, y, w, h), centred."""
    x, y, w, h = box
    # Stroke width follows the box height so the text is bold at any scale, with either renderer
    # (OpenCV 4 draws Hershey strokes, OpenCV 5 an outline font).
    thickness = max(1, round(h * thickness_ratio))
    (tw, th), _ = cv2.getTextSize(text, font, 1.0, thickness)
    scale = min(w / tw, h / th)
    (tw, th), _ = cv2.getTextSize(text, font, scale, thickness)
    org = (x + (w - tw) // 2, y + (h + th) // 2)
    cv2.putText(img, text, org, font, scale, colour, thickness, cv2.LINE_AA)


def render_plate(text: str) -> np.ndarray:
    """The plate ``text`` as a BGR image of ``CANVAS_W`` x ``CANVAS_H`` pixels.

    Raises ``ValueError`` if ``text`` is not a valid plate.
    """
    fmt = plate_format(text)
    if fmt is None:
        raise ValueError(f"not a Brazilian plate: {text!r}")
    font = cv2.FONT_HERSHEY_DUPLEX
    if fmt == "mercosul":
        img = np.full((CANVAS_H, CANVAS_W, 3), 250, np.uint8)
        band = 56
        cv2.rectangle(img, (0, 0), (CANVAS_W, band), MERCOSUL_BLUE, -1)
        _put_centered(img, "BRASIL", (260, 8, 280, band - 16), cv2.FONT_HERSHEY_SIMPLEX, (255, 255, 255), 0.1)
        # The Mercosul emblem (left) and the flag (right) are small marks in the band.
        cv2.circle(img, (40, band // 2), 16, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.rectangle(img, (CANVAS_W - 76, 14), (CANVAS_W - 30, band - 14), (60, 160, 40), -1)
        _put_centered(img, text, (34, band + 26, CANVAS_W - 68, CANVAS_H - band - 52), font, INK, 0.11)
    else:
        img = np.full((CANVAS_H, CANVAS_W, 3), OLD_GREY, np.uint8)
        _put_centered(img, text, (44, 56, CANVAS_W - 88, CANVAS_H - 112), font, INK, 0.11)
    cv2.rectangle(img, (4, 4), (CANVAS_W - 5, CANVAS_H - 5), INK, 8)
    return img
