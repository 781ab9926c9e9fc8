from __future__ import annotations

import numpy as np
import pytest

from vigia.vision.plates.brazil import PlateReading
from vigia.vision.plates.ctc import CLASSES, agree, decode, decode_format, decode_many, fold, greedy_text


def path(steps: str, alternatives: dict[int, dict[str, float]] | None = None) -> np.ndarray:
    """Folded probabilities of a CTC path: one step per character of ``steps`` ('_' is blank),
    0.96 on it unless ``alternatives`` gives that step's distribution."""
    probs = np.full((len(steps), len(CLASSES)), 0.04 / (len(CLASSES) - 1))
    for t, char in enumerate(steps):
        probs[t, CLASSES.index(char)] = 0.96
        for other, p in (alternatives or {}).get(t, {}).items():
            probs[t] = np.where(np.arange(len(CLASSES)) == CLASSES.index(other), p, probs[t])
    return probs / probs.sum(axis=1, keepdims=True)


def test_a_clean_path_is_read_as_it_is_spelled() -> None:
    reading = decode(path("_A_B_C_1_D_2_3_"))
    assert reading is not None and reading.text == "ABC1D23" and reading.format == "mercosul"
    assert reading.confidence > 0.9


def test_a_digit_slot_takes_the_best_digit_where_greedy_reading_says_a_letter() -> None:
    # Step 7 looks more like Z than 7; greedy text says Z, which slot correction would make 2.
    probs = path("_A_B_C_7_D_2_3_", {7: {"Z": 0.6, "7": 0.35}})
    assert greedy_text(probs) == "ABCZD23"
    reading = decode(probs)
    assert reading is not None and reading.text == "ABC7D23"
    assert reading.slots is not None and reading.slots[3]["7"] == pytest.approx(0.35, abs=0.01)


def test_repeated_characters_need_a_blank_between_them() -> None:
    assert decode(path("_A_A_A_1_B_2_2_")).text == "AAA1B22"  # type: ignore[union-attr]
    # Without blanks, "AA" is one A: the path then spells too few characters for a plate.
    assert decode_format(path("AAAA1B22"), "mercosul") is None or \
        decode_format(path("AAAA1B22"), "mercosul").key != "AAA1B22"  # type: ignore[union-attr]


def test_the_old_plates_hyphen_is_a_separator_not_a_glyph() -> None:
    charset = "-" + "".join(c for c in CLASSES[1:])  # a recogniser whose class 1 is the hyphen
    raw = np.zeros((9, 1 + len(charset)))
    for t, char in enumerate("ABC-1234_"):
        raw[t, 0 if char == "_" else 1 + charset.index(char)] = 1.0
    reading = decode(fold(raw, charset))
    assert reading is not None and reading.text == "ABC-1234" and reading.format == "old"


def test_lower_case_probabilities_count_for_the_capital() -> None:
    charset = "Aa"
    folded = fold(np.array([[0.2, 0.3, 0.5]]), charset)
    assert folded[0, CLASSES.index("A")] == pytest.approx(0.8)
    assert folded[0, 0] == pytest.approx(0.2)


def test_a_format_prior_decides_a_slot_that_could_be_a_letter_or_a_digit() -> None:
    probs = path("_A_B_C_1_O_2_3_", {9: {"O": 0.55, "0": 0.41}})
    assert decode(probs).text == "ABC1O23"  # type: ignore[union-attr]
    assert decode(probs, {"mercosul": 1e-6, "old": 1 - 1e-6}).text == "ABC-1023"  # type: ignore[union-attr]


def test_noise_is_not_a_plate() -> None:
    rng = np.random.default_rng(1)
    noise = rng.random((40, len(CLASSES)))
    assert decode(noise / noise.sum(axis=1, keepdims=True), min_confidence=0.2) is None
    assert decode(path("_A_B_")) is None  # too short for seven characters


def test_a_batch_decodes_each_matrix_as_it_would_alone() -> None:
    rng = np.random.default_rng(3)
    batch = [path("_A_B_C_1_D_2_3_"), path("_Q_R_M_7_4_2_1_"), path("_A_B_")]
    for steps in (24, 24, 31, 12):  # unequal lengths share the call, equal ones a Viterbi pass
        raw = rng.random((steps, len(CLASSES))) ** 6
        batch.append(raw / raw.sum(axis=1, keepdims=True))
    priors = [None, {"mercosul": 0.9, "old": 0.1}, None, {"mercosul": 0.02, "old": 0.98}, None, None, None]
    together = decode_many(batch, priors, min_confidence=0.0)
    assert together == [decode(p, prior, min_confidence=0.0) for p, prior in zip(batch, priors, strict=True)]
    assert together[0] is not None and together[0].text == "ABC1D23" and together[2] is None
    assert decode_many([]) == []


def _view(text: str, confidence: float, q: float = 0.5) -> PlateReading:
    """One view's Mercosul reading, each slot sure of its character; a fifth slot read as Q or O
    holds both, Q at ``q``."""
    slots = [{char: confidence} for char in text]
    if text[4] in "QO":
        slots[4] = {"Q": q, "O": 1 - q}
    return PlateReading(text, confidence, "mercosul", 0, tuple(slots))


def test_views_agree_on_the_plate_with_the_most_summed_confidence() -> None:
    views = [_view("ABC1O23", 0.9, 0.2), _view("ABC1Q23", 0.7, 0.7), None, _view("ABC1Q23", 0.6, 0.6)]
    reading = agree(views)
    # One sure view reads O, two less sure ones Q: 1.3 against 0.9.
    assert reading is not None and reading.text == "ABC1Q23"
    # The mean over the four views: the O view and the one that read nothing count zero.
    assert reading.confidence == pytest.approx(1.3 / 4)
    assert reading.slots is not None and reading.slots[4] == pytest.approx({"Q": 1.3 / 4, "O": 0.7 / 4})
    assert reading.slots[0] == pytest.approx({"A": 1.3 / 4})
    every = agree([_view("ABC1Q23", 0.8), _view("ABC1Q23", 0.6)])
    assert every is not None and every.confidence == pytest.approx(0.7)  # all views agree: their mean


def test_one_view_is_taken_as_it_is() -> None:
    only = _view("ABC1D23", 0.8)
    assert agree([only]) is only and agree([None]) is None
    alone = agree([None, only, None, None])
    assert alone is not None and alone.text == "ABC1D23" and alone.confidence == pytest.approx(0.2)
    assert agree([None, None]) is None and agree([]) is None
    first, second = _view("ABC1D23", 0.5), _view("ABC1D28", 0.5)
    assert agree([first, second]).text == "ABC1D23"  # type: ignore[union-attr]  # a tie: the first view's
