"""Plate strings and plate images."""

from __future__ import annotations

import random

import numpy as np
import pytest

from vigia.simulators.camsim.plates import MERCOSUL_RE, OLD_RE, plate_format, random_plate, render_plate


@pytest.mark.parametrize("fmt,pattern", [("mercosul", MERCOSUL_RE), ("old", OLD_RE)])
def test_random_plates_are_valid_in_their_format(fmt, pattern):
    rng = random.Random(7)
    plates = [random_plate(rng, fmt) for _ in range(2000)]
    assert all(pattern.match(p) for p in plates)
    assert all(plate_format(p) == fmt for p in plates)
    assert len(set(plates)) > 1990  # varied, not a handful repeated


def test_same_seed_draws_the_same_plates():
    a, b = random.Random(3), random.Random(3)
    assert [random_plate(a, "mercosul") for _ in range(20)] == [random_plate(b, "mercosul") for _ in range(20)]


@pytest.mark.parametrize("text", ["ABC1234", "AB1C234", "ABC-12345", "abc1d23", "ABC1D2", "ABC 1234", "1BC1D23"])
def test_invalid_strings_are_not_plates(text):
    assert plate_format(text) is None
    with pytest.raises(ValueError, match="not a Brazilian plate"):
        render_plate(text)


def test_mercosul_plate_has_blue_band_on_white_with_dark_characters():
    img = render_plate("ABC1D23").astype(int)
    band, body = img[10:50, 100:700], img[70:250, 20:780]
    blue = (band[..., 0] > 120) & (band[..., 2] < 60)
    assert blue.mean() > 0.6
    white = (body > 220).all(axis=-1)
    ink = (body < 60).all(axis=-1)
    assert white.mean() > 0.4 and ink.mean() > 0.15


def test_old_plate_is_grey_with_dark_characters_and_no_band():
    img = render_plate("ABC-1234").astype(int)
    grey = (np.abs(img - 190) < 15).all(axis=-1)
    ink = (img < 60).all(axis=-1)
    assert grey.mean() > 0.5 and ink.mean() > 0.1
    assert not ((img[10:50, 100:700, 0] > 120) & (img[10:50, 100:700, 2] < 60)).any()
