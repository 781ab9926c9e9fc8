"""Synthetic Brazilian plate crops for training the plate-text recogniser.

Kept apart on purpose from camsim's renderer (``vigia.simulators.camsim.plates``) and from the
held-out validation generator of the tests: its own typefaces (:data:`TRAINING_FONT_FAMILIES`,
Debian font packages that neither of them uses, plus glyphs this module draws itself after the
plates' regulation shapes, and OpenCV's Hershey faces), its own furniture and its own distortions.

A sample is drawn in three steps, each from one seeded generator (``numpy.random.default_rng((seed,
index))``, so sample *i* of a seed is the same on any machine and in any worker):

1. :func:`render_plate` draws a plate face at 1.2 px/mm: the Mercosul plate (white body, blue
   "BRASIL" band with the emblem and the flag, the small "BR" and QR mark, ``LLLNLNN`` in one of
   its six ink colours) or the old plate (grey or red body, the city/state strip, ``LLL-NNNN``),
   with screws, a frame, dirt and wear.
2. :func:`place` puts it on a vehicle-coloured background under a random perspective (yaw, pitch,
   roll) and cuts a crop the way a plate finder would: tight on the plate, on its body only (the
   Mercosul band left out), or loose with the car around it, at the size a camera would see it
   (plates 55-260 px wide).
3. :func:`degrade` applies what cameras do to it: motion and focus blur, night, infrared,
   over-exposure, shadows, sensor noise, JPEG at qualities 12-95; a share of the samples stays
   clean. Then, as the vision pipeline does before OCR, :func:`vigia.vision.plates.enhance.plate_text`
   cuts most crops to their text band.

The result (:class:`Sample`) is the crop exactly as the recogniser receives it in the pipeline.
"""

from __future__ import annotations

import functools
import glob
import os
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from vigia.vision.plates.brazil import FORMATS, PlateFormat
from vigia.vision.plates.enhance import plate_text

Rng = np.random.Generator

