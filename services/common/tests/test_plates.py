"""Plate keys, OCR look-alikes and nearness: the one definition the watch-list node, the recorder's
passage marking and control's plate search share."""

from __future__ import annotations

import pytest

from vigia.common.messages import PlateRead
from vigia.common.plates import (
    FOLDED_ALPHABET,
    LOOK_ALIKE_FROM,
    LOOK_ALIKE_TO,
    Likeness,
    edit_neighbours,
    likeness,
    look_alike_key,
    plate_key,
)


def test_plate_key_keeps_upper_case_letters_and_digits():
    assert plate_key(" abc-1d23 ") == "ABC1D23"
    assert plate_key("çABC·1234") == "ABC1234"


@pytest.mark.parametrize(("a", "b"), [("ABC1O23", "ABC1D23"), ("ABC1Q23", "ABC1023"), ("IJK1234", "1JK1234"),
                                      ("JAB1234", "IAB1234"), ("BSZ8G23", "8528623")])
def test_look_alike_characters_share_a_key(a, b):
    assert look_alike_key(a) == look_alike_key(b)


def test_the_sql_translation_is_the_same_folding():
    assert len(LOOK_ALIKE_FROM) == len(LOOK_ALIKE_TO)
    folded = "".join(LOOK_ALIKE_TO[LOOK_ALIKE_FROM.index(c)] if c in LOOK_ALIKE_FROM else c
                     for c in "OQDIJBSZGAC9")
    assert folded == look_alike_key("OQDIJBSZGAC9")
    assert not set(FOLDED_ALPHABET) & set(LOOK_ALIKE_FROM)


@pytest.mark.parametrize(("query", "plate", "expected"), [
    ("abc-1d23", "ABC1D23", Likeness.EXACT),
    ("ABC1O23", "ABC1D23", Likeness.LOOK_ALIKE),
    ("A8C1D23", "ABC1D23", Likeness.LOOK_ALIKE),
    ("ABC1D24", "ABC1D23", Likeness.EDIT),       # one character replaced
    ("ABC1D2", "ABC1D23", Likeness.EDIT),        # one missing
    ("PABC1D23", "ABC1D23", Likeness.EDIT),      # one invented at the left edge
    ("ABX1O24", "ABC1D23", None),                # two edits
    ("XYZ9K88", "ABC1D23", None),
])
def test_likeness_ranks_exact_then_look_alike_then_one_edit(query, plate, expected):
    assert likeness(query, plate) == expected


def test_edit_neighbours_hold_every_key_one_edit_away_and_no_further():
    key = look_alike_key("ABC1D23")
    neighbours = edit_neighbours(key)
    assert key in neighbours
    for other in ("ABC1023X", "AC1023", "A8C1X23", "PA8C1023"):
        assert look_alike_key(other) in neighbours, other
    assert all(likeness(key, n) is not None for n in neighbours)
    assert look_alike_key("ABX1D24") not in neighbours


def test_a_plate_read_of_an_older_producer_still_validates():
    old = PlateRead.model_validate({"camera": "0190f0a0-0000-7000-8000-000000000001", "visit": "v1",
                                    "plate_text": "ABC1D23", "confidence": 0.9, "votes": 2,
                                    "first_seen": 1, "last_seen": 2})
    assert (old.label, old.agreeing, old.runner_ups, old.crop_key, old.final) == (None, None, [], None, False)
