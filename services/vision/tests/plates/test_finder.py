from __future__ import annotations

import cv2
import numpy as np
import pytest

from vigia.vision.plates.finder import FinderConfig, find_plates, has_hyphen, text_band, touches_edge


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


def camsim_plate(text: str, width: int = 190) -> np.ndarray:
    from vigia.simulators.camsim.plates import render_plate as render

    plate = render(text)
    return cv2.resize(plate, (width, round(width * plate.shape[0] / plate.shape[1])), interpolation=cv2.INTER_AREA)


def test_text_band_paints_over_a_tilted_plates_frame_running_under_the_glyphs() -> None:
    plate = camsim_plate("CTH1R61")
    h, w = plate.shape[:2]
    canvas = np.full((720, 1280, 3), 90, np.uint8)
    canvas[400:400 + h, 600:600 + w] = plate
    turn = cv2.getRotationMatrix2D((600 + w / 2, 400 + h / 2), 3.5, 1.0)  # camsim rolls plates up to 3.5 deg
    tilted = cv2.warpAffine(canvas, turn, (1280, 720), borderValue=(90, 90, 90))
    (candidate, *_) = find_plates(tilted)
    x1, y1, x2, y2 = (round(v) for v in candidate.box)
    crop = tilted[y1:y2, x1:x2]
    band = cv2.cvtColor(text_band(crop), cv2.COLOR_BGR2GRAY)
    assert band.shape != crop.shape[:2]  # the glyphs were found
    dark = band < 100
    # No long dark run is left along any row (the frame's edge); the glyphs are.
    runs = [max((len(r) for r in "".join("x" if v else " " for v in row).split()), default=0) for row in dark]
    assert max(runs) < 0.3 * band.shape[1]
    assert dark.mean() > 0.1


@pytest.mark.parametrize(("text", "hyphen"), [("ABC-1234", True), ("QRM-7421", True), ("ABC1D23", False),
                                               ("WMW4W44", False)])
def test_the_old_plates_hyphen_is_found_and_mercosul_has_none(text: str, hyphen: bool) -> None:
    assert has_hyphen(camsim_plate(text)) is hyphen


def test_no_hyphen_verdict_without_glyphs() -> None:
    assert has_hyphen(np.full((40, 120), 230, np.uint8)) is None


def test_a_plate_rolled_six_degrees_is_found(render_plate) -> None:
    frame = scene_with_plate(render_plate, 500, 400, width=180)
    turn = cv2.getRotationMatrix2D((590, 430), 6.0, 1.0)
    frame = cv2.warpAffine(frame, turn, (1280, 720), borderValue=(90, 90, 90))
    found = find_plates(frame)
    assert any(abs((c.box[0] + c.box[2]) / 2 - 590) < 15 and abs((c.box[1] + c.box[3]) / 2 - 430) < 15 for c in found)


def test_a_plate_in_a_dark_frame_is_found_below_every_fixed_threshold(render_plate) -> None:
    frame = (scene_with_plate(render_plate, 500, 400, width=180).astype(np.float32) * 0.3).astype(np.uint8)
    assert frame.max() < 110
    (cand, *_) = find_plates(frame)
    assert abs(cand.box[0] - 500) < 10 and abs(cand.box[1] - 400) < 10


def overexposed_plate_on_a_white_car(render_plate) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """A white plate on a white car body, both clipped near white: no outline around the plate."""
    frame = np.full((720, 1280, 3), 90, np.uint8)
    frame[250:550, 350:850] = 250  # the car body (not plate-shaped: 5:3)
    plate = render_plate("ABC1D23", 200)
    plate[plate > 200] = 250
    plate[:6], plate[-6:], plate[:, :6], plate[:, -6:] = 250, 250, 250, 250  # its frame washed out
    x, y = 500, 420
    frame[y:y + plate.shape[0], x:x + plate.shape[1]] = plate
    return frame, (x, y, x + plate.shape[1], y + plate.shape[0])


def test_a_plate_without_an_outline_is_found_by_its_row_of_glyphs(render_plate) -> None:
    frame, (x1, y1, x2, y2) = overexposed_plate_on_a_white_car(render_plate)

    def around_the_plate(found: list) -> list:
        return [c for c in found if c.box[0] <= (x1 + x2) / 2 <= c.box[2] and c.box[1] <= (y1 + y2) / 2 <= c.box[3]
                and abs(c.box[0] - x1) < 0.15 * (x2 - x1) and abs(c.box[2] - x2) < 0.15 * (x2 - x1)]

    assert around_the_plate(find_plates(frame, None, FinderConfig(text_rows=False))) == []
    (cand,) = around_the_plate(find_plates(frame))
    assert cand.glyphs >= 4 and y1 - 0.3 * (y2 - y1) <= cand.box[1] and cand.box[3] <= y2 + 0.3 * (y2 - y1)


def text_on(ground: np.ndarray, text: str) -> np.ndarray:
    """``ground`` (a 60 x 260 patch) with ``text`` written across it in dark glyphs, in a light frame."""
    frame = np.full((720, 1280, 3), 240, np.uint8)
    frame[480:540, 600:860] = ground
    cv2.putText(frame, text, (610, 525), cv2.FONT_HERSHEY_DUPLEX, 1.4, (20, 20, 20), 3, cv2.LINE_AA)
    return frame


def test_a_row_of_too_few_glyphs_or_glyphs_on_an_uneven_ground_is_no_plate() -> None:
    even = np.full((60, 260, 3), 240, np.uint8)
    assert len(find_plates(text_on(even, "ABC1D23"))) == 1  # seven glyphs on an even light ground
    assert find_plates(text_on(even, "AB12")) == []
    noise = np.random.default_rng(3).integers(0, 255, (60, 260, 3), dtype=np.uint8)
    assert find_plates(text_on(noise, "ABC1D23")) == []
