"""Audit trail: every mutating /api/ request is recorded (also refused and failed ones, and even
when the request's transaction rolled back), never with its body; admins read it, org-scoped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigia.control.audit.models import AuditEntry
from vigia.control.observations.models import Event

URL = "/api/v1/audit/"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def event(db, org):
    return Event.objects.create(org=org, time=datetime.now(UTC), event_type="intrusion", severity="high",
                                score=0.9)


@pytest.mark.django_db
def test_mutating_request_is_recorded_with_who_what_and_where(api, operator, org, event):
    client = api(operator)
    response = client.post(f"/api/v1/events/{event.id}/acknowledge", HTTP_USER_AGENT="console/1.0",
                           HTTP_TRACEPARENT=TRACEPARENT)
    assert response.status_code == 200
    entry = AuditEntry.objects.get()
    assert entry.user_id == operator.id and entry.org_id == org.id
    assert (entry.method, entry.path) == ("POST", f"/api/v1/events/{event.id}/acknowledge")
    assert "acknowledge" in entry.route
    assert (entry.object_type, entry.object_id) == ("event", str(event.id))
    assert entry.status_code == 200
    assert entry.ip == "127.0.0.1"
    assert entry.user_agent == "console/1.0"
    assert entry.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.django_db
def test_reads_are_not_recorded(api, admin, event):
    api(admin).get("/api/v1/events/")
    api(admin).get(f"/api/v1/events/{event.id}/")
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_refused_requests_are_recorded_with_their_status(api, viewer, event):
    assert api(viewer).post(f"/api/v1/events/{event.id}/acknowledge").status_code == 403
    assert api().post(f"/api/v1/events/{event.id}/acknowledge").status_code == 401
    rows = list(AuditEntry.objects.order_by("id").values_list("status_code", "user_id"))
    assert rows == [(403, viewer.id), (401, None)]


@pytest.mark.django_db
def test_request_bodies_are_never_recorded(api, operator, admin, user_password):
    api().post("/api/v1/auth/login", {"email": admin.email, "password": user_password}, format="json")
    secret_note = "the-gate-code-is-7712"
    event = Event.objects.create(org=operator.org, time=datetime.now(UTC), event_type="x", severity="low",
                                 score=1)
    api(operator).post(f"/api/v1/events/{event.id}/classify", {"classification": "test",
                                                                 "notes": secret_note}, format="json")
    assert AuditEntry.objects.count() == 2
    for entry in AuditEntry.objects.all():
        stored = " ".join(str(value) for value in entry.__dict__.values())
        assert user_password not in stored and secret_note not in stored


@pytest.mark.django_db(transaction=True)
def test_failed_request_is_recorded_although_its_transaction_rolled_back(api, operator, org):
    event = Event.objects.create(org=org, time=datetime.now(UTC), event_type="x", severity="low", score=1)
    response = api(operator).post(f"/api/v1/events/{event.id}/classify", {"classification": "nonsense"},
                                  format="json")
    assert response.status_code == 400
    entry = AuditEntry.objects.get()  # committed on its own, outside the rolled-back request
    assert (entry.status_code, entry.object_id, entry.user_id) == (400, str(event.id), operator.id)


@pytest.mark.django_db
def test_the_address_is_the_clients_never_a_forged_header(api, operator, event):
    client = api(operator)
    url = f"/api/v1/events/{event.id}/acknowledge"
    # Through a trusted proxy (loopback by default) that appended the address it saw after the
    # client's own forged entry: the proxy's entry counts.
    client.post(url, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9", REMOTE_ADDR="127.0.0.1")
    # A private network is not trusted by default: its header is ignored.
    client.post(url, HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="10.0.0.2")
    # From a public peer, too.
    client.post(url, HTTP_X_FORWARDED_FOR="203.0.113.9", REMOTE_ADDR="198.51.100.7")
    assert list(AuditEntry.objects.order_by("id").values_list("ip", flat=True)) == [
        "203.0.113.9", "10.0.0.2", "198.51.100.7"]


@pytest.mark.django_db
def test_only_admins_read_the_audit_log(api, admin, operator, viewer, event):
    api(operator).post(f"/api/v1/events/{event.id}/acknowledge")
    assert api(viewer).get(URL).status_code == 403
    assert api(operator).get(URL).status_code == 403
    response = api(admin).get(URL)
    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["user"] == str(operator.id) and row["user_email"] == operator.email
    assert row["method"] == "POST" and row["status_code"] == 200


@pytest.mark.django_db
def test_audit_log_is_org_scoped(api, admin, outsider, operator, event):
    api(operator).post(f"/api/v1/events/{event.id}/acknowledge")
    entry = AuditEntry.objects.get(org_id=operator.org_id)
    other = api(outsider)
    assert [r["id"] for r in other.get(URL).json()["results"] if r["id"] == str(entry.id)] == []
    assert other.get(f"{URL}{entry.id}/").status_code == 404
    assert api(admin).get(f"{URL}{entry.id}/").status_code == 200


@pytest.mark.django_db
def test_audit_filters_by_user_method_and_time(api, admin, operator, make_user, event):
    other_operator = make_user(role="operator")
    api(operator).post(f"/api/v1/events/{event.id}/acknowledge")
    api(other_operator).post(f"/api/v1/events/{event.id}/classify", {"classification": "test"},
                             format="json")
    client = api(admin)

    def users(query):
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        return [row["user"] for row in response.json()["results"]]

    assert users({"user": str(operator.id)}) == [str(operator.id)]
    assert len(users({"method": "post"})) == 2
    assert users({"method": "DELETE"}) == []
    assert users({"since": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}) == []
    assert len(users({"until": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()})) == 2
    bad = client.get(URL, {"since": "whenever"})
    assert bad.status_code == 400 and "since" in bad.json()["error"]["fields"]
