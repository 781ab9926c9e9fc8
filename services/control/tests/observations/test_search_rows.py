"""The plate searches' written-out statements read what the ORM read (same rows, same values, same
order), and their hand-rendered plate rows read as DRF's declared fields render them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.postgres.search import TrigramSimilarity
from django.db import transaction
from django.db.models import Case, Count, IntegerField, Max, Min, Value, When
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from vigia.common.plates import edit_neighbours, look_alike_key
from vigia.control.core.renderers import FastJSONRenderer
from vigia.control.observations.api.serializers import PlateCandidateSerializer, PlateSightingsSerializer
from vigia.control.observations.models import Detection, Passage
from vigia.control.observations.passages import (
    LIKENESS_NAMES,
    PASSAGE_COLUMNS,
    PassageWindow,
    ranked_passages,
    ranked_plates,
)
from vigia.control.observations.queries import (
    DETECTION_COLUMNS,
    PlateQuery,
    plate_candidates,
    plate_matches,
    set_similarity_threshold,
)

pytestmark = pytest.mark.django_db

NOW = datetime.now(UTC).replace(microsecond=0)
CAMERAS = [uuid.uuid4(), uuid.uuid4()]
PLATES = ["ABC1D23", "ABC1O23", "ABC1D28", "ABD1D23", "XYZ9K88", "ABC1023"]


@pytest.fixture
def detections(org: Any, make_detection: Any) -> None:
    for n in range(24):
        make_detection(plate_text=PLATES[n % len(PLATES)], camera_id=CAMERAS[n % 2], time=NOW - timedelta(minutes=n),
                       box={"x1": n, "y1": 2.5, "x2": 30, "y2": 40, "big": 2**70}, track=f"t{n}",
                       frame_id=uuid.uuid4() if n % 3 else None, plate_confidence=0.5 + n / 100)


@pytest.fixture
def passages(org: Any) -> None:
    for n in range(30):
        plate = PLATES[n % len(PLATES)]
        Passage.objects.create(
            org=org, camera_id=CAMERAS[n % 2], site="gate" if n % 3 else "yard", visit=f"v{n}",
            first_seen=NOW - timedelta(minutes=n + 1), last_seen=NOW - timedelta(minutes=n), label="car",
            plate_text=plate, plate_folded=look_alike_key(plate), confidence=0.9, votes=3,
            agreeing=None if n % 4 else 2, runner_ups=[{"plate_text": "ABC1D2", "readings": 1, "confidence": 0.4}],
            watchlist_matches=[] if n % 5 else [{"watchlist": str(uuid.uuid4()), "name": "w", "kind": "deny"}],
            message_time=NOW, final=bool(n % 2), crop_key=f"c{n}" if n % 2 else None)


QUERIES = [PlateQuery("ABC1O23", 0.3), PlateQuery("ABC1O23", 0.5, camera=CAMERAS[1]),
           PlateQuery("ABC1D23", 0.3, since=NOW - timedelta(minutes=10), until=NOW - timedelta(minutes=2))]


@pytest.mark.parametrize("query", QUERIES)
def test_the_plate_search_reads_the_rows_the_orm_read(org, detections, query):
    orm = Detection.objects.filter(org_id=org.id, plate_text__trigram_similar=query.plate)
    if query.camera is not None:
        orm = orm.filter(camera_id=query.camera)
    if query.since is not None:
        orm = orm.filter(time__gte=query.since, time__lt=query.until)
    orm = orm.annotate(similarity=TrigramSimilarity("plate_text", query.plate))
    with transaction.atomic():
        set_similarity_threshold(query.threshold)
        expected = list(orm.order_by("-similarity", "-time", "-id").values(*DETECTION_COLUMNS, "similarity")[:50])
        expected_plates = list(orm.values("plate_text", "similarity").annotate(  # type: ignore[misc]
            detections=Count("id"), last_seen=Max("time")).order_by("-similarity", "-last_seen")[:50])
        rows = plate_matches(org.id, query, 50)
        plates = plate_candidates(org.id, query, 50)
    assert expected and expected_plates
    assert rows == expected
    assert [list(row) for row in rows] == [list(row) for row in expected]  # the keys' order too
    assert plates == expected_plates
    assert rows[0]["box"]["big"] == 2**70  # jsonb decoded as JSONField decodes it


WINDOWS = [PassageWindow(), PassageWindow(camera=CAMERAS[0], site="gate"),
           PassageWindow(since=NOW - timedelta(minutes=12), until=NOW - timedelta(minutes=3))]


@pytest.mark.parametrize("window", WINDOWS)
def test_the_passage_search_reads_the_rows_the_orm_read(org, passages, window):
    plate = "ABC1O23"
    folded = look_alike_key(plate)
    orm = window.apply(Passage.objects.filter(org_id=org.id, plate_folded__in=edit_neighbours(folded))).annotate(
        likeness=Case(When(plate_text=plate, then=Value(0)), When(plate_folded=folded, then=Value(1)),
                      default=Value(2), output_field=IntegerField()))
    expected_plates = [{**row, "likeness": LIKENESS_NAMES[row["likeness"]]} for row in orm.values(
        "plate_text", "likeness").annotate(  # type: ignore[misc]
        sightings=Count("id"), cameras=Count("camera_id", distinct=True), first_seen=Min("first_seen"),
        last_seen=Max("last_seen")).order_by("likeness", "-sightings", "-last_seen", "plate_text")[:50]]
    expected = [{**row, "likeness": LIKENESS_NAMES[row["likeness"]]} for row in orm.order_by(
        "likeness", "-first_seen", "-id").values(*PASSAGE_COLUMNS, "likeness")[:50]]
    assert expected and expected_plates
    assert ranked_plates(org.id, plate, window, 50) == expected_plates
    rows = ranked_passages(org.id, plate, window, 50)
    assert rows == expected
    assert [list(row) for row in rows] == [list(row) for row in expected]


class ReferenceCandidate(serializers.Serializer):
    plate_text = serializers.CharField()
    similarity = serializers.FloatField()
    detections = serializers.IntegerField()
    last_seen = serializers.DateTimeField()


class ReferenceSightings(serializers.Serializer):
    plate_text = serializers.CharField()
    likeness = serializers.ChoiceField(choices=("exact", "look_alike", "edit"))
    sightings = serializers.IntegerField()
    cameras = serializers.IntegerField()
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


def test_the_plate_rows_render_as_their_declared_fields_would(org, detections, passages):
    with transaction.atomic():
        set_similarity_threshold(0.3)
        candidates = plate_candidates(org.id, QUERIES[0], 50)
    sightings = ranked_plates(org.id, "ABC1O23", PassageWindow(), 50)
    odd = {"plate_text": "ABC1D23", "similarity": None, "detections": 3, "last_seen": None}
    for rows, serializer, reference in (([*candidates, odd], PlateCandidateSerializer, ReferenceCandidate),
                                        (sightings, PlateSightingsSerializer, ReferenceSightings)):
        assert len(rows) > 1
        expected = JSONRenderer().render(reference(rows, many=True).data)
        assert FastJSONRenderer().render(serializer(rows, many=True).data) == expected
