"""Scoring and the incident state machine, without any I/O: which signals agree, in which window,
how a burst folds into one incident, and that a replay derives the same event."""

from __future__ import annotations

import uuid

import pytest

from vigia.common.messages import Severity, make
from vigia.correlator.incidents import Rules, SiteState, expire, observe
from vigia.correlator.scoring import CorrelationConfig, Signal, best_window, score, severity_of, signal_of

ORG = uuid.UUID("0190a0b0-0000-7000-8000-000000000001")
MS = 1_000_000
S = 1_000_000_000
T0 = 1_760_000_000 * S
CONFIG = CorrelationConfig()
RULES = Rules(CONFIG, quiet_ns=5 * S)
NO_FOLDING = Rules(CONFIG.model_copy(update={"fold_window_s": 0}), quiet_ns=5 * S)


def sig(kind: str, at_ms: float, ident: str | None = None, severity: Severity = Severity.high,
        device: str | None = "d1", camera: str | None = None) -> Signal:
    return Signal(ident or f"{kind}-{at_ms}", kind, kind, T0 + int(at_ms * MS), severity, device=device,
                  camera=camera)


def test_defaults_are_the_seed_rule() -> None:
    assert CONFIG.window_ms == 1000 and CONFIG.threshold == 0.6
    assert (CONFIG.weight("magnetic"), CONFIG.weight("audio"), CONFIG.weight("humanoid")) == (0.4, 0.4, 0.2)


def test_score_counts_each_kind_once() -> None:
    assert score([sig("magnetic", 0), sig("magnetic", 10), sig("magnetic", 20)], CONFIG) == 0.4
    assert score([sig("magnetic", 0), sig("audio", 10), sig("humanoid", 20)], CONFIG) == 1.0
    assert score([sig("imu", 0)], CONFIG) == 0.0


def test_best_window_only_joins_signals_within_the_window() -> None:
    magnetic, audio_far, audio_near = sig("magnetic", 0), sig("audio", 1500), sig("audio", 900)
    assert best_window([magnetic, audio_far], audio_far, CONFIG)[0] == 0.4
    value, members = best_window([magnetic, audio_near], audio_near, CONFIG)
    assert value == 0.8 and set(members) == {magnetic, audio_near}


def test_severity_follows_the_score_and_the_sensors_not_how_far_one_anomaly_stood_out() -> None:
    phone = [sig("magnetic", 0, severity=Severity.critical), sig("audio", 100, severity=Severity.critical)]
    person_on_camera = sig("humanoid", 200, device=None, camera="c1")
    assert severity_of([*phone[:1], person_on_camera], 0.6, CONFIG) == Severity.low
    assert severity_of(phone, 0.8, CONFIG) == Severity.medium
    assert severity_of([*phone, sig("humanoid", 200)], 1.0, CONFIG) == Severity.high  # one phone alone
    assert severity_of([*phone, person_on_camera], 1.0, CONFIG) == Severity.critical  # phone + camera agree


def test_an_org_tunes_the_severity_thresholds_and_inconsistent_ones_are_ignored() -> None:
    strict = CONFIG.with_overrides({"severity": {"medium": 0.9, "critical_sensors": 3}, "fold_window_s": 60})
    assert (strict.severity.medium, strict.severity.high, strict.severity.critical_sensors) == (0.9, 1.0, 3)
    assert strict.fold_window_s == 60 and CONFIG.fold_window_s == 600
    two_sensors = [sig("magnetic", 0), sig("audio", 100), sig("humanoid", 200, device=None, camera="c1")]
    assert severity_of(two_sensors, 1.0, strict) == Severity.high
    assert severity_of(two_sensors[:2], 0.8, strict) == Severity.low
    assert CONFIG.with_overrides({"severity": {"medium": 2.0}}) == CONFIG  # medium above high
    assert CONFIG.with_overrides({"severity": {"urgent": 1}}) == CONFIG


