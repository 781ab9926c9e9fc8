"""The false-alarm classifier's versions and training runs: everyone of the organization reads them,
only an admin activates one (one active at a time, announced through the outbox, audited) or asks
for a training run (202, queued, announced); another organization's version is not found."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from vigia.control.audit.models import AuditEntry
from vigia.control.classifiers.models import ClassifierModel, TrainingRun
from vigia.control.outbox.models import OutboxMessage

METRICS = {"accuracy": 0.9, "precision": 0.8, "recall": 1.0, "f1": 0.889, "auc": 0.95, "loss": 0.3,
           "train_samples": 30, "test_samples": 10}


def make_model(org: Any, version: int, **fields: Any) -> ClassifierModel:
    return ClassifierModel.objects.create(
        org=org, version=version, created_at=datetime.now(UTC), artifact_key=f"false-alarms/{org.id}/v{version}",
        dataset_hash="ab" * 32, samples=40, metrics=METRICS, parameters={"epochs": 3}, **fields)


def test_versions_are_listed_newest_first_with_their_metrics(api: Any, viewer: Any, org: Any, other_org: Any) -> None:
    first, second = make_model(org, 1), make_model(org, 2, is_active=True)
    make_model(other_org, 1)
    response = api(viewer).get("/api/v1/models")
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [str(second.id), str(first.id)]
    assert rows[0]["metrics"] == METRICS and rows[0]["is_active"] is True and rows[0]["dataset_hash"] == "ab" * 32
    detail = api(viewer).get(f"/api/v1/models/{first.id}").json()
    assert (detail["version"], detail["samples"], detail["is_active"]) == (1, 40, False)


def test_an_admin_activates_one_version_at_a_time(api: Any, admin: Any, org: Any) -> None:
    old, new = make_model(org, 1, is_active=True), make_model(org, 2)
    response = api(admin).post(f"/api/v1/models/{new.id}/activate")
    assert response.status_code == 200, response.content
    assert response.json()["is_active"] is True and response.json()["activated_by"] == str(admin.id)
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.is_active, new.is_active) == (False, True)
    row = OutboxMessage.objects.get(type="model.activated")
    assert (row.exchange, row.routing_key) == ("vigia.control", f"model.activated.{org.id}.{new.id}")
    assert orjson.loads(row.body)["data"] == {"model": str(new.id), "version": 2}
    audit = AuditEntry.objects.get(path=f"/api/v1/models/{new.id}/activate")
    assert (audit.user_id, audit.status_code, audit.org_id) == (admin.id, 200, org.id)


def test_only_admins_activate_or_train(api: Any, operator: Any, viewer: Any, org: Any) -> None:
    model = make_model(org, 1)
    for user in (operator, viewer):
        assert api(user).post(f"/api/v1/models/{model.id}/activate").status_code == 403
        assert api(user).post("/api/v1/models/train").status_code == 403
    model.refresh_from_db()
    assert not model.is_active
    assert not OutboxMessage.objects.exists() and not TrainingRun.objects.exists()


def test_another_organizations_version_is_not_found(api: Any, outsider: Any, org: Any) -> None:
    model = make_model(org, 1)
    assert api(outsider).get(f"/api/v1/models/{model.id}").status_code == 404
    response = api(outsider).post(f"/api/v1/models/{model.id}/activate")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    model.refresh_from_db()
    assert not model.is_active and not OutboxMessage.objects.exists()


def test_a_training_run_is_queued_and_announced(api: Any, admin: Any, viewer: Any, org: Any) -> None:
    response = api(admin).post("/api/v1/models/train")
    assert response.status_code == 202, response.content
    body = response.json()
    run = TrainingRun.objects.get(pk=body["id"])
    assert (body["status"], run.org_id, run.requested_by_id) == ("queued", org.id, admin.id)
    row = OutboxMessage.objects.get(type="training.requested")
    assert (row.exchange, row.routing_key) == ("vigia.control", f"training.requested.{org.id}.{run.id}")
    assert orjson.loads(row.body)["data"] == {"run": str(run.id)}
    # Its progress: the run's row, readable by everyone of the organization.
    TrainingRun.objects.filter(pk=run.id).update(status="failed", error="3 classified events")
    shown = api(viewer).get(f"/api/v1/models/training-runs/{run.id}").json()
    assert (shown["status"], shown["error"], shown["model"]) == ("failed", "3 classified events", None)
    assert [r["id"] for r in api(viewer).get("/api/v1/models/training-runs").json()["results"]] == [str(run.id)]
