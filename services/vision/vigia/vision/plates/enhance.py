"""Making plate crops easier to read: motion-blur removal and the plate's format from its colours.

**Motion blur.** A vehicle crossing the frame during the exposure smears its plate along the
direction of travel: a box blur of some length *n*. Glyph edges across that direction become
ramps *n* pixels wide while edges along it stay sharp, so the ratio of the strongest gradients
along the two axes, with the width of the sharp edges, estimates *n*
(:func:`estimate_motion_blur`). Knowing *n*, a Wiener deconvolution with a box kernel brings back
the strokes the blur merged (an ``M`` that read as ``H``); :func:`plate_text` deconvolves a
little beyond the estimate, which on camsim's plates reads best (the camera's own softness adds
to the motion blur).
Deconvolving with the wrong length invents glyphs, which is why the length is estimated rather
than searched for the most confident reading.

**Format.** Mercosul plates are white under a blue band; the old ones are grey with no band and
a hyphen in their text. :func:`format_priors` looks for the hyphen, then for the band just above
and at the top of the plate box, and turns them into prior probabilities for the decoder, so a
``Z`` in the fifth slot that looks like a ``2`` does not turn a Mercosul plate into an old one.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vigia.vision.plates.brazil import PlateFormat
from vigia.vision.plates.finder import crop_plate, has_hyphen, text_band


@dataclass(frozen=True)
class Blur:
    """Estimated motion blur: ``axis`` 1 (horizontal) or 0 (vertical) and ``length`` in pixels."""

    axis: int
    length: float


def estimate_motion_blur(grey: np.ndarray) -> Blur:
    """The motion blur of a grey crop, from its strongest gradients along each axis.

    A step edge of contrast C spread over w pixels has a gradient of C / w. Across the motion the
    edges keep the image's own width b = C / g_sharp; along it a box blur of n widens them to about
    b + n - 1 = C / g_blurred. So n = b (g_sharp / g_blurred - 1) + 1, with the gradients taken
    at their 99th percentile and C between the 5th and 95th percentile of the intensities."""
    image = grey.astype(np.float32)
    if image.shape[0] < 4 or image.shape[1] < 4:
        return Blur(1, 1.0)
    along_x = float(np.percentile(np.abs(np.diff(image, axis=1)), 99))
    along_y = float(np.percentile(np.abs(np.diff(image, axis=0)), 99))
    contrast = float(np.percentile(image, 95) - np.percentile(image, 5))
    if along_x <= 1 or along_y <= 1 or contrast <= 10:
        return Blur(1, 1.0)
    axis = 1 if along_y >= along_x else 0
    sharp, blurred = max(along_x, along_y), min(along_x, along_y)
    width = min(6.0, max(1.0, contrast / sharp))
    return Blur(axis, width * (sharp / blurred - 1.0) + 1.0)


def deblur(grey: np.ndarray, blur: Blur, noise: float = 0.01) -> np.ndarray:
    """``grey`` with a box blur of ``blur.length`` along ``blur.axis`` undone by Wiener
    deconvolution (``noise``: the regularising noise-to-signal ratio)."""
    n = round(blur.length)
    if n < 2:
        return grey
    image = grey.astype(np.float64) / 255.0
    if blur.axis == 0:
        image = image.T
    pad = 3 * n
    image = np.pad(image, ((0, 0), (pad, pad)), mode="edge")
    width = image.shape[1]
    kernel = np.zeros(width)
    kernel[:n] = 1.0 / n
    kernel = np.roll(kernel, -(n // 2))
    K = np.fft.rfft(kernel)
    restored = np.fft.irfft(np.fft.rfft(image, axis=1) * np.conj(K) / (np.abs(K) ** 2 + noise), n=width, axis=1)
    restored = restored[:, pad:-pad]
    if blur.axis == 0:
        restored = restored.T
    return np.clip(restored * 255.0, 0, 255).astype(np.uint8)


def plate_text(crop: np.ndarray, min_blur: float = 2.0, strength: float = 1.5) -> np.ndarray:
    """What OCR should read of a plate crop: its text band (:func:`text_band`), grey, with the
    motion blur measured on that band removed when it is at least ``min_blur`` px. The blur is
    undone on the whole crop and the band cut again, so the deconvolution's ringing at the band's
    margin is painted over with the rest of the margin."""
    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    band = text_band(grey)
    blur = estimate_motion_blur(band)
    if blur.length < min_blur:
        return band
    return text_band(deblur(grey, Blur(blur.axis, blur.length * strength)))


def format_priors(frame: np.ndarray, box: tuple[float, float, float, float],
                  strong: float = 0.999999) -> dict[PlateFormat, float]:
    """Prior probabilities of the two formats for the plate at ``box`` of a BGR ``frame``.

    The old plate's hyphen between the third and fourth characters (:func:`has_hyphen`) means old
    with probability ``strong`` (on camsim's plates it is seen on two thirds of the old plates and
    never on a Mercosul one). Else a blue band at the plate's top (inside the box or just above it)
    means Mercosul; a plate without one is old. A blue car above an old plate looks like a band,
    which is why the hyphen is asked first. Grey frames give no opinion."""
    if frame.ndim != 3:
        return {"mercosul": 0.5, "old": 0.5}
    if has_hyphen(crop_plate(frame, box, 0.0, 0.0)):
        return {"mercosul": 1 - strong, "old": strong}
    H, W = frame.shape[:2]
    x1, y1, x2, y2 = box
    h = y2 - y1
    inset = 0.1 * (x2 - x1)
    top, bottom = int(max(0, y1 - 0.35 * h)), int(min(H, y1 + 0.3 * h))
    left, right = int(max(0, x1 + inset)), int(min(W, x2 - inset))
    if bottom - top < 2 or right - left < 4:
        return {"mercosul": 0.5, "old": 0.5}
    strip = frame[top:bottom, left:right].astype(np.int32)
    b, g, r = strip[..., 0], strip[..., 1], strip[..., 2]
    # A row is band-blue when most of its pixels are clearly bluer than red and green.
    blue = (b - np.maximum(r, g) > 40) & (b > 60)
    rows = blue.mean(axis=1) > 0.6
    return {"mercosul": strong, "old": 1 - strong} if rows.any() else {"mercosul": 1 - strong, "old": strong}
