"""``python -m vigia.forecast train-ttm``: a TinyTimeMixer trained on an organization's own history,
for a deployment without pretrained Granite TTM-R2 weights.

Every device of the organization and every forecast metric (``VIGIA_FORECAST_METRICS``, each at its
own step) is read over the last ``--days`` as the service reads it (``date_bin`` means, gaps filled,
:func:`vigia.forecast.series.read_series`), and the series long enough for one window (512 steps of
context and 96 ahead) train one TTM (:func:`vigia.forecast.models.ttm.train_ttm`: the last fifth of
each series' windows held out for its validation loss and its band). The weights go to ``--out``
with ``save_pretrained``; the service uses them with ``VIGIA_FORECAST_MODEL=ttm`` and
``VIGIA_FORECAST_MODEL_PATH=<out>``. Prints one JSON line: the series used, the training's figures.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, select

from vigia.common.db import devices, make_engine, organizations
from vigia.forecast.models.base import CONTEXT, HORIZON
from vigia.forecast.series import MetricSpec, read_series, step_floor
from vigia.forecast.settings import ForecastSettings


class NothingToTrainOn(Exception):
    """No series of the organization is long enough for one training window."""


def organization_series(conn: Connection, org: uuid.UUID, metrics: list[MetricSpec], until: datetime,
                        days: float) -> list[tuple[uuid.UUID, str, np.ndarray]]:
    """Each device metric of the organization over the last ``days`` before ``until``, resampled
    and gap-filled as the service reads it: (device, metric, values), the empty ones left out."""
    found = []
    for device in conn.execute(select(devices.c.id).where(devices.c.org_id == org).order_by(devices.c.id)).scalars():
        for spec in metrics:
            end = step_floor(until, spec.step_s)
            steps = int(timedelta(days=days).total_seconds() // spec.step_s)
            series = read_series(conn, org, device, spec.name, spec.step_s, end, steps)
            if series is not None:
                found.append((device, spec.name, series.values))
    return found


def train_organization_ttm(engine: Engine, org_slug: str, metrics: list[MetricSpec], out: Path, *, days: float,
                           epochs: int, seed: int = 0, until: datetime | None = None) -> dict[str, Any]:
    """Train and save the organization's TTM (module docstring); its figures."""
    from vigia.forecast.models.ttm import TRAINING_FILE, train_ttm  # torch and transformers: only here

    with engine.connect() as conn:
        org = conn.execute(select(organizations.c.id).where(organizations.c.slug == org_slug)).scalar()
        if org is None:
            raise LookupError(f"no organization with slug {org_slug!r}")
        found = organization_series(conn, org, metrics, until or datetime.now(UTC), days)
    usable = [(device, metric, values) for device, metric, values in found if len(values) >= CONTEXT + HORIZON]
    if not usable:
        longest = max((len(values) for _, _, values in found), default=0)
        raise NothingToTrainOn(f"no device metric of {org_slug!r} has {CONTEXT + HORIZON} steps of history in the "
                               f"last {days:g} days (the longest has {longest}): nothing to train on")
    train_ttm([values for _, _, values in usable], out, epochs=epochs, seed=seed)
    figures = json.loads((out / TRAINING_FILE).read_text())
    return {**figures, "organization": org_slug, "out": str(out), "device_metrics": [
        {"device": str(device), "metric": metric, "steps": len(values)} for device, metric, values in usable],
        "device_metrics_too_short": len(found) - len(usable)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigia.forecast train-ttm", description=__doc__.split("\n\n")[0])
    parser.add_argument("--org", required=True, help="the organization's slug")
    parser.add_argument("--out", required=True, type=Path, help="directory the weights are saved to")
    parser.add_argument("--days", type=float, default=30.0, help="history read per device metric (30)")
    parser.add_argument("--epochs", type=int, default=10, help="training epochs (10)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.days <= 0 or args.epochs < 1:
        parser.error("--days must be positive and --epochs at least 1")
    settings = ForecastSettings()
    engine = make_engine(settings.database_url, pool_size=1, application_name="vigia-forecast-train")
    try:
        figures = train_organization_ttm(engine, args.org, settings.metric_specs(), args.out, days=args.days,
                                         epochs=args.epochs, seed=args.seed)
    except (LookupError, NothingToTrainOn) as exc:
        print(f"train-ttm: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(figures))
    return 0
