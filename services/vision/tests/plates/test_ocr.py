from __future__ import annotations

import pytest

from vigia.vision.plates.brazil import correct_plate
from vigia.vision.plates.finder import text_band


@pytest.mark.parametrize("text", ["BRA2E19", "QRM-7421"])
def test_easyocr_reads_a_rendered_plate_crop_into_a_valid_plate(plate_ocr, render_plate, text: str) -> None:
    (read,) = plate_ocr.read([text_band(render_plate(text))])  # as the pipeline crops it
    reading = correct_plate(read.text, read.confidence)
    assert reading is not None
    assert reading.text == text


def test_several_crops_are_read_in_one_call_in_order(plate_ocr, render_plate) -> None:
    texts = ["ABC1D23", "KLM-4567", "XYZ9A87"]
    reads = plate_ocr.read([text_band(render_plate(t, width=300 + 40 * i)) for i, t in enumerate(texts)])
    got = [correct_plate(r.text, r.confidence) for r in reads]
    assert [g.text if g else None for g in got] == texts
