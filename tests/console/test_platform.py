"""The console against the platform as `make run` starts it (tests/console/platform.py: every
process of deploy/local/Procfile, nothing seeded): e2e/platform.spec.ts, at a desktop and a phone
size, signs in, waits for a plate camsim shows to be announced on the live feed, finds it by the
plate search with its crop and frame, asks phonesim and camsim for an episode now, sees the event
arrive live, plays its evidence video, acknowledges it with a note and resolves it.

Then this test checks what the page showed against the simulators and the API: each plate is one
camsim's ground truth says was on screen; each event is a different one, made of phonesim-1's
injected anomalies (magnetic and audio, as phonesim's truth logged them; the only anomalies it
injected; the spec asks again, up to three times, when fusion missed an episode), at the
simulators' site, acknowledged with the page's note and resolved by the demo admin.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.console.node import playwright
from tests.console.platform import EMAIL, platform_stack
from tests.console.stack import PASSWORD
from tests.support.databases import throwaway_database
from vigia.simulators.camsim.truth import read_truth

pytestmark = pytest.mark.slow

CAMERAS, PHONES = 2, 3  # what the Procfile's camsim and phonesim register
SITE = "demo-site"


def _camsim_plates(truth: Path) -> set[str]:
    return {r["plate"] for r in read_truth(truth) if r.get("plate")}


@pytest.mark.timeout(900)
def test_the_console_on_the_make_run_platform(tmp_path: Path, amqp_url: str, console_dist: Path) -> None:
    report = tmp_path / "report.jsonl"
    with throwaway_database("vigia_console_platform") as database_url, \
            platform_stack(tmp_path, database_url, amqp_url, console_dist) as stack:
        try:
            stack.wait_registered(CAMERAS, PHONES)
            playwright("platform.spec.ts", stack.base, tmp_path, timeout=900, env={
                "VIGIA_CONSOLE_EMAIL": EMAIL, "VIGIA_CONSOLE_PASSWORD": PASSWORD,
                "VIGIA_CONSOLE_CAMSIM": stack.camsim_commands, "VIGIA_CONSOLE_PHONESIM": stack.phonesim_commands,
                "VIGIA_CONSOLE_REPORT": str(report)})
            headers = {"Authorization": f"Bearer {stack.login()}"}
            with httpx.Client(base_url=stack.base, headers=headers, timeout=30) as api:
                shown = [json.loads(line) for line in report.read_text().splitlines()]
                events = {s["event"]: api.get(f"/api/v1/events/{s['event']}/").json() for s in shown}
                phones = {d["id"]: d["name"] for d in api.get("/api/v1/devices/").json()["results"]}
            for simulator in ("camsim", "phonesim"):  # their truth logs are complete once they stop
                stack.stop(simulator)
        except BaseException:
            print(stack.tails(chars=2500))
            raise
    assert sorted(s["project"] for s in shown) == ["desktop", "phone"], shown
    on_screen = _camsim_plates(stack.files_dir / "camsim-truth.jsonl")
    assert {s["plate"] for s in shown} <= on_screen, (shown, sorted(on_screen))
    assert len(events) == len(shown), "both runs showed the same event"
    # phonesim's only anomalies are the episodes the runs asked for (two, or more where fusion missed
    # one and the spec asked again), each on phonesim-1.
    anomalies = [r for line in (stack.files_dir / "phonesim-truth.jsonl").read_text().splitlines()
                 if (r := json.loads(line))["kind"] != "phone"]
    assert {phones[r["device"]] for r in anomalies} == {"phonesim-1"}, anomalies
    assert 2 <= len({r["episode"] for r in anomalies}) <= 6, anomalies
    for episode in {r["episode"] for r in anomalies}:
        kinds = {r["kind"] for r in anomalies if r["episode"] == episode}
        assert "magnetic" in kinds and kinds & {"infrasound", "ultrasound", "voice"}, anomalies
    for seen in shown:
        event: dict[str, Any] = events[seen["event"]]
        assert event["site"] == SITE and event["status"] == "resolved", event
        assert event["acknowledgement_note"] == seen["note"], event
        assert event["acknowledged_by_email"] == EMAIL and event["resolved_by_email"] == EMAIL, event
        kinds = {s["kind"] for s in event["sources"]}
        assert "magnetic" in kinds and kinds & {"audio", "audio_infrasound", "audio_ultrasound", "voice"}, kinds
        # The injected phone's anomalies; another phone of the site may join with one fusion found in its noise.
        devices = {phones.get(s.get("device")) for s in event["sources"] if s.get("device")}
        assert "phonesim-1" in devices, event["sources"]
        sources = sorted((s["kind"], phones.get(s.get("device")) or "camera") for s in event["sources"])
        print(f"{seen['project']}: plate {seen['plate']}, event {event['id']} ({event['event_type']}, "
              f"{event['severity']}): {sources}")
