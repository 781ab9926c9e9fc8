"""An organization's correlation settings, as its admins change them through control
(``PATCH /api/v1/organization/settings`` writes ``{"correlation": {...}}`` into the organization's
``settings`` column), reach the scoring through the real database once the cached copy ages out
(VIGIA_ORG_CONFIG_TTL_S)."""

from __future__ import annotations

import uuid

from sqlalchemy import Engine, update

from vigia.common.db import organizations
from vigia.common.messages import Severity
from vigia.correlator.scoring import CorrelationConfig, Signal, score, severity_of
from vigia.correlator.sites import SiteDirectory

TTL_S = 30.0


def _signals(*kinds: str) -> list[Signal]:
    return [Signal(f"{kind}-{i}", kind, kind, 1_000 + i, Severity.high, device="d1") for i, kind in enumerate(kinds)]


def _set_settings(engine: Engine, org: uuid.UUID, settings: dict[str, object]) -> None:
    with engine.begin() as conn:
        conn.execute(update(organizations).where(organizations.c.id == org).values(settings=settings))


def test_a_changed_weight_changes_the_score_once_the_cached_config_ages_out(engine: Engine, org: uuid.UUID) -> None:
    now = [0.0]
    directory = SiteDirectory(engine, CorrelationConfig(), TTL_S, clock=lambda: now[0])
    magnetic_and_person = _signals("magnetic", "humanoid")
    before = directory.org_config(org)
    assert score(magnetic_and_person, before) == 0.6 and score(magnetic_and_person, before) >= before.threshold

    # What control writes for {"correlation": {"weights": {"humanoid": 0.05}, "threshold": 0.7}}.
    _set_settings(engine, org, {"correlation": {"weights": {"humanoid": 0.05}, "threshold": 0.7}})
    now[0] += TTL_S / 2
    assert directory.org_config(org) == before  # still the cached copy

    now[0] += TTL_S
    after = directory.org_config(org)
    assert (after.weight("humanoid"), after.weight("magnetic"), after.threshold) == (0.05, 0.4, 0.7)
    assert score(magnetic_and_person, after) == 0.45 and score(magnetic_and_person, after) < after.threshold

    # An override removed (null in the API, absent in the JSON) is the default again.
    _set_settings(engine, org, {"correlation": {"threshold": 0.7}})
    now[0] += TTL_S
    assert directory.org_config(org).weight("humanoid") == 0.2


def test_severity_thresholds_and_the_fold_window_are_read_from_the_organizations_settings(
        engine: Engine, org: uuid.UUID) -> None:
    directory = SiteDirectory(engine, CorrelationConfig(), 0.0)
    # What control writes for {"correlation": {"severity": {"medium": 0.9, "critical_sensors": 3},
    # "fold_window_s": 120}, "escalation_delay_s": 60} (the escalation delay is not the correlator's).
    _set_settings(engine, org, {"escalation_delay_s": 60, "correlation": {
        "severity": {"medium": 0.9, "critical_sensors": 3}, "fold_window_s": 120}})
    config = directory.org_config(org)
    assert (config.severity.medium, config.severity.high, config.severity.critical_sensors) == (0.9, 1.0, 3)
    assert config.fold_window_s == 120
    phone_and_camera = [*_signals("magnetic", "audio"), Signal("p", "humanoid", "person", 1_300, Severity.low,
                                                                camera="c1")]
    assert severity_of(phone_and_camera, 1.0, config) == Severity.high  # 2 sensors: not enough here
    assert severity_of(phone_and_camera, 1.0, CorrelationConfig()) == Severity.critical
