"""Pipeline status on the operator feed: the automation runtime's ``pipeline.status`` messages reach
the operators of the pipeline's organization, and only them, as seed 001's ``pipeline_status_update``
(real broker vhost, real JWKS, real uvicorn, real sockets)."""

from __future__ import annotations

import time
import uuid

import websockets

from services.live.tests.conftest import StartLive
from services.live.tests.support import Keys, wait_until
from services.live.tests.test_feed import recv_json
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import Envelope, make


def pipeline_status(org: uuid.UUID, pipeline: uuid.UUID, state: str, node: str | None = None,
                    error: str | None = None) -> Envelope:
    return make("pipeline.status", org, "automation-test", {"pipeline": pipeline, "state": state, "node": node,
                                                            "error": error, "time": time.time_ns()})


async def test_pipeline_status_reaches_the_operators_of_its_org_only_in_the_seeds_shape(
        start_live: StartLive, keys: Keys, publisher: AsyncPublisher) -> None:
    live = await start_live()
    org_a, org_b = uuid.uuid4(), uuid.uuid4()
    pipeline, others = uuid.uuid4(), uuid.uuid4()
    sent = [pipeline_status(org_a, pipeline, "started"),
            pipeline_status(org_a, pipeline, "fired", node="whatsapp-1"),
            pipeline_status(org_a, pipeline, "error", node="plc-1", error="coil 12: connection refused"),
            pipeline_status(org_a, pipeline, "stopped")]
    async with websockets.connect(live.url(keys.token(org_a))) as ws_a, \
            websockets.connect(live.url(keys.token(org_b), types="pipeline_status_update")) as ws_b:
        await wait_until(lambda: len(live.hub) == 2)
        for envelope in sent:
            await publisher.publish(envelope)
        got = [await recv_json(ws_a) for _ in sent]
        # Org B's first message is its own pipeline's: none of org A's reached it.
        own = pipeline_status(org_b, others, "started")
        await publisher.publish(own)
        first_for_b = await recv_json(ws_b)
    assert [m["id"] for m in got] == [str(e.id) for e in sent]
    assert {m["type"] for m in got} == {"pipeline_status_update"}
    assert {m["pipeline_id"] for m in got} == {str(pipeline)}
    assert [(m["status"], m["state"], m["node"]) for m in got] == [
        ("active", "started", None), ("active", "fired", "whatsapp-1"), ("error", "error", "plc-1"),
        ("inactive", "stopped", None)]
    assert got[2]["error"] == "coil 12: connection refused"
    assert got[0]["at"] == sent[0].model_dump(mode="json")["data"]["time"]
    assert (first_for_b["id"], first_for_b["pipeline_id"]) == (str(own.id), str(others))
