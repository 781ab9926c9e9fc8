"""Events operators can triage, through the real broker, database and Redis: severity follows the
score and the sensors that agree (most events are not critical; a strong coincidence seen by a
phone and a camera is), and repeats of one cause at one site are one event with N occurrences —
until an operator resolves it."""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable

from sqlalchemy import Engine, select, update

from services.correlator.tests.conftest import Site, Tap, anomaly, events_of, person
from services.correlator.tests.test_correlation_broker import correlator, publish  # noqa: F401 (fixture)
from vigia.common.broker import AsyncPublisher
from vigia.common.db import events
from vigia.common.messages import Envelope, EventChanged, make
from vigia.control.observations.recorder import Recorder
from vigia.correlator.config import CorrelatorSettings

MS = 1_000_000
S = 1_000_000_000


def humanoid_flag(site: Site, at_ns: int) -> Envelope:
    """The phone's own humanoid flag (fusion's ``humanoid`` anomaly): the same sensor as its spikes."""
    return make("anomaly.detected", site.org, "fusion-test", {
        "device": site.phone, "kind": "humanoid", "severity": "low", "score": 1.0, "observed_at": at_ns})


def final_events(messages: list[Envelope]) -> dict[uuid.UUID, EventChanged]:
    """The last state of each event the tap saw."""
    latest: dict[uuid.UUID, EventChanged] = {}
    for envelope in messages:
        if isinstance(envelope.data, EventChanged):
            latest[envelope.data.event] = envelope.data
    return latest


def occurrence(n: int) -> Callable[[list[Envelope]], bool]:
    return lambda seen: any(isinstance(e.data, EventChanged) and e.data.occurrences == n for e in seen)


async def test_most_events_are_not_critical_and_a_strong_multi_source_coincidence_is(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap,  # noqa: F811
        make_site: Callable[..., Site]) -> None:
    now = time.time_ns()
    # What the demo's phones and cameras produce, one episode per site; fusion rated every
    # anomaly critical (> 5 sigma), which made 92 % of the demo's events critical before.
    episodes: dict[str, Callable[[Site, int], list[Envelope]]] = {
        "magnetic + passer-by": lambda s, t: [anomaly(s, "magnetic", t, "critical"), person(s, t + 200 * MS)],
        "voice + passer-by": lambda s, t: [anomaly(s, "audio_voice", t, "critical"), person(s, t + 300 * MS)],
        "magnetic + audio": lambda s, t: [anomaly(s, "magnetic", t, "critical"),
                                          anomaly(s, "audio_infrasound", t + 150 * MS, "critical")],
        "phone alone, three kinds": lambda s, t: [anomaly(s, "magnetic", t, "critical"),
                                                  anomaly(s, "audio_voice", t + 100 * MS, "critical"),
                                                  humanoid_flag(s, t + 200 * MS)],
        "phone and camera agree": lambda s, t: [anomaly(s, "magnetic", t, "critical"),
                                                anomaly(s, "audio_voice", t + 100 * MS, "critical"),
                                                person(s, t + 250 * MS)],
    }
    mix = ["magnetic + passer-by"] * 3 + ["voice + passer-by"] * 2 + ["magnetic + audio"] * 2 + \
        ["phone alone, three kinds"] * 2 + ["phone and camera agree"]
    placed = [(make_site(), name) for name in mix]
    for site, name in placed:
        await publish(publisher, *episodes[name](site, now))

    def all_closed(seen: list[Envelope]) -> bool:
        latest = final_events(seen)
        return len(latest) == len(mix) and all(e.ended_at is not None for e in latest.values())

    latest = final_events(await tap.collect(all_closed))
    severity_of_site = {e.site: e.severity.value for e in latest.values()}
    graded = {name: sorted({severity_of_site[site.name] for site, n in placed if n == name}) for name in episodes}
    assert graded == {"magnetic + passer-by": ["low"], "voice + passer-by": ["low"],
                      "magnetic + audio": ["medium"], "phone alone, three kinds": ["high"],
                      "phone and camera agree": ["critical"]}
    counts = Counter(severity_of_site.values())
    assert counts["critical"] == 1 and counts["critical"] / len(mix) < 0.5
    print(f"severity distribution of {len(mix)} events: {dict(counts)}")


async def test_repeats_of_one_cause_are_one_event_with_n_occurrences_until_resolved(
        correlator: CorrelatorSettings, publisher: AsyncPublisher, tap: Tap,  # noqa: F811
        make_site: Callable[..., Site], engine: Engine) -> None:
    site = make_site()
    recorder = Recorder(engine)
    start, repeats = time.time_ns(), 4
    for n in range(1, repeats + 1):  # magnetic + audio every 3 s (the incident closes after 1 s quiet)
        at = start + n * 3 * S
        await publish(publisher, anomaly(site, "magnetic", at), anomaly(site, "audio_voice", at + 100 * MS))
        # Each repeat is taken before the next is sent, as seconds apart in real life.
        await tap.collect(occurrence(n))
    messages = tap.seen
    assert len(events_of(messages, "event.created")) == 1
    assert len(final_events(messages)) == 1
    (event,) = final_events(messages).values()
    assert event.occurrences == repeats and len(event.sources) == 2 * repeats
    assert "4 occurrences" in event.description
    for envelope in messages:  # as the recorder stores them: one row, N occurrences
        recorder.handle(envelope)
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.id, events.c.occurrences).where(events.c.org_id == site.org)).all()
    assert [(row.id, row.occurrences) for row in rows] == [(event.event, repeats)]

    # An operator resolves it (POST /events/{id}/resolve/): the next repeat is a new event.
    with engine.begin() as conn:
        conn.execute(update(events).where(events.c.id == event.event).values(status="resolved"))
    later = start + (repeats + 1) * 3 * S  # past the last repeat's quiet gap
    await publish(publisher, anomaly(site, "magnetic", later), anomaly(site, "audio_voice", later + 100 * MS))
    messages = await tap.collect(lambda seen: len(events_of(seen, "event.created")) == 2)
    created = events_of(messages, "event.created")
    assert isinstance(created[1].data, EventChanged)
    assert created[1].data.event != event.event and created[1].data.occurrences == 1
    await tap.settle(0.5)
    assert final_events(tap.seen)[event.event].occurrences == repeats  # the resolved one untouched
