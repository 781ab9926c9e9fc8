"""Translation of envelopes into feed messages, and the ?types= filter."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest

from vigia.common.messages import make
from vigia.live.wire import FEED_TYPES, feed_message, parse_types

ORG, CAM = uuid.uuid4(), uuid.uuid4()


def test_event_update_is_a_new_event_message_marked_updated() -> None:
    event = uuid.uuid4()
    env = make("event.updated", ORG, "correlator", {"event": str(event), "event_type": "intrusion",
                                                     "severity": "high", "score": 0.7,
                                                     "started_at": time.time_ns()})
    feed_type, text = feed_message(env) or ("", "")
    body = orjson.loads(text)
    assert feed_type == "new_event"
    assert body["change"] == "updated" and body["event"]["id"] == str(event)
    assert "event" not in body["event"]  # the id is under "id", as in seed 001


def test_types_the_feed_does_not_carry_are_not_translated() -> None:
    env = make("camera.restart", ORG, "watchdog", {"camera": str(CAM)})
    assert feed_message(env) is None


def test_types_filter_accepts_known_types_and_names_unknown_ones() -> None:
    assert parse_types(None) is None and parse_types(" ") is None
    assert parse_types("new_detection, camera_health") == {"new_detection", "camera_health"}
    with pytest.raises(ValueError, match=r"^types: unknown type\(s\) nope"):
        parse_types("new_detection,nope")
    assert "plate_read" in FEED_TYPES
