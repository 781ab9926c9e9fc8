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
    assert priors[expected] > 0.99


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
