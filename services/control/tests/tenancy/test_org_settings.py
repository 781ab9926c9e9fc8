"""An organization's settings at /api/v1/organization/settings: every member reads them, admins
change them (validated, audited, nothing half-written), and the correlation overrides land in the
``settings`` JSON in the shape the correlator reads (``{"correlation": {"weights": {...}, ...}}``,
see vigia.correlator.scoring.CorrelationConfig)."""

from __future__ import annotations

from typing import Any

import pytest

from vigia.control.audit.models import AuditEntry
from vigia.control.core.choices import Role
from vigia.control.tenancy.models import Organization

SETTINGS = "/api/v1/organization/settings"
NO_SEVERITY = {"medium": None, "high": None, "critical": None, "critical_sensors": None}
DEFAULTS = {"time_zone": "America/Sao_Paulo", "correlation": {
    "window_ms": None, "threshold": None, "person_min_confidence": None,
    "weights": {"magnetic": None, "audio": None, "humanoid": None, "imu": None, "forecast": None},
    "severity": NO_SEVERITY, "fold_window_s": None, "false_alarm_threshold": None}, "escalation_delay_s": 300,
    "retention": {"passages_days": None, "snapshots_days": None, "notifications_days": None,
                  "evidence_days": None}, "session_idle_minutes": 30}


def _state(org: Organization) -> tuple[str, Any]:
    org.refresh_from_db()
    return org.time_zone, org.settings


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR, Role.VIEWER])
def test_every_member_reads_the_settings_a_new_organization_starts_with(api, make_user, role):
    response = api(make_user(role=role)).get(SETTINGS)
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_admin_changes_time_zone_and_correlation_in_the_shape_the_correlator_reads(api, admin, org):
    org.settings = {"retention_days": 30}  # other tunables in the JSON survive
    org.save()
    response = api(admin).patch(SETTINGS, {"time_zone": "America/Manaus", "correlation": {
        "window_ms": 1500, "threshold": 0.8, "weights": {"audio": 0.3, "imu": 0.1}}}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"time_zone": "America/Manaus", "correlation": {
        "window_ms": 1500, "threshold": 0.8, "person_min_confidence": None,
        "weights": {"magnetic": None, "audio": 0.3, "humanoid": None, "imu": 0.1, "forecast": None},
        "severity": NO_SEVERITY, "fold_window_s": None, "false_alarm_threshold": None}, "escalation_delay_s": 300,
        "retention": {"passages_days": None, "snapshots_days": None, "notifications_days": None,
                  "evidence_days": None}, "session_idle_minutes": 30}
    assert _state(org) == ("America/Manaus", {"retention_days": 30, "correlation": {
        "window_ms": 1500, "threshold": 0.8, "weights": {"audio": 0.3, "imu": 0.1}}})

    # PATCH touches only what it names; null puts the correlator's default back.
    response = api(admin).patch(SETTINGS, {"correlation": {"threshold": None, "weights": {"audio": None,
                                                                                        "magnetic": 0.5}}},
                                format="json")
    assert response.status_code == 200
    assert _state(org) == ("America/Manaus", {"retention_days": 30, "correlation": {
        "window_ms": 1500, "weights": {"imu": 0.1, "magnetic": 0.5}}})
    assert api(admin).get(SETTINGS).json()["correlation"]["weights"] == {
        "magnetic": 0.5, "audio": None, "humanoid": None, "imu": 0.1, "forecast": None}


