from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigia.vision.plates.brazil import (
    DIGIT_TO_LETTER,
    LETTER_TO_DIGIT,
    correct_plate,
    plate_format,
    plate_key,
)

letters = st.sampled_from(string.ascii_uppercase)
digits = st.sampled_from(string.digits)
mercosul = st.tuples(letters, letters, letters, digits, letters, digits, digits).map("".join)
old = st.tuples(letters, letters, letters, digits, digits, digits, digits).map(
    lambda c: "".join(c[:3]) + "-" + "".join(c[3:]))


@given(mercosul)
def test_valid_mercosul_plate_is_kept_unchanged(text: str) -> None:
    reading = correct_plate(text, 0.9)
    assert reading is not None
    assert (reading.text, reading.format, reading.corrected, reading.confidence) == (text, "mercosul", 0, 0.9)


@given(old)
def test_valid_old_plate_is_kept_with_or_without_its_hyphen(text: str) -> None:
    for raw in (text, text.replace("-", "")):
        reading = correct_plate(raw, 0.8)
        assert reading is not None
        assert (reading.text, reading.format, reading.corrected) == (text, "old", 0)


@given(st.one_of(mercosul, old), st.data())
def test_look_alike_slip_in_one_slot_is_corrected_by_the_slot(text: str, data: st.DataObject) -> None:
    key = plate_key(text)
    slots = [i for i, ch in enumerate(key) if (ch in LETTER_TO_DIGIT.values() and i in (3, 5, 6))
             or (ch in DIGIT_TO_LETTER.values() and i in (0, 1, 2))]
    if not slots:
        return
    slot = data.draw(st.sampled_from(slots))
    inverse = {v: k for k, v in (DIGIT_TO_LETTER if slot < 3 else LETTER_TO_DIGIT).items()}
    slipped = key[:slot] + inverse[key[slot]] + key[slot + 1:]
    reading = correct_plate(slipped, 1.0)
    assert reading is not None
    assert reading.key == key
    assert reading.corrected == 1
    assert reading.confidence < 1.0


@given(st.text(alphabet=string.ascii_uppercase + string.digits + "-. ", max_size=12))
def test_any_result_is_a_valid_plate(raw: str) -> None:
    reading = correct_plate(raw, 0.5)
    if reading is not None:
        assert plate_format(reading.text) == reading.format
        assert 0 <= reading.confidence <= 0.5


@pytest.mark.parametrize(("raw", "expected"), [
    ("ABC1D23", "ABC1D23"),
    ("A8C1D23", "ABC1D23"),      # 8 in a letter slot is B
    ("ABCID23", "ABC1D23"),      # I in a digit slot is 1
    ("ABC-1234", "ABC-1234"),
    ("ABCI234", "ABC-1234"),     # I in the 4th slot of an old plate
    ("0TSH7293", "OTS-7293"),    # the old plate's hyphen read as H, 0 for O
    ("INKO4F761", "NKO4F76"),    # the plate's frame read as I and 1 at both ends
    ("5UZ9099", "SUZ-9099"),
])
def test_typical_ocr_slips_are_corrected(raw: str, expected: str) -> None:
    reading = correct_plate(raw)
    assert reading is not None and reading.text == expected


@pytest.mark.parametrize("raw", ["", "ABC12", "ABCDEFGHIJ", "???????", "AB#1D23", "ABC1D2"])
def test_text_that_cannot_be_a_plate_is_refused(raw: str) -> None:
    assert correct_plate(raw) is None
