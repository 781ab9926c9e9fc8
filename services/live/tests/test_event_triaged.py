"""Operators' decisions on the feed: control's ``event.triaged`` messages (routed ``triage.<org>.…``,
which only live binds) reach the operators of the event's organization, and only them, as
``event_triaged`` (real broker vhost, real JWKS, real uvicorn, real sockets)."""

from __future__ import annotations

import time
import uuid

import websockets

from services.live.tests.conftest import StartLive
from services.live.tests.support import Keys, wait_until
from services.live.tests.test_feed import recv_json
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import Envelope, make


def triaged(org: uuid.UUID, event: uuid.UUID, acknowledged_by: str, resolved_by: str | None = None) -> Envelope:
    now = time.time_ns()
    resolved = {"resolved_by": str(uuid.uuid4()), "resolved_by_email": resolved_by, "resolved_at": now} \
        if resolved_by else {}
    change = "resolved" if resolved_by else "acknowledged"
    return make("event.triaged", org, "control", {
        "event": str(event), "change": change, "event_type": "intrusion", "severity": "critical", "status": change,
        "classification": "unclassified", "acknowledged_by": str(uuid.uuid4()),
        "acknowledged_by_email": acknowledged_by, "acknowledged_at": now, "updated_at": now, **resolved})


async def test_a_triage_reaches_the_operators_of_its_org_only(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live()
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    event = uuid.uuid4()
    sent = [triaged(org_a, event, "ana@a.example"), triaged(org_a, event, "ana@a.example", "bia@a.example")]
    async with websockets.connect(live.url(keys.token(org_a), types="event_triaged")) as ws_a, \
            websockets.connect(live.url(keys.token(org_b))) as ws_b:
        await wait_until(lambda: len(live.hub) == 2)
        for envelope in sent:
            await publisher.publish(envelope)
        got = [await recv_json(ws_a) for _ in sent]
        # Org B's first message is its own event's: none of org A's reached it.
        own = triaged(org_b, uuid.uuid4(), "caio@b.example")
        await publisher.publish(own)
        first_for_b = await recv_json(ws_b)
    assert [(m["type"], m["id"], m["change"]) for m in got] == [
        ("event_triaged", str(sent[0].id), "acknowledged"), ("event_triaged", str(sent[1].id), "resolved")]
    assert {m["event"]["id"] for m in got} == {str(event)}
    assert [(m["event"]["status"], m["event"]["acknowledged_by_email"], m["event"]["resolved_by_email"])
            for m in got] == [("acknowledged", "ana@a.example", None), ("resolved", "ana@a.example", "bia@a.example")]
    assert (first_for_b["id"], first_for_b["event"]["acknowledged_by_email"]) == (str(own.id), "caio@b.example")
