"""Cheap plate-region finding, so OCR (0.17 s a crop, 3 s a whole 720p frame) runs on crops only.

A plate is a light, nearly rectangular patch (white Mercosul body under its blue band, or the
grey old plate) about 2 to 5.5 times as wide as tall, holding a row of dark glyphs of similar
height. :func:`find_plates` thresholds the grey image at a few levels (fixed ones, plus levels
relative to the brightest pixels when the area is dark: a plate at night or under-exposed is
below every fixed level), keeps the contours that fill a rectangle of that shape (the rectangle
may be tilted: a plate seen at an angle or on a rolled camera), checks that the inside looks like
a row of characters, and suppresses duplicates. A plate with no light outline of its own (a white
plate on an over-exposed white car, a dim plate at night) is also found by its characters
(:func:`_text_rows`: a row of five to nine dark marks of one height on an even, lighter ground).
It costs about 20-45 ms of CPU per 720p frame with the crops' preparation (tests/bench/bench_plates.py;
the row search about 8 ms of it); restricting it to vehicle boxes (when a vehicle detector runs)
makes it cheaper and cuts false candidates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

BoxXYXY = tuple[float, float, float, float]


@dataclass(frozen=True)
class PlateCandidate:
    """A region that looks like a plate: ``box`` (x1, y1, x2, y2) in frame pixels, ``glyphs``
    (dark character-like blobs inside), ``score`` (higher is more plate-like) and ``sharpness``
    (variance of the Laplacian: blurred crops read worse)."""

    box: BoxXYXY
    glyphs: int
    score: float
    sharpness: float

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def quality(self) -> float:
        """How good a crop this is to read: size, damped by blur."""
        return self.width * min(1.0, self.sharpness / 300.0) ** 0.5


@dataclass(frozen=True)
class FinderConfig:
    """Shape rules of a plate region."""

    min_width: int = 48
    max_width_fraction: float = 0.5
    min_aspect: float = 2.0
    max_aspect: float = 5.5
    min_fill: float = 0.72
    min_glyphs: int = 4
    max_glyphs: int = 16
    thresholds: tuple[int, ...] = (110, 140, 170, 200)
    #: When the area's brightest pixels (99.5th percentile) are below the highest fixed level, it
    #: is also thresholded at these fractions of them.
    relative_thresholds: tuple[float, ...] = (0.45, 0.6, 0.75)
    #: When they are saturated (over-exposure: a white plate on a white car), also at these levels.
    bright_thresholds: tuple[int, ...] = (230,)
    #: Most tilt of a plate's long side (degrees).
    max_tilt: float = 20.0
    #: Also find plates by their row of glyphs (:func:`_text_rows`): a plate whose body merges with
    #: what surrounds it (a white plate on a white, over-exposed car; a dim plate at night) has no
    #: light outline of its own, but its characters are still dark marks side by side.
    text_rows: bool = True
    #: Glyph heights (pixels) a row of characters may have: plates 48-640 px wide.
    glyph_height: tuple[int, int] = (9, 90)


def _nms(cands: list[PlateCandidate], overlap: float = 0.3) -> list[PlateCandidate]:
    kept: list[PlateCandidate] = []
    for cand in sorted(cands, key=lambda c: -c.score):
        if all(_iou(cand.box, k.box) <= overlap for k in kept):
            kept.append(cand)
    return kept


def _iou(a: BoxXYXY, b: BoxXYXY) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def count_glyphs(gray_crop: np.ndarray) -> int:
    """Roughly how many dark glyphs cross the middle of a plate crop: half the number of
    light/dark transitions along the rows of its central band (median over rows). Robust to the
    motion blur that merges neighbouring glyphs into one blob. 0 when the crop is not text-like."""
    h, w = gray_crop.shape[:2]
    if h < 8 or w < 16:
        return 0
    _, dark = cv2.threshold(gray_crop, 0, 1, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    band = dark[int(0.3 * h):max(int(0.3 * h) + 1, int(0.7 * h)), int(0.03 * w):max(1, int(0.97 * w))]
    fraction = float(band.mean())
    if not 0.08 <= fraction <= 0.7:
        return 0
    transitions = np.abs(np.diff(band.astype(np.int8), axis=1)).sum(axis=1)
    return int(np.median(transitions) // 2)


def find_plates(frame: np.ndarray, regions: Sequence[BoxXYXY] | None = None,
                config: FinderConfig | None = None) -> list[PlateCandidate]:
    """Plate-like regions of a BGR (or grey) frame, best first; inside ``regions`` when given."""
    cfg = config or FinderConfig()
    gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    H, W = gray.shape[:2]
    areas = [(0, 0, W, H)] if regions is None else [
        (max(0, int(r[0])), max(0, int(r[1])), min(W, int(np.ceil(r[2]))), min(H, int(np.ceil(r[3]))))
        for r in regions]
    found: list[PlateCandidate] = []
    max_width = cfg.max_width_fraction * W
    for x0, y0, x1, y1 in areas:
        if x1 - x0 < cfg.min_width or y1 - y0 < 8:
            continue
        part = gray[y0:y1, x0:x1]
        for threshold in _levels(part, cfg):
            _, light = cv2.threshold(part, threshold, 255, cv2.THRESH_BINARY)
            contours = _contours(light, cfg.min_width, 10)
            for i in _sized(contours, cfg.min_width, max_width, 10):
                contour = contours[i]
                x, y, w, h = cv2.boundingRect(contour)
                shape = _rectangle(contour)
                if shape is None:
                    continue
                aspect, fill, tilt = shape
                if not cfg.min_aspect <= aspect <= cfg.max_aspect or tilt > cfg.max_tilt:
                    continue
                if fill < cfg.min_fill:
                    continue
                crop = part[y:y + h, x:x + w]
                glyphs = count_glyphs(crop)
                if not cfg.min_glyphs <= glyphs <= cfg.max_glyphs:
                    continue
                sharpness = float(cv2.Laplacian(crop, cv2.CV_64F).var())
                score = fill + min(glyphs, 7) / 7.0
                found.append(PlateCandidate((float(x0 + x), float(y0 + y), float(x0 + x + w), float(y0 + y + h)),
                                            glyphs, score, sharpness))
        if cfg.text_rows:
            found.extend(_text_rows(part, (x0, y0), cfg, max_width))
    return _nms(found)


#: A row candidate's score is below any outlined plate's (fill >= min_fill plus glyphs), so where a
#: plate was found both ways, suppression keeps the outlined box.
_ROW_SCORE = 0.25


def _text_rows(part: np.ndarray, origin: tuple[int, int], cfg: FinderConfig,
               max_width: float) -> list[PlateCandidate]:
    """Plates found by their characters: five to nine dark marks of one height, side by side on a
    line, on a lighter, even background (the plate's body). Each such row becomes a box around it
    with the plate's proportions (the text spans about 85 % of a plate's width and a third to a
    half of its height, with the band or the city strip above).

    Dark marks are pixels well below their neighbourhood's mean (an adaptive threshold), so the
    row is found whatever the light: over-exposed, at night, with the plate's outline lost."""
    low, high = cfg.glyph_height
    dark = cv2.adaptiveThreshold(part, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 31, 12)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    if count <= 1:
        return []
    x, y, w, h, area = (stats[1:, i] for i in range(5))
    keep = ((h >= low) & (h <= high) & (w >= 2) & (w <= h) & (area >= 0.15 * w * h) & (area <= 0.85 * w * h))
    ids = np.flatnonzero(keep)
    if len(ids) < 5:
        return []
    ids = ids[np.argsort(x[ids])]
    bx, by, bw, bh = x[ids].astype(float), y[ids].astype(float), w[ids].astype(float), h[ids].astype(float)
    cy = by + bh / 2
    # Link each mark to the nearest mark on its right that could be the next character (the marks
    # are in x order, so the first that qualifies is the nearest).
    successor = np.full(len(ids), -1)
    has_predecessor = np.zeros(len(ids), bool)
    for i in range(len(ids)):
        right = bx[i] + bw[i]
        for j in range(i + 1, len(ids)):
            if bx[j] > right + 1.2 * bh[i]:
                break
            if (bx[j] >= right - 0.25 * bw[i] and abs(cy[j] - cy[i]) <= 0.25 * bh[i]
                    and 0.75 <= bh[j] / bh[i] <= 1.33 and not has_predecessor[j]):
                successor[i] = j
                has_predecessor[j] = True
                break
    found: list[PlateCandidate] = []
    x0, y0 = origin
    height, width = part.shape[:2]
    for start in np.flatnonzero(~has_predecessor):
        chain = [start]
        while successor[chain[-1]] >= 0:
            chain.append(successor[chain[-1]])
        if not 5 <= len(chain) <= 9:
            continue
        rx1, ry1 = bx[chain].min(), by[chain].min()
        rx2, ry2 = (bx[chain] + bw[chain]).max(), (by[chain] + bh[chain]).max()
        rw, rh = rx2 - rx1, ry2 - ry1
        if not 2.0 <= rw / rh <= 9.0:
            continue
        # The plate around the text: 9 % of the text's width either side, the band or strip above.
        px1, px2 = max(0.0, rx1 - 0.09 * rw), min(float(width), rx2 + 0.09 * rw)
        py1, py2 = max(0.0, ry1 - 0.75 * rh), min(float(height), ry2 + 0.3 * rh)
        if not cfg.min_width <= px2 - px1 <= max_width:
            continue
        text = part[int(ry1):int(np.ceil(ry2)), int(rx1):int(np.ceil(rx2))]
        marks = dark[int(ry1):int(np.ceil(ry2)), int(rx1):int(np.ceil(rx2))] > 0
        if marks.all() or not marks.any():
            continue
        paper, ink = text[~marks], text[marks]
        # A plate's body: lighter than its characters by a clear margin, and even.
        if float(np.median(paper)) - float(np.median(ink)) < 25 or float(np.std(paper)) > 45:
            continue
        box = (float(x0 + px1), float(y0 + py1), float(x0 + px2), float(y0 + py2))
        crop = part[int(py1):int(np.ceil(py2)), int(px1):int(np.ceil(px2))]
        glyphs = count_glyphs(crop)
        if not cfg.min_glyphs <= glyphs <= cfg.max_glyphs:
            continue
        sharpness = float(cv2.Laplacian(crop, cv2.CV_64F).var())
        found.append(PlateCandidate(box, glyphs, _ROW_SCORE + min(len(chain), 7) / 7.0 * 0.25, sharpness))
    return found


