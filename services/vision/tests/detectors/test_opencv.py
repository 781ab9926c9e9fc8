from __future__ import annotations

import numpy as np

from vigia.vision.detectors import Detection, build_detector


def test_hog_finds_the_people_in_ultralytics_bus_image(bus_image) -> None:
    detector = build_detector({"type": "opencv"})
    (found,) = detector.detect([bus_image])
    people = [d for d in found if d.label == "person"]
    assert len(people) >= 2  # four people stand in front of the bus
    h, w = bus_image.shape[:2]
    for d in people:
        assert isinstance(d, Detection) and 0 < d.confidence <= 1
        assert 0 <= d.box[0] < d.box[2] <= w and 0 <= d.box[1] < d.box[3] <= h
        assert d.box[3] - d.box[1] > d.box[2] - d.box[0]  # people are taller than wide


def test_blank_frame_has_no_people() -> None:
    detector = build_detector({"type": "opencv"})
    assert detector.detect([np.full((360, 640, 3), 127, np.uint8)]) == [[]]