def test_org_overrides_replace_only_what_they_name_and_bad_ones_are_ignored() -> None:
    tuned = CONFIG.with_overrides({"threshold": 0.9, "weights": {"audio": 0.5}})
    assert tuned.threshold == 0.9 and tuned.weight("audio") == 0.5 and tuned.weight("magnetic") == 0.4
    assert CONFIG.with_overrides({"threshold": "high"}) == CONFIG
    assert CONFIG.with_overrides({"weights": {"audio": 7}}) == CONFIG
    assert CONFIG.with_overrides({"no_such_knob": 1}) == CONFIG


def test_signal_of_takes_anomalies_and_confident_people_only() -> None:
    camera = uuid.uuid4()

    def detection(label: str, confidence: float) -> object:
        return make("detection.created", ORG, "t", {"camera": camera, "frame": uuid.uuid4(), "captured_at": T0,
                                                    "label": label, "confidence": confidence,
                                                    "box": {"x1": 0, "y1": 0, "x2": 1, "y2": 1}})

    seen = signal_of(detection("person", 0.8), CONFIG)  # type: ignore[arg-type]
    assert seen is not None and seen.kind == "humanoid" and seen.camera == str(camera)
    assert signal_of(detection("car", 0.99), CONFIG) is None  # type: ignore[arg-type]
    assert signal_of(detection("person", 0.3), CONFIG) is None  # type: ignore[arg-type]
    voice = make("anomaly.detected", ORG, "t", {"device": uuid.uuid4(), "kind": "audio_voice", "severity": "medium",
                                                "score": 3.2, "observed_at": T0})
    taken = signal_of(voice, CONFIG)
    assert taken is not None and taken.kind == "audio" and taken.detail == "audio_voice"
    off_forecast = make("anomaly.detected", ORG, "forecast", {
        "device": uuid.uuid4(), "kind": "forecast", "severity": "high", "score": 2.5, "observed_at": T0,
        "details": {"metric": "mag_magnitude", "expected": 50.0, "lower": 49.0, "upper": 51.0, "model": "auto_ets"}})
    taken = signal_of(off_forecast, CONFIG)
    assert taken is not None and taken.kind == "forecast" and CONFIG.weight("forecast") == 0.2


def test_magnetic_audio_and_person_within_a_second_raise_one_event() -> None:
    state, now = SiteState(), T0
    assert observe(state, sig("magnetic", 0), ORG, RULES, now) == []
    created = observe(state, sig("audio", 300), ORG, RULES, now)
    assert [c.kind for c in created] == ["created"]
    incident = created[0].incident
    assert incident.score == 0.8 and incident.started_at == T0
    updated = observe(state, sig("humanoid", 600, device=None), ORG, RULES, now)
    assert [c.kind for c in updated] == ["updated"]
    assert updated[0].incident.event == incident.event and updated[0].incident.score == 1.0
    assert updated[0].incident.severity == Severity.high


def test_a_burst_folds_into_the_open_incident_and_closes_after_the_quiet_gap() -> None:
    state, now = SiteState(), T0
    observe(state, sig("magnetic", 0), ORG, RULES, now)
    observe(state, sig("audio", 100), ORG, RULES, now)
    changes = []
    for i in range(1, 20):  # more of the same, every 200 ms: one incident, not twenty
        changes += observe(state, sig("magnetic", 100 + i * 200), ORG, RULES, now + i * 200 * MS)
    assert all(c.kind == "updated" for c in changes)
    assert len(changes) < 5  # sends updates at most once a second when nothing material changes
    assert state.incident is not None and state.incident.source_count == 21
    assert expire(state, RULES, now + 19 * 200 * MS + 4 * S) is None
    closed = expire(state, RULES, now + 19 * 200 * MS + 5 * S)
    assert closed is not None and closed.kind == "closed"
    assert closed.incident.ended_at == T0 + 3900 * MS and state.incident is None


def test_a_signal_past_the_quiet_gap_closes_the_incident_and_may_start_another() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, NO_FOLDING, T0)
    first = observe(state, sig("audio", 100), ORG, NO_FOLDING, T0)[0].incident.event
    assert [c.kind for c in observe(state, sig("magnetic", 10_000), ORG, NO_FOLDING, T0)] == ["closed"]
    changes = observe(state, sig("audio", 10_100), ORG, NO_FOLDING, T0)
    assert [c.kind for c in changes] == ["created"]
    assert changes[0].incident.event != first