#: Typeface families the training data is drawn in: family -> font files (globs) of the Debian
#: packages named in the comment. The held-out validation generator must use none of these
#: families (a test checks it). Bold and condensed cuts are listed where a family has them.
TRAINING_FONT_FAMILIES: dict[str, tuple[str, ...]] = {
    # fonts-opendin: a DIN 1451 cut, the lineage of the old plates' "Mandatory" face.
    "OSP-DIN": ("/usr/share/fonts/truetype/opendin/OSP-DIN.ttf",),
    # fonts-liberation
    "Liberation Sans": ("/usr/share/fonts/truetype/liberation/LiberationSans-Bold.ttf",
                        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    "Liberation Sans Narrow": ("/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Bold.ttf",
                               "/usr/share/fonts/truetype/liberation/LiberationSansNarrow-Regular.ttf"),
    # fonts-freefont-ttf
    "FreeSans": ("/usr/share/fonts/truetype/freefont/FreeSansBold.ttf",
                 "/usr/share/fonts/truetype/freefont/FreeSans.ttf"),
    # fonts-croscore
    "Arimo": ("/usr/share/fonts/truetype/croscore/Arimo-Bold.ttf",
              "/usr/share/fonts/truetype/croscore/Arimo-Regular.ttf"),
    # fonts-lato
    "Lato": ("/usr/share/fonts/truetype/lato/Lato-Bold.ttf", "/usr/share/fonts/truetype/lato/Lato-Black.ttf",
             "/usr/share/fonts/truetype/lato/Lato-Heavy.ttf", "/usr/share/fonts/truetype/lato/Lato-Semibold.ttf"),
    # fonts-cantarell
    "Cantarell": ("/usr/share/fonts/opentype/cantarell/Cantarell-Bold.otf",
                  "/usr/share/fonts/opentype/cantarell/Cantarell-ExtraBold.otf"),
    # fonts-inter
    "Inter": ("/usr/share/fonts/opentype/inter/Inter-Bold.otf", "/usr/share/fonts/opentype/inter/Inter-SemiBold.otf",
              "/usr/share/fonts/opentype/inter/Inter-ExtraBold.otf"),
    # fonts-league-spartan
    "League Spartan": ("/usr/share/fonts/opentype/league-spartan/LeagueSpartan-Bold.otf",
                       "/usr/share/fonts/opentype/league-spartan/LeagueSpartan-SemiBold.otf"),
    # fonts-karla
    "Karla": ("/usr/share/fonts/truetype/karla/Karla-Bold.otf", "/usr/share/fonts/truetype/karla/Karla-ExtraBold.otf"),
    # fonts-cabin
    "Cabin": ("/usr/share/fonts/opentype/cabin/Cabin-Bold.otf", "/usr/share/fonts/opentype/cabin/Cabin-SemiBold.otf"),
    # fonts-clear-sans
    "Clear Sans": ("/usr/share/fonts/truetype/clear-sans/ClearSans-Bold.ttf",
                   "/usr/share/fonts/truetype/clear-sans/ClearSans-Medium.ttf"),
    # fonts-play
    "Play": ("/usr/share/fonts/truetype/play/Play-Bold.ttf",),
    # fonts-bebas-neue: capitals only, condensed, like the Mercosul face.
    "Bebas Neue": ("/usr/share/fonts/opentype/bebas-neue/BebasNeue-Bold.otf",
                   "/usr/share/fonts/opentype/bebas-neue/BebasNeue-Regular.otf"),
    # fonts-adf-switzera
    "Switzera ADF": ("/usr/share/fonts/truetype/adf/SwitzeraADF-BoldCond.otf",
                     "/usr/share/fonts/truetype/adf/SwitzeraADF-DmBdCond.otf",
                     "/usr/share/fonts/truetype/adf/SwitzeraADF-Bold.otf"),
    # fonts-adf-gillius
    "Gillius ADF": ("/usr/share/fonts/truetype/adf/GilliusADF-BoldCond.otf",
                    "/usr/share/fonts/truetype/adf/GilliusADF-Bold.otf"),
    # fonts-jura
    "Jura": ("/usr/share/fonts/opentype/jura/Jura-Bold.otf", "/usr/share/fonts/opentype/jura/Jura-SemiBold.otf"),
    # fonts-beteckna
    "Beteckna": ("/usr/share/fonts/truetype/beteckna/BetecknaGSCondensed-Bold.ttf",
                 "/usr/share/fonts/truetype/beteckna/BetecknaGS-Bold.ttf"),
    # fonts-manrope
    "Manrope": ("/usr/share/fonts/opentype/manrope/manrope-bold.otf",
                "/usr/share/fonts/opentype/manrope/manrope-extrabold.otf",
                "/usr/share/fonts/truetype/manrope/Manrope-Bold.ttf"),
}
#: Glyphs drawn by this module (:data:`DRAWN_GLYPHS`) and OpenCV's vector faces.
DRAWN_FAMILY = "Vigia Drawn"
HERSHEY_FAMILY = "Hershey"
#: The Debian packages that hold :data:`TRAINING_FONT_FAMILIES` (deploy/local/bootstrap.sh).
FONT_PACKAGES = ("fonts-opendin", "fonts-liberation", "fonts-freefont-ttf", "fonts-croscore", "fonts-lato",
                 "fonts-cantarell", "fonts-inter", "fonts-league-spartan", "fonts-karla", "fonts-cabin",
                 "fonts-clear-sans", "fonts-play", "fonts-bebas-neue", "fonts-adf-switzera",
                 "fonts-adf-gillius", "fonts-jura", "fonts-beteckna", "fonts-manrope")

MM = 1.2  # pixels per millimetre of the drawn plate face
PLATE_W, PLATE_H = round(400 * MM), round(130 * MM)

_O = [(0.2, 0), (0.8, 0), (1, 0.15), (1, 0.85), (0.8, 1), (0.2, 1), (0, 0.85), (0, 0.15), (0.2, 0)]
_P = [(0, 1), (0, 0), (0.8, 0), (1, 0.12), (1, 0.45), (0.8, 0.57), (0, 0.57)]
_SIX = [(0.95, 0.1), (0.8, 0), (0.2, 0), (0, 0.15), (0, 0.85), (0.2, 1), (0.8, 1), (1, 0.85), (1, 0.6),
        (0.8, 0.47), (0.2, 0.47), (0, 0.58)]
#: Stroke skeletons of A-Z and 0-9 in a unit cell (x right, y down), after the angular shapes of
#: the plates' faces (Mercosul's FE-type and the old plates' DIN-type): polylines drawn thick.
DRAWN_GLYPHS: dict[str, list[list[tuple[float, float]]]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.2, 0.62), (0.8, 0.62)]],
    "B": [[(0, 0), (0.75, 0), (0.95, 0.1), (0.95, 0.38), (0.75, 0.48), (0, 0.48)],
          [(0.75, 0.48), (1, 0.6), (1, 0.88), (0.8, 1), (0, 1), (0, 0)]],
    "C": [[(1, 0.15), (0.8, 0), (0.2, 0), (0, 0.15), (0, 0.85), (0.2, 1), (0.8, 1), (1, 0.85)]],
    "D": [[(0, 0), (0.7, 0), (1, 0.2), (1, 0.8), (0.7, 1), (0, 1), (0, 0)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.8, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.8, 0.5)]],
    "G": [[(1, 0.15), (0.8, 0), (0.2, 0), (0, 0.15), (0, 0.85), (0.2, 1), (0.8, 1), (1, 0.85), (1, 0.55),
           (0.55, 0.55)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "I": [[(0.5, 0), (0.5, 1)]],
    "J": [[(1, 0), (1, 0.85), (0.8, 1), (0.2, 1), (0, 0.85), (0, 0.7)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.62)], [(0.32, 0.42), (1, 1)]],
    "L": [[(0, 0), (0, 1), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "O": [_O],
    "P": [_P],
    "Q": [_O, [(0.6, 0.75), (1.0, 1.05)]],
    "R": [_P, [(0.55, 0.57), (1, 1)]],
    "S": [[(1, 0.12), (0.85, 0), (0.15, 0), (0, 0.12), (0, 0.38), (0.15, 0.48), (0.85, 0.52), (1, 0.62), (1, 0.88),
           (0.85, 1), (0.15, 1), (0, 0.88)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0, 0), (0, 0.85), (0.2, 1), (0.8, 1), (1, 0.85), (1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.22, 1), (0.5, 0.35), (0.78, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "Z": [[(0, 0), (1, 0), (0, 1), (1, 1)]],
    "0": [[(0.25, 0), (0.75, 0), (1, 0.2), (1, 0.8), (0.75, 1), (0.25, 1), (0, 0.8), (0, 0.2), (0.25, 0)]],
    "1": [[(0.15, 0.22), (0.6, 0), (0.6, 1)]],
    "2": [[(0, 0.15), (0.2, 0), (0.8, 0), (1, 0.15), (1, 0.4), (0, 1), (1, 1)]],
    "3": [[(0, 0.12), (0.15, 0), (0.85, 0), (1, 0.12), (1, 0.38), (0.85, 0.48), (0.35, 0.48)],
          [(0.85, 0.48), (1, 0.6), (1, 0.88), (0.85, 1), (0.15, 1), (0, 0.88)]],
    "4": [[(0.75, 1), (0.75, 0), (0, 0.7), (1, 0.7)]],
    "5": [[(1, 0), (0.05, 0), (0, 0.45), (0.8, 0.42), (1, 0.55), (1, 0.88), (0.85, 1), (0.15, 1), (0, 0.88)]],
    "6": [_SIX],
    "7": [[(0, 0), (1, 0), (0.35, 1)]],
    "8": [[(0.2, 0.48), (0.05, 0.38), (0.05, 0.1), (0.2, 0), (0.8, 0), (0.95, 0.1), (0.95, 0.38), (0.8, 0.48),
           (0.2, 0.48), (0, 0.6), (0, 0.88), (0.2, 1), (0.8, 1), (1, 0.88), (1, 0.6), (0.8, 0.48)]],
    "9": [[(1 - x, 1 - y) for x, y in _SIX]],
}
_HERSHEY_FACES = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX,
                  cv2.FONT_HERSHEY_COMPLEX)

CITIES = ("SP-SAO PAULO", "RJ-RIO DE JANEIRO", "MG-BELO HORIZONTE", "PR-CURITIBA", "RS-PORTO ALEGRE",
          "BA-SALVADOR", "PE-RECIFE", "CE-FORTALEZA", "SC-JOINVILLE", "GO-GOIANIA", "DF-BRASILIA",
          "SP-CAMPINAS", "SP-SANTOS", "MG-UBERLANDIA", "PA-BELEM", "AM-MANAUS", "ES-VITORIA",
          "MT-CUIABA", "MS-CAMPO GRANDE", "PB-JOAO PESSOA", "RN-NATAL", "AL-MACEIO", "SE-ARACAJU",
          "PI-TERESINA", "MA-SAO LUIS", "TO-PALMAS", "RO-PORTO VELHO", "SP-SOROCABA", "PR-LONDRINA")
#: Mercosul ink colours (BGR) by vehicle category, with their shares.
MERCOSUL_INKS = (((20, 20, 20), 0.74), ((30, 30, 190), 0.10), ((150, 60, 10), 0.05), ((40, 120, 30), 0.03),
                 ((40, 150, 190), 0.03), ((150, 150, 150), 0.05))
MERCOSUL_BLUE = (160, 51, 0)


@dataclass(frozen=True)
class Sample:
    """One training crop, as the recogniser receives it in the pipeline (BGR or grey uint8), the
    plate's 7-character ``key`` and ``format``, the typeface ``family`` and whether it was
    ``degraded``."""

    image: np.ndarray
    key: str
    format: PlateFormat
    family: str
    degraded: bool


@dataclass(frozen=True)
class SynthConfig:
    """Shares of the generator's choices (each a probability)."""

    mercosul: float = 0.55
    degraded: float = 0.65
    text_band: float = 0.7  # crops passed through plate_text, as the pipeline does
    drawn: float = 0.12  # typeface: the project's drawn glyphs
    hershey: float = 0.06  # typeface: OpenCV's Hershey faces
    min_width: int = 55
    max_width: int = 260


def _f32(values: Any) -> np.ndarray:
    return np.asarray(values, np.float32)


def training_families() -> list[str]:
    """The typeface families present on this machine, the drawn and Hershey faces included."""
    return [name for name in TRAINING_FONT_FAMILIES if _font_files(name)] + [DRAWN_FAMILY, HERSHEY_FAMILY]


@functools.cache
def _font_files(family: str) -> tuple[str, ...]:
    return tuple(path for pattern in TRAINING_FONT_FAMILIES[family] for path in sorted(glob.glob(pattern))
                 if os.path.isfile(path))


def random_key(rng: Rng, fmt: PlateFormat) -> str:
    """A random 7-character plate key of format ``fmt``."""
    return "".join(rng.choice(list(string.ascii_uppercase if kind == "L" else string.digits))
                   for kind in FORMATS[fmt])


# --- glyphs ---------------------------------------------------------------------------------

@functools.cache
def _font(path: str, size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(path, size)


@functools.cache
def _ttf_glyph(path: str, char: str) -> np.ndarray | None:
    """The ink of ``char`` in the font at ``path``, cropped to its box (0-255, 120 px high)."""
    from PIL import Image, ImageDraw

    font = _font(path, 160)
    image = Image.new("L", (240, 240), 0)
    ImageDraw.Draw(image).text((30, 10), char, fill=255, font=font)
    ink = np.asarray(image)
    ys, xs = np.nonzero(ink > 40)
    if ys.size == 0:
        return None
    glyph = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    h, w = glyph.shape
    return cv2.resize(glyph, (max(1, round(w * 120 / h)), 120), interpolation=cv2.INTER_AREA)


def _drawn_glyph(char: str, height: int, aspect: float, weight: float) -> np.ndarray:
    """A glyph of :data:`DRAWN_GLYPHS` at ``height`` px, ``aspect`` (width / height) and stroke
    ``weight`` (fraction of the height)."""
    stroke = max(2, round(weight * height))
    narrow = char in "I1"
    width = max(stroke + 2, round(height * aspect * (0.45 if narrow else 1.0)))
    pad = stroke
    canvas = np.zeros((height + 2 * pad, width + 2 * pad), np.uint8)
    inner_w, inner_h = width - stroke, height - stroke
    for line in DRAWN_GLYPHS[char]:
        pts = np.array([[pad + stroke / 2 + x * inner_w, pad + stroke / 2 + y * inner_h] for x, y in line])
        cv2.polylines(canvas, [np.round(pts * 4).astype(np.int32)], False, 255, stroke, cv2.LINE_AA, shift=2)
    ys, xs = np.nonzero(canvas > 40)
    return canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def _hershey_glyph(char: str, face: int, weight: float) -> np.ndarray:
    thickness = max(2, round(weight * 40))
    canvas = np.zeros((200, 200), np.uint8)
    cv2.putText(canvas, char, (40, 150), face, 3.2, 255, thickness, cv2.LINE_AA)
    ys, xs = np.nonzero(canvas > 40)
    return canvas[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


@dataclass(frozen=True)
class _Face:
    family: str
    path: str | None
    hershey: int
    weight: float  # stroke weight for drawn faces; dilation (+) / erosion (-) for the others
    condense: float


def _pick_face(rng: Rng, config: SynthConfig) -> _Face:
    roll = rng.random()
    condense = float(rng.uniform(0.7, 1.15))
    if roll < config.drawn:
        return _Face(DRAWN_FAMILY, None, 0, float(rng.uniform(0.09, 0.17)), float(rng.uniform(0.45, 0.62)))
    if roll < config.drawn + config.hershey:
        return _Face(HERSHEY_FAMILY, None, int(rng.choice(_HERSHEY_FACES)), float(rng.uniform(0.05, 0.15)), condense)
    families = [name for name in TRAINING_FONT_FAMILIES if _font_files(name)]
    if not families:  # no font packages: the project's own faces still work
        return _Face(DRAWN_FAMILY, None, 0, float(rng.uniform(0.09, 0.17)), float(rng.uniform(0.45, 0.62)))
    family = families[int(rng.integers(len(families)))]
    files = _font_files(family)
    return _Face(family, files[int(rng.integers(len(files)))], 0, float(rng.uniform(-0.02, 0.05)), condense)


def _glyph(face: _Face, char: str, height: int) -> np.ndarray:
    """``char`` in ``face``, ``height`` px high (alpha mask 0-255)."""
    if face.family == DRAWN_FAMILY:
        return _drawn_glyph(char, height, face.condense, face.weight)
    if face.family == HERSHEY_FAMILY:
        base = _hershey_glyph(char, face.hershey, face.weight)
    else:
        assert face.path is not None
        found = _ttf_glyph(face.path, char)
        base = found if found is not None else _drawn_glyph(char, 120, 0.55, 0.13)
    h, w = base.shape
    width = max(2, round(w * height / h * face.condense))
    glyph = cv2.resize(base, (width, height), interpolation=cv2.INTER_AREA)
    radius = round(abs(face.weight) * height * 0.5)
    if radius >= 1 and face.family != HERSHEY_FAMILY:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        glyph = cv2.dilate(glyph, kernel) if face.weight > 0 else cv2.erode(glyph, kernel)
    return glyph


def _ink(image: np.ndarray, mask: np.ndarray, x: int, y: int, colour: Sequence[float]) -> None:
    """Paints ``colour`` through ``mask`` (0-255) onto ``image`` at (x, y), clipped to the image."""
    h, w = mask.shape
    H, W = image.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x1 <= x0 or y1 <= y0:
        return
    alpha = (mask[y0 - y:y1 - y, x0 - x:x1 - x].astype(np.float32) / 255.0)[..., None]
    region = image[y0:y1, x0:x1].astype(np.float32)
    image[y0:y1, x0:x1] = (region * (1 - alpha) + np.asarray(colour, np.float32) * alpha).astype(np.uint8)


def _text_row(image: np.ndarray, face: _Face, text: str, box: tuple[int, int, int, int],
              colour: Sequence[float], rng: Rng, gap_after: int | None = None) -> None:
    """``text`` in equal cells across ``box`` (x, y, w, h), glyphs ``h`` high; a hyphen is drawn
    in the gap after character ``gap_after``."""
    x, y, w, h = box
    glyphs = [_glyph(face, c, h) for c in text]
    widths = [g.shape[1] for g in glyphs]
    spacing = float(rng.uniform(0.06, 0.16)) * h
    gap = 0.55 * h if gap_after is not None else 0.0
    total = sum(widths) + spacing * (len(text) - 1) + gap
    scale = min(1.0, w / total)
    if scale < 1.0:  # too wide for the plate: condense every glyph
        glyphs = [cv2.resize(g, (max(2, round(g.shape[1] * scale)), h), interpolation=cv2.INTER_AREA) for g in glyphs]
        widths = [g.shape[1] for g in glyphs]
        spacing *= scale
        gap *= scale
        total = sum(widths) + spacing * (len(text) - 1) + gap
    cursor = x + (w - total) / 2 + float(rng.uniform(-0.03, 0.03)) * w
    for i, glyph in enumerate(glyphs):
        _ink(image, glyph, round(cursor), y + (h - glyph.shape[0]) // 2 + int(rng.integers(-1, 2)), colour)
        cursor += widths[i] + spacing
        if gap_after is not None and i == gap_after:
            dash_w, dash_h = round(gap * 0.55), max(3, round(h * 0.09))
            cv2.rectangle(image, (round(cursor + (gap - dash_w) / 2 - spacing / 2), y + h // 2 - dash_h // 2),
                          (round(cursor + (gap + dash_w) / 2 - spacing / 2), y + h // 2 + dash_h // 2),
                          tuple(float(c) for c in colour), -1)
            cursor += gap


def _small_text(image: np.ndarray, text: str, box: tuple[int, int, int, int], colour: Sequence[float],
                rng: Rng) -> None:
    """Furniture lettering (band, city strip, frame): a plain Hershey face fitted to ``box``."""
    x, y, w, h = box
    thickness = max(1, round(h * float(rng.uniform(0.08, 0.16))))
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, 1.0, thickness)
    scale = min(w / tw, h / th)
    (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    cv2.putText(image, text, (x + (w - tw) // 2, y + (h + th) // 2), cv2.FONT_HERSHEY_SIMPLEX, scale,
                tuple(float(c) for c in colour), thickness, cv2.LINE_AA)


# --- the plate face -------------------------------------------------------------------------

def render_plate(rng: Rng, key: str, fmt: PlateFormat, config: SynthConfig | None = None
                 ) -> tuple[np.ndarray, str]:
    """The face of plate ``key`` (BGR, :data:`PLATE_W` x :data:`PLATE_H`) and its typeface family."""
    config = config or SynthConfig()
    face = _pick_face(rng, config)
    mm = MM
    if fmt == "mercosul":
        body = np.array([245, 246, 248], np.float32) + rng.normal(0, 6, 3).astype(np.float32)
        image = np.empty((PLATE_H, PLATE_W, 3), np.uint8)
        image[:] = np.clip(body, 0, 255).astype(np.uint8)
        _watermark(image, rng)
        band_h = round(float(rng.uniform(26, 32)) * mm)
        blue = np.clip(np.array(MERCOSUL_BLUE, np.float32) + rng.normal(0, 18, 3).astype(np.float32), 0, 255)
        image[:band_h] = blue.astype(np.uint8)
        _small_text(image, "BRASIL", (round(150 * mm), round(band_h * 0.2), round(100 * mm), round(band_h * 0.6)),
                    (255, 255, 255), rng)
        _emblem(image, (round(20 * mm), band_h // 2), round(band_h * 0.36))
        _flag(image, (round(352 * mm), round(band_h * 0.2), round(36 * mm), round(band_h * 0.6)))
        if rng.random() < 0.8:  # the "BR" and QR mark at the left of the characters
            _small_text(image, "BR", (round(6 * mm), band_h + round(6 * mm), round(14 * mm), round(10 * mm)),
                        (30, 30, 30), rng)
            qr: np.ndarray = (rng.random((7, 7)) < 0.5).astype(np.uint8) * 255
            qr = cv2.resize(255 - qr, (round(12 * mm), round(12 * mm)), interpolation=cv2.INTER_NEAREST)
            y0 = band_h + round(20 * mm)
            image[y0:y0 + qr.shape[0], round(7 * mm):round(7 * mm) + qr.shape[1]] = qr[..., None]
        inks = [c for c, _ in MERCOSUL_INKS]
        ink = inks[int(rng.choice(len(inks), p=[p for _, p in MERCOSUL_INKS]))]
        top = band_h + round(float(rng.uniform(8, 14)) * mm)
        height = round(float(rng.uniform(60, 70)) * mm)
        height = min(height, PLATE_H - top - round(5 * mm))
        _text_row(image, face, key, (round(28 * mm), top, round(364 * mm), height), ink, rng)
    else:
        roll = rng.random()
        if roll < 0.85:
            body_c, ink = np.array([190, 192, 190], np.float32) + rng.normal(0, 14, 3).astype(np.float32), (25, 25, 25)
        elif roll < 0.96:
            body_c, ink = np.array([40, 40, 185], np.float32) + rng.normal(0, 12, 3).astype(np.float32), (235, 235, 235)
        else:
            body_c, ink = np.array([30, 30, 30], np.float32), (200, 200, 200)
        image = np.empty((PLATE_H, PLATE_W, 3), np.uint8)
        image[:] = np.clip(body_c, 0, 255).astype(np.uint8)
        edge = round(4 * mm)
        cv2.rectangle(image, (edge // 2, edge // 2), (PLATE_W - edge // 2, PLATE_H - edge // 2), ink, max(2, edge // 2))
        strip_h = round(float(rng.uniform(12, 18)) * mm)
        if rng.random() < 0.9:
            _small_text(image, str(rng.choice(CITIES)), (round(80 * mm), round(8 * mm), round(240 * mm), strip_h),
                        ink, rng)
        top = round(8 * mm) + strip_h + round(float(rng.uniform(4, 9)) * mm)
        height = min(round(float(rng.uniform(58, 66)) * mm), PLATE_H - top - round(7 * mm))
        _text_row(image, face, key, (round(16 * mm), top, round(368 * mm), height), ink, rng, gap_after=2)
    _screws(image, rng)
    _dirt(image, rng)
    return image, face.family


def _watermark(image: np.ndarray, rng: Rng) -> None:
    """The Mercosul body's faint wave pattern."""
    if rng.random() < 0.3:
        return
    h, w = image.shape[:2]
    xs = np.arange(w)
    for k in range(int(rng.integers(3, 8))):
        ys = (h * (0.3 + 0.1 * k) + 6 * np.sin(xs / w * 2 * np.pi * float(rng.uniform(1, 3)) + k)).astype(np.int32)
        pts = [np.stack([xs, ys], axis=1)]
        cv2.polylines(image, pts, False, (215, 220, 225), 1, cv2.LINE_AA)


def _emblem(image: np.ndarray, centre: tuple[int, int], radius: int) -> None:
    """The Mercosul emblem: a white ring with the Southern Cross's stars."""
    cv2.circle(image, centre, radius, (255, 255, 255), max(1, radius // 5), cv2.LINE_AA)
    cx, cy = centre
    for dx, dy in ((0, -0.4), (0.35, 0), (0, 0.45), (-0.3, 0.05)):
        cv2.circle(image, (cx + round(dx * radius), cy + round(dy * radius)), max(1, radius // 7), (255, 255, 255), -1)
    cv2.ellipse(image, (cx, cy + radius), (round(radius * 1.3), round(radius * 0.5)), 0, 200, 340, (255, 255, 255), 1)


def _flag(image: np.ndarray, box: tuple[int, int, int, int]) -> None:
    """The Brazilian flag: green field, yellow rhombus, blue disc."""
    x, y, w, h = box
    cv2.rectangle(image, (x, y), (x + w, y + h), (60, 150, 0), -1)
    rhombus = np.array([[x + w // 2, y + 2], [x + w - 2, y + h // 2], [x + w // 2, y + h - 2], [x + 2, y + h // 2]])
    cv2.fillConvexPoly(image, rhombus, (0, 220, 250), cv2.LINE_AA)
    cv2.circle(image, (x + w // 2, y + h // 2), max(2, h // 4), (120, 40, 10), -1, cv2.LINE_AA)


def _screws(image: np.ndarray, rng: Rng) -> None:
    if rng.random() < 0.25:
        return
    h, w = image.shape[:2]
    r = round(float(rng.uniform(3, 5)) * MM)
    rows = [round(float(rng.uniform(0.06, 0.2)) * h)] + ([round(float(rng.uniform(0.85, 0.94)) * h)]
                                                          if rng.random() < 0.4 else [])
    for y in rows:
        for x in (round(float(rng.uniform(0.18, 0.3)) * w), round(float(rng.uniform(0.7, 0.82)) * w)):
            shade = float(rng.uniform(90, 210))
            cv2.circle(image, (x, y), r, (shade, shade, shade), -1, cv2.LINE_AA)
            cv2.circle(image, (x, y), r, (shade * 0.5,) * 3, 1, cv2.LINE_AA)
            cv2.line(image, (x - r + 2, y), (x + r - 2, y), (shade * 0.4,) * 3, max(1, r // 3))


def _dirt(image: np.ndarray, rng: Rng) -> None:
    """Mud specks, streaks and wear: brownish blobs blended in."""
    if rng.random() < 0.45:
        return
    h, w = image.shape[:2]
    mask = np.zeros((h, w), np.float32)
    for _ in range(int(rng.integers(1, 25))):
        centre = (int(rng.integers(w)), int(rng.integers(h)))
        axes = (int(rng.integers(2, w // 8)), int(rng.integers(2, h // 5)))
        cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, float(rng.uniform(0.1, 0.6)), -1)
    if rng.random() < 0.4:  # a streak of road grime along the bottom
        mask[int(h * rng.uniform(0.7, 0.9)):] += float(rng.uniform(0.1, 0.4))
    mask = cv2.GaussianBlur(mask, (0, 0), float(rng.uniform(1, 6)))[..., None].clip(0, 0.7)
    colour = np.array([60, 80, 100], np.float32) + rng.normal(0, 15, 3).astype(np.float32)
    image[:] = (image.astype(np.float32) * (1 - mask) + colour * mask).astype(np.uint8)


def _frame(image: np.ndarray, rng: Rng) -> np.ndarray:
    """The plate in a holder: a dark (or chrome) frame around it, sometimes with a dealer's name."""
    h, w = image.shape[:2]
    side = round(float(rng.uniform(3, 12)) * MM)
    bottom = side + (round(float(rng.uniform(4, 14)) * MM) if rng.random() < 0.5 else 0)
    colour = (float(rng.uniform(10, 60)),) * 3 if rng.random() < 0.8 else (float(rng.uniform(150, 220)),) * 3
    framed = np.empty((h + side + bottom, w + 2 * side, 3), np.uint8)
    framed[:] = np.array(colour, np.uint8)
    framed[side:side + h, side:side + w] = image
    if bottom > side + 5 * MM and rng.random() < 0.6:
        dealer = "".join(rng.choice(list(string.ascii_uppercase + " "), int(rng.integers(6, 16))))
        shade = 255 - colour[0]
        _small_text(framed, dealer.strip() or "AUTO", (side + w // 5, side + h + 2, 3 * w // 5, bottom - 4),
                    (shade, shade, shade), rng)
    return framed


# --- placement and crop ---------------------------------------------------------------------

def place(rng: Rng, face: np.ndarray, fmt: PlateFormat, config: SynthConfig | None = None
          ) -> tuple[np.ndarray, np.ndarray, float]:
    """``face`` on a vehicle background under a random perspective, cropped as a finder would and
    scaled to a camera's size; returns the crop, the plate's mask in it (for night/infrared) and
    the plate's width in the crop's pixels.

    The scene is composed at twice the final size and then halved with area averaging, as a
    camera's sensor integrates light, so small plates are not aliased."""
    config = config or SynthConfig()
    target = float(np.exp(rng.uniform(np.log(config.min_width), np.log(config.max_width))))
    work = 2.0 * target / PLATE_W  # working pixels per face pixel
    framed_frame = rng.random() < 0.45
    plate = _frame(face, rng) if framed_frame else face
    ph0, pw0 = plate.shape[:2]
    offset = ((pw0 - PLATE_W) / 2 * work, (ph0 - PLATE_H) / 2 * work) if framed_frame else (0.0, 0.0)
    pw, ph = max(8, round(pw0 * work)), max(4, round(ph0 * work))
    plate = cv2.resize(plate, (pw, ph), interpolation=cv2.INTER_AREA if work < 1 else cv2.INTER_LINEAR)
    plate_w, plate_h = PLATE_W * work, PLATE_H * work
    canvas_w, canvas_h = round(pw * 1.8), round(ph * 2.6)
    background = _background(rng, canvas_h, canvas_w)
    # Perspective: yaw narrows one side, pitch the top or bottom, roll turns it; plus corner jitter.
    yaw = float(rng.uniform(-0.3, 0.3)) if rng.random() < 0.7 else 0.0
    pitch = float(rng.uniform(-0.15, 0.2)) if rng.random() < 0.6 else 0.0
    roll = float(rng.normal(0, 3.5))
    cx, cy = canvas_w / 2, canvas_h / 2
    src = _f32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    half_w, half_h = pw / 2 * (1 - abs(yaw) * 0.4), ph / 2
    left = 1 + yaw * 0.5 if yaw < 0 else 1.0
    right = 1 - yaw * 0.5 if yaw > 0 else 1.0
    top, bottom = 1 - max(0.0, pitch) * 0.5, 1 + min(0.0, pitch) * 0.5
    dst = _f32([[-half_w * top, -half_h * left], [half_w * top, -half_h * right],
                      [half_w * bottom, half_h * right], [-half_w * bottom, half_h * left]])
    dst += rng.normal(0, 0.012 * pw, dst.shape).astype(np.float32)
    turn = np.deg2rad(roll)
    rot = _f32([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]])
    dst = dst @ rot.T + _f32([cx, cy])
    homography = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(plate, homography, (canvas_w, canvas_h), flags=cv2.INTER_LINEAR)
    coverage = cv2.warpPerspective(np.full((ph, pw), 255, np.uint8), homography, (canvas_w, canvas_h))
    alpha = (coverage.astype(np.float32) / 255.0)[..., None]
    scene = (background * (1 - alpha) + warped * alpha).astype(np.uint8)
    # The plate proper (frame excluded) and, for Mercosul, its body under the band.
    ox, oy = offset
    band = 29 * MM * work if fmt == "mercosul" else 0.0
    corners = cv2.perspectiveTransform(_f32([[[ox, oy], [ox + plate_w, oy], [ox + plate_w, oy + plate_h],
                                                    [ox, oy + plate_h]]]), homography)[0]
    body = cv2.perspectiveTransform(_f32([[[ox, oy + band], [ox + plate_w, oy + band],
                                                 [ox + plate_w, oy + plate_h], [ox, oy + plate_h]]]), homography)[0]
    plate_mask = np.zeros((canvas_h, canvas_w), np.uint8)
    cv2.fillConvexPoly(plate_mask, np.round(corners).astype(np.int32), 255)
    roll_crop = rng.random()
    chosen = body if (fmt == "mercosul" and roll_crop < 0.3) else corners
    x1, y1 = chosen.min(axis=0)
    x2, y2 = chosen.max(axis=0)
    w, h = x2 - x1, y2 - y1
    if roll_crop < 0.7:  # tight, as a contour finder gives it
        jitter = rng.uniform(-0.04, 0.04, 4) * np.array([w, h, w, h])
        box = np.array([x1, y1, x2, y2]) + jitter
    else:  # loose: some car around it
        mx, my = rng.uniform(0.04, 0.35, 2) * w, rng.uniform(0.08, 0.6, 2) * h
        box = np.array([x1 - mx[0], y1 - my[0], x2 + mx[1], y2 + my[1]])
    a, b = max(0, int(box[0])), max(0, int(box[1]))
    c, d = min(canvas_w, int(np.ceil(box[2]))), min(canvas_h, int(np.ceil(box[3])))
    crop, mask = scene[b:d, a:c], plate_mask[b:d, a:c]
    size = (max(16, round(crop.shape[1] / 2)), max(8, round(crop.shape[0] / 2)))
    width = float(corners[:, 0].max() - corners[:, 0].min()) / 2
    return (cv2.resize(crop, size, interpolation=cv2.INTER_AREA),
            cv2.resize(mask, size, interpolation=cv2.INTER_NEAREST), width)


def _background(rng: Rng, h: int, w: int) -> np.ndarray:
    """A vehicle's rear or front: body colour with a gradient, bumper lines, shapes (drawn at a
    quarter of the size and scaled up: it is out of focus next to the plate anyway)."""
    sh, sw = max(4, h // 4), max(4, w // 4)
    colour = rng.uniform(10, 240, 3) if rng.random() < 0.7 else np.full(3, rng.uniform(10, 240))
    grad = np.linspace(float(rng.uniform(0.6, 1.0)), float(rng.uniform(0.6, 1.2)), sh)[:, None, None]
    image = np.clip(np.ones((sh, sw, 3)) * colour * grad, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 5))):
        y = int(rng.integers(sh))
        cv2.line(image, (0, y), (sw, y + int(rng.integers(-5, 6))), tuple(float(v) for v in rng.uniform(0, 255, 3)),
                 int(rng.integers(1, 4)))
    for _ in range(int(rng.integers(0, 4))):
        x, y = int(rng.integers(sw)), int(rng.integers(sh))
        corner = (x + int(rng.integers(3, max(4, sw // 3))), y + int(rng.integers(3, max(4, sh // 4))))
        cv2.rectangle(image, (x, y), corner, tuple(float(v) for v in rng.uniform(0, 255, 3)), -1)
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_LINEAR)


# --- what cameras do ------------------------------------------------------------------------

def degrade(rng: Rng, crop: np.ndarray, plate_mask: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Camera effects on a BGR crop: each applied with some probability; ``strength`` scales the
    chances and the amounts (0.25 for the nearly clean share)."""
    image: np.ndarray = crop.astype(np.float32)
    h, w = image.shape[:2]
    p = min(1.0, strength)
    lighting = rng.random()
    if lighting < 0.12 * p:  # night: dark, warm street light, noisy
        image = image * float(rng.uniform(0.18, 0.45)) * _f32([0.8, 0.95, 1.1])
        if rng.random() < 0.5:  # headlight glare
            yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
            gx, gy = float(rng.uniform(0, w)), float(rng.uniform(0, h))
            glow = np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * (0.4 * w) ** 2))
            image += (glow * float(rng.uniform(30, 120)))[..., None]
    elif lighting < 0.2 * p:  # infrared: grey, the retro-reflective plate bright, the rest dark
        grey = cv2.cvtColor(np.clip(image, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
        inside = (cv2.GaussianBlur(plate_mask, (5, 5), 0).astype(np.float32) / 255.0)
        grey = grey * (0.25 + 0.75 * inside) * float(rng.uniform(1.0, 1.5))
        image = np.repeat(grey[..., None], 3, axis=2)
    elif lighting < 0.32 * p:  # over-exposure: washed out, strokes thinned by the glare
        image = image * float(rng.uniform(1.4, 2.6)) + float(rng.uniform(0, 50))
        if rng.random() < 0.5:
            image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.6, 1.5)))
    else:  # daylight: gain and offset jitter
        image = image * float(rng.uniform(0.7, 1.2)) + float(rng.uniform(-25, 25))
    if rng.random() < 0.2 * p:  # a shadow across part of the plate
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        angle = float(rng.uniform(0, 2 * np.pi))
        side = (xx - w * float(rng.uniform(0.2, 0.8))) * np.cos(angle) + (yy - h / 2) * np.sin(angle) > 0
        image[side] *= float(rng.uniform(0.35, 0.75))
    image = np.clip(image, 0, 255)
    if rng.random() < 0.45 * p:  # motion blur, mostly along the road
        length = int(rng.integers(2, max(3, round(2 + 8 * strength))))
        angle = float(rng.normal(0, 12)) + (90.0 if rng.random() < 0.15 else 0.0)
        kernel: np.ndarray = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1.0
        turn = cv2.getRotationMatrix2D(((length - 1) / 2, (length - 1) / 2), angle, 1.0)
        kernel = cv2.warpAffine(kernel, turn, (length, length))
        image = cv2.filter2D(image, -1, kernel / max(1e-6, kernel.sum()))
    if rng.random() < 0.35 * p:  # focus blur
        image = cv2.GaussianBlur(image, (0, 0), float(rng.uniform(0.5, 0.6 + 1.4 * strength)))
    if rng.random() < 0.3 * p:  # low resolution: down and up again
        factor = float(rng.uniform(0.4, 0.8))
        small = cv2.resize(image, (max(8, round(w * factor)), max(4, round(h * factor))), interpolation=cv2.INTER_AREA)
        image = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.6 * p:  # sensor noise, stronger in the dark
        sigma = float(rng.uniform(2, 4 + 12 * strength)) * (1.6 if image.mean() < 70 else 1.0)
        image = image + rng.normal(0, sigma, image.shape).astype(np.float32)
    out = np.clip(image, 0, 255).astype(np.uint8)
    if rng.random() < 0.7:
        quality = int(rng.integers(max(12, round(90 - 75 * strength)), 96))
        ok, encoded = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            out = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    return out


def sample(seed: int, index: int, config: SynthConfig | None = None) -> Sample:
    """Training sample ``index`` of ``seed`` (deterministic)."""
    config = config or SynthConfig()
    rng = np.random.default_rng((seed, index))
    fmt: PlateFormat = "mercosul" if rng.random() < config.mercosul else "old"
    key = random_key(rng, fmt)
    face, family = render_plate(rng, key, fmt, config)
    crop, mask, width = place(rng, face, fmt, config)
    degraded = bool(rng.random() < config.degraded)
    image = degrade(rng, crop, mask, float(rng.uniform(0.5, 1.0)) if degraded else 0.25)
    if rng.random() < config.text_band:
        band = plate_text(image)
        # A band that lost characters (dirt or a shadow split the text) cannot teach the text.
        if band.shape[1] >= 0.6 * width:
            image = band
    return Sample(image, key, fmt, family, degraded)
