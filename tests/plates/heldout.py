"""Held-out validation frames for plate reading: whole 1280x720 street frames with one Brazilian plate.

This generator is the yardstick the plate finder and the OCR backends are judged by
(``tests/bench/bench_plates.py``). It is deliberately independent of camsim's renderer and of the
recogniser's training generator (``vigia.vision.plates.training``): its own street (sky, buildings,
asphalt, lane marks), its own vehicle body, its own plate furniture and its own distortions, and
typefaces that training must never see: :data:`HELDOUT_FONT_FAMILIES` (the training side asserts
it uses none of them) plus a regulation-like stroke alphabet drawn by this module's own code
(:data:`STROKE_GLYPHS`, "Mandatory"/FE-Schrift-like: constant stroke width, round bowls).

Frames are deterministic in ``(index, split, format, seed)``. The ``clean`` split is a sharp frame
saved as JPEG at quality 95; the ``degraded`` split adds, per frame, one to three of motion blur,
focus blur, sensor noise, low light or night IR, over-exposure and dirt, then JPEG at 30-90.
Ground truth per frame: the canonical plate text, its format and the plate's quad in frame pixels.

Fonts come from Debian packages (``HELDOUT_FONT_PACKAGES``; bootstrap installs them): when one
is missing, :func:`missing_fonts` names it and the bench refuses to run rather than measure on a
different set.
"""

from __future__ import annotations

import math
import string
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from vigia.vision.plates.brazil import FORMATS, PlateFormat, canonical

Split = Literal["clean", "degraded"]
SPLITS: tuple[Split, ...] = ("clean", "degraded")
FRAME_W, FRAME_H = 1280, 720
#: Plate width in the frame (px), the issue's range.
PLATE_WIDTH = (80.0, 250.0)
#: A Brazilian plate is 400 x 130 mm, both formats.
PLATE_ASPECT = 400 / 130

#: Typeface families held out from training (the recogniser's training generator must use none of
#: them; clones of a held-out design are held out with it: DejaVu = Bitstream Vera, URW Gothic =
#: TeX Gyre Adventor, Open Sans ~ Noto Sans ~ Droid Sans).
HELDOUT_FONT_FAMILIES: tuple[str, ...] = (
    "DejaVu Sans", "DejaVu Sans Condensed", "Bitstream Vera Sans",
    "URW Gothic", "TeX Gyre Adventor",
    "Roboto", "Roboto Condensed",
    "Open Sans", "Open Sans Condensed", "Noto Sans", "Droid Sans",
    "PT Sans", "PT Sans Narrow", "PT Sans Caption",
    "B612",
)
#: The faces the frames are drawn with: family -> (font file name, Debian package).
HELDOUT_FACES: dict[str, tuple[str, str]] = {
    "DejaVu Sans Condensed": ("DejaVuSansCondensed-Bold.ttf", "fonts-dejavu-core"),
    "URW Gothic": ("URWGothic-Demi.otf", "fonts-urw-base35"),
    "Roboto Condensed": ("RobotoCondensed-Bold.ttf", "fonts-roboto-unhinted"),
    "Open Sans Condensed": ("OpenSans-CondBold.ttf", "fonts-open-sans"),
    "PT Sans Narrow": ("PTN77F.ttf", "fonts-paratype"),
    "B612": ("B612-Bold.otf", "fonts-b612"),
}
HELDOUT_FONT_PACKAGES: tuple[str, ...] = tuple(sorted({pkg for _, pkg in HELDOUT_FACES.values()}))
#: The stroke alphabet drawn by this module (not a font file).
STROKES = "heldout strokes"
FONT_DIRS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"), Path.home() / ".local/share/fonts")

_SPLIT_IDS = {"clean": 1, "degraded": 2}
_FORMAT_IDS = {"mercosul": 1, "old": 2}


