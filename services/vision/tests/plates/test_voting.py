from __future__ import annotations

from vigia.vision.plates.brazil import correct_plate
from vigia.vision.plates.voting import PlateVote


def reading(text: str, conf: float):
    r = correct_plate(text, conf)
    assert r is not None
    return r


def test_per_slot_vote_recovers_a_plate_no_single_reading_had() -> None:
    vote = PlateVote()
    for text in ("ABC1D28", "ABC1O23", "A8C1D23"):  # each wrong in one slot, different slots
        vote.add(reading(text, 0.6))
    decision = vote.result()
    assert decision is not None and decision.text == "ABC1D23"
    assert decision.votes == 3


def test_confident_reading_outweighs_two_weak_ones() -> None:
    vote = PlateVote()
    vote.add(reading("ABC1D23", 0.95))
    vote.add(reading("ABC1D28", 0.2))
    vote.add(reading("ABC1D28", 0.2))
    assert vote.result().text == "ABC1D23"


def test_vote_is_decided_only_after_two_agreeing_readings() -> None:
    vote = PlateVote(agree=2)
    vote.add(reading("ABC1D23", 0.9))
    assert not vote.decided
    vote.add(reading("ABC1D28", 0.5))
    assert not vote.decided
    vote.add(reading("ABC1D23", 0.7))
    assert vote.decided and vote.result().agreeing == 2


def test_format_follows_the_fifth_slot_vote() -> None:
    vote = PlateVote()
    vote.add(reading("ABC-1234", 0.9))
    vote.add(reading("ABC1B34", 0.3))
    assert vote.result().text == "ABC-1234"


def test_empty_vote_has_no_result() -> None:
    assert PlateVote().result() is None and not PlateVote().decided
