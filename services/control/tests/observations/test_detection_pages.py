"""The detection list's written-out page statement answers what the ORM path answered: the same
bytes (rows, key order, values), the same next and previous cursors through every page in both
directions, the same 400 for a filter that does not parse, on rows with ties in ``time``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest

from vigia.control.observations.api import views
from vigia.control.observations.detection_pages import DetectionPageRows, UnwrittenFilter
from vigia.control.observations.models import Detection

pytestmark = pytest.mark.django_db

URL = "/api/v1/detections/"
NOW = datetime.now(UTC).replace(microsecond=0)
CAMERAS = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
PLATES = ["ABC1D23", "XYZ9K88", None]


@pytest.fixture
def detections(org: Any, other_org: Any) -> None:
    # 300 rows on 60 instants (five per instant: ties the cursor breaks by offset), microseconds kept.
    rows = [
        Detection(org=org, camera_id=CAMERAS[n % 3], time=NOW - timedelta(seconds=n // 5, microseconds=n // 5 * 7),
                  label="car" if n % 4 else "person", confidence=0.5 + (n % 50) / 100,
                  box={"x1": n, "y1": 2.5, "x2": 30, "y2": 40, "big": 2**70}, plate_text=PLATES[n % 3],
                  plate_confidence=None if n % 3 == 2 else 0.7, track=f"t{n % 7}",
                  frame_id=uuid.uuid4() if n % 2 else None, snapshot_key=f"s/{n}" if n % 5 else None)
        for n in range(300)
    ]
    rows.append(Detection(org=other_org, camera_id=CAMERAS[0], time=NOW, label="car", confidence=0.9, box={}))
    Detection.objects.bulk_create(rows)


def orm_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send the list down the ORM path it took before the written-out statement."""
    def unwritten(*args: Any) -> None:
        raise UnwrittenFilter("orm")
    monkeypatch.setattr(views, "DetectionPageRows", unwritten)


def walk(client: Any, url: str) -> list[tuple[int, bytes]]:
    """Every answer from ``url`` forward through ``next`` to the last page, then back through
    ``previous`` to the first."""
    answers, link = [], url
    for key in ("next", "previous"):
        while True:
            response = client.get(link)
            answers.append((response.status_code, response.content))
            if response.status_code != 200:
                return answers
            following = response.json()[key]
            if following is None:
                break
            link = following
    return answers


QUERIES: list[dict[str, Any]] = [
    {},
    {"limit": 7},
    {"limit": 5},
    {"limit": 13, "camera": str(CAMERAS[1])},
    {"limit": 40, "since": (NOW - timedelta(seconds=30)).isoformat()},
    {"limit": 40, "until": (NOW - timedelta(seconds=20)).isoformat().replace("+00:00", "+05:30")},
    {"label": "person", "limit": 9},
    {"plate": "abc-1d23", "limit": 11},
    {"plate": "--"},
    {"plate": ""},
    {"min_confidence": "0.83", "limit": 17},
    {"track": "t3", "camera": str(CAMERAS[0]), "limit": 6},
    {"camera": str(CAMERAS[2]), "since": (NOW - timedelta(seconds=50)).isoformat(),
     "until": (NOW - timedelta(seconds=10)).isoformat(), "label": "car", "plate": "XYZ9K88",
     "min_confidence": "0.6", "track": "t1", "limit": 3},
    {"camera": "not-a-uuid"},
    {"since": "yesterday"},
    {"min_confidence": "high"},
    {"limit": 0},
    {"limit": "many"},
    {"limit": 1000},
    {"unknown": "x"},
]


@pytest.mark.parametrize("query", QUERIES, ids=[urlencode(q) or "none" for q in QUERIES])
def test_pages_read_as_the_orm_path_read_them(api, viewer, detections, monkeypatch, query):
    client = api(viewer)
    url = f"{URL}?{urlencode(query)}" if query else URL
    written = walk(client, url)
    orm_path(monkeypatch)
    assert written == walk(client, url)
    assert len(written) >= 1


def test_a_cursor_from_the_middle_of_ties_reads_the_same_both_ways(api, viewer, detections, monkeypatch):
    client = api(viewer)
    # A page of 3 inside instants of 5 rows: next and previous cursors carry offsets.
    middle = client.get(f"{URL}?limit=3").json()["next"]
    further = client.get(middle).json()["next"]
    written = [walk(client, link) for link in (middle, further)]
    orm_path(monkeypatch)
    assert written == [walk(client, link) for link in (middle, further)]


def test_a_tampered_cursor_position_fails_as_the_orm_path_fails(api, viewer, detections, monkeypatch):
    import base64
    cursor = base64.b64encode(b"o=0&p=not-a-time").decode()
    client = api(viewer)
    client.raise_request_exception = False
    written = client.get(f"{URL}?cursor={cursor}").status_code
    orm_path(monkeypatch)
    assert written == client.get(f"{URL}?cursor={cursor}").status_code



def test_every_filter_and_cursor_runs_the_written_out_statement(api, viewer, detections, monkeypatch):
    pages: list[slice] = []

    class Recorded(DetectionPageRows):
        def __getitem__(self, page: slice) -> list[dict[str, Any]]:
            pages.append(page)
            return super().__getitem__(page)

    monkeypatch.setattr(views, "DetectionPageRows", Recorded)
    client = api(viewer)
    query = {"camera": str(CAMERAS[0]), "since": (NOW - timedelta(seconds=50)).isoformat(),
             "until": NOW.isoformat(), "label": "car", "plate": "ABC1D23", "min_confidence": "0.5",
             "track": "t0", "limit": 2}
    answers = walk(client, f"{URL}?{urlencode(query)}")
    assert all(status == 200 for status, _ in answers) and len(answers) > 2
    assert len(pages) == len(answers)
