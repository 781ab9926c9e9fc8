from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigia.simulators.camsim.plates import render_plate
from vigia.vision.plates.brazil import plate_key
from vigia.vision.plates.enhance import Blur, deblur, estimate_motion_blur, format_priors, plate_text
from vigia.vision.plates.finder import find_plates, text_band


def camera_plate(text: str, width: int = 180) -> np.ndarray:
    """A camsim plate at the size a 720p camera sees it, grey."""
    plate = render_plate(text)
    plate = cv2.resize(plate, (width, round(width * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(plate, cv2.COLOR_BGR2GRAY)


def test_the_estimated_blur_grows_with_the_true_blur_and_is_near_it() -> None:
    sharp = text_band(camera_plate("SPJ3M24"))
    estimates = [estimate_motion_blur(cv2.blur(sharp, (n, 1))) for n in (1, 3, 5, 7)]
    lengths = [e.length for e in estimates]
    assert lengths == sorted(lengths)
    assert all(e.axis == 1 for e in estimates[1:])
    for n, length in zip((1, 3, 5, 7), lengths, strict=True):
        assert abs(length - n) <= 1.5, (n, lengths)


def test_vertical_blur_is_told_from_horizontal() -> None:
    sharp = text_band(camera_plate("KLM-4567"))
    assert estimate_motion_blur(cv2.blur(sharp, (1, 6))).axis == 0


def test_deblurring_with_the_estimated_length_brings_the_image_closer_to_the_sharp_one() -> None:
    sharp = text_band(camera_plate("SPJ3M24")).astype(np.float64)
    blurred = cv2.blur(sharp.astype(np.uint8), (7, 1))
    restored = deblur(blurred, estimate_motion_blur(blurred))
    inner = (slice(4, -4), slice(12, -12))  # away from the padding
    assert np.abs(restored[inner] - sharp[inner]).mean() < 0.8 * np.abs(blurred[inner] - sharp[inner]).mean()
    assert deblur(blurred, Blur(1, 1.0)) is blurred  # nothing to undo


@pytest.mark.parametrize(("text", "expected"), [("ABC1D23", "mercosul"), ("ABC-1234", "old")])
def test_the_plate_colours_give_its_format(text: str, expected: str) -> None:
    frame = np.full((720, 1280, 3), (70, 90, 80), np.uint8)
    plate = render_plate(text)
    plate = cv2.resize(plate, (200, round(200 * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA)
    frame[400:400 + plate.shape[0], 600:800] = plate
    (candidate, *_) = find_plates(frame)
    priors = format_priors(frame, candidate.box)
    assert priors[expected] > 0.95


def test_a_grey_frame_gives_no_format_opinion() -> None:
    assert format_priors(np.zeros((100, 100), np.uint8), (10, 10, 60, 30)) == {"mercosul": 0.5, "old": 0.5}


def test_deblurring_heavily_blurred_plates_gets_more_characters_right(plate_ocr) -> None:
    right = {"plain": 0, "deblurred": 0}
    for text in ("SPJ3M24", "WQF-8061", "MTR0W99", "HMQ8A46"):
        for n in (5, 7):
            frame = np.full((720, 1280, 3), (70, 90, 80), np.uint8)
            plate = render_plate(text)
            plate = cv2.resize(plate, (190, round(190 * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA)
            frame[400:400 + plate.shape[0], 600:790] = cv2.blur(plate, (n, 1))
            (candidate, *_) = find_plates(frame)
            x1, y1, x2, y2 = (round(v) for v in candidate.box)
            crop = frame[y1:y2, x1:x2]
            priors = [format_priors(frame, candidate.box)] * 2
            plain, deblurred = plate_ocr.read_plates([text_band(crop), plate_text(crop)], priors)
            for name, reading in (("plain", plain), ("deblurred", deblurred)):
                if reading is not None:
                    right[name] += sum(a == b for a, b in zip(reading.key, plate_key(text), strict=True))
    assert right["deblurred"] > right["plain"], right


def _street_frame(text: str) -> np.ndarray:
    frame = np.full((720, 1280, 3), (70, 90, 80), np.uint8)
    frame[300:400, 560:840] = (40, 40, 160)  # a red car body around the plate: the camera shows colour
    plate = render_plate(text)
    plate = cv2.resize(plate, (200, round(200 * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA)
    frame[420:420 + plate.shape[0], 600:800] = plate
    return frame


def test_a_mercosul_plate_without_a_visible_band_still_reads_as_mercosul(plate_ocr) -> None:
    """Under IR (a grey picture) the blue band is lost: no band then says nothing about the format,
    and the glyphs -- a letter in the fifth slot -- decide."""
    frame = _street_frame("ZQU2Y92")
    ir = cv2.cvtColor(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    (candidate, *_) = find_plates(ir)
    priors = format_priors(ir, candidate.box)
    assert 0.4 <= priors["mercosul"] <= 0.6, priors
    x1, y1, x2, y2 = (round(v) for v in candidate.box)
    (reading,) = plate_ocr.read_plates([plate_text(ir[y1:y2, x1:x2])], [priors])
    assert reading is not None and (reading.text, reading.format) == ("ZQU2Y92", "mercosul")


def test_the_colour_cues_are_bounded_and_a_missing_band_counts_only_where_colour_shows() -> None:
    frame = _street_frame("ZQU2Y92")
    (candidate, *_) = find_plates(frame)
    assert 0.95 < format_priors(frame, candidate.box)["mercosul"] < 0.99  # the band: strong, not certain
    bandless = frame.copy()
    x1, y1, x2, y2 = (round(v) for v in candidate.box)
    band = bandless[y1 - 30:y1 + round(0.3 * (y2 - y1)), x1:x2]
    band[...] = band.min(axis=2, keepdims=True)  # the band's blue washed out, the car's red kept
    daylight = format_priors(bandless, candidate.box)
    assert 0.9 < daylight["old"] < 0.99, daylight
    bright = np.clip(bandless.astype(np.int32) * 2 + 150, 0, 255).astype(np.uint8)  # over-exposed: colour clipped
    assert format_priors(bright, candidate.box)["old"] < 0.75