@dataclass(frozen=True)
class HeldoutFrame:
    """One validation frame (BGR, 720 x 1280) and its truth: canonical ``text``, ``format``, the
    plate's ``quad`` (top-left, top-right, bottom-right, bottom-left, frame px), the typeface and
    the degradations applied."""

    image: np.ndarray
    text: str
    format: PlateFormat
    quad: np.ndarray
    font: str
    split: Split
    conditions: tuple[str, ...]

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The quad's bounding box (x1, y1, x2, y2)."""
        xs, ys = self.quad[:, 0], self.quad[:, 1]
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    @property
    def plate_width(self) -> float:
        """Mean length of the plate's top and bottom edges (px)."""
        q = self.quad
        return float((np.linalg.norm(q[1] - q[0]) + np.linalg.norm(q[2] - q[3])) / 2)


# --- fonts ---------------------------------------------------------------------------------------

@cache
def font_path(family: str) -> Path | None:
    """The file of a held-out face, searched in the usual font folders; ``None`` when missing."""
    name = HELDOUT_FACES[family][0]
    for folder in FONT_DIRS:
        if folder.is_dir():
            found = next(iter(sorted(folder.rglob(name))), None)
            if found is not None:
                return found
    return None


def missing_fonts() -> dict[str, str]:
    """Held-out faces not installed: family -> the Debian package that has it."""
    return {family: pkg for family, (_, pkg) in HELDOUT_FACES.items() if font_path(family) is None}


def typefaces() -> tuple[str, ...]:
    """What a frame's characters may be drawn with: every held-out face, then the strokes."""
    return (*HELDOUT_FACES, STROKES)


@cache
def _glyph_mask(family: str, char: str) -> np.ndarray:
    """A character of a held-out face as an ink mask (uint8, 0-255) cropped to its ink."""
    path = font_path(family)
    if path is None:
        raise FileNotFoundError(f"font {family!r} is not installed (Debian package {HELDOUT_FACES[family][1]})")
    font = ImageFont.truetype(str(path), 160)
    left, top, right, bottom = font.getbbox(char)
    image = Image.new("L", (right - left + 8, bottom - top + 8), 0)
    ImageDraw.Draw(image).text((4 - left, 4 - top), char, fill=255, font=font)
    mask = np.asarray(image)
    ys, xs = np.nonzero(mask > 8)
    return mask[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()


# --- the stroke alphabet -------------------------------------------------------------------------

Stroke = list[tuple[float, float]]


def _arc(cx: float, cy: float, rx: float, ry: float, t0: float, t1: float, steps: int = 24) -> Stroke:
    """Points of an elliptic arc from angle ``t0`` to ``t1`` (degrees, y down: 90 is the bottom)."""
    ts = np.radians(np.linspace(t0, t1, steps))
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in ts]


