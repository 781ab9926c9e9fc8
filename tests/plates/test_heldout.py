"""The held-out plate frames: deterministic, plates whole in the frame at the issue's widths, both
formats with valid text, drawn only with held-out typefaces."""

from __future__ import annotations

import string

import numpy as np
import pytest

from tests.plates.heldout import (
    FRAME_H,
    FRAME_W,
    HELDOUT_FACES,
    HELDOUT_FONT_FAMILIES,
    PLATE_WIDTH,
    SPLITS,
    STROKE_GLYPHS,
    frames,
    missing_fonts,
    render_frame,
    typefaces,
)
from vigia.vision.plates.brazil import FORMATS, plate_format

pytestmark = pytest.mark.skipif(bool(missing_fonts()), reason=f"held-out fonts missing: {missing_fonts()} "
                                "(make bootstrap installs them)")


def test_a_frame_is_the_same_for_the_same_index_split_and_format() -> None:
    a, b = render_frame(3, "degraded", "old"), render_frame(3, "degraded", "old")
    assert np.array_equal(a.image, b.image)
    assert (a.text, a.font, a.conditions) == (b.text, b.font, b.conditions)
    assert np.array_equal(a.quad, b.quad)
    other = render_frame(4, "degraded", "old")
    assert other.text != a.text and not np.array_equal(other.image, a.image)
    assert render_frame(3, "degraded", "old", seed=1).text != a.text


@pytest.mark.parametrize("split", SPLITS)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_plates_are_whole_in_the_frame_valid_and_of_the_requested_format(split, fmt) -> None:
    for frame in frames(split, fmt, 6):
        assert frame.image.shape == (FRAME_H, FRAME_W, 3) and frame.image.dtype == np.uint8
        x1, y1, x2, y2 = frame.box
        assert 0 < x1 < x2 < FRAME_W and 0 < y1 < y2 < FRAME_H
        assert PLATE_WIDTH[0] * 0.85 <= frame.plate_width <= PLATE_WIDTH[1] * 1.05
        assert plate_format(frame.text) == fmt == frame.format
        assert frame.font in typefaces()
        assert bool(frame.conditions) == (split == "degraded")


def test_plate_widths_cover_the_range_and_the_plate_is_drawn_at_its_quad() -> None:
    widths = []
    for frame in frames("clean", "mercosul", 16, seed=7):
        widths.append(frame.plate_width)
        x1, y1, x2, y2 = (round(v) for v in frame.box)
        inside = frame.image[y1:y2, x1:x2]
        # A Mercosul plate's blue band is inside its quad.
        b, g, r = (inside[..., i].astype(int) for i in range(3))
        assert ((b - np.maximum(g, r)) > 50).mean() > 0.05
    assert min(widths) < 130 and max(widths) > 200


def test_only_held_out_families_and_own_strokes_draw_characters() -> None:
    assert set(HELDOUT_FACES) <= set(HELDOUT_FONT_FAMILIES)
    assert set(string.ascii_uppercase + string.digits) <= set(STROKE_GLYPHS)
    # At most half of the suitable families Debian offers are held out; these are the designs.
    assert len(HELDOUT_FACES) == 6