def test_repeats_of_the_same_cause_fold_into_one_event_with_one_occurrence_each() -> None:
    state, changes = SiteState(), []
    for n in range(5):  # magnetic + audio every 30 s: five repeats of one cause
        changes += observe(state, sig("magnetic", 30_000 * n), ORG, RULES, T0)
        changes += observe(state, sig("audio", 30_000 * n + 100), ORG, RULES, T0)
    assert [c.kind for c in changes] == ["created"] + ["closed", "updated"] * 4
    assert all(c.reopened for c in changes if c.kind == "updated")
    assert len({c.incident.event for c in changes}) == 1
    incident = state.incident
    assert incident is not None and incident.occurrences == 5 and incident.source_count == 10
    assert incident.ended_at is None and incident.started_at == T0 and incident.opened_at == T0 + 120_000 * MS
    closing = changes[1]  # the closed message still shows the incident closed
    assert closing.incident.ended_at == T0 + 100 * MS and closing.incident.occurrences == 1


def test_another_cause_or_a_repeat_past_the_fold_window_is_a_new_event() -> None:
    rules = Rules(CONFIG.model_copy(update={"fold_window_s": 60}), quiet_ns=5 * S)
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, rules, T0)
    first = observe(state, sig("audio", 100), ORG, rules, T0)[0].incident.event
    observe(state, sig("magnetic", 20_000), ORG, rules, T0)  # closes the first
    other = observe(state, sig("humanoid", 20_100), ORG, rules, T0)  # magnetic + person: another cause
    assert [c.kind for c in other] == ["created"] and other[0].incident.event != first
    observe(state, sig("magnetic", 200_000), ORG, rules, T0)
    late = observe(state, sig("audio", 200_100), ORG, rules, T0)  # same cause, 200 s later
    assert [c.kind for c in late] == ["created"] and late[0].incident.event != first


def test_a_repeat_of_part_of_the_cause_folds_into_the_event_and_may_raise_it() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, RULES, T0)
    observe(state, sig("audio", 100), ORG, RULES, T0)
    (grown,) = observe(state, sig("humanoid", 300), ORG, RULES, T0)  # the phone's flag joins: high
    event = grown.incident.event
    assert grown.incident.severity == Severity.high and grown.incident.cause == ["audio", "humanoid", "magnetic"]
    # 20 s later magnetic + the flag again (0.6, low): part of what the event saw, less severe.
    observe(state, sig("humanoid", 20_000), ORG, RULES, T0)
    repeat = observe(state, sig("magnetic", 20_100), ORG, RULES, T0)
    assert [(c.kind, c.incident.event, c.incident.occurrences) for c in repeat] == [("updated", event, 2)]
    assert repeat[0].incident.severity == Severity.high  # never goes down
    # 40 s later magnetic + audio fold again, and a camera then seeing the person raises the
    # event itself to critical (an event.updated operators see).
    observe(state, sig("magnetic", 40_000), ORG, RULES, T0)
    observe(state, sig("audio", 40_100), ORG, RULES, T0)
    grows = observe(state, sig("humanoid", 40_200, device=None, camera="c1"), ORG, RULES, T0)
    assert [(c.kind, c.incident.event, c.incident.occurrences) for c in grows] == [("updated", event, 3)]
    assert grows[0].incident.severity == Severity.critical


def test_a_repeat_more_severe_than_the_closed_event_is_a_new_event() -> None:
    rules = Rules(CONFIG.model_copy(update={"threshold": 1.0}), quiet_ns=5 * S)  # three kinds at once
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, rules, T0)
    observe(state, sig("audio", 100), ORG, rules, T0)
    (first,) = observe(state, sig("humanoid", 200), ORG, rules, T0)  # one phone alone: high
    assert first.kind == "created" and first.incident.severity == Severity.high
    observe(state, sig("magnetic", 20_000), ORG, rules, T0)
    observe(state, sig("audio", 20_100), ORG, rules, T0)
    stronger = observe(state, sig("humanoid", 20_200, device=None, camera="c1"), ORG, rules, T0)
    assert [c.kind for c in stronger] == ["created"] and stronger[0].incident.event != first.incident.event
    assert stronger[0].incident.severity == Severity.critical