def test_admin_tunes_severity_folding_and_escalation_in_the_shape_the_correlator_reads(api, admin, org):
    response = api(admin).patch(SETTINGS, {"escalation_delay_s": 120, "correlation": {
        "severity": {"medium": 0.9, "critical_sensors": 3}, "fold_window_s": 900}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["escalation_delay_s"] == 120 and body["correlation"]["fold_window_s"] == 900
    assert body["correlation"]["severity"] == {**NO_SEVERITY, "medium": 0.9, "critical_sensors": 3}
    assert _state(org)[1] == {"escalation_delay_s": 120, "correlation": {
        "fold_window_s": 900, "severity": {"medium": 0.9, "critical_sensors": 3}}}

    # A later change is checked against what is stored: high 0.85 would fall below medium 0.9.
    response = api(admin).patch(SETTINGS, {"correlation": {"severity": {"high": 0.85}}}, format="json")
    assert response.status_code == 400 and "correlation.severity" in response.json()["error"]["fields"]
    # Null puts the defaults back.
    response = api(admin).patch(SETTINGS, {"escalation_delay_s": None, "correlation": {
        "severity": {"medium": None}, "fold_window_s": None}}, format="json")
    assert response.status_code == 200
    assert _state(org)[1] == {"correlation": {"severity": {"critical_sensors": 3}}}
    assert api(admin).get(SETTINGS).json()["escalation_delay_s"] == 300


def test_a_change_is_audited(api, admin):
    assert api(admin).patch(SETTINGS, {"time_zone": "UTC"}, format="json").status_code == 200
    entry = AuditEntry.objects.get(path=SETTINGS)
    assert (entry.org_id, entry.user_id, entry.method, entry.status_code) == (admin.org_id, admin.pk, "PATCH", 200)


@pytest.mark.parametrize(("body", "field"), [
    ({"time_zone": "America/Sao Paulo"}, "time_zone"),
    ({"time_zone": "GMT+3"}, "time_zone"),
    ({"time_zone": ""}, "time_zone"),
    ({"correlation": {"weights": {"audio": 1.5}}}, "correlation.weights.audio"),
    ({"correlation": {"weights": {"magnetic": -0.1}}}, "correlation.weights.magnetic"),
    ({"correlation": {"weights": {"sonar": 0.5}}}, "correlation.weights.sonar"),
    ({"correlation": {"threshold": 0}}, "correlation.threshold"),
    ({"correlation": {"threshold": -1}}, "correlation.threshold"),
    ({"correlation": {"threshold": 11}}, "correlation.threshold"),
    ({"correlation": {"threshold": "nan"}}, "correlation.threshold"),
    ({"correlation": {"window_ms": 5}}, "correlation.window_ms"),
    ({"correlation": {"window_ms": 600_001}}, "correlation.window_ms"),
    ({"correlation": {"person_min_confidence": 2}}, "correlation.person_min_confidence"),
    ({"correlation": []}, "correlation.non_field_errors"),
    ({"correlation": {"severity": {"medium": -0.1}}}, "correlation.severity.medium"),
    ({"correlation": {"severity": {"critical_sensors": 0}}}, "correlation.severity.critical_sensors"),
    ({"correlation": {"severity": {"medium": 1.5}}}, "correlation.severity"),  # above the default high
    ({"correlation": {"severity": {"high": 0.9, "critical": 0.85}}}, "correlation.severity"),
    ({"correlation": {"severity": {"urgent": 1}}}, "correlation.severity.urgent"),
    ({"correlation": {"fold_window_s": -1}}, "correlation.fold_window_s"),
    ({"correlation": {"fold_window_s": 86_401}}, "correlation.fold_window_s"),
    ({"correlation": {"false_alarm_threshold": 1.5}}, "correlation.false_alarm_threshold"),
    ({"escalation_delay_s": 5}, "escalation_delay_s"),
    ({"retention": {"passages_days": 0}}, "retention.passages_days"),
    ({"retention": {"snapshots_days": 31}}, "retention.snapshots_days"),
    ({"retention": {"notifications_days": 0}}, "retention.notifications_days"),
    ({"retention": {"evidence_days": 3651}}, "retention.evidence_days"),
    ({"retention": {"forever": True}}, "retention.forever"),
    ({"escalation_delay_s": 7 * 86_400 + 1}, "escalation_delay_s"),
    ({"escalation_delay_s": "soon"}, "escalation_delay_s"),
    ({"colour": "blue"}, "colour"),
])
def test_invalid_settings_are_400_naming_the_field_and_change_nothing(api, admin, org, body, field):
    before = _state(org)
    # A valid change alongside the invalid one is not applied either.
    response = api(admin).patch(SETTINGS, {"correlation": {"window_ms": 2000}, **body} if "correlation" not in body
                                else {"time_zone": "UTC", **body}, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"], response.json()
    assert _state(org) == before


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
def test_operators_and_viewers_cannot_change_the_settings(api, make_user, org, role):
    before = _state(org)
    response = api(make_user(role=role)).patch(SETTINGS, {"time_zone": "UTC"}, format="json")
    assert response.status_code == 403
    assert _state(org) == before


def test_put_and_delete_are_not_allowed(api, admin):
    assert api(admin).put(SETTINGS, DEFAULTS, format="json").status_code == 405
    assert api(admin).delete(SETTINGS).status_code == 405


def test_each_admin_changes_only_their_own_organization(api, admin, outsider, other_org, org):
    assert api(outsider).patch(SETTINGS, {"time_zone": "Europe/Lisbon"}, format="json").status_code == 200
    assert _state(other_org)[0] == "Europe/Lisbon"
    assert _state(org)[0] == "America/Sao_Paulo"
    assert api(admin).get(SETTINGS).json()["time_zone"] == "America/Sao_Paulo"


def test_platform_operator_and_anonymous_cannot_read_or_change_settings(api, platform_operator):
    assert api(platform_operator).get(SETTINGS).status_code == 403
    assert api(platform_operator).patch(SETTINGS, {"time_zone": "UTC"}, format="json").status_code == 403
    assert api().get(SETTINGS).status_code == 401


def test_the_openapi_schema_documents_the_settings_and_organizations(api, admin):
    schema = api(admin).get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    assert {"get", "patch"} <= set(paths["/api/v1/organization/settings"])
    assert "put" not in paths["/api/v1/organization/settings"]
    assert {"get", "post"} <= set(paths["/api/v1/organizations/"])
    assert "post" in paths["/api/v1/organizations/{id}/disable/"]
    weights = schema["components"]["schemas"]["CorrelationWeights"]["properties"]
    assert weights["audio"]["maximum"] == 1 and weights["audio"]["nullable"] is True


def test_admin_sets_the_organizations_retention_of_passages_snapshots_notifications_and_evidence(
        api, admin, viewer, org):
    response = api(admin).patch(SETTINGS, {"retention": {"passages_days": 14, "snapshots_days": 7,
                                                         "notifications_days": 30, "evidence_days": 180}},
                                format="json")
    assert response.status_code == 200, response.content
    assert response.json()["retention"] == {"passages_days": 14, "snapshots_days": 7, "notifications_days": 30,
                                            "evidence_days": 180}
    assert _state(org)[1] == {"retention": {"passages_days": 14, "snapshots_days": 7, "notifications_days": 30,
                                            "evidence_days": 180}}
    response = api(admin).patch(SETTINGS, {"retention": {"snapshots_days": None}}, format="json")
    assert response.json()["retention"] == {"passages_days": 14, "snapshots_days": None, "notifications_days": 30,
                                            "evidence_days": 180}
    assert _state(org)[1] == {"retention": {"passages_days": 14, "notifications_days": 30, "evidence_days": 180}}
    assert api(viewer).patch(SETTINGS, {"retention": {"passages_days": 1}}, format="json").status_code == 403
    assert AuditEntry.objects.filter(method="PATCH", path=SETTINGS, status_code=200).count() == 2


def test_admin_sets_the_consoles_idle_time_out_and_null_puts_the_default_back(api, admin, viewer, org):
    response = api(admin).patch(SETTINGS, {"session_idle_minutes": 5}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["session_idle_minutes"] == 5
    assert api(viewer).get(SETTINGS).json()["session_idle_minutes"] == 5  # the console reads it as anyone
    assert _state(org)[1] == {"session_idle_minutes": 5}
    for wrong in (0, 24 * 60 + 1, "soon"):
        response = api(admin).patch(SETTINGS, {"session_idle_minutes": wrong}, format="json")
        assert response.status_code == 400 and "session_idle_minutes" in response.json()["error"]["fields"]
    response = api(admin).patch(SETTINGS, {"session_idle_minutes": None}, format="json")
    assert response.json()["session_idle_minutes"] == 30
    assert _state(org)[1] == {}
