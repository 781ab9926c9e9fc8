from __future__ import annotations

import numpy as np

from vigia.vision.plates.finder import find_plates, text_band, touches_edge


def scene_with_plate(render_plate, x: int, y: int, width: int = 200) -> np.ndarray:
    frame = np.full((720, 1280, 3), 90, np.uint8)
    plate = render_plate("ABC1D23", width)
    frame[y:y + plate.shape[0], x:x + plate.shape[1]] = plate
    return frame


def test_a_light_plate_with_dark_glyphs_is_found_where_it_is(render_plate) -> None:
    frame = scene_with_plate(render_plate, 500, 400)
    (cand, *_) = find_plates(frame)
    x1, y1, x2, _ = cand.box
    assert abs(x1 - 500) < 10 and abs(y1 - 400) < 10 and abs(x2 - 700) < 10
    assert cand.glyphs >= 4


def test_search_can_be_restricted_to_regions(render_plate) -> None:
    frame = scene_with_plate(render_plate, 500, 400)
    assert find_plates(frame, [(0, 0, 300, 300)]) == []
    assert len(find_plates(frame, [(450, 350, 800, 520)])) == 1


def test_blank_and_textless_light_rectangles_are_not_plates() -> None:
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[300:360, 300:500] = 240  # a light rectangle of plate shape without text
    assert find_plates(frame) == []


def test_text_band_drops_the_frame_around_the_glyphs(render_plate) -> None:
    crop = render_plate("ABC1D23", 300)
    band = text_band(crop)
    assert band.shape[0] < crop.shape[0] and band.shape[1] <= crop.shape[1]


def test_plate_on_the_frame_border_is_flagged() -> None:
    assert touches_edge((0, 10, 100, 40), 640, 360)
    assert not touches_edge((10, 10, 100, 40), 640, 360)
