"""Seed 004's intrusion scenario end to end (issue #11): real processes, real protocols.

camsim (RTSP, an intruder crossing the foreground every 15 s) → streamer → vision (CPU, OpenCV HOG
people detector) → broker → automation → broker → notifier → loopback stand-ins (WhatsApp Cloud
API and Telegram Bot API over HTTP, SMTP, Modbus TCP), with control, outbox relay, recorder and
live. Everything the operator does goes through the public API: the organization's time zone,
four channels, a camera with the zone ``patio``, and the pipeline
camera_rtsp → object_detection(person) → zone_analysis(enter) → timer → cooldown → WhatsApp +
Telegram + e-mail + PLC coil + dashboard (tests/e2e/seed004.py describes the pieces).

*Walk*: one intruder's crossing of the zone, from camsim's ground truth (its feet enter the zone,
then leave it). *Incident*: a walk the detector saw in the zone — a person detection whose foot
point (what zone_analysis tests) lies in the zone while the walk is there; the CPU HOG detector
misses some walks (a box too tall or off-centre), and that is the detector's recall, printed, not
the automation's. While the schedule is active, every incident that began after the pipeline ran
and the camera streamed reaches each stand-in exactly once — message bound to the incident by the
detection it names — the siren coil is set once per incident and reads 1, and one dashboard event
per incident is listed by the API and pushed on the live feed; a walk the detector never saw in the
zone reaches nothing. Then the running pipeline's
schedule is edited to a window that is not now: the next walk through the zone reaches the timer
(its counters grow, so "nothing" is not vacuous) and nothing reaches any stand-in, the API or the
feed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.e2e import seed004
from tests.e2e.seed004 import CHANNELS, Incident, Receipt, Scenario, StandIns, feed_of, incidents
from tests.e2e.vision_stack import VisionStack, time_ns, vision_stack, wait_for
from vigia.common.pipelines.geometry import bottom_centre

pytestmark = pytest.mark.slow

# A Redis database of this test's own (vision_stack flushes it).
REDIS_URL = os.environ.get("VIGIA_TEST_E2ESEED004_REDIS_URL", "redis://127.0.0.1:6379/3")
ACTIVE_INCIDENTS = int(os.environ.get("VIGIA_E2E_SEED004_INCIDENTS", "2"))
SETTLE_S = 4.0  # after a walk leaves the zone, time for its detections and deliveries to land
# A detection is the walk's from a second before its feet enter the zone (the detector's box runs
# ahead of camsim's truth by a frame or two) to three after they leave (vision's lag).
BEFORE_S, AFTER_S = 1.0, 3.0
DEADLINE_S = float(os.environ.get("VIGIA_E2E_SEED004_DEADLINE_S", "90"))


@pytest.fixture
def standins(tmp_path: Path) -> Any:
    with StandIns(tmp_path) as running:
        yield running


@pytest.fixture
def stack(amqp_url: str, tmp_path: Path, standins: StandIns) -> Any:
    with vision_stack(tmp_path, amqp_url, services=seed004.SERVICES, redis_url=REDIS_URL, name="vigia_e2eseed004",
                      env={"vision": {"VIGIA_VISION_OCR": "false", "VIGIA_VISION_ZONES_REFRESH_S": "2"},
                           "notifier": standins.notifier_env()},
                      **seed004.CAMSIM) as running:
        yield running


def _incident_of(receipt: Receipt, walks: list[Incident]) -> Incident | None:
    """The walk whose detection a message names (modbus writes name none: their arrival time)."""
    moment = receipt.captured_ns / 1e9 if receipt.captured_ns is not None else receipt.at_ns / 1e9
    after = AFTER_S if receipt.captured_ns is not None else 6.0
    found = [w for w in walks if w.holds(moment, before_s=BEFORE_S, after_s=after)]
    return found[0] if len(found) == 1 else None


def _by_incident(receipts: list[Receipt], walks: list[Incident]) -> dict[int | None, list[Receipt]]:
    out: dict[int | None, list[Receipt]] = {}
    for r in receipts:
        walk = _incident_of(r, walks)
        out.setdefault(walk.actor if walk else None, []).append(r)
    return out


def _events_by_incident(events: list[dict[str, Any]], walks: list[Incident]) -> dict[int | None, int]:
    out: dict[int | None, int] = {}
    for event in events:
        moment = time_ns(event.get("time") or event["started_at"]) / 1e9
        walk = [w for w in walks if w.holds(moment, before_s=BEFORE_S, after_s=AFTER_S)]
        key = walk[0].actor if len(walk) == 1 else None
        out[key] = out.get(key, 0) + 1
    return out


def _live_events(feed: Any) -> list[dict[str, Any]]:
    return [m["event"] for _, m in feed_of(feed, "new_event") if m["event"]["event_type"] == seed004.EVENT_TYPE]


def test_a_person_entering_the_zone_in_schedule_alerts_every_channel_once_and_out_of_schedule_nothing(
        stack: VisionStack, standins: StandIns) -> None:
    scenario = Scenario(stack, standins)
    try:
        _run(scenario, stack, standins)
    finally:
        scenario.close()


def _missing(scenario: Scenario, standins: StandIns, feed: Any, walks: list[Incident]) -> dict[str, list[int]]:
    """The walks (actors) each channel, the API and the live feed have no alert for yet."""
    receipts = standins.receipts()
    wanted = {w.actor for w in walks}
    out = {kind: sorted(wanted - set(_by_incident(receipts[kind], walks))) for kind in CHANNELS}
    out["api"] = sorted(wanted - set(_events_by_incident(scenario.events(), walks)))
    out["feed"] = sorted(wanted - set(_events_by_incident(_live_events(feed), walks)))
    return {k: v for k, v in out.items() if v}


def _sightings(feed: Any, walk: Incident, zero: float) -> list[tuple[float, str | None, bool]]:
    """The person detections the feed carried during ``walk``: (captured s from ``zero``, track,
    foot point in the zone)."""
    out = []
    for _, d in feed.detections():
        at = time_ns(d["captured_at"]) / 1e9
        if d["label"] != "person" or not walk.holds(at, before_s=BEFORE_S, after_s=AFTER_S):
            continue
        point = bottom_centre(d, None)
        inside = point is not None and (seed004.ZONE[0] <= point[0] <= seed004.ZONE[1]
                                        and seed004.ZONE[2] <= point[1] <= seed004.ZONE[3])
        out.append((round(at - zero, 2), d.get("track"), inside))
    return out


def _seen(feed: Any, walk: Incident) -> bool:
    """Whether the detector put the walk's feet in the zone: what makes the walk an incident."""
    return any(inside for _, _, inside in _sightings(feed, walk, 0.0))


