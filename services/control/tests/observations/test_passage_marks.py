"""Passages' watch-list marks follow the lists as they are now: adding, changing or removing an
entry, renaming, re-kinding or deleting a list re-marks the passages it concerns at once (last
week's passages of a plate put on a deny list today are ``listed=true``); an entry's expiry keeps
passages seen before it; a passage recorded while an entry is being added cannot miss it; the
re-marks are index lookups. Real PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection

from vigia.common.messages import PlateRead, make
from vigia.common.plates import look_alike_key
from vigia.control.observations import marking
from vigia.control.observations.models import Passage
from vigia.control.observations.recorder import Recorder
from vigia.control.tenancy.models import Organization
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry

URL = "/api/v1/passages/"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def passage(org: Organization, plate: str, seen: datetime) -> Passage:
    """A passage recorded before any list held its plate: unmarked."""
    return Passage.objects.create(
        org=org, camera_id=uuid.uuid4(), visit=uuid.uuid4().hex[:12], first_seen=seen - timedelta(seconds=4),
        last_seen=seen, label="car", plate_text=plate, plate_folded=look_alike_key(plate), confidence=0.9,
        votes=3, message_time=seen)


def ids(response: Any) -> set[str]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def marks(p: Passage) -> list[tuple[str, str, str, bool]]:
    p.refresh_from_db()
    assert sorted(map(str, p.watchlist_ids)) == sorted(m["watchlist"] for m in p.watchlist_matches)
    return [(m["name"], m["kind"], m["plate"], m["exact"]) for m in p.watchlist_matches]


@pytest.mark.django_db
def test_a_plate_put_on_a_deny_list_today_marks_last_weeks_passages_and_comes_off_with_it(
        api: Any, operator: Any, viewer: Any, org: Organization, other_org: Organization) -> None:
    last_week = [passage(org, "ABC1D23", ago(days=d)) for d in (7, 3)]
    misread = passage(org, "A8C1O23", ago(days=2))  # the same plate, B and D misread
    other_plate = passage(org, "XYZ9K88", ago(days=1))
    elsewhere = passage(other_org, "ABC1D23", ago(days=1))
    client, reader = api(operator), api(viewer)
    stolen = client.post("/api/v1/watchlists/", {"name": "stolen", "kind": "deny"}, format="json").json()
    entries = f"/api/v1/watchlists/{stolen['id']}/entries/"
    assert ids(reader.get(URL, {"listed": "true"})) == set()

    entry = client.post(entries, {"plate": "abc-1d23", "label": "reported 2024-05-01"}, format="json")
    assert entry.status_code == 201, entry.content
    listed = {str(p.id) for p in [*last_week, misread]}
    assert ids(reader.get(URL, {"listed": "true"})) == listed
    assert ids(reader.get(URL, {"watchlist_kind": "deny"})) == listed
    assert ids(reader.get(URL, {"watchlist": stolen["id"]})) == listed
    assert ids(reader.get(URL, {"listed": "false"})) == {str(other_plate.id)}
    shown = reader.get(f"{URL}{misread.id}/").json()["watchlists"]
    assert shown == [{"watchlist": stolen["id"], "name": "stolen", "kind": "deny", "plate": "ABC1D23",
                      "label": "reported 2024-05-01", "exact": False}]
    assert marks(elsewhere) == []  # another organization's list is not this one's

    # The entry corrected to another plate: the old plate's passages lose the mark, the new one's gain it.
    moved = client.patch(f"{entries}{entry.json()['id']}/", {"plate": "XYZ9K88"}, format="json")
    assert moved.status_code == 200, moved.content
    assert ids(reader.get(URL, {"listed": "true"})) == {str(other_plate.id)}
    assert all(marks(p) == [] for p in [*last_week, misread])

    assert client.delete(f"{entries}{entry.json()['id']}/").status_code == 204
    assert ids(reader.get(URL, {"listed": "true"})) == set()
    assert marks(other_plate) == []


@pytest.mark.django_db
def test_renaming_rekinding_or_deleting_a_list_remarks_its_passages(
        api: Any, operator: Any, viewer: Any, org: Organization) -> None:
    seen = passage(org, "BRA2E19", ago(days=4))
    client, reader = api(operator), api(viewer)
    watchlist = client.post("/api/v1/watchlists/", {"name": "visitors", "kind": "allow"}, format="json").json()
    client.post(f"/api/v1/watchlists/{watchlist['id']}/entries/", {"plate": "BRA2E19"}, format="json")
    other = client.post("/api/v1/watchlists/", {"name": "audit", "kind": "deny"}, format="json").json()
    client.post(f"/api/v1/watchlists/{other['id']}/entries/", {"plate": "BRA2E19"}, format="json")
    assert marks(seen) == [("audit", "deny", "BRA2E19", True), ("visitors", "allow", "BRA2E19", True)]

    url = f"/api/v1/watchlists/{watchlist['id']}/"
    assert client.patch(url, {"name": "barred", "kind": "deny"}, format="json").status_code == 200
    assert marks(seen) == [("audit", "deny", "BRA2E19", True), ("barred", "deny", "BRA2E19", True)]
    assert ids(reader.get(URL, {"watchlist_kind": "allow"})) == set()
    assert ids(reader.get(URL, {"watchlist_kind": "deny"})) == {str(seen.id)}

    assert client.delete(url).status_code == 204
    assert marks(seen) == [("audit", "deny", "BRA2E19", True)]
    more = [passage(org, "BRA2E19", ago(days=d)) for d in (1, 2, 3)]
    with connection.cursor() as cursor:  # batches smaller than the list's passages: all re-marked
        assert marking.remark_plates(cursor, org.id, ["BRA2E19"]) == 4
        cursor.execute("UPDATE plate_watchlists SET name = 'audited' WHERE id = %s", [other["id"]])
        assert marking.remark_watchlist(cursor, org.id, uuid.UUID(other["id"]), batch=3) == 4
    assert all(marks(p) == [("audited", "deny", "BRA2E19", True)] for p in [seen, *more])
    assert client.delete(f"/api/v1/watchlists/{other['id']}/").status_code == 204
    assert marks(seen) == []
    assert ids(reader.get(URL, {"listed": "false"})) == {str(p.id) for p in [seen, *more]}


@pytest.mark.django_db
def test_an_entry_marks_passages_seen_before_it_expires_and_extending_it_marks_later_ones(
        api: Any, operator: Any, org: Organization) -> None:
    before = passage(org, "QWE4R56", ago(days=5))
    after = passage(org, "QWE4R56", ago(days=1))
    client = api(operator)
    watchlist = client.post("/api/v1/watchlists/", {"name": "loan", "kind": "deny"}, format="json").json()
    entries = f"/api/v1/watchlists/{watchlist['id']}/entries/"
    entry = client.post(entries, {"plate": "QWE4R56", "expires_at": ago(days=3).isoformat()}, format="json").json()
    assert (marks(before), marks(after)) == ([("loan", "deny", "QWE4R56", True)], [])
    client.patch(f"{entries}{entry['id']}/", {"expires_at": None}, format="json")
    assert marks(after) == [("loan", "deny", "QWE4R56", True)]


def test_a_passage_recorded_while_an_entry_is_added_is_marked_whichever_commits_first(
        engine: Any, org: Organization) -> None:
    """Both interleavings, each forced by holding one side's transaction open."""
    watchlist = PlateWatchlist.objects.create(org=org, name="stolen", kind="deny")
    recorder = Recorder(engine)

    def plate_read(plate: str) -> Any:
        t0 = time.time_ns()
        return make("plate.read", org.id, "vision-test", PlateRead(
            camera=uuid.uuid4(), visit=uuid.uuid4().hex[:8], plate_text=plate, confidence=0.9, votes=3,
            first_seen=t0 - 2_000_000_000, last_seen=t0), time_ns=t0)

    def add_entry(plate: str, hold: threading.Event | None = None, holding: threading.Event | None = None) -> None:
        # What the entries API does in its request transaction: the entry, then the re-mark.
        with engine.begin() as conn:
            cursor = conn.connection.cursor()
            cursor.execute("INSERT INTO plate_watchlist_entries (id, org_id, watchlist_id, plate, label, created_at, "
                           "updated_at) VALUES (%s, %s, %s, %s, '', now(), now())",
                           (uuid.uuid4(), org.id, watchlist.id, plate))
            marking.remark_plates(cursor, org.id, [plate])
            if holding is not None and hold is not None:
                holding.set()
                assert hold.wait(20)

    # 1. The entry's transaction re-marked (finding nothing) and is still open when the passage is
    # recorded: the recorder waits for it, then sees the entry.
    hold, holding = threading.Event(), threading.Event()
    adder = threading.Thread(target=add_entry, args=("ABC1D23", hold, holding))
    adder.start()
    assert holding.wait(20)
    recorded = threading.Thread(target=recorder.handle, args=(plate_read("ABC1D23"),))
    recorded.start()
    recorded.join(0.5)
    assert recorded.is_alive(), "the recorder should wait for the watch-list change"
    hold.set()
    adder.join(20)
    recorded.join(20)
    assert Passage.objects.get(plate_text="ABC1D23").watchlist_ids == [watchlist.id]

    # 2. The passage's transaction is open (written unmarked) when the entry is added: the re-mark
    # waits for it, then marks it.
    with engine.begin() as conn:
        conn.exec_driver_sql(marking.LOCK_SHARED, {"org": str(org.id)})
        conn.exec_driver_sql(
            "INSERT INTO passages (id, org_id, camera_id, site, visit, first_seen, last_seen, label, plate_text, "
            "plate_folded, confidence, votes, runner_ups, final, watchlist_ids, watchlist_matches, message_time, "
            "received_at, updated_at) VALUES (%(id)s, %(org)s, %(id)s, '', 'v', now(), now(), 'car', 'XYZ9K88', "
            "'XY29K88', 0.9, 3, '[]', false, '{}', '[]', now(), now(), now())", {"id": uuid.uuid4(), "org": org.id})
        adder = threading.Thread(target=add_entry, args=("XYZ9K88",))
        adder.start()
        adder.join(0.5)
        assert adder.is_alive(), "the re-mark should wait for the passage being written"
    adder.join(20)
    assert Passage.objects.get(plate_text="XYZ9K88").watchlist_ids == [watchlist.id]