#: Unit-box polylines (x right, y down, 0..1) of a regulation-like alphabet: constant stroke,
#: round bowls, a straight-legged R and an open 4, as the plate regulations' glyph plates show.
STROKE_GLYPHS: dict[str, list[Stroke]] = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.2, 0.64), (0.8, 0.64)]],
    "B": [[(0, 0.48), *_arc(0.58, 0.24, 0.36, 0.24, 90, -90), (0, 0), (0, 1),
           *_arc(0.6, 0.74, 0.4, 0.26, 90, -90), (0, 0.48)]],
    "C": [_arc(0.55, 0.5, 0.5, 0.5, -40, -320)],
    "D": [[(0.4, 0), (0, 0), (0, 1), *_arc(0.4, 0.5, 0.6, 0.5, 90, -90)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.48), (0.8, 0.48)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.48), (0.8, 0.48)]],
    "G": [[*_arc(0.5, 0.5, 0.5, 0.5, -40, -360), (1, 0.5), (0.55, 0.5)], [(1, 0.5), (1, 0.95)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.48), (1, 0.48)]],
    "I": [[(0.5, 0), (0.5, 1)]],
    "J": [[(1, 0), (1, 0.7), *_arc(0.5, 0.7, 0.5, 0.3, 0, 180)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.62)], [(0.32, 0.4), (1, 1)]],
    "L": [[(0, 0), (0, 1), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.62), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "O": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 40)],
    "P": [[(0, 1), (0, 0), (0.58, 0), *_arc(0.58, 0.26, 0.42, 0.26, -90, 90), (0, 0.52)]],
    "Q": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 40), [(0.62, 0.72), (1, 1.04)]],
    "R": [[(0, 1), (0, 0), (0.58, 0), *_arc(0.58, 0.26, 0.42, 0.26, -90, 90), (0, 0.52)],
          [(0.45, 0.52), (1, 1)]],
    "S": [[*_arc(0.5, 0.26, 0.46, 0.26, -25, -270), *_arc(0.5, 0.76, 0.5, 0.24, -90, 155)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0, 0), (0, 0.68), *_arc(0.5, 0.68, 0.5, 0.32, 180, 0), (1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.22, 1), (0.5, 0.3), (0.78, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "Z": [[(0, 0), (1, 0), (0, 1), (1, 1)]],
    "0": [_arc(0.5, 0.5, 0.46, 0.5, 0, 360, 40)],
    "1": [[(0.15, 0.22), (0.6, 0), (0.6, 1)]],
    "2": [[*_arc(0.5, 0.28, 0.46, 0.28, -165, 25), (0, 1), (1, 1)]],
    "3": [[*_arc(0.5, 0.25, 0.44, 0.25, -160, 90), *_arc(0.5, 0.75, 0.5, 0.25, -90, 160)]],
    "4": [[(0.76, 1), (0.76, 0), (0, 0.7), (1, 0.7)]],
    "5": [[(0.92, 0), (0.1, 0), (0.05, 0.44), *_arc(0.5, 0.68, 0.48, 0.32, -125, 150)]],
    "6": [_arc(0.5, 0.68, 0.48, 0.32, 0, 360, 36), [(0.03, 0.66), (0.55, 0)]],
    "7": [[(0, 0), (1, 0), (0.35, 1)]],
    "8": [_arc(0.5, 0.25, 0.4, 0.25, 0, 360, 36), _arc(0.5, 0.74, 0.48, 0.26, 0, 360, 36)],
    "9": [_arc(0.5, 0.32, 0.48, 0.32, 0, 360, 36), [(0.97, 0.34), (0.45, 1)]],
}


def _draw_strokes(canvas: np.ndarray, char: str, box: tuple[int, int, int, int], width: int,
                  colour: tuple[int, int, int]) -> None:
    """Draw a stroke glyph into ``box`` (x, y, w, h) of a BGR canvas (16x sub-pixel precision)."""
    x, y, w, h = box
    pad = width / 2
    shift = 4
    for stroke in STROKE_GLYPHS[char]:
        points = np.array([[(x + pad + u * (w - 2 * pad)) * 16, (y + pad + v * (h - 2 * pad)) * 16]
                           for u, v in stroke], np.int32)
        cv2.polylines(canvas, [points], False, colour, width, cv2.LINE_AA, shift)


# --- plates --------------------------------------------------------------------------------------

#: City/state strips of the old plates.
CITIES = ("SAO PAULO SP", "CURITIBA PR", "RECIFE PE", "BELO HORIZONTE MG", "PORTO ALEGRE RS",
          "SALVADOR BA", "GOIANIA GO", "MANAUS AM", "NATAL RN", "CAMPINAS SP", "LONDRINA PR",
          "FLORIANOPOLIS SC", "BELEM PA", "CUIABA MT", "VITORIA ES")
_PLATE_W = 560
_PLATE_H = round(_PLATE_W / PLATE_ASPECT)


def random_text(rng: np.random.Generator, fmt: PlateFormat) -> str:
    """A plate of ``fmt`` in canonical form, uniform over the slots' alphabets."""
    key = "".join(rng.choice(list(string.ascii_uppercase if kind == "L" else string.digits))
                  for kind in FORMATS[fmt])
    return canonical(key, fmt)


def _small_text(canvas: np.ndarray, text: str, x: float, y: float, height: float, colour: tuple[int, int, int],
                width: int) -> float:
    """Stroke-drawn small caps (band and strip legends) from (x, y); returns the end x."""
    cell = height * 0.62
    for char in text:
        if char in STROKE_GLYPHS:
            _draw_strokes(canvas, char, (round(x), round(y), round(cell), round(height)), width, colour)
        x += cell * 1.25
    return x


def _text_width(text: str, height: float) -> float:
    return len(text) * height * 0.62 * 1.25 - height * 0.62 * 0.25


def render_plate(text: str, fmt: PlateFormat, face: str, rng: np.random.Generator) -> np.ndarray:
    """The flat plate (BGR, ``_PLATE_H`` x ``_PLATE_W``), characters in ``face``."""
    W, H = _PLATE_W, _PLATE_H
    if fmt == "mercosul":
        paper = np.array([rng.uniform(232, 252)] * 3)
        ink: tuple[int, int, int] = (20, 20, 24)
    else:
        g = rng.uniform(168, 205)
        paper = np.array([g - 4, g, g + 2])
        ink = (28, 28, 28)
    plate = np.empty((H, W, 3), np.uint8)
    plate[:] = paper.astype(np.uint8)
    if fmt == "mercosul":
        band_h = round(0.23 * H)
        plate[:band_h] = (150, 62, 10)  # the blue BRASIL band (BGR)
        legend_h = 0.55 * band_h
        _small_text(plate, "BRASIL", W / 2 - _text_width("BRASIL", legend_h) / 2, (band_h - legend_h) / 2,
                    legend_h, (250, 250, 250), 3)
        # The flag, right of the band: green field, yellow rhombus, blue disc.
        fx1, fy1, fx2, fy2 = round(W * 0.86), round(band_h * 0.18), round(W * 0.96), round(band_h * 0.82)
        plate[fy1:fy2, fx1:fx2] = (60, 150, 0)
        cxf, cyf = (fx1 + fx2) / 2, (fy1 + fy2) / 2
        rhombus = np.array([[fx1 + 3, cyf], [cxf, fy1 + 2], [fx2 - 3, cyf], [cxf, fy2 - 2]], np.int32)
        cv2.fillPoly(plate, [rhombus], (20, 220, 250), cv2.LINE_AA)
        cv2.circle(plate, (round(cxf), round(cyf)), round((fy2 - fy1) * 0.24), (120, 40, 0), -1, cv2.LINE_AA)
        # The Mercosul emblem, left of the band: a pale disc with four stars.
        ex, ey, er = round(W * 0.07), band_h // 2, round(band_h * 0.34)
        cv2.circle(plate, (ex, ey), er, (235, 225, 210), 2, cv2.LINE_AA)
        for dx, dy in ((-0.4, -0.2), (0.1, -0.45), (0.35, 0.05), (-0.05, 0.4)):
            cv2.circle(plate, (round(ex + dx * er), round(ey + dy * er)), max(2, er // 6), (235, 225, 210), -1)
        # "BR" and a QR-like square, left of the characters.
        _small_text(plate, "BR", W * 0.035, band_h + 0.1 * H, 0.12 * H, ink, 2)
        qr = round(0.15 * H)
        qx, qy = round(W * 0.03), round(H * 0.68)
        cells = rng.random((5, 5)) > 0.5
        for i in range(5):
            for j in range(5):
                if cells[i, j]:
                    s = qr / 5
                    plate[round(qy + i * s):round(qy + (i + 1) * s), round(qx + j * s):round(qx + (j + 1) * s)] = ink
        text_top, text_bottom = 0.32 * H, 0.90 * H
        left, right = 0.115 * W, 0.965 * W
        chars: list[str | None] = list(text)
    else:
        strip_h = 0.22 * H
        city = CITIES[int(rng.integers(len(CITIES)))]
        legend_h = 0.5 * strip_h
        _small_text(plate, city, W / 2 - _text_width(city, legend_h) / 2, (strip_h - legend_h) / 2, legend_h, ink, 2)
        cv2.line(plate, (round(0.03 * W), round(strip_h)), (round(0.97 * W), round(strip_h)), ink, 2, cv2.LINE_AA)
        text_top, text_bottom = 0.30 * H, 0.90 * H
        left, right = 0.05 * W, 0.95 * W
        chars = [*text[:3], None, *text[4:]]  # None: the hyphen
    # Screws in the band / strip, then the rim.
    for sx in (0.25, 0.75):
        cv2.circle(plate, (round(sx * W), round(0.1 * H)), round(0.035 * H), (150, 150, 150), -1, cv2.LINE_AA)
        cv2.circle(plate, (round(sx * W), round(0.1 * H)), round(0.035 * H), (90, 90, 90), 1, cv2.LINE_AA)
    cv2.rectangle(plate, (2, 2), (W - 3, H - 3), ink, 4, cv2.LINE_AA)
    # Characters: equal cells, the hyphen a third of one.
    widths = [0.38 if c is None else 1.0 for c in chars]
    gap = 0.08
    unit = (right - left) / (sum(widths) + gap * (len(widths) - 1))
    text_h = text_bottom - text_top
    x = left
    stroke_w = max(3, round(text_h * rng.uniform(0.12, 0.16)))
    for char, cw in zip(chars, widths, strict=True):
        cell_w = cw * unit
        if char is None:
            y = round(text_top + text_h * 0.46)
            cv2.line(plate, (round(x + 0.1 * cell_w), y), (round(x + 0.9 * cell_w), y), ink,
                     max(3, round(text_h * 0.1)), cv2.LINE_AA)
        elif face == STROKES:
            glyph_w = cell_w * (0.25 if char == "I" else 0.86)
            _draw_strokes(plate, char, (round(x + (cell_w - glyph_w) / 2), round(text_top), round(glyph_w),
                                        round(text_h)), stroke_w, ink)
        else:
            _paste_glyph(plate, _glyph_mask(face, char), x, text_top, cell_w, text_h, ink)
        x += cell_w * (1 + gap)
    return plate


def _paste_glyph(plate: np.ndarray, mask: np.ndarray, x: float, y: float, cell_w: float, cell_h: float,
                 ink: tuple[int, int, int]) -> None:
    """Ink a glyph mask into a cell: full cell height, its own width (capped at the cell), centred."""
    gh, gw = mask.shape
    h = round(cell_h)
    w = min(round(cell_w), max(1, round(gw * h / gh)))
    glyph = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    x0, y0 = round(x + (cell_w - w) / 2), round(y)
    region = plate[y0:y0 + h, x0:x0 + w].astype(np.float32)
    alpha = glyph[..., None]
    plate[y0:y0 + h, x0:x0 + w] = (region * (1 - alpha) + np.array(ink, np.float32) * alpha).astype(np.uint8)


# --- the street ----------------------------------------------------------------------------------

def _street(rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Sky, buildings, pavement and road with lane marks (BGR); returns it and the horizon's y."""
    H, W = FRAME_H, FRAME_W
    horizon = rng.uniform(0.22, 0.42) * H
    frame = np.empty((H, W, 3), np.float32)
    top, bottom = np.array(rng.uniform([170, 120, 60], [250, 210, 160])), np.array(rng.uniform(190, 245, 3))
    t = np.linspace(0, 1, H)[:, None, None]
    frame[:] = top * (1 - t) + bottom * t
    # Buildings: blocks along the horizon with rows of windows.
    x = -rng.uniform(0, 80)
    while x < W:
        bw = rng.uniform(90, 260)
        bh = rng.uniform(0.15, 0.4) * H
        colour = rng.uniform(70, 210, 3)
        y1 = max(0.0, horizon + 0.12 * H - bh)
        x1, x2, y2 = int(max(0, x)), int(min(W, x + bw)), int(horizon + 0.12 * H)
        frame[int(y1):y2, x1:x2] = colour
        glass = colour * rng.uniform(0.35, 0.7)
        for wy in np.arange(y1 + 10, y2 - 18, rng.uniform(22, 34)):
            for wx in np.arange(x + 8, x + bw - 14, rng.uniform(18, 30)):
                a, b = int(max(0, wx)), int(min(W, wx + rng.uniform(8, 14)))
                frame[int(wy):int(wy + rng.uniform(9, 15)), a:b] = glass
        x += bw + rng.uniform(0, 30)
    # Pavement then road, with an asphalt texture of blurred noise.
    kerb = int(horizon + 0.12 * H)
    frame[kerb:] = rng.uniform(105, 150)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (H, W)).astype(np.float32), (0, 0), rng.uniform(0.8, 2.5))
    road_top = kerb + int(rng.uniform(12, 40))
    asphalt = rng.uniform(55, 110)
    frame[road_top:] = asphalt
    frame += grain[..., None] * rng.uniform(4, 14)
    # Lane marks converging on a vanishing point above the road.
    vx = rng.uniform(0.3, 0.7) * W
    for lane_x in (-0.6, 0.0, 0.6):
        base = vx + lane_x * W * 1.6
        for k in range(12):
            t0, t1 = k / 12, (k + 0.5) / 12
            ya, yb = road_top + (H - road_top) * t0 ** 1.5, road_top + (H - road_top) * t1 ** 1.5
            xa = vx + (base - vx) * (ya - road_top) / (H - road_top)
            xb = vx + (base - vx) * (yb - road_top) / (H - road_top)
            thick = max(1, round(2 + 10 * t1))
            cv2.line(frame, (round(xa), round(ya)), (round(xb), round(yb)), (225, 225, 225), thick, cv2.LINE_AA)
    return frame, horizon


_CAR_COLOURS = ((235, 235, 235), (190, 192, 195), (40, 40, 42), (30, 30, 160), (140, 60, 20),
                (70, 70, 75), (60, 120, 40), (30, 160, 220), (120, 120, 125), (200, 200, 205))


def _vehicle(frame: np.ndarray, rng: np.random.Generator, cx: float, cy: float, plate_w: float) -> None:
    """A vehicle seen from behind or ahead around a plate centred at (cx, cy) of width ``plate_w``."""
    h = plate_w / PLATE_ASPECT
    colour = np.array(_CAR_COLOURS[int(rng.integers(len(_CAR_COLOURS)))]) * rng.uniform(0.85, 1.1)
    colour = tuple(float(c) for c in np.clip(colour, 0, 255))
    half = plate_w * rng.uniform(1.9, 2.3)
    body_top, body_bottom = cy - h * rng.uniform(1.8, 2.6), cy + h * rng.uniform(1.0, 1.5)
    # Shadow, wheels, body, cabin with its glass, lights, bumper.
    cv2.ellipse(frame, (round(cx), round(body_bottom + 0.3 * h)), (round(half * 1.05), round(0.5 * h)), 0, 0, 360,
                (25, 25, 25), -1, cv2.LINE_AA)
    for side in (-1, 1):
        wx = cx + side * half * 0.78
        cv2.rectangle(frame, (round(wx - 0.35 * plate_w), round(body_bottom - 0.4 * h)),
                      (round(wx + 0.35 * plate_w), round(body_bottom + 0.8 * h)), (18, 18, 18), -1)
    cabin_top = body_top - h * rng.uniform(2.2, 3.0)
    cabin = np.array([[cx - half * 0.92, body_top], [cx - half * 0.68, cabin_top], [cx + half * 0.68, cabin_top],
                      [cx + half * 0.92, body_top]], np.int32)
    cv2.fillPoly(frame, [cabin], colour, cv2.LINE_AA)
    glass = np.array([[cx - half * 0.82, body_top - 0.2 * h], [cx - half * 0.64, cabin_top + 0.25 * h],
                      [cx + half * 0.64, cabin_top + 0.25 * h], [cx + half * 0.82, body_top - 0.2 * h]], np.int32)
    cv2.fillPoly(frame, [glass], tuple(float(v) for v in rng.uniform(30, 80, 3)), cv2.LINE_AA)
    radius = round(0.6 * h)
    body = (round(cx - half), round(body_top), round(cx + half), round(body_bottom))
    cv2.rectangle(frame, (body[0] + radius, body[1]), (body[2] - radius, body[3]), colour, -1)
    cv2.rectangle(frame, (body[0], body[1] + radius), (body[2], body[3] - radius), colour, -1)
    for corner in ((body[0] + radius, body[1] + radius), (body[2] - radius, body[1] + radius),
                   (body[0] + radius, body[3] - radius), (body[2] - radius, body[3] - radius)):
        cv2.circle(frame, corner, radius, colour, -1, cv2.LINE_AA)
    light = (30, 30, 200) if rng.random() < 0.7 else (40, 170, 230)
    for side in (-1, 1):
        lx = cx + side * half * 0.8
        cv2.rectangle(frame, (round(lx - 0.32 * plate_w), round(body_top + 0.3 * h)),
                      (round(lx + 0.32 * plate_w), round(body_top + 1.0 * h)), light, -1)
    bumper = tuple(float(c) * 0.55 for c in colour)
    cv2.rectangle(frame, (round(cx - half * 0.98), round(cy + 0.75 * h)), (round(cx + half * 0.98),
                  round(cy + 1.1 * h)), bumper, -1)
    # A recess the plate sits in.
    cv2.rectangle(frame, (round(cx - 0.62 * plate_w), round(cy - 0.75 * h)), (round(cx + 0.62 * plate_w),
                  round(cy + 0.7 * h)), tuple(float(c) * 0.8 for c in colour), -1)


def _plate_quad(rng: np.random.Generator, cx: float, cy: float, w: float) -> np.ndarray:
    """Corners of a plate of width ``w`` centred at (cx, cy), seen at an angle: yaw shortens one
    side, pitch narrows the top or bottom, roll tilts it."""
    h = w / PLATE_ASPECT
    yaw, pitch, roll = rng.uniform(-0.14, 0.14), rng.uniform(-0.06, 0.06), math.radians(rng.uniform(-6, 6))
    hl, hr = h * (1 + yaw) / 2, h * (1 - yaw) / 2
    wt, wb = w * (1 - pitch) / 2, w * (1 + pitch) / 2
    corners = np.array([[-wt, -hl], [wt, -hr], [wb, hr], [-wb, hl]], np.float64)
    rot = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    return (corners @ rot.T + [cx, cy]).astype(np.float32)


def _place(frame: np.ndarray, plate: np.ndarray, quad: np.ndarray) -> None:
    """Warp the flat plate onto ``quad`` of the frame (float BGR), anti-aliased at its edges."""
    width = float(np.linalg.norm(quad[1] - quad[0]))
    scale = min(1.0, 2 * width / plate.shape[1])
    small = cv2.resize(plate, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else plate
    h, w = small.shape[:2]
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, quad)
    warped = cv2.warpPerspective(small.astype(np.float32), matrix, (FRAME_W, FRAME_H), flags=cv2.INTER_AREA)
    alpha = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR)
    frame *= 1 - alpha[..., None]
    frame += warped * alpha[..., None]


# --- degradations --------------------------------------------------------------------------------

def _motion_blur(image: np.ndarray, length: float, angle: float) -> np.ndarray:
    size = max(3, math.ceil(length) | 1)
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.cos(math.radians(angle)) * length / 2, math.sin(math.radians(angle)) * length / 2
    cv2.line(kernel, (round((c - dx) * 16), round((c - dy) * 16)), (round((c + dx) * 16), round((c + dy) * 16)),
             1.0, 1, cv2.LINE_AA, 4)
    kernel /= max(kernel.sum(), 1e-6)
    return cv2.filter2D(image, -1, kernel)


def _degrade(frame: np.ndarray, rng: np.random.Generator, quad: np.ndarray, plate_w: float) -> tuple[str, ...]:
    """Apply one to three degradations to the float frame in place; their names."""
    pool = ["motion", "focus", "noise", "lowlight", "ir", "overexposed", "dirt"]
    chosen = [str(c) for c in rng.choice(pool, size=int(rng.integers(1, 4)), replace=False)]
    if "lowlight" in chosen and "ir" in chosen:
        chosen.remove("ir")
    if "overexposed" in chosen and ("lowlight" in chosen or "ir" in chosen):
        chosen.remove("overexposed")
    order = [c for c in pool if c in chosen]
    for name in order:
        if name == "dirt":
            x1, y1 = quad.min(axis=0)
            x2, y2 = quad.max(axis=0)
            for _ in range(int(rng.integers(3, 9))):
                px, py = rng.uniform(x1, x2), rng.uniform(y1, y2)
                r = plate_w * rng.uniform(0.02, 0.07)
                blot = np.zeros(frame.shape[:2], np.float32)
                cv2.circle(blot, (round(px), round(py)), max(1, round(r)), 1.0, -1, cv2.LINE_AA)
                blot = cv2.GaussianBlur(blot, (0, 0), max(0.5, r / 2)) * rng.uniform(0.2, 0.45)
                frame *= 1 - blot[..., None]
                frame += blot[..., None] * np.array([40, 60, 80], np.float32)
        elif name == "motion":
            angle = rng.normal(0, 12) + (90 if rng.random() < 0.2 else 0)
            frame[:] = _motion_blur(frame, plate_w * rng.uniform(0.012, 0.04), angle)
        elif name == "focus":
            frame[:] = cv2.GaussianBlur(frame, (0, 0), max(0.5, plate_w * rng.uniform(0.003, 0.009)))
        elif name == "lowlight":
            frame *= rng.uniform(0.18, 0.4)
            frame += rng.normal(0, rng.uniform(3, 8), frame.shape).astype(np.float32)
        elif name == "ir":
            grey = cv2.cvtColor(np.clip(frame, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY).astype(np.float32)
            grey = grey * rng.uniform(0.35, 0.6)
            # A retro-reflective plate shines under the camera's IR lamp.
            mask = np.zeros(grey.shape, np.float32)
            cv2.fillPoly(mask, [np.round(quad).astype(np.int32)], 1.0, cv2.LINE_AA)
            grey *= 1 + mask * rng.uniform(0.6, 1.2)
            grey += rng.normal(0, rng.uniform(3, 7), grey.shape).astype(np.float32)
            frame[:] = grey[..., None]
        elif name == "overexposed":
            frame *= rng.uniform(1.35, 1.9)
            frame += rng.uniform(10, 45)
        elif name == "noise":
            frame += rng.normal(0, rng.uniform(4, 12), frame.shape).astype(np.float32)
    return tuple(order)


def _jpeg(frame: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", np.clip(frame, 0, 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


# --- frames --------------------------------------------------------------------------------------

def render_frame(index: int, split: Split = "clean", fmt: PlateFormat = "mercosul", seed: int = 0) -> HeldoutFrame:
    """Frame ``index`` of a split and format: the same arguments give the same frame."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_IDS[split], _FORMAT_IDS[fmt], index]))
    faces = typefaces()
    face = faces[int(rng.integers(len(faces)))]
    text = random_text(rng, fmt)
    frame, horizon = _street(rng)
    plate_w = rng.uniform(*PLATE_WIDTH)
    h = plate_w / PLATE_ASPECT
    margin = 0.62 * plate_w + 12
    cx = rng.uniform(margin, FRAME_W - margin)
    low = max(horizon + 0.2 * FRAME_H, h + 12)
    cy = rng.uniform(min(low, FRAME_H - h - 12), FRAME_H - 1.5 * h - 12)
    _vehicle(frame, rng, cx, cy, plate_w)
    quad = _plate_quad(rng, cx, cy, plate_w)
    plate = render_plate(text, fmt, face, rng)
    _place(frame, plate, quad)
    if split == "degraded":
        conditions = _degrade(frame, rng, quad, plate_w)
        image = _jpeg(frame, int(rng.integers(30, 91)))
    else:
        conditions = ()
        image = _jpeg(frame, 95)
    return HeldoutFrame(image, text, fmt, quad, face, split, conditions)


def frames(split: Split, fmt: PlateFormat, count: int, seed: int = 0, start: int = 0) -> Iterator[HeldoutFrame]:
    """Frames ``start`` .. ``start + count - 1`` of a split and format."""
    for index in range(start, start + count):
        yield render_frame(index, split, fmt, seed)
