"""``python -m vigia.forecast train-ttm``: a TinyTimeMixer trained on an organization's own history,
as a process on the real database, then loaded by the registry as the service would load it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, select

from services.forecast.tests.conftest import minutes
from vigia.common.db import organizations
from vigia.forecast import models
from vigia.forecast.models.base import CONTEXT, HORIZON

ROOT = Path(__file__).resolve().parents[3]


def train(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "VIGIA_DATABASE_URL": database_url, "VIGIA_FORECAST_METRICS": "mag_magnitude,audio_peak",
           "VIGIA_LOG_JSON": "false"}
    return subprocess.run([sys.executable, "-m", "vigia.forecast", "train-ttm", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def slug_of(engine: Engine, org: uuid.UUID) -> str:
    with engine.connect() as conn:
        return conn.execute(select(organizations.c.slug).where(organizations.c.id == org)).scalar_one()


def test_a_ttm_is_trained_on_the_organizations_history_and_loads_for_the_service(
        database_url: str, engine: Engine, org: uuid.UUID, device: uuid.UUID,
        write_readings: Callable[..., None], tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    steps = CONTEXT + HORIZON + 600  # enough windows for a held-out fifth after the gap
    write_readings(minutes(now - timedelta(minutes=steps), 50 + 5 * np.sin(np.arange(steps) / 8)))
    write_readings(minutes(now - timedelta(minutes=30), np.ones(30)), metric="audio_peak")  # too short
    done = train(database_url, "--org", slug_of(engine, org), "--out", str(tmp_path / "ttm"), "--days", "1",
                 "--epochs", "2")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["device_metrics"] == [{"device": str(device), "metric": "mag_magnitude", "steps": steps}]
    assert figures["device_metrics_too_short"] == 1 and figures["series"] == 1
    assert figures["epochs"] == 2 and figures["train_windows"] > 0 and figures["validation_scaled_mse"] >= 0

    model = models.build("ttm", path=str(tmp_path / "ttm"))
    made = model.forecast(50 + 5 * np.sin(np.arange(CONTEXT) / 8), HORIZON, 60)
    assert len(made.mean) == HORIZON and np.all(made.lower <= made.mean) and np.all(made.mean <= made.upper)


def test_too_short_a_history_or_an_unknown_organization_is_refused_saying_why(
        database_url: str, engine: Engine, org: uuid.UUID, write_readings: Callable[..., None],
        tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    write_readings(minutes(now - timedelta(minutes=100), np.ones(100)))
    short = train(database_url, "--org", slug_of(engine, org), "--out", str(tmp_path / "ttm"), "--days", "1")
    assert short.returncode == 1
    assert f"has {CONTEXT + HORIZON} steps" in short.stderr and "the longest has 100" in short.stderr
    assert not (tmp_path / "ttm").exists()
    unknown = train(database_url, "--org", "no-such-org", "--out", str(tmp_path / "ttm"))
    assert unknown.returncode == 1 and "no organization with slug 'no-such-org'" in unknown.stderr
