"""The face_recognition node on detections as the vision workers publish them (label ``face``,
``identity`` the enrolled person matched or None, ``identity_distance``): injected here, since the
simulated cameras draw no faces."""

from __future__ import annotations

import uuid

import pytest

from services.common.tests.pipelines.support import NIGHT, Runner, chain, detection, node, seconds, sink
from vigia.common.pipelines import GraphError, validate_graph

ANA = uuid.UUID("0190a8c2-0000-7000-8000-0000000000a1")
BRUNO = uuid.UUID("0190a8c2-0000-7000-8000-0000000000b2")


def faces(**config: object) -> Runner:
    return Runner(chain(node("cam", "camera_rtsp"), node("faces", "face_recognition", **config), sink()))


def stream() -> list:  # type: ignore[type-arg]
    return [
        detection(100, 500, NIGHT, track="7"),  # the person carrying the faces below: not a face
        detection(100, 200, NIGHT + seconds(1), label="face", track="7:face", identity=str(ANA),
                  identity_distance=0.31),
        detection(300, 200, NIGHT + seconds(2), label="face", track="8:face", identity=str(BRUNO),
                  identity_distance=0.55),
        detection(500, 200, NIGHT + seconds(3), label="face", track="9:face", identity=None,
                  identity_distance=0.74),
    ]


def identities(runner: Runner) -> list[str | None]:
    return [p["identity"] for p in runner.payloads(*stream())]


def test_known_faces_of_anyone_enrolled_pass_and_others_do_not() -> None:
    assert identities(faces()) == [str(ANA), str(BRUNO)]


def test_known_faces_of_the_chosen_people_only() -> None:
    assert identities(faces(people=[str(BRUNO)])) == [str(BRUNO)]


def test_unknown_faces_only_and_a_stricter_distance_makes_a_far_match_unknown() -> None:
    assert identities(faces(match="unknown")) == [None]
    runner = faces(match="unknown", max_distance=0.5)
    payloads = runner.payloads(*stream())
    assert [(p["track"], p["identity"]) for p in payloads] == [("8:face", None), ("9:face", None)]
    assert identities(faces(max_distance=0.5)) == [str(ANA)]


def test_any_face_passes_and_other_labels_never_do() -> None:
    assert identities(faces(match="any")) == [str(ANA), str(BRUNO), None]


@pytest.mark.parametrize(("config", "words"), [
    ({"match": "unknown", "people": [str(ANA)]}, "people can only be chosen with match: known"),
    ({"people": ["not-an-id"]}, "UUID"),
    ({"max_distance": 0}, "greater than 0"),
])
def test_bad_configs_are_refused_naming_the_field(config: dict[str, object], words: str) -> None:
    with pytest.raises(GraphError) as excinfo:
        validate_graph({"nodes": [node("f", "face_recognition", **config)], "edges": []})
    (field, (message,)), = excinfo.value.problems.items()
    assert field.startswith("graph.nodes.0.config") and words in message