def test_a_resolved_event_is_forgotten_and_its_repeat_opens_a_new_one() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, RULES, T0)
    first = observe(state, sig("audio", 100), ORG, RULES, T0)[0].incident.event
    observe(state, sig("magnetic", 20_000), ORG, RULES, T0)
    state.forget(first)
    changes = observe(state, sig("audio", 20_100), ORG, RULES, T0)
    assert [c.kind for c in changes] == ["created"] and changes[0].incident.event != first


def test_people_passing_by_are_listed_but_do_not_hold_an_incident_open() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, RULES, now=T0)
    (created,) = observe(state, sig("audio", 100), ORG, RULES, now=T0)
    assert created.kind == "created"
    # A person every 2 s for a minute: each joins the incident (listed), none extends its life.
    for i in range(1, 30):
        observe(state, sig("person", 100 + 2000 * i, device=None), ORG, RULES, now=T0 + 2 * i * S)
    assert state.incident is None  # closed by the first person past the quiet gap
    # (it was listed with the people within 5 s of its last anomaly)


def test_an_anomaly_agreeing_with_a_person_keeps_the_incident_alive() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, RULES, now=T0)
    observe(state, sig("audio", 100), ORG, RULES, now=T0)
    observe(state, sig("person", 3900, device=None), ORG, RULES, now=T0 + 4 * S)
    assert state.incident is not None and state.incident.last_signal_at == T0 + 100 * MS
    observe(state, sig("magnetic", 4000), ORG, RULES, now=T0 + 4 * S)  # sustains: 0.4 (+ 0.2)
    assert state.incident.last_signal_at == T0 + 4000 * MS


def test_an_incident_lasts_at_most_max_and_the_next_scoring_window_opens_another() -> None:
    rules = Rules(NO_FOLDING.config, quiet_ns=5 * S, max_ns=10 * S)
    state = SiteState()
    kinds = []
    for i in range(0, 16):  # magnetic + audio every second for 15 s
        for change in observe(state, sig("magnetic", 1000 * i), ORG, rules, now=T0 + i * S) + \
                observe(state, sig("audio", 1000 * i + 50), ORG, rules, now=T0 + i * S):
            kinds.append(change.kind)
    assert kinds.count("created") == 2 and kinds.count("closed") == 1


def test_a_redelivered_signal_changes_nothing() -> None:
    state = SiteState()
    magnetic = sig("magnetic", 0)
    observe(state, magnetic, ORG, RULES, T0)
    observe(state, sig("audio", 100), ORG, RULES, T0)
    before = state.to_json()
    assert observe(state, magnetic, ORG, RULES, T0 + S) == []
    assert state.to_json() == before


@pytest.mark.parametrize("order", [("magnetic", "audio"), ("audio", "magnetic")])
def test_the_event_id_is_that_of_the_first_signal_whatever_the_arrival_order(order: tuple[str, str]) -> None:
    signals = {"magnetic": sig("magnetic", 0, ident="m1"), "audio": sig("audio", 200, ident="a1")}
    state = SiteState()
    changes = [c for kind in order for c in observe(state, signals[kind], ORG, RULES, T0)]
    created = [c for c in changes if c.kind == "created"]
    assert len(created) == 1
    assert created[0].incident.event == str(uuid.uuid5(uuid.UUID("6f7a1c52-8d0e-4b7e-9a57-3c0f5e1d2b90"),
                                                       f"{ORG}/m1"))


def test_state_survives_a_json_round_trip() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 0), ORG, RULES, T0)
    observe(state, sig("audio", 100), ORG, RULES, T0)
    observe(state, sig("magnetic", 20_000), ORG, RULES, T0)  # one closed incident kept for folding
    assert len(state.closed) == 1
    assert SiteState.from_json(state.to_json()).to_json() == state.to_json()


def test_a_signal_older_than_the_window_while_an_incident_is_open_is_history() -> None:
    state = SiteState()
    observe(state, sig("magnetic", 10_000), ORG, RULES, T0)
    observe(state, sig("audio", 10_100), ORG, RULES, T0)
    assert observe(state, sig("audio", 2_000), ORG, RULES, T0) == []  # pruned and not an incident
    assert state.incident is not None and state.incident.source_count == 2
