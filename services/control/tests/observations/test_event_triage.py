"""Operators triage events: acknowledge and resolve with who, when and a note, one by one or in
bulk (all or nothing, 404 naming ids that are not the caller's organization's events), every change
an audit row naming the event and one ``event.triaged`` outbox message for the other operators'
screens (none for a request that changed nothing, none left by one rolled back); the escalation
query's index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from django.db import connection
from sqlalchemy.dialects import postgresql

from vigia.common.escalation import escalation_delay_s, unacknowledged_before
from vigia.common.messages import Envelope
from vigia.control.audit.models import AuditEntry
from vigia.control.observations.api import views
from vigia.control.observations.models import Event
from vigia.control.outbox.models import OutboxMessage

pytestmark = pytest.mark.django_db

URL = "/api/v1/events/"
BULK = "/api/v1/events/bulk/"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def audited(action: str) -> list[str]:
    return sorted(AuditEntry.objects.filter(action=action).values_list("object_id", flat=True))


def announced() -> list[Envelope]:
    """The ``event.triaged`` envelopes in the outbox, oldest first."""
    return [Envelope.from_json(bytes(row.body)) for row in OutboxMessage.objects.filter(type="event.triaged")
            .order_by("id")]


def announced_data() -> list[dict[str, Any]]:
    return [envelope.data.model_dump() for envelope in announced()]


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


def test_an_acknowledgement_and_a_resolution_are_announced_once_each_with_who_and_when(
        api, operator, make_user, make_event):
    event = make_event(severity="critical")
    api(operator).post(f"{URL}{event.id}/acknowledge/", {"note": "on my way"}, format="json")
    other = make_user(role="operator")
    api(other).post(f"{URL}{event.id}/resolve/", {"note": "false alarm, cat"}, format="json")
    api(operator).post(f"{URL}{event.id}/acknowledge/", {"note": "again"}, format="json")  # no change
    api(other).post(f"{URL}{event.id}/resolve/", {}, format="json")  # no change
    event.refresh_from_db()
    first, second = announced()
    rows = OutboxMessage.objects.filter(type="event.triaged").order_by("id")
    routes = [(row.exchange, row.routing_key) for row in rows]
    assert routes == [("vigia.events", f"triage.{event.org_id}.critical")] * 2
    assert (first.org, first.source, second.org) == (event.org_id, "control", event.org_id)
    ack, done = first.data.model_dump(), second.data.model_dump()
    assert (ack["event"], ack["change"], ack["status"], ack["event_type"], ack["severity"]) == (
        event.id, "acknowledged", "acknowledged", "intrusion", "critical")
    assert (ack["acknowledged_by"], ack["acknowledged_by_email"], ack["acknowledgement_note"]) == (
        operator.id, operator.email, "on my way")
    assert (ack["resolved_by"], ack["resolved_at"], ack["resolution_note"]) == (None, None, "")
    assert (done["change"], done["status"], done["resolved_by"], done["resolved_by_email"]) == (
        "resolved", "resolved", other.id, other.email)
    assert done["resolution_note"] == "false alarm, cat"
    assert (done["acknowledged_by"], done["acknowledged_by_email"]) == (operator.id, operator.email)  # the first kept
    body = orjson.loads(bytes(rows[1].body))["data"]
    assert body["resolved_at"].startswith(event.resolved_at.strftime("%Y-%m-%dT%H:%M:%S.%f"))
    assert body["updated_at"].startswith(event.updated_at.strftime("%Y-%m-%dT%H:%M:%S.%f"))


def test_resolving_an_open_event_is_one_message_saying_resolved_and_acknowledged(api, operator, make_event):
    event = make_event()
    api(operator).post(f"{URL}{event.id}/resolve/", {"note": "done"}, format="json")
    (data,) = announced_data()
    assert (data["change"], data["status"], data["acknowledged_by"], data["resolved_by"]) == (
        "resolved", "resolved", operator.id, operator.id)
    assert data["acknowledged_at"] == data["resolved_at"]


def test_bulk_announces_each_changed_event_once_and_none_of_the_unchanged(api, operator, make_user, make_event):
    first, second, seen = make_event(), make_event(), make_event()
    someone = make_user(role="operator")
    api(someone).post(f"{URL}{seen.id}/resolve/", {"note": "mine"}, format="json")
    assert [d["event"] for d in announced_data()] == [seen.id]
    body = {"ids": [str(second.id), str(first.id), str(seen.id)], "action": "resolve", "note": "shift change"}
    assert api(operator).post(BULK, body, format="json").status_code == 200
    later = announced_data()[1:]
    assert sorted(d["event"] for d in later) == sorted([first.id, second.id])
    assert {(d["change"], d["resolved_by_email"], d["resolution_note"]) for d in later} == {
        ("resolved", operator.email, "shift change")}
    # Everything already resolved: nothing changes, nothing is announced.
    assert api(operator).post(BULK, {**body, "action": "acknowledge"}, format="json").json()["changed"] == []
    assert len(announced()) == 3


def test_bulk_reads_the_users_it_announces_with_the_events_not_one_query_per_event(
        api, operator, make_user, make_event, django_assert_max_num_queries):
    events = [make_event() for _ in range(6)]
    someone = make_user(role="operator")
    for event in events:
        api(someone).post(f"{URL}{event.id}/acknowledge/", format="json")
    client = api(operator)
    body = {"ids": [str(e.id) for e in events], "action": "resolve"}
    with django_assert_max_num_queries(20):
        assert client.post(BULK, body, format="json").status_code == 200
    assert {d["acknowledged_by_email"] for d in announced_data()[6:]} == {someone.email}


def test_a_new_verdict_is_announced_and_the_same_one_again_is_not(api, operator, make_event):
    event = make_event()
    client = api(operator)
    verdict = {"classification": "false_positive", "notes": "cat on the fence"}
    assert client.post(f"{URL}{event.id}/classify/", verdict, format="json").status_code == 200
    assert client.post(f"{URL}{event.id}/classify/", verdict, format="json").status_code == 200
    assert client.post(f"{URL}{event.id}/classify/", {**verdict, "notes": "a cat"}, format="json").status_code == 200
    data = announced_data()
    assert [(d["change"], d["status"], d["classification"], d["notes"]) for d in data] == [
        ("classified", "acknowledged", "false_positive", "cat on the fence"),
        ("classified", "acknowledged", "false_positive", "a cat")]
    assert data[0]["acknowledged_by_email"] == operator.email


def test_another_orgs_event_or_a_refused_body_announces_nothing(api, operator, outsider, make_event):
    event = make_event()
    assert api(outsider).post(f"{URL}{event.id}/acknowledge/").status_code == 404
    assert api(operator).post(f"{URL}{event.id}/resolve/", {"note": "x" * 4001}, format="json").status_code == 400
    refused = api(operator).post(f"{URL}{event.id}/classify/", {"classification": "maybe"}, format="json")
    assert refused.status_code == 400
    assert announced() == []


@pytest.mark.django_db(transaction=True)
def test_a_bulk_failing_halfway_rolls_back_its_changes_and_their_announcements(
        api, operator, make_event, monkeypatch):
    first, second = make_event(), make_event()
    calls: list[str] = []

    def audit_then_fail(request: Any, action: Any, target: Any = None) -> None:
        calls.append(target[1])
        if len(calls) == 2:
            raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(views, "audit_note", audit_then_fail)
    client = api(operator)
    client.raise_request_exception = False
    body = {"ids": [str(first.id), str(second.id)], "action": "acknowledge"}
    assert client.post(BULK, body, format="json").status_code == 500
    assert len(calls) == 2  # the first event was saved and announced before the failure
    assert set(Event.objects.values_list("status", flat=True)) == {"open"}
    assert OutboxMessage.objects.count() == 0


def _compiled(query: Any) -> tuple[str, dict[str, Any]]:
    """SQLAlchemy's query as psycopg runs it (pyformat parameters)."""
    compiled = query.compile(dialect=postgresql.psycopg.dialect())  # type: ignore[attr-defined]
    return str(compiled), dict(compiled.params)
