"""Seed 004 scenario latency: camsim frame -> stand-in receipt, per channel. Prints ONE JSON line.

Run: ``.venv/bin/python tests/bench/bench_seed004.py [--incidents 8]``

Set-up: the processes and pipeline of tests/e2e/test_seed004_scenario.py (tests/e2e/seed004.py):
camsim (960x540 at 4 fps, GOP 2, an intruder crossing every 15 s) → streamer (2 fps) → vision
(CPU, OpenCV HOG, no OCR) → automation → notifier → loopback stand-ins, with control, relay,
recorder and live; the schedule active. Once the camera streams, ``--incidents`` walks through the
zone are awaited; for each, the message every channel received is bound to the walk by the
detection it names (WhatsApp, Telegram, e-mail carry it in their text; the Modbus write and the
dashboard event belong to the same emission, so they share it).

Figures per channel (whatsapp, telegram, email, modbus, and ``dashboard`` = the event on the
operator's live WebSocket):

* ``receipt_minus_frame``: the stand-in's arrival time - the time camsim's triggering frame was
  due (its scene frame found by rendering the seeded scene around the detection's ``captured_at``
  and picking the one closest to the stored snapshot, as tests/bench/bench_latency.py does). The
  issue's figure: **goal p95 < 2 s** (``meets_goal``).
* ``receipt_minus_captured``: arrival - ``captured_at`` (the streamer read the frame): without
  RTSP, H.264 and FFmpeg.
* ``receipt_minus_zone_entry``: arrival - the moment camsim's ground truth puts the intruder's
  feet in the zone: adds the wait for the next sampled frame (2 fps) the detector finds it in.

Counts: walks awaited, alerts per channel, walks with none (``missed``) and with more than one
(``duplicates``). Every machine shares the two cores: camsim's renderer and x264 beside the services.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.bench.bench_latency import camsim_frame_times, percentiles  # noqa: E402
from tests.e2e import seed004  # noqa: E402
from tests.e2e.seed004 import CHANNELS, Incident, Receipt, Scenario, StandIns, feed_of, incidents  # noqa: E402
from tests.e2e.vision_stack import VisionStack, time_ns, vision_stack  # noqa: E402

MANAGEMENT = os.environ.get("VIGIA_TEST_AMQP_MANAGEMENT", "http://127.0.0.1:15672")
REDIS_URL = os.environ.get("VIGIA_BENCH_SEED004_REDIS_URL", "redis://127.0.0.1:6379/4")
SETTLE_S = 5.0
GOAL_MS = 2000.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _walk_of(moment_s: float, walks: list[Incident], after_s: float) -> Incident | None:
    found = [w for w in walks if w.holds(moment_s, after_s=after_s)]
    return found[0] if len(found) == 1 else None


def measure(stack: VisionStack, standins: StandIns, args: argparse.Namespace) -> dict[str, Any]:
    scenario = Scenario(stack, standins)
    try:
        with stack.feed(scenario.token) as feed:
            scenario.set_up_organization()
            camera = scenario.add_camera()
            scenario.start_pipeline(active=True)
            created = time.monotonic()
            while not feed.detections(camera):
                stack.assert_alive()
                if time.monotonic() - created > 120:
                    raise SystemExit(f"no detection within 120 s\n{stack.tails()}")
                time.sleep(0.2)
            live_from = time.time()
            log(f"streaming after {time.monotonic() - created:.1f} s; awaiting {args.incidents} walks")
            limit = time.monotonic() + args.incidents * seed004.INTRUDER_EVERY_S + 60
            while True:
                stack.assert_alive()
                done = [w for w in incidents(stack) if w.enter_s > live_from and w.leave_s + SETTLE_S < time.time()]
                if len(done) >= args.incidents or time.monotonic() > limit:
                    break
                time.sleep(1)
            walks = incidents(stack)
            receipts = standins.receipts()
            live_events = [(at, m["event"]) for at, m in feed_of(feed, "new_event")
                           if m["event"]["event_type"] == seed004.EVENT_TYPE]
            detections = {d["frame"]: d for _, d in feed.detections(camera)}
    finally:
        scenario.close()
    walks_measured = [w for w in walks if w.enter_s > live_from and w.leave_s + SETTLE_S < time.time()]
    measured = {w.actor for w in walks_measured}

    # The triggering detection of each walk: what the text-carrying channels name.
    trigger: dict[int, Receipt] = {}
    for kind in ("whatsapp", "telegram", "email"):
        for r in receipts[kind]:
            walk = _walk_of(r.captured_ns / 1e9, walks, 3.0) if r.captured_ns else None
            if walk is not None and walk.actor in measured:
                trigger.setdefault(walk.actor, r)
    frames = []
    for actor, r in trigger.items():
        det = detections.get(r.frame or "", {"captured_at": r.captured_ns, "snapshot_key": r.snapshot})
        frames.append((str(actor), {**det, "captured_at": r.captured_ns, "snapshot_key": r.snapshot,
                                    "_camsim": "cam1"}))
    due = {int(actor): (when, margin) for actor, (when, margin) in
           camsim_frame_times(stack, frames, limit=len(frames)).items()}

    per_walk: dict[str, dict[int, list[float]]] = {k: {} for k in (*CHANNELS, "dashboard")}
    for kind in CHANNELS:
        for r in receipts[kind]:
            moment = r.captured_ns / 1e9 if r.captured_ns else r.at_ns / 1e9
            walk = _walk_of(moment, walks, 3.0 if r.captured_ns else 6.0)
            if walk is not None and walk.actor in measured:
                per_walk[kind].setdefault(walk.actor, []).append(r.at_ns / 1e9)
    for at, event in live_events:
        walk = _walk_of(time_ns(event["started_at"]) / 1e9, walks, 3.0)
        if walk is not None and walk.actor in measured:
            per_walk["dashboard"].setdefault(walk.actor, []).append(at / 1e9)

    by_actor = {w.actor: w for w in walks_measured}
    channels: dict[str, Any] = {}
    for kind, arrivals in per_walk.items():
        firsts = {actor: min(times) for actor, times in arrivals.items()}
        from_frame = [(at - due[a][0]) * 1000 for a, at in firsts.items() if a in due]
        from_captured = [(at - trigger[a].captured_ns / 1e9) * 1000 for a, at in firsts.items()  # type: ignore[operator]
                         if a in trigger]
        from_entry = [(at - by_actor[a].enter_s) * 1000 for a, at in firsts.items()]
        stats = percentiles(from_frame)
        channels[kind] = {
            "alerts": sum(len(t) for t in arrivals.values()),
            "missed": len(measured - set(arrivals)), "duplicates": sum(1 for t in arrivals.values() if len(t) > 1),
            "receipt_minus_frame": stats, "receipt_minus_captured": percentiles(from_captured),
            "receipt_minus_zone_entry": percentiles(from_entry),
            "meets_goal": stats["p95_ms"] is not None and stats["p95_ms"] < GOAL_MS,
        }
    margins = [m for _, m in due.values()]
    return {
        "bench": "seed004", "incidents": len(walks_measured), "asked": args.incidents,
        "camsim": {"size": "x".join(map(str, seed004.CAMSIM["size"])), "fps": seed004.CAMSIM["camsim_fps"],
                   "gop": seed004.CAMSIM["camsim_gop"], "intruder_every_s": seed004.INTRUDER_EVERY_S},
        "camera_fps": seed004.CAMERA_FPS, "goal_p95_ms": GOAL_MS, "channels": channels,
        "meets_goal": all(c["meets_goal"] for c in channels.values()),
        "frames_matched": len(due), "min_match_margin": round(min(margins), 2) if margins else None,
        "startup_s": stack.timings.get("stack_ready_s"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--incidents", type=int, default=8, help="walks through the zone to measure")
    args = p.parse_args()
    vhost = f"bench-seed004-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=MANAGEMENT, auth=("guest", "guest"), timeout=30) as mgmt:
        mgmt.put(f"/api/vhosts/{quote(vhost, safe='')}").raise_for_status()
        mgmt.put(f"/api/permissions/{quote(vhost, safe='')}/guest",
                 json={"configure": ".*", "write": ".*", "read": ".*"}).raise_for_status()
        try:
            with tempfile.TemporaryDirectory(prefix="bench-seed004-") as tmp, StandIns(Path(tmp)) as standins, \
                    vision_stack(Path(tmp), f"amqp://guest:guest@127.0.0.1:5672/{quote(vhost, safe='')}",
                                 services=seed004.SERVICES, redis_url=REDIS_URL, name="vigia_bench_seed004",
                                 env={"vision": {"VIGIA_VISION_OCR": "false"}, "notifier": standins.notifier_env()},
                                 **seed004.CAMSIM) as stack:
                log(f"stack ready: {stack.timings}")
                result = measure(stack, standins, args)
        finally:
            mgmt.delete(f"/api/vhosts/{quote(vhost, safe='')}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
