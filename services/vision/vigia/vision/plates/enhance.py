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
The priors are bounded likelihood ratios weighted by how reliable the colour is where the plate
is (IR, night and over-exposure lose the band), so glyphs the decoder is sure of still win.
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


#: Bounds of the colour cues' likelihood ratios (old : Mercosul for the hyphen and for a missing
#: band, Mercosul : old for a band). Bounded so that a slot decoder sure of its glyphs -- a letter
#: in the fifth slot -- can overrule them; a clear cue still outweighs an uncertain glyph.
HYPHEN_RATIO = 1000.0
BAND_RATIO = 50.0
NO_BAND_RATIO = 30.0


def _odds(ratio: float) -> dict[PlateFormat, float]:
    """Priors from a Mercosul : old likelihood ratio."""
    mercosul = ratio / (1.0 + ratio)
    return {"mercosul": mercosul, "old": 1.0 - mercosul}


def colour_reliability(patch: np.ndarray) -> float:
    """How well a BGR ``patch`` shows colour, 0 to 1: its strongest chroma (95th percentile of
    max - min channel) against the 20-60 a daylight camera gives a plate's surroundings, times the
    share of its pixels neither near black nor clipped. IR and night frames are grey, dark frames
    have no chroma left, over-exposed ones clip it: there, the missing blue band says little."""
    if patch.size == 0:
        return 0.0
    pixels = patch.reshape(-1, 3).astype(np.int16)
    high, low = pixels.max(axis=1), pixels.min(axis=1)
    chroma = float(np.percentile(high - low, 95))
    exposed = float(np.mean((high > 50) & (low < 235)))
    return float(np.clip((chroma - 20.0) / 40.0, 0.0, 1.0)) * float(np.clip((exposed - 0.3) / 0.5, 0.0, 1.0))


def format_priors(frame: np.ndarray, box: tuple[float, float, float, float]) -> dict[PlateFormat, float]:
    """Prior probabilities of the two formats for the plate at ``box`` of a BGR ``frame``.

    Each colour cue is a bounded likelihood ratio, so the slot decoder can still overrule it when
    the glyphs clearly disagree (:mod:`vigia.vision.plates.ctc`). The old plate's hyphen between
    the third and fourth characters (:func:`has_hyphen`) is the strongest (on camsim's plates it is
    seen on two thirds of the old plates and never on a Mercosul one): :data:`HYPHEN_RATIO` for old.
    Else a blue band at the plate's top (inside the box or just above it) counts
    :data:`BAND_RATIO` for Mercosul. A plate without one counts for old only as far as the camera
    shows colour there (:func:`colour_reliability`): up to :data:`NO_BAND_RATIO` in daylight,
    nothing under IR, at night or over-exposed, where a Mercosul band is lost too. A blue car above
    an old plate looks like a band, which is why the hyphen is asked first. Grey frames give no
    opinion."""
    if frame.ndim != 3:
        return {"mercosul": 0.5, "old": 0.5}
    if has_hyphen(crop_plate(frame, box, 0.0, 0.0)):
        return _odds(1.0 / HYPHEN_RATIO)
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
    if (blue.mean(axis=1) > 0.6).any():
        return _odds(BAND_RATIO)
    w = x2 - x1
    around = frame[int(max(0, y1 - h)):int(min(H, y2 + h)), int(max(0, x1 - 0.5 * w)):int(min(W, x2 + 0.5 * w))]
    return _odds(NO_BAND_RATIO ** -colour_reliability(around))