def _levels(part: np.ndarray, cfg: FinderConfig) -> list[int]:
    """The grey levels to threshold an area at: the fixed ones, and when even the area's brightest
    pixels are below the highest of them (a dark frame), fractions of those pixels' level; when
    they are saturated, the bright levels too."""
    levels = list(cfg.thresholds)
    if cfg.thresholds:
        bright = float(np.percentile(part[::4, ::4], 99.5))
        if bright < max(cfg.thresholds):
            levels += sorted({round(bright * k) for k in cfg.relative_thresholds} - set(levels))
        elif bright >= 250:
            levels += [level for level in cfg.bright_thresholds if level not in levels]
    return [level for level in levels if level > 0]


def _rectangle(contour: np.ndarray) -> tuple[float, float, float] | None:
    """How plate-like a contour's outline is: the aspect ratio of its smallest enclosing (possibly
    tilted) rectangle, the fraction of that rectangle it fills, and the tilt of the rectangle's
    long side in degrees (0: level)."""
    rect = cv2.minAreaRect(contour)
    width, height = rect[1]
    long, short = max(width, height), min(width, height)
    if short < 1:
        return None
    corners = cv2.boxPoints(rect)
    edges = [corners[(i + 1) % 4] - corners[i] for i in range(2)]
    dx, dy = max(edges, key=lambda e: float(np.hypot(*e)))
    tilt = abs(np.degrees(np.arctan2(float(dy), float(dx))))
    tilt = min(tilt, 180.0 - tilt)
    return long / short, cv2.contourArea(contour) / (long * short), tilt


