"""Operators triage events: acknowledge and resolve with who, when and a note, one by one or in
bulk (all or nothing, 404 naming ids that are not the caller's organization's events), every change
an audit row naming the event; the escalation query's index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from sqlalchemy.dialects import postgresql

from vigia.common.escalation import escalation_delay_s, unacknowledged_before
from vigia.control.audit.models import AuditEntry
from vigia.control.observations.models import Event

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"
BULK = "/api/v1/events/bulk/"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def audited(action: str) -> list[str]:
    return sorted(AuditEntry.objects.filter(action=action).values_list("object_id", flat=True))


def test_acknowledgement_records_who_when_and_the_note_and_is_audited(api, operator, make_event):
    event = make_event()
    response = api(operator).post(f"{URL}{event.id}/acknowledge/", {"note": "on my way"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["acknowledged_by"], body["acknowledgement_note"]) == (
        "acknowledged", str(operator.id), "on my way")
    assert audited("event_acknowledged") == [str(event.id)]
    entry = AuditEntry.objects.get(action="event_acknowledged")
    assert (entry.org_id, entry.user_id, entry.object_type) == (operator.org_id, operator.id, "event")


def test_resolving_records_who_when_and_the_note_and_counts_as_acknowledged(api, operator, make_event):
    event = make_event()
    before = datetime.now(UTC)
    response = api(operator).post(f"{URL}{event.id}/resolve/", {"note": "door sensor replaced"}, format="json")
    assert response.status_code == 200, response.content
    event.refresh_from_db()
    assert event.status == "resolved" and event.resolution_note == "door sensor replaced"
    assert event.resolved_by_id == operator.id and event.resolved_at is not None and event.resolved_at >= before
    assert event.acknowledged_by_id == operator.id and event.acknowledged_at == event.resolved_at
    assert response.json()["resolved_by"] == str(operator.id)
    assert audited("event_resolved") == [str(event.id)]


def test_the_first_resolution_and_acknowledgement_are_kept(api, operator, make_user, make_event):
    event = make_event()
    api(operator).post(f"{URL}{event.id}/acknowledge/", {"note": "seen"}, format="json")
    other = make_user(role="operator")
    assert api(other).post(f"{URL}{event.id}/resolve/", {"note": "fixed"}, format="json").status_code == 200
    assert api(operator).post(f"{URL}{event.id}/resolve/", {"note": "again"}, format="json").status_code == 200
    assert api(operator).post(f"{URL}{event.id}/acknowledge/").status_code == 200
    event.refresh_from_db()
    assert (event.acknowledged_by_id, event.acknowledgement_note) == (operator.id, "seen")
    assert (event.resolved_by_id, event.resolution_note) == (other.id, "fixed")
    assert audited("event_resolved") == [str(event.id)]  # only the change that happened


@pytest.mark.parametrize(("body", "field"), [({"note": "x" * 4001}, "note"), ({"status": "open"}, "status"),
                                             ({"note": ["a"]}, "note")])
def test_a_bad_resolve_body_is_400_naming_the_field_and_changes_nothing(api, operator, make_event, body, field):
    event = make_event()
    response = api(operator).post(f"{URL}{event.id}/resolve/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    event.refresh_from_db()
    assert event.status == "open" and event.resolved_at is None


def test_viewers_cannot_resolve_or_act_in_bulk(api, viewer, make_event):
    event = make_event()
    client = api(viewer)
    assert client.post(f"{URL}{event.id}/resolve/").status_code == 403
    assert client.post(BULK, {"ids": [str(event.id)], "action": "resolve"}, format="json").status_code == 403
    event.refresh_from_db()
    assert event.status == "open"


def test_another_orgs_event_cannot_be_resolved(api, outsider, make_event):
    event = make_event()
    assert api(outsider).post(f"{URL}{event.id}/resolve/", {"note": "mine?"}, format="json").status_code == 404
    event.refresh_from_db()
    assert event.status == "open"


def test_bulk_acknowledge_changes_the_open_events_and_audits_each(api, operator, make_user, make_event):
    first, second, seen = make_event(), make_event(), make_event()
    someone = make_user(role="operator")
    api(someone).post(f"{URL}{seen.id}/acknowledge/", {"note": "mine"}, format="json")
    body = {"ids": [str(second.id), str(first.id), str(seen.id), str(first.id)], "action": "acknowledge",
            "note": "shift change"}
    response = api(operator).post(BULK, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"action": "acknowledge", "changed": [str(second.id), str(first.id)],
                               "unchanged": [str(seen.id)]}
    for event in (first, second):
        event.refresh_from_db()
        assert (event.status, event.acknowledged_by_id, event.acknowledgement_note) == (
            "acknowledged", operator.id, "shift change")
    seen.refresh_from_db()
    assert (seen.acknowledged_by_id, seen.acknowledgement_note) == (someone.id, "mine")
    assert audited("event_acknowledged") == sorted([str(first.id), str(second.id), str(seen.id)])


def test_bulk_resolve_is_all_or_nothing_and_404_names_foreign_and_unknown_ids(api, operator, make_event, other_org):
    mine, also_mine, foreign, unknown = make_event(), make_event(), make_event(org=other_org), uuid.uuid4()
    body = {"ids": [str(mine.id), str(foreign.id), str(also_mine.id), str(unknown)], "action": "resolve",
            "note": "all clear"}
    response = api(operator).post(BULK, body, format="json")
    assert response.status_code == 404
    named = response.json()["error"]["fields"]["ids"]
    assert named == [f"no such event: {foreign.id}", f"no such event: {unknown}"]
    assert set(Event.objects.values_list("status", flat=True)) == {"open"}
    assert audited("event_resolved") == []

    response = api(operator).post(BULK, {**body, "ids": [str(mine.id), str(also_mine.id)]}, format="json")
    assert response.status_code == 200 and len(response.json()["changed"]) == 2
    assert set(Event.objects.filter(org=mine.org).values_list("status", "resolution_note")) == {
        ("resolved", "all clear")}
    assert Event.objects.get(pk=foreign.pk).status == "open"


@pytest.mark.parametrize(("body", "field"), [
    ({"ids": [], "action": "resolve"}, "ids"),
    ({"action": "resolve"}, "ids"),
    ({"ids": ["not-a-uuid"], "action": "resolve"}, "ids.0"),
    ({"ids": [str(uuid.uuid4()) for _ in range(501)], "action": "resolve"}, "ids"),
    ({"ids": [str(uuid.uuid4())], "action": "delete"}, "action"),
    ({"ids": [str(uuid.uuid4())], "action": "resolve", "note": "x" * 4001}, "note"),
    ({"ids": [str(uuid.uuid4())], "action": "resolve", "reason": "?"}, "reason"),
])
def test_a_bad_bulk_body_is_400_naming_the_field(api, operator, body, field):
    response = api(operator).post(BULK, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()


def test_unacknowledged_events_are_those_still_open_past_the_delay_on_the_index(
        api, operator, make_event, org, other_org):
    old = make_event(time=ago(minutes=10))
    make_event(time=ago(minutes=1))  # not yet past the delay
    seen, done = make_event(time=ago(minutes=20)), make_event(time=ago(minutes=30))
    make_event(org=other_org, time=ago(minutes=10))
    api(operator).post(f"{URL}{seen.id}/acknowledge/")
    api(operator).post(f"{URL}{done.id}/resolve/")
    query = unacknowledged_before(org.id, datetime.now(UTC) - timedelta(seconds=escalation_delay_s(org.settings)))
    sql, params = _compiled(query)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        assert [row[0] for row in cursor.fetchall()] == [old.id]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "events_org_status_time" in plan, plan


def test_the_escalation_delay_is_the_organizations_setting_or_300_s(api, admin, org):
    assert escalation_delay_s(org.settings) == 300
    response = api(admin).patch("/api/v1/organization/settings", {"escalation_delay_s": 45}, format="json")
    assert response.status_code == 200
    org.refresh_from_db()
    assert escalation_delay_s(org.settings) == 45


def _compiled(query: Any) -> tuple[str, dict[str, Any]]:
    """SQLAlchemy's query as psycopg runs it (pyformat parameters)."""
    compiled = query.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[attr-defined]
    return str(compiled), dict(compiled.params)
