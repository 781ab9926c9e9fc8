"""Passages API: filters and cursor pages, the tolerant plate search (exact > look-alike > one
edit, with sightings), a plate's history across cameras, the streamed CSV export, tenancy, bad
input, and the audit rows plate searches and exports leave (LGPD)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigia.common.plates import look_alike_key
from vigia.control.audit.models import AuditEntry
from vigia.control.cameras.models import Camera
from vigia.control.observations.models import Passage
from vigia.control.tenancy.models import Organization
from vigia.control.watchlists.models import PlateWatchlist

pytestmark = pytest.mark.django_db

URL = "/api/v1/passages/"
SEARCH = "/api/v1/passages/search"
EXPORT = "/api/v1/passages/export"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


@pytest.fixture
def make_passage(org: Organization) -> Callable[..., Passage]:
    def _make(org: Organization = org, plate: str = "ABC1D23", at: datetime | None = None, **fields: Any) -> Passage:
        first = at or ago(minutes=5)
        values: dict[str, Any] = {
            "camera_id": uuid.uuid4(), "visit": uuid.uuid4().hex[:12], "first_seen": first,
            "last_seen": first + timedelta(seconds=4), "label": "car", "plate_text": plate,
            "plate_folded": look_alike_key(plate), "confidence": 0.9, "votes": 3, "agreeing": 2,
            "message_time": first + timedelta(seconds=5), "final": True}
        values.update(fields)
        return Passage.objects.create(org=org, **values)

    return _make


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_is_newest_first_in_cursor_pages_and_only_the_callers_org(api, viewer, make_passage, other_org):
    passages = [make_passage(at=ago(minutes=m)) for m in (30, 20, 10)]
    make_passage(org=other_org, at=ago(minutes=1))
    first = api(viewer).get(URL, {"limit": 2})
    assert ids(first) == [str(passages[2].id), str(passages[1].id)]
    row = first.json()["results"][0]
    assert (row["plate_text"], row["camera"], row["votes"], row["final"], row["watchlists"]) == (
        "ABC1D23", str(passages[2].camera_id), 3, True, [])
    assert ids(api(viewer).get(first.json()["next"])) == [str(passages[0].id)]
    assert api(viewer).get(f"{URL}{passages[0].id}/").json()["id"] == str(passages[0].id)
    assert api(viewer).get(f"{URL}{passages[0].id}/").json()["runner_ups"] == []


def test_filters_camera_site_time_plate_label_and_watch_lists(api, viewer, make_passage, org):
    camera, stolen = uuid.uuid4(), PlateWatchlist.objects.create(org=org, name="stolen", kind="deny").id
    at_gate = make_passage(camera_id=camera, site="gate", label="truck", at=ago(hours=2))
    listed = make_passage(plate="XYZ9K88", at=ago(hours=5), watchlist_ids=[stolen], watchlist_matches=[
        {"watchlist": str(stolen), "name": "stolen", "kind": "deny", "plate": "XYZ9K88", "label": "", "exact": True}])
    recent = make_passage(at=ago(minutes=1))
    client = api(viewer)
    assert ids(client.get(URL, {"camera": str(camera)})) == [str(at_gate.id)]
    assert ids(client.get(URL, {"site": "gate"})) == [str(at_gate.id)]
    assert ids(client.get(URL, {"label": "truck"})) == [str(at_gate.id)]
    assert ids(client.get(URL, {"since": ago(hours=3).isoformat(), "until": ago(hours=1).isoformat()})) == [
        str(at_gate.id)]
    assert ids(client.get(URL, {"plate": "xyz-9k88"})) == [str(listed.id)]
    assert ids(client.get(URL, {"watchlist": str(stolen)})) == [str(listed.id)]
    assert ids(client.get(URL, {"watchlist_kind": "deny"})) == [str(listed.id)]
    assert ids(client.get(URL, {"watchlist_kind": "allow"})) == []
    assert ids(client.get(URL, {"listed": "true"})) == [str(listed.id)]
    assert ids(client.get(URL, {"listed": "false"})) == [str(recent.id), str(at_gate.id)]


def test_tolerant_search_ranks_exact_then_look_alikes_then_one_edit_with_sightings(api, viewer, make_passage,
                                                                                  other_org):
    exact = [make_passage(plate="ABC1D23", at=ago(hours=h)) for h in (3, 1)]
    look_alike = make_passage(plate="ABC1O23", at=ago(minutes=5))       # D read as O
    also_look_alike = make_passage(plate="A8C1D23", at=ago(minutes=4))  # B read as 8
    one_edit = make_passage(plate="ABC1D28", at=ago(minutes=3))         # 3 read as 8
    invented = make_passage(plate="PABC1D23", at=ago(minutes=2))        # a P invented at the left edge
    make_passage(plate="ABX1D28")                                       # two edits: not found
    make_passage(plate="XYZ9K88")
    make_passage(org=other_org, plate="ABC1D23")
    response = api(viewer).get(SEARCH, {"plate": "abc-1d23"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["query"] == "ABC1D23"
    plates = [(p["plate_text"], p["likeness"], p["sightings"]) for p in body["plates"]]
    assert plates[0] == ("ABC1D23", "exact", 2)
    assert set(plates[1:3]) == {("ABC1O23", "look_alike", 1), ("A8C1D23", "look_alike", 1)}
    assert set(plates[3:]) == {("ABC1D28", "edit", 1), ("PABC1D23", "edit", 1)}
    assert [r["id"] for r in body["results"]] == [
        str(exact[1].id), str(exact[0].id), str(also_look_alike.id), str(look_alike.id), str(invented.id),
        str(one_edit.id)]
    assert body["results"][0]["likeness"] == "exact"


def test_search_narrows_by_camera_site_and_time(api, viewer, make_passage):
    camera = uuid.uuid4()
    here = make_passage(camera_id=camera, site="dock", at=ago(hours=1))
    make_passage(at=ago(hours=1))
    make_passage(camera_id=camera, site="dock", at=ago(days=3))
    client = api(viewer)
    query = {"plate": "ABC1D23", "camera": str(camera), "site": "dock", "since": ago(hours=2).isoformat()}
    assert [r["id"] for r in client.get(SEARCH, query).json()["results"]] == [str(here.id)]


@pytest.mark.parametrize(("query", "field"), [({}, "plate"), ({"plate": "--"}, "plate"), ({"plate": "ABC"}, "plate"),
                                              ({"plate": "ABC1D23", "limit": "0"}, "limit"),
                                              ({"plate": "ABC1D23", "since": "soon"}, "since"),
                                              ({"plate": "ABC1D23", "camera": "x"}, "camera")])
def test_bad_search_parameters_are_400_naming_them(api, viewer, query, field):
    response = api(viewer).get(SEARCH, query)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]


def test_a_plates_history_across_cameras(api, viewer, make_passage, org):
    gate = Camera.objects.create(org=org, name="gate", rtsp_url_encrypted="x", site="north")
    gone = uuid.uuid4()  # a camera deleted since: its history stays
    old = make_passage(camera_id=gate.id, site="north", at=ago(days=2))
    new = make_passage(camera_id=gate.id, site="north", at=ago(hours=1))
    elsewhere = make_passage(camera_id=gone, site="south", at=ago(hours=5))
    misread = make_passage(camera_id=gone, plate="ABC1O23", at=ago(hours=6))
    response = api(viewer).get("/api/v1/plates/abc-1d23/history", {"limit": 2})
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["plate"], body["passages"]) == ("ABC1D23", 3)
    assert [(c["camera"], c["name"], c["site"], c["passages"]) for c in body["cameras"]] == [
        (str(gate.id), "gate", "north", 2), (str(gone), None, "south", 1)]
    assert [r["id"] for r in body["results"]] == [str(new.id), str(elsewhere.id)]
    assert [r["id"] for r in api(viewer).get(body["next"]).json()["results"]] == [str(old.id)]
    tolerant = api(viewer).get("/api/v1/plates/ABC1D23/history", {"look_alikes": "true"}).json()
    assert tolerant["passages"] == 4 and str(misread.id) in [r["id"] for r in tolerant["results"]]
    assert api(viewer).get("/api/v1/plates/AB/history").status_code == 400
    assert api(viewer).get("/api/v1/plates/QRS4T56/history").status_code == 404  # never seen here


def test_export_streams_the_filtered_passages_as_csv(api, viewer, make_passage, other_org):
    camera = uuid.uuid4()
    older = make_passage(camera_id=camera, at=ago(hours=2), runner_ups=[
        {"plate_text": "ABC1O23", "readings": 1, "confidence": 0.5}])
    newer = make_passage(camera_id=camera, plate="XYZ9K88", at=ago(hours=1), watchlist_matches=[
        {"watchlist": str(uuid.uuid4()), "name": "stolen", "kind": "deny", "plate": "XYZ9K88", "label": "",
         "exact": True}])
    make_passage(at=ago(minutes=3))
    make_passage(org=other_org, camera_id=camera)
    response = api(viewer).get(EXPORT, {"camera": str(camera)})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["id"] for r in rows] == [str(newer.id), str(older.id)]
    assert (rows[0]["plate"], rows[0]["watchlists"], rows[1]["runner_ups"]) == ("XYZ9K88", "deny:stolen", "ABC1O23")
    capped = api(viewer).get(EXPORT, {"camera": str(camera), "max_rows": "1"})
    assert len(list(csv.reader(io.StringIO(b"".join(capped.streaming_content).decode())))) == 2
    bad = api(viewer).get(EXPORT, {"since": "yesterday"})
    assert bad.status_code == 400 and "since" in bad.json()["error"]["fields"]


def test_plate_searches_and_exports_are_audited_with_who_what_and_when(api, viewer, admin, make_passage):
    make_passage()
    client = api(viewer)
    client.get(SEARCH, {"plate": "abc1d23"})
    client.get("/api/v1/plates/ABC1D23/history")
    client.get(URL, {"plate": "ABC1D23"})
    b"".join(client.get(EXPORT, {"label": "car"}).streaming_content)
    client.get("/api/v1/detections/search", {"plate": "ABC1D23"})
    client.get(URL)  # a plain list is no plate search
    entries = list(AuditEntry.objects.order_by("id"))
    assert [(e.action, e.method, e.object_type, e.object_id) for e in entries] == [
        ("plate_searched", "GET", "plate", "ABC1D23"),
        ("plate_searched", "GET", "plate", "ABC1D23"),
        ("plate_searched", "GET", "plate", "ABC1D23"),
        ("passages_exported", "GET", "passage", ""),
        ("plate_searched", "GET", "plate", "ABC1D23"),
    ]
    assert all(e.user_id == viewer.id and e.org_id == viewer.org_id and e.status_code == 200 for e in entries)
    assert entries[0].query == "plate=abc1d23" and entries[3].query == "label=car"
    assert entries[0].path == SEARCH
    audit = api(admin).get("/api/v1/audit/", {"method": "get", "action": "passages_exported"})
    assert audit.status_code == 200, audit.content
    assert [(r["user"], r["query"]) for r in audit.json()["results"]] == [(str(viewer.id), "label=car")]
