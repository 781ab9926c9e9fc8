"""The incident state machine of one site: pure data and functions, no I/O.

A site holds a *window* of recent signals and at most one *open incident*:

* a signal while an incident is open (within ``quiet`` of its last sustaining signal,
  observation time) joins the incident: it is updated, not duplicated. Only a *sustaining*
  signal — one whose best window scores at least half the threshold: an anomaly, or a person
  with one — keeps the incident alive: people walking past a camera all day (weight 0.2) are
  listed on the incident they happen during but do not hold it open, so it closes and its
  evidence gets built;
* an incident lasts at most ``max_ns``; a signal past that closes it, and the next window that
  scores opens a new one;
* otherwise the signal enters the window, and when the best window containing it scores at least
  the threshold an incident opens: ``created``; its id derives from its first signal's id;
* unless it is a *repeat* of the same cause: when an incident closed at this site within
  ``fold_window_s`` of this window (observation time) saw every signal kind of this window
  (its ``cause``, :func:`cause_of`) and was at least as severe, it is reopened instead — the same
  event, ``updated``, one more ``occurrence``, the new signals added to its sources. A window more
  severe than the closed incident is a new event: operators must not find it folded into one they
  already acknowledged. The service drops a closed incident from the candidates once an operator
  resolved its event (:meth:`SiteState.forget`), so a resolved event is never reopened;
* an incident's severity is the highest grade of its windows (:class:`SeverityGrades`);
* an incident closes once its site has been quiet for ``quiet`` (wall clock, :func:`expire`), or
  at once when a signal arrives whose observation time is past that gap.

Everything is JSON-serialisable (:meth:`SiteState.to_json`), so the service keeps it in Redis and
a restarted correlator carries on with the same incidents.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Literal

from vigia.common.messages import Severity
from vigia.correlator.scoring import (
    CorrelationConfig,
    Signal,
    best_window,
    cause_of,
    event_id,
    more_severe,
    score,
    severity_of,
)

MAX_WINDOW_SIGNALS = 1000
MAX_RECENT_IDS = 2000
MAX_CLOSED = 4  # closed incidents a site keeps as fold candidates (their sources make the state big)


@dataclass
class Incident:
    """An open (or just closed) correlated event of one site."""

    event: str
    started_at: int  # ns, observation time of its first signal
    last_signal_at: int  # ns, observation time of its newest signal
    last_activity: int  # ns, wall clock of its newest signal (for closing on quiet)
    score: float
    severity: Severity
    sources: list[Signal]
    source_count: int
    published_at: int = 0  # wall clock ns of the last event message
    published_shape: list[str] = field(default_factory=list)  # what the last message showed
    ended_at: int | None = None
    cause: list[str] = field(default_factory=list)  # every signal kind it saw, sorted
    occurrences: int = 1  # 1 + the repeats folded into it
    opened_at: int = 0  # ns, observation time of the current occurrence's first signal (0: started_at)

    def __post_init__(self) -> None:
        if not self.opened_at:
            self.opened_at = self.started_at

    def shape(self) -> list[str]:
        """What makes an update worth sending at once: score, severity, kinds and who saw it."""
        who = sorted({f"{s.kind}:{s.device or s.camera}" for s in self.sources})
        return [f"{self.score:.6f}", self.severity.value, str(self.occurrences), *who]

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "started_at": self.started_at, "last_signal_at": self.last_signal_at,
                "last_activity": self.last_activity, "score": self.score, "severity": self.severity.value,
                "sources": [s.to_json() for s in self.sources], "source_count": self.source_count,
                "published_at": self.published_at, "published_shape": self.published_shape,
                "ended_at": self.ended_at, "cause": self.cause, "occurrences": self.occurrences,
                "opened_at": self.opened_at}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Incident:
        return cls(event=data["event"], started_at=data["started_at"], last_signal_at=data["last_signal_at"],
                   last_activity=data["last_activity"], score=data["score"], severity=Severity(data["severity"]),
                   sources=[Signal.from_json(s) for s in data["sources"]], source_count=data["source_count"],
                   published_at=data.get("published_at", 0), published_shape=data.get("published_shape", []),
                   ended_at=data.get("ended_at"), cause=list(data.get("cause", [])),
                   occurrences=data.get("occurrences", 1), opened_at=data.get("opened_at", data["started_at"]))


@dataclass
class SiteState:
    """The window, the open incident and the recently closed ones (fold candidates) of one
    (org, site)."""

    signals: list[Signal] = field(default_factory=list)
    incident: Incident | None = None
    recent: list[str] = field(default_factory=list)  # ids already handled (redelivery guard)
    closed: list[Incident] = field(default_factory=list)  # oldest first

    def to_json(self) -> dict[str, Any]:
        return {"signals": [s.to_json() for s in self.signals],
                "incident": self.incident.to_json() if self.incident else None, "recent": self.recent,
                "closed": [i.to_json() for i in self.closed]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SiteState:
        incident = data.get("incident")
        return cls(signals=[Signal.from_json(s) for s in data.get("signals", [])],
                   incident=Incident.from_json(incident) if incident else None,
                   recent=list(data.get("recent", [])),
                   closed=[Incident.from_json(i) for i in data.get("closed", [])])

    def forget(self, event: str) -> None:
        """Never fold into ``event`` again (its operators resolved it)."""
        self.closed = [i for i in self.closed if i.event != event]

    def seen(self, signal_id: str) -> bool:
        return signal_id in self.recent

    def remember(self, signal_id: str) -> None:
        self.recent.append(signal_id)
        del self.recent[:-MAX_RECENT_IDS]


ChangeKind = Literal["created", "updated", "closed"]


@dataclass(frozen=True)
class Change:
    """Something to publish: an incident created, materially updated, or closed. ``reopened``: an
    update that folded a repeat into a closed incident (the service checks its event is not
    resolved before publishing it)."""

    kind: ChangeKind
    incident: Incident
    reopened: bool = False


@dataclass(frozen=True)
class Rules:
    """The knobs of the state machine (the org's correlation config plus service settings)."""

    config: CorrelationConfig
    quiet_ns: int
    max_sources: int = 200
    update_interval_ns: int = 1_000_000_000
    max_ns: int = 300_000_000_000


def observe(state: SiteState, signal: Signal, org: uuid.UUID | str, rules: Rules, now: int) -> list[Change]:
    """Apply one signal to ``state`` (in place) and return what to publish, in order."""
    if state.seen(signal.id):
        return []
    state.remember(signal.id)
    changes: list[Change] = []
    incident = state.incident
    state.signals.append(signal)
    _prune(state, rules)
    if incident is not None:
        if _belongs(incident, signal, rules) and signal.time - incident.opened_at <= rules.max_ns:
            return _fold(state, incident, signal, rules, now)
        if signal.time > incident.last_signal_at + rules.quiet_ns or signal.time - incident.opened_at > rules.max_ns:
            changes.append(close(state, incident.last_signal_at))
        else:
            if signal in state.signals:  # (the prune may have dropped it already)
                state.signals.remove(signal)
            return []  # older than the open incident: history, not a new incident
    value, members = best_window(state.signals, signal, rules.config)
    if value + 1e-9 < rules.config.threshold or value <= 0:
        return changes
    members = sorted(members, key=lambda s: (s.time, s.id))
    severity, cause = severity_of(members, value, rules.config), cause_of(members)
    previous = _repeat_of(state, cause, severity, members[0].time, rules)
    if previous is not None:
        state.closed.remove(previous)
        incident = _reopen(previous, members, value, severity, now, rules)
    else:
        incident = Incident(
            event=str(event_id(org, members[0].id)), started_at=members[0].time,
            last_signal_at=max(s.time for s in members), last_activity=now, score=value, severity=severity,
            sources=members[:rules.max_sources], source_count=len(members), cause=cause,
            opened_at=members[0].time)
    incident.published_at, incident.published_shape = now, incident.shape()
    state.incident = incident  # its signals stay in the window: later ones are scored with them
    changes.append(Change("updated", incident, reopened=True) if previous else Change("created", incident))
    return changes


def _repeat_of(state: SiteState, kinds: list[str], severity: Severity, at: int, rules: Rules) -> Incident | None:
    """The newest incident closed within the fold window of ``at`` that saw all of ``kinds`` and
    was at least ``severity``."""
    fold_ns = int(rules.config.fold_window_s * 1e9)
    state.closed = [i for i in state.closed if at - i.last_signal_at <= fold_ns][-MAX_CLOSED:]
    return next((i for i in reversed(state.closed) if i.last_signal_at <= at and set(kinds) <= set(i.cause)
                 and more_severe(i.severity, severity) == i.severity), None)


def _reopen(incident: Incident, members: list[Signal], value: float, severity: Severity, now: int,
            rules: Rules) -> Incident:
    known = {s.id for s in incident.sources}
    fresh = [s for s in members if s.id not in known]
    incident.sources.extend(fresh[:max(0, rules.max_sources - len(incident.sources))])
    incident.source_count += len(fresh)
    incident.occurrences += 1
    incident.opened_at = members[0].time
    incident.last_signal_at = max(incident.last_signal_at, *(s.time for s in members))
    incident.last_activity = now
    incident.ended_at = None
    incident.score = max(incident.score, value)
    incident.severity = more_severe(incident.severity, severity)
    return incident


def _belongs(incident: Incident, signal: Signal, rules: Rules) -> bool:
    return incident.started_at - rules.quiet_ns <= signal.time <= incident.last_signal_at + rules.quiet_ns


def _fold(state: SiteState, incident: Incident, signal: Signal, rules: Rules, now: int) -> list[Change]:
    incident.source_count += 1
    if len(incident.sources) < rules.max_sources:
        incident.sources.append(signal)
    if signal.kind not in incident.cause:
        incident.cause = sorted([*incident.cause, signal.kind])
    incident.started_at = min(incident.started_at, signal.time)
    # The signal's own window, over everything recent on the site (the incident's source list
    # is capped): only a window scoring at least half the threshold keeps the incident alive.
    window_score, window = best_window(state.signals, signal, rules.config)
    if window_score + 1e-9 >= rules.config.threshold / 2:
        incident.last_signal_at = max(incident.last_signal_at, signal.time)
        incident.last_activity = now
    # The incident's score and severity are its best window's so far: a later window can only
    # raise them.
    incident.score = max(incident.score, window_score, score([signal], rules.config))
    incident.severity = more_severe(incident.severity, severity_of(window, window_score, rules.config))
    shape = incident.shape()
    if shape != incident.published_shape or now - incident.published_at >= rules.update_interval_ns:
        incident.published_at, incident.published_shape = now, shape
        return [Change("updated", incident)]
    return []


def _prune(state: SiteState, rules: Rules) -> None:
    newest = max(s.time for s in state.signals)
    horizon = newest - rules.config.window_ms * 1_000_000
    state.signals = [s for s in state.signals if s.time >= horizon][-MAX_WINDOW_SIGNALS:]


def close(state: SiteState, ended_at: int) -> Change:
    """Close the open incident; the window is cleared of what it already covered."""
    incident = state.incident
    assert incident is not None
    incident.ended_at = ended_at
    state.incident = None
    state.signals = [s for s in state.signals if s.time > incident.last_signal_at]
    # A copy: a repeat may reopen it, and the closed message must still show it closed.
    state.closed = [*state.closed, Incident.from_json(incident.to_json())][-MAX_CLOSED:]
    return Change("closed", incident)


def expire(state: SiteState, rules: Rules, now: int) -> Change | None:
    """Close the open incident if its site has been quiet (wall clock) for ``quiet``."""
    incident = state.incident
    if incident is None or now - incident.last_activity < rules.quiet_ns:
        return None
    return close(state, incident.last_signal_at)