@pytest.mark.django_db
def test_remarks_are_index_lookups(org: Organization) -> None:
    watchlist = PlateWatchlist.objects.create(org=org, name="stolen", kind="deny")
    PlateWatchlistEntry.objects.create(org=org, watchlist=watchlist, plate="ABC1D23")
    passage(org, "ABC1D23", ago(days=1))
    Passage.objects.bulk_create(Passage(
        org=org, camera_id=uuid.uuid4(), visit=str(i), first_seen=ago(hours=i), last_seen=ago(hours=i),
        plate_text=f"KLM{i:04d}", plate_folded=look_alike_key(f"KLM{i:04d}"), confidence=0.9, votes=1,
        message_time=ago(hours=i)) for i in range(300))
    plans = {}
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE passages")
        cursor.execute("SET LOCAL enable_seqscan = off")  # small tables: ask whether an index can serve
        for name, sql, params in [
            ("plates", marking.REMARK_PLATES, {"org": org.id, "keys": ["A8C1023"]}),
            ("watchlist", marking.WATCHLIST_PASSAGES, {"org": org.id, "watchlist": watchlist.id}),
            ("ids", marking.REMARK_PASSAGES, {"org": org.id, "ids": [uuid.uuid4()]}),
        ]:
            cursor.execute(f"EXPLAIN {sql}", params)
            plans[name] = "\n".join(row[0] for row in cursor.fetchall())
    assert "passages_org_plate_folded" in plans["plates"], plans["plates"]
    assert "passages_watchlists" in plans["watchlist"], plans["watchlist"]
    assert "passages_pkey" in plans["ids"], plans["ids"]
    assert all("plate_watchlist_entries_folded" in plans[name] for name in ("plates", "ids")), plans
