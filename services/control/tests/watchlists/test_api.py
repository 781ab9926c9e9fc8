"""Watch-lists API: the shared matrix for lists; entries (plates normalised and validated as
Brazilian plates, unique per list, expiry), roles and cross-org 404s on the nested routes; every
change of a list or of its entries bumps the list's version and announces it through the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
import pytest
from django.utils import timezone

from services.control.tests.api_matrix import APIMatrix, unique_name
from vigia.common.messages import WatchlistChanged
from vigia.control.outbox.models import OutboxMessage
from vigia.control.pipelines.models import Pipeline
from vigia.control.watchlists.models import PlateWatchlist, PlateWatchlistEntry


def make_watchlist(org: Any, kind: str = "deny", **extra: Any) -> PlateWatchlist:
    return PlateWatchlist.objects.create(org=org, name=extra.pop("name", unique_name("list")), kind=kind, **extra)


def _messages() -> list[dict[str, Any]]:
    return [orjson.loads(bytes(row.body)) | {"routing_key": row.routing_key}
            for row in OutboxMessage.objects.order_by("id")]


class TestWatchlistAPI(APIMatrix):
    url = "/api/v1/watchlists/"
    model = PlateWatchlist
    create_data = {"name": "stolen", "kind": "deny", "description": "reported stolen"}
    update_data = {"description": "from the police feed"}

    def make_object(self, org: Any) -> PlateWatchlist:
        return make_watchlist(org)


def test_entries_are_normalised_counted_and_each_change_announces_the_list(
    api: Any, operator: Any, viewer: Any, org: Any
) -> None:
    client = api(operator)
    created = client.post("/api/v1/watchlists/", {"name": "residents", "kind": "allow"}, format="json")
    assert created.status_code == 201, created.content
    watchlist = created.json()
    entries = f"/api/v1/watchlists/{watchlist['id']}/entries/"
    old = client.post(entries, {"plate": "abc-1234", "label": "Ana's car"}, format="json")
    mercosul = client.post(entries, {"plate": " BRA 2E19 "}, format="json")
    assert old.status_code == 201 and mercosul.status_code == 201, (old.content, mercosul.content)
    assert (old.json()["plate"], mercosul.json()["plate"]) == ("ABC1234", "BRA2E19")
    assert old.json()["watchlist"] == watchlist["id"]
    patched = client.patch(f"{entries}{old.json()['id']}/", {"label": "Ana (blue Gol)"}, format="json")
    assert patched.status_code == 200 and patched.json()["label"] == "Ana (blue Gol)"
    assert client.delete(f"{entries}{mercosul.json()['id']}/").status_code == 204

    listed = api(viewer).get(entries)
    assert [e["plate"] for e in listed.json()["results"]] == ["ABC1234"]
    read = api(viewer).get(f"/api/v1/watchlists/{watchlist['id']}/").json()
    assert (read["entries"], read["version"]) == (1, 5)

    messages = _messages()
    assert [m["type"] for m in messages] == ["watchlist.created"] + ["watchlist.updated"] * 4
    assert {m["routing_key"] for m in messages} == {f"watchlist.{org.pk}.{watchlist['id']}"}
    versions = [WatchlistChanged.model_validate(m["data"]).version for m in messages]
    assert versions == [1, 2, 3, 4, 5]


def test_deleting_a_list_deletes_its_entries_and_announces_it(api: Any, operator: Any, org: Any) -> None:
    watchlist = make_watchlist(org)
    PlateWatchlistEntry.objects.create(org=org, watchlist=watchlist, plate="ABC1234")
    assert api(operator).delete(f"/api/v1/watchlists/{watchlist.pk}/").status_code == 204
    assert PlateWatchlistEntry.objects.count() == 0
    assert [(m["type"], m["data"]) for m in _messages()] == [("watchlist.deleted", {"watchlist": str(watchlist.pk)})]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plate": "AB1234"}, "plate"),
        ({"plate": "ABC12345"}, "plate"),
        ({"plate": "1BC1234"}, "plate"),
        ({"plate": "ABC1D2E"}, "plate"),
        ({"plate": "ABC_1234"}, "plate"),
        ({"plate": ""}, "plate"),
        ({"label": "no plate"}, "plate"),
        ({"plate": "ABC1234", "label": "x" * 201}, "label"),
        ({"plate": "ABC1234", "expires_at": "next week"}, "expires_at"),
        ({"plate": "ABC1234", "colour": "red"}, "colour"),
        ({"plate": "abc 1234"}, "plate"),  # already on the list (normalised, it is the same plate)
    ],
)
def test_a_bad_entry_is_refused_naming_the_field_and_nothing_is_written(
    api: Any, operator: Any, org: Any, body: dict[str, Any], field: str
) -> None:
    watchlist = make_watchlist(org)
    PlateWatchlistEntry.objects.create(org=org, watchlist=watchlist, plate="ABC1234")
    response = api(operator).post(f"/api/v1/watchlists/{watchlist.pk}/entries/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert PlateWatchlistEntry.objects.count() == 1 and OutboxMessage.objects.count() == 0
    assert PlateWatchlist.objects.get(pk=watchlist.pk).version == 1


def test_the_same_plate_may_be_on_two_lists_and_a_list_name_is_unique(api: Any, operator: Any, org: Any) -> None:
    first, second = make_watchlist(org, name="a"), make_watchlist(org, name="b")
    client = api(operator)
    for watchlist in (first, second):
        response = client.post(f"/api/v1/watchlists/{watchlist.pk}/entries/", {"plate": "ABC1D23"}, format="json")
        assert response.status_code == 201, response.content
    taken = client.post("/api/v1/watchlists/", {"name": "a", "kind": "allow"}, format="json")
    assert taken.status_code == 400 and "name" in taken.json()["error"]["fields"]
    bad_kind = client.post("/api/v1/watchlists/", {"name": "c", "kind": "maybe"}, format="json")
    assert bad_kind.status_code == 400 and "kind" in bad_kind.json()["error"]["fields"]


def test_entries_filter_by_plate_and_by_expiry(api: Any, viewer: Any, org: Any) -> None:
    watchlist = make_watchlist(org)
    now = timezone.now()
    for plate, expires in (("ABC1234", None), ("ABD1E23", now + timedelta(days=1)), ("XYZ9876", now)):
        PlateWatchlistEntry.objects.create(org=org, watchlist=watchlist, plate=plate, expires_at=expires)
    url = f"/api/v1/watchlists/{watchlist.pk}/entries/"

    def plates(query: str) -> list[str]:
        response = api(viewer).get(url + query)
        assert response.status_code == 200, response.content
        return sorted(e["plate"] for e in response.json()["results"])

    assert plates("?active=true") == ["ABC1234", "ABD1E23"]
    assert plates("?active=false") == ["XYZ9876"]
    assert plates("?plate=ab") == ["ABC1234", "ABD1E23"]
    assert plates("?plate=xyz-98") == ["XYZ9876"]


def test_entries_of_another_org_or_another_list_answer_404_and_change_nothing(
    api: Any, operator: Any, outsider: Any, org: Any, other_org: Any
) -> None:
    mine, theirs, other = make_watchlist(org), make_watchlist(other_org), make_watchlist(org)
    entry = PlateWatchlistEntry.objects.create(org=org, watchlist=mine, plate="ABC1234")
    their_entry = PlateWatchlistEntry.objects.create(org=other_org, watchlist=theirs, plate="ABC1234")
    client = api(operator)
    for url in (f"/api/v1/watchlists/{theirs.pk}/entries/", f"/api/v1/watchlists/{theirs.pk}/entries/"
                f"{their_entry.pk}/", f"/api/v1/watchlists/{other.pk}/entries/{entry.pk}/",
                f"/api/v1/watchlists/{mine.pk}/entries/{their_entry.pk}/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/api/v1/watchlists/{theirs.pk}/entries/", {"plate": "BRA2E19"},
                       format="json").status_code == 404
    assert client.patch(f"/api/v1/watchlists/{other.pk}/entries/{entry.pk}/", {"label": "x"},
                        format="json").status_code == 404
    stranger = api(outsider)
    assert stranger.get(f"/api/v1/watchlists/{mine.pk}/entries/").status_code == 404
    assert stranger.delete(f"/api/v1/watchlists/{mine.pk}/entries/{entry.pk}/").status_code == 404
    assert PlateWatchlistEntry.objects.count() == 2 and OutboxMessage.objects.count() == 0
    assert PlateWatchlistEntry.objects.get(pk=entry.pk).label == ""


def test_viewers_read_entries_and_only_operators_change_them(
    api: Any, viewer: Any, operator: Any, org: Any
) -> None:
    watchlist = make_watchlist(org)
    entry = PlateWatchlistEntry.objects.create(org=org, watchlist=watchlist, plate="ABC1234")
    url = f"/api/v1/watchlists/{watchlist.pk}/entries/"
    reader = api(viewer)
    assert reader.get(f"{url}{entry.pk}/").json()["plate"] == "ABC1234"
    assert reader.post(url, {"plate": "BRA2E19"}, format="json").status_code == 403
    assert reader.delete(f"{url}{entry.pk}/").status_code == 403
    assert api().get(url).status_code == 401
    assert api(operator).post(url, {"plate": "BRA2E19"}, format="json").status_code == 201


def test_a_list_a_running_pipeline_names_cannot_be_deleted_or_renamed(
    api: Any, operator: Any, org: Any
) -> None:
    by_name, by_id, spare = make_watchlist(org, name="stolen"), make_watchlist(org), make_watchlist(org)

    def graph(name: str) -> dict[str, Any]:
        return {"nodes": [{"id": "m", "type": "plate_match", "config": {"watchlists": [name]}}], "edges": []}

    Pipeline.objects.create(org=org, name="gate", graph=graph("stolen"), state="running")
    Pipeline.objects.create(org=org, name="yard", graph=graph(str(by_id.pk)), state="running")
    Pipeline.objects.create(org=org, name="draft", graph=graph(str(spare.pk)))
    client = api(operator)
    for watchlist, pipeline in ((by_name, "gate"), (by_id, "yard")):
        refused = client.delete(f"/api/v1/watchlists/{watchlist.pk}/")
        assert refused.status_code == 409, refused.content
        assert refused.json()["error"]["code"] == "in_use" and pipeline in refused.json()["error"]["message"]
        renamed = client.patch(f"/api/v1/watchlists/{watchlist.pk}/", {"name": "other"}, format="json")
        assert renamed.status_code == 409
    assert client.patch(f"/api/v1/watchlists/{by_name.pk}/", {"description": "ok"}, format="json").status_code == 200
    assert client.delete(f"/api/v1/watchlists/{spare.pk}/").status_code == 204  # only a draft names it
    assert set(PlateWatchlist.objects.values_list("name", flat=True)) == {"stolen", by_id.name}
    assert [m["type"] for m in _messages()] == ["watchlist.updated", "watchlist.deleted"]
