from __future__ import annotations

from vigia.common.messages import Severity
from vigia.fusion.gate import AnomalyGate

S = 1_000_000_000


def test_one_anomaly_per_kind_per_cooldown() -> None:
    gate = AnomalyGate(cooldown_s=2.0)
    assert gate.admit("magnetic", 10 * S)
    assert not gate.admit("magnetic", 11 * S)
    assert gate.admit("imu", 11 * S)  # kinds are independent
    assert not gate.admit("magnetic", 11 * S + S - 1)
    assert gate.admit("magnetic", 12 * S)


def test_an_escalating_burst_is_reported_again() -> None:
    gate = AnomalyGate(cooldown_s=5.0)
    assert gate.admit("magnetic", 0, Severity.medium)
    assert not gate.admit("magnetic", S, Severity.medium)
    assert gate.admit("magnetic", 2 * S, Severity.critical)
    assert not gate.admit("magnetic", 3 * S, Severity.high)


def test_a_clock_jumping_back_reopens_the_gate() -> None:
    gate = AnomalyGate(cooldown_s=2.0)
    assert gate.admit("audio_voice", 100 * S)
    assert gate.admit("audio_voice", 50 * S)