def _timeline(standins: StandIns, walks: list[Incident], zero: float) -> str:
    """Walks and receipts in seconds from ``zero``, for a failure message."""
    at = [(w.actor, round(w.enter_s - zero, 2), round(w.leave_s - zero, 2)) for w in walks]
    got = {kind: [(round(r.at_ns / 1e9 - zero, 2), r.captured_ns and round(r.captured_ns / 1e9 - zero, 2))
                  for r in receipts] for kind, receipts in standins.receipts().items()}
    return f"walks (actor, enter, leave) {at}; receipts (arrived, detection captured) {got}"


def _run(scenario: Scenario, stack: VisionStack, standins: StandIns) -> None:
    with stack.feed(scenario.token) as feed:
        scenario.set_up_organization()
        camera = scenario.add_camera()
        pipeline = scenario.start_pipeline(active=True)
        wait_for(lambda: [m for _, m in feed_of(feed, "pipeline_status_update")
                          if m["pipeline_id"] == pipeline and m["state"] == "started"], 30,
                 "the runtime to start the pipeline")
        started = time.time()
        wait_for(lambda: feed.detections(camera), 60, "the camera's first detection")
        # From here on the pipeline runs and the camera streams: walks that begin now are incidents.
        live_from = time.time()
        print(f"\nstack ready {stack.timings}; streaming {live_from - stack.streams()['cam1']['epoch']:.1f} s "
              "after camsim started")

        # --- in schedule: wait for two walks delivered everywhere, and no walk about to enter ---
        deadline = time.monotonic() + DEADLINE_S
        while True:
            stack.assert_alive()
            assert feed.error is None, f"live feed failed: {feed.error!r}"
            now = time.time()
            # The first walks after streaming began must be delivered; later ones may still be in
            # flight when the schedule changes (detections lag when vision falls behind).
            settled = [w for w in incidents(stack) if w.enter_s > live_from and w.leave_s + SETTLE_S < now]
            done = [w for w in settled if _seen(feed, w)][:ACTIVE_INCIDENTS]
            if (len(done) >= ACTIVE_INCIDENTS and seed004.next_incident_after(stack, now).enter_s - now > 5
                    and not _missing(scenario, standins, feed, done)):
                break
            assert time.monotonic() < deadline, (
                f"{len(done)} of {len(settled)} walks through the zone seen there in {DEADLINE_S:g} s; "
                f"walks without an alert "
                f"{_missing(scenario, standins, feed, done)}; {_timeline(standins, incidents(stack), live_from)}; "
                f"person detections during the walks (captured, track, in the zone) "
                f"{ {w.actor: _sightings(feed, w, live_from) for w in settled} }\n"
                f"{stack.tails('vision', 'automation', 'notifier')}")
            time.sleep(0.5)
        time.sleep(1)  # a duplicate would land now
        coil = standins.read_coil(seed004.SIREN_COIL)
        counted = scenario.counters()

        # --- out of schedule: the next walk reaches the timer and nothing else ---
        scenario.set_schedule(active=False)
        switched = time.time()
        quiet = seed004.next_incident_after(stack, switched)
        wait_for(lambda: time.time() > quiet.enter_s, 30, "the next walk to enter the zone")
        before = scenario.counters()
        wait_for(lambda: scenario.counters()["schedule"]["inputs"] > before["schedule"]["inputs"],
                 quiet.leave_s - time.time() + 30, "the walk's detections to reach the timer")
        time.sleep(SETTLE_S)  # what the timer let through (nothing) would have landed by now
        after = scenario.counters()
        walks = incidents(stack)
        receipts = standins.receipts()
        events = scenario.events()
        live = _live_events(feed)
        seen = {w.actor for w in walks if _seen(feed, w)}
        assert feed.error is None, f"live feed failed: {feed.error!r}"

    in_schedule = [w for w in walks if live_from < w.enter_s < switched]
    full = [w for w in in_schedule if w.actor in seen][:ACTIVE_INCIDENTS]
    # Under way while the camera started streaming, or still in flight when the schedule changed:
    # at most once.
    partial = [w for w in walks if (w.enter_s <= live_from and w.leave_s > started - 1)
               or (w not in full and w.actor in seen and live_from < w.enter_s < switched)]
    blind = [w for w in in_schedule if w.actor not in seen]  # never in the zone for the detector
    later = [w for w in walks if w.enter_s >= switched]
    log = (f"walks {[(w.actor, round(w.enter_s - live_from, 1)) for w in walks]}; live from {live_from:.1f}; "
           f"switched {switched - live_from:.1f}; receipts "
           f"{ {k: [(round(r.at_ns / 1e9 - live_from, 1), r.frame) for r in v] for k, v in receipts.items()} }")
    assert len(full) >= ACTIVE_INCIDENTS and quiet.actor in {w.actor for w in later}, log
    assert standins.refused() == [], [(r.api, r.path, r.status) for r in standins.refused()]

    # Each stand-in: one message per incident, naming a detection of that incident; at most one for
    # a walk under way when streaming began; none out of schedule, none outside every walk.
    for kind in CHANNELS:
        grouped = _by_incident(receipts[kind], walks)
        assert None not in grouped, f"{kind}: a message bound to no walk through the zone\n{log}"
        for walk in full:
            count = len(grouped.get(walk.actor, []))
            assert count == 1, f"{kind}: walk {walk.actor} alerted {count} times\n{log}"
        for walk in partial:
            assert len(grouped.get(walk.actor, [])) <= 1, f"{kind}: walk {walk.actor} alerted twice\n{log}"
        assert not set(grouped) & {w.actor for w in later}, f"{kind}: alerted out of schedule\n{log}"
        assert set(grouped) <= {w.actor for w in full + partial}, f"{kind}: a walk not seen in the zone alerted\n{log}"
    for kind in ("whatsapp", "telegram", "email"):
        for receipt in receipts[kind]:
            assert receipt.frame and receipt.captured_ns and f"zona {seed004.ZONE_NAME}" in receipt.text, receipt.text

    # What each far side got is what its API wants.
    for receipt in receipts["whatsapp"]:
        body = receipt.detail
        assert body["to"] == seed004.PHONE.lstrip("+") and body["messaging_product"] == "whatsapp"
    for receipt in receipts["telegram"]:
        record = receipt.detail
        assert record.form["chat_id"] == seed004.CHAT
        assert record.path.endswith("/sendPhoto") and record.files["photo"][:2] == b"\xff\xd8"  # the snapshot
    for receipt in receipts["email"]:
        # The email node's own subject template (seed004.py), not the channel's or the default.
        assert receipt.detail["to"] == [seed004.MAILBOX] and receipt.detail["subject"].startswith("Intrusão: ")
    assert {(w.detail.kind, w.detail.address, w.detail.value) for w in receipts["modbus"]} == {
        ("coil", seed004.SIREN_COIL, 1)}
    assert coil is True, "the siren coil reads 0 after the alerts"

    # The dashboard: one event per incident, stored (API) and pushed (live feed), raised by the pipeline.
    for raised in (events, live):
        per_walk = _events_by_incident(raised, walks)
        assert None not in per_walk and all(per_walk.get(w.actor) == 1 for w in full), (per_walk, log)
        assert all(per_walk[a] <= 1 for a in per_walk) and set(per_walk) <= {w.actor for w in full + partial}, \
            (per_walk, log)
    assert {e["id"] for e in events} == {e["id"] for e in live}
    for event in events:
        assert event["severity"] == "high" and event["description"].startswith("Intrusão no pátio")
        assert [(x["kind"], x["ref"]) for x in event["sources"]] == [("pipeline", f"{pipeline}/dashboard")]
    assert counted["dashboard"]["inputs"] == len(events) and counted["once"]["outputs"] == len(events)
    assert counted["zone"]["outputs"] >= counted["once"]["outputs"]  # the cooldown folded re-entries

    # Out of schedule: the walk reached the timer, and nothing went further.
    assert after["zone"]["outputs"] > before["zone"]["outputs"], (before, after)
    assert after["schedule"]["inputs"] > before["schedule"]["inputs"], (before, after)
    assert after["schedule"]["outputs"] == before["schedule"]["outputs"] == counted["schedule"]["outputs"]
    print(f"detector saw {len(seen & {w.actor for w in in_schedule})} of {len(in_schedule)} walks in schedule "
          f"in the zone (blind: {[w.actor for w in blind]}); "
          f"incidents {[w.actor for w in full]} (+{len(partial)} under way), each delivered once to "
          f"{', '.join(CHANNELS)} and the dashboard; walk {quiet.actor} out of schedule: timer inputs "
          f"{before['schedule']['inputs']} -> {after['schedule']['inputs']}, nothing sent\n"
          f"{_timeline(standins, walks, live_from)}")
