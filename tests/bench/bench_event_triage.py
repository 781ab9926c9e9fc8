"""How many events operators get, and how severe, from the demo's phones: the sensor simulator's
own anomaly schedule (vigia.simulators.phonesim.signals.Schedule, the ground truth ``make run``'s
phones inject) turned into the signals fusion publishes, through the correlator's state machine.

    python tests/bench/bench_event_triage.py [--phones 3] [--minutes 17] [--seed 7]

Each injected anomaly is one signal at its start (magnetic, audio for infrasound/ultrasound/voice,
imu, humanoid for the phone's flag), every phone on a site of its own as in the demo (no camera
shares it). Incidents are counted with folding off (what the demo raised before: one event per
incident) and with the default fold window; severities are the defaults of
vigia.correlator.scoring.SeverityGrades. No broker, database or clock: the run is deterministic per
seed. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import orjson

from vigia.common.messages import Severity
from vigia.correlator.incidents import Rules, SiteState, observe
from vigia.correlator.scoring import CorrelationConfig, Signal
from vigia.simulators.phonesim.signals import Schedule, SignalConfig

NS = 1_000_000_000
SIGNAL_KINDS = {"magnetic": "magnetic", "infrasound": "audio", "ultrasound": "audio", "voice": "audio",
                "imu": "imu", "humanoid": "humanoid"}
QUIET_NS = 5 * NS  # VIGIA_INCIDENT_QUIET_S's default


def phone_signals(index: int, seed: int, epoch: int, minutes: float) -> list[Signal]:
    schedule = Schedule(SignalConfig(), seed, index, epoch)
    injected = [a for a in schedule.until(epoch + int(minutes * 60 * NS)) if a.start < epoch + minutes * 60 * NS]
    return [Signal(f"p{index}-{n}", SIGNAL_KINDS[a.kind], a.kind, a.start, Severity.critical, device=f"phone-{index}")
            for n, a in enumerate(injected)]


def run(signals_by_phone: dict[int, list[Signal]], config: CorrelationConfig) -> dict[str, dict[str, object]]:
    """Final state of each event: severity and occurrences."""
    rules = Rules(config, QUIET_NS)
    events: dict[str, dict[str, object]] = {}
    for phone, signals in signals_by_phone.items():
        state = SiteState()
        for signal in signals:
            for change in observe(state, signal, f"org-{phone}", rules, signal.time):
                events[change.incident.event] = {"severity": change.incident.severity.value,
                                                 "occurrences": change.incident.occurrences}
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=17.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    epoch = 1_760_000_000 * NS
    signals = {i: phone_signals(i, args.seed, epoch, args.minutes) for i in range(args.phones)}
    started = time.perf_counter()
    unfolded = run(signals, CorrelationConfig(fold_window_s=0))
    folded = run(signals, CorrelationConfig())
    elapsed = time.perf_counter() - started
    by_severity = Counter(str(e["severity"]) for e in folded.values())
    print(orjson.dumps({
        "bench": "event_triage", "phones": args.phones, "minutes": args.minutes, "seed": args.seed,
        "signals": sum(len(s) for s in signals.values()),
        "incidents_without_folding": len(unfolded),
        "severity_without_folding": dict(Counter(str(e["severity"]) for e in unfolded.values())),
        "events": len(folded), "severity": dict(by_severity),
        "critical_share": round(by_severity["critical"] / len(folded), 3) if folded else 0.0,
        "occurrences": sorted((int(str(e["occurrences"])) for e in folded.values()), reverse=True),
        "seconds": round(elapsed, 3),
    }).decode())


if __name__ == "__main__":
    main()