#: White runs (starts) on every 8th row above which a thresholded frame counts as speckled (road
#: texture near the threshold): tracing its ~5 contours per run costs more than removing the specks.
_SPECKLED_RUNS = 2000


def _contours(light: np.ndarray, min_width: int, min_height: int) -> Sequence[np.ndarray]:
    """``cv2.findContours(light, RETR_LIST, CHAIN_APPROX_SIMPLE)``, except that contours whose
    bounding box is narrower than ``min_width`` or shorter than ``min_height`` (which the caller
    drops anyway) may be left out: on a speckled image (thousands of specks) the white components
    smaller than that are erased first. This changes no other contour, nor their order: a
    contour's pixels are all of one 8-connected white component (its outer border, or the border
    of one of its holes) and lie in that component's bounding box, and tracing follows
    8-neighbours only, which never belong to another component."""
    if np.count_nonzero(light[::8, 1:] > light[::8, :-1]) > _SPECKLED_RUNS:
        _, labels, stats, _ = cv2.connectedComponentsWithStats(light, connectivity=8)
        keep = (stats[:, cv2.CC_STAT_WIDTH] >= min_width) & (stats[:, cv2.CC_STAT_HEIGHT] >= min_height)
        keep[0] = False  # the background
        light = np.take(np.where(keep, 255, 0).astype(np.uint8), np.asarray(labels))
    contours, _ = cv2.findContours(light, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    return contours


def _sized(contours: Sequence[np.ndarray], min_width: float, max_width: float, min_height: float) -> np.ndarray:
    """Indices of the contours whose bounding box is ``min_width``..``max_width`` wide and at least
    ``min_height`` tall (``cv2.boundingRect``'s sizes), computed for all contours at once: a noisy
    threshold yields thousands of tiny contours, too many for a Python loop per contour."""
    if not contours:
        return np.zeros(0, np.intp)
    lengths = np.fromiter(map(len, contours), np.intp, len(contours))
    points = np.concatenate(contours).reshape(-1, 2)
    starts = np.zeros(len(lengths), np.intp)
    np.cumsum(lengths[:-1], out=starts[1:])
    xs, ys = points[:, 0], points[:, 1]
    widths = np.maximum.reduceat(xs, starts) - np.minimum.reduceat(xs, starts) + 1
    heights = np.maximum.reduceat(ys, starts) - np.minimum.reduceat(ys, starts) + 1
    return np.flatnonzero((widths >= min_width) & (widths <= max_width) & (heights >= min_height))


def crop_plate(frame: np.ndarray, box: BoxXYXY, pad_x: float = 0.04, pad_y: float = 0.08) -> np.ndarray:
    """The plate's pixels with a small margin (OCR reads edge glyphs better with one)."""
    H, W = frame.shape[:2]
    x1, y1, x2, y2 = box
    px, py = (x2 - x1) * pad_x, (y2 - y1) * pad_y
    a, b = max(0, int(x1 - px)), max(0, int(y1 - py))
    c, d = min(W, int(np.ceil(x2 + px))), min(H, int(np.ceil(y2 + py)))
    return frame[b:d, a:c]


def touches_edge(box: BoxXYXY, width: int, height: int, margin: float = 2.0) -> bool:
    """True when the box reaches the frame's border: the plate is probably cut off."""
    return box[0] <= margin or box[1] <= margin or box[2] >= width - margin or box[3] >= height - margin


@dataclass(frozen=True)
class _Glyphs:
    """The dark components of a plate crop (``labels``, ``stats`` as OpenCV gives them) and which
    of them are glyphs, with the glyphs' span ``x1, y1, x2, y2``."""

    labels: np.ndarray
    stats: np.ndarray
    ids: list[int]
    span: tuple[int, int, int, int]


def _glyphs(grey: np.ndarray) -> _Glyphs | None:
    """The glyphs of a grey plate crop: dark blobs of a plate's text height that touch neither
    the crop's top nor its bottom (a tilted plate's first or last glyph may touch its side);
    ``None`` when they span less than 60 % of its width (a plate's text spans about 85 %: some
    glyphs were not found)."""
    h, w = grey.shape[:2]
    if h < 12 or w < 24:
        return None
    _, dark = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY_INV | cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    ids = []
    for i in range(1, count):
        _, y, cw, ch, area = stats[i]
        if y == 0 or y + ch >= h:
            continue
        if 0.25 * h <= ch <= 0.9 * h and cw <= 0.95 * w and area >= 0.15 * cw * ch:
            ids.append(i)
    if not ids:
        return None
    x1, y1 = int(stats[ids, 0].min()), int(stats[ids, 1].min())
    x2, y2 = int((stats[ids, 0] + stats[ids, 2]).max()), int((stats[ids, 1] + stats[ids, 3]).max())
    if x2 - x1 < 0.6 * w:
        return None
    return _Glyphs(labels, stats, ids, (x1, y1, x2, y2))


def has_hyphen(crop: np.ndarray) -> bool | None:
    """Whether the plate's text has the old format's hyphen: a short dash at mid-height between the
    third and fourth characters, not a glyph. ``None`` when the glyphs could not be found."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    found = _glyphs(grey)
    if found is None:
        return None
    x1, y1, x2, y2 = found.span
    text_h, text_w = y2 - y1, x2 - x1
    glyph_ids = set(found.ids)
    for i in range(1, len(found.stats)):
        if i in glyph_ids:
            continue
        x, y, cw, ch, _ = found.stats[i]
        cx, cy = x + cw / 2, y + ch / 2
        if (ch <= 0.3 * text_h and 0.25 * text_h <= cw <= 0.9 * text_h and cw >= 1.5 * ch
                and abs(cy - (y1 + y2) / 2) <= 0.2 * text_h and 0.3 <= (cx - x1) / text_w <= 0.5):
            return True
    return False


def text_band(crop: np.ndarray) -> np.ndarray:
    """The part of a plate crop that holds its characters, with a blank margin: drops the plate's
    frame and the Mercosul "BRASIL" band, which otherwise read as extra glyphs (``I``, ``1``).

    The margin around the glyphs' span (see :func:`_glyphs`) is painted with the plate's colour,
    and so is every dark mark inside it that is not a glyph (a tilted plate's frame edge under the
    text, the old plate's hyphen). The crop is returned unchanged when the glyphs were not found."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    found = _glyphs(grey)
    if found is None:
        return crop
    h, w = grey.shape[:2]
    x1, y1, x2, y2 = found.span
    my = max(2, round(0.2 * (y2 - y1)))
    mx = max(2, round(0.35 * (y2 - y1)))
    top, left = max(0, y1 - my), max(0, x1 - mx)
    band = crop[top:min(h, y2 + my), left:min(w, x2 + mx)].copy()
    inside = np.zeros(band.shape[:2], bool)
    inside[y1 - top:y2 - top, x1 - left:x2 - left] = True
    window = found.labels[top:top + band.shape[0], left:left + band.shape[1]]
    paper = np.median(band[inside & (window == 0)], axis=0)
    glyphs = np.isin(window, found.ids)
    # Non-glyph marks go with their anti-aliased rim, but never into a glyph.
    marks = cv2.dilate(((window > 0) & ~glyphs).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    band[(~inside) | (marks & ~glyphs)] = paper
    return band
