"""The hot read endpoints cost a fixed number of statements, whatever the page size, the page or
the filters: no query per row (N+1), no COUNT. A view that starts reading a related object per row
or counting its rows fails here."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from vigia.common.plates import look_alike_key
from vigia.control.devices.models import Device
from vigia.control.observations.models import Detection, Event, Passage
from vigia.control.tenancy.models import Organization

pytestmark = pytest.mark.django_db

ROWS = 12
PLATES = ("ABC1D23", "ABC1O23", "ABD1D23", "XYZ9K88")


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


@pytest.fixture
def rows(org: Organization) -> None:
    camera = uuid.uuid4()
    for n in range(ROWS):
        plate = PLATES[n % len(PLATES)]
        Detection.objects.create(org=org, camera_id=camera, time=ago(minutes=n), label="car", confidence=0.9,
                                 box={"x1": 1, "y1": 2, "x2": 3, "y2": 4}, plate_text=plate)
        Passage.objects.create(org=org, camera_id=camera, visit=f"v{n}", first_seen=ago(minutes=n),
                               last_seen=ago(minutes=n), label="car", plate_text=plate,
                               plate_folded=look_alike_key(plate), confidence=0.9, votes=3, agreeing=2,
                               message_time=ago(minutes=n), final=True)
        Event.objects.create(org=org, time=ago(minutes=n), event_type="intrusion", severity="high", score=0.8)
        Device.objects.create(org=org, name=f"phone-{n}", kind="phone")


def statements(client: Any, url: str) -> tuple[int, Any]:
    """Statements one GET runs, less the savepoints of the test's own transaction."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content
    run = [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]
    return len(run), response.json()


@pytest.fixture
def client(api: Callable[..., Any], viewer: Any) -> Any:
    """The viewer's client, once signed in (its first request loads the signing keys)."""
    client = api(viewer)
    assert client.get("/api/v1/detections/?limit=1").status_code == 200
    return client


LISTS = {
    # path: statements (the caller's user, the page)
    "/api/v1/detections/": 2,
    "/api/v1/detections/?label=car&min_confidence=0.5": 2,
    "/api/v1/passages/": 2,
    "/api/v1/events/": 2,
    "/api/v1/devices/": 2,
}


@pytest.mark.parametrize(("url", "expected"), LISTS.items())
def test_a_list_costs_the_same_statements_for_any_page_size_and_page(client, rows, url, expected):
    joiner = "&" if "?" in url else "?"
    small, first = statements(client, f"{url}{joiner}limit=2")
    large, _ = statements(client, f"{url}{joiner}limit={ROWS}")
    following, _ = statements(client, first["next"].split("testserver", 1)[1])
    assert small == large == following == expected
    assert "count" not in first  # cursor pages: no COUNT over the table


SEARCHES = {
    # path: statements (user, [threshold, ] rows, distinct plates, the audit row)
    "/api/v1/detections/search?plate=ABC1D23": 5,
    "/api/v1/passages/search?plate=ABC1D23": 4,
}


@pytest.mark.parametrize(("url", "expected"), SEARCHES.items())
def test_a_plate_search_costs_the_same_statements_for_any_limit(client, rows, url, expected):
    few, answer = statements(client, f"{url}&limit=1")
    many, _ = statements(client, f"{url}&limit=50")
    assert answer["results"] and answer["plates"]
    assert few == many == expected
