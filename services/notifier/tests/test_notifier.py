"""The notifier end to end on the real broker, PostgreSQL and Redis: actions published to
vigia.actions reach the stand-ins once per recipient, every attempt is recorded, failures are
retried through the delay queues and dead-lettered after the last step, and nothing is sent for a
channel that is disabled, of another organization or of another kind."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import aio_pika
import psycopg

from services.notifier.tests.conftest import MakeChannel, action, deliveries, wait_for
from services.notifier.tests.standins import (
    TELEGRAM_TOKEN,
    WEBHOOK_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    HttpStandIn,
)
from vigia.common.broker import AsyncPublisher
from vigia.common.messages import Envelope

EVENT = uuid.UUID("01890a5d-ac96-774b-bcce-b302099a8057")


def webhook_config(standin: HttpStandIn, **extra: Any) -> dict[str, Any]:
    return {"url": f"{standin.url}/hook/a", "secret": WEBHOOK_SECRET, **extra}


async def test_an_action_is_delivered_once_even_when_published_twice(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("webhook", webhook_config(standin))
    await run_notifier()
    envelope = action("webhook", org, channel, event=EVENT, payload={"title": "Intrusão", "severity": "high",
                                                                     "site": "doca 3"})
    await publisher.publish(envelope)
    await publisher.publish(envelope)  # a redelivery, or the runtime publishing again after a crash
    await wait_for(lambda: standin.accepted("webhook"), what="the webhook")
    await wait_for(lambda: len(db.execute("SELECT 1 FROM notification_attempts a JOIN notification_deliveries d "
                                          "ON d.id = a.delivery_id WHERE d.action_id = %s AND a.status <> 'sending'",
                                          (envelope.id,)).fetchall()) >= 1, what="the attempt")
    [row] = deliveries(db, envelope.id)
    assert (row.status, row.attempts, row.event, row.tries) == ("delivered", 1, EVENT, [(1, "delivered")])
    [seen] = standin.accepted("webhook")
    body = seen.json()
    assert body["action"] == str(envelope.id) and body["event"] == str(EVENT)
    assert body["text"].startswith("[Vigia] Intrusão (high) em doca 3")  # pt-BR, the default locale
    # Give the second copy every chance to be (wrongly) sent, then check it was not.
    await wait_for(lambda: db.execute("SELECT count(*) FROM notification_deliveries WHERE action_id = %s",
                                      (envelope.id,)).fetchone()[0] == 1)
    assert len(standin.received) == 1


async def test_each_recipient_gets_one_message_rendered_from_the_template(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("telegram", {"bot_token": TELEGRAM_TOKEN, "recipients": ["-100999"]})
    await run_notifier()
    envelope = action("telegram", org, channel, recipients=["111", "222", "111"], locale="en",
                      template="{{ title }} at {{ site }} ({{ payload.count }} people)",
                      payload={"title": "Loitering", "site": "gate", "count": 2})
    await publisher.publish(envelope)
    await wait_for(lambda: len(standin.accepted("telegram")) == 2, what="two messages")
    texts = sorted((r.form["chat_id"], r.form["text"]) for r in standin.accepted("telegram"))
    assert texts == [("111", "Loitering at gate (2 people)"), ("222", "Loitering at gate (2 people)")]
    await wait_for(lambda: all(r.status == "delivered" for r in deliveries(db, envelope.id)))
    assert [r.recipient for r in deliveries(db, envelope.id)] == ["111", "222"]


async def test_without_recipients_the_channels_own_are_used_and_the_default_template_is_the_locales(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel) -> None:
    channel = make_channel("whatsapp", {"phone_number_id": WHATSAPP_PHONE_ID, "access_token": WHATSAPP_TOKEN,
                                        "recipients": ["+5511988887777"], "locale": "en"})
    await run_notifier()
    await publisher.publish(action("whatsapp", org, channel, payload={"event_type": "intrusion", "site": "hq"}))
    [seen] = await wait_for(lambda: standin.accepted("whatsapp"), what="the WhatsApp template")
    body = seen.json()
    assert body["to"] == "5511988887777" and body["type"] == "template"
    assert body["template"]["components"][-1]["parameters"][0]["text"].startswith("[Vigia] intrusion at hq")


async def test_a_failing_channel_is_retried_through_the_delay_queues_until_delivered(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("webhook", webhook_config(standin))
    standin.script = [500, 503]
    await run_notifier()
    envelope = action("webhook", org, channel)
    await publisher.publish(envelope)
    await wait_for(lambda: deliveries(db, envelope.id) and deliveries(db, envelope.id)[0].status == "delivered",
                   what="delivery after two failures")
    [row] = deliveries(db, envelope.id)
    assert row.tries == [(1, "failed"), (2, "failed"), (3, "delivered")]
    assert [r.status for r in standin.received] == [500, 503, 200]
    assert {r.headers["idempotency-key"] for r in standin.received} == {standin.received[0].headers["idempotency-key"]}


async def test_after_the_last_retry_the_action_is_dead_lettered(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any], amqp_url: str) -> None:
    channel = make_channel("webhook", webhook_config(standin))
    standin.script = [500] * 10
    await run_notifier()  # delays 100, 200, 400 ms: four attempts in all
    envelope = action("webhook", org, channel)
    await publisher.publish(envelope)
    await wait_for(lambda: deliveries(db, envelope.id) and deliveries(db, envelope.id)[0].status == "failed",
                   what="the delivery to fail for good")
    [row] = deliveries(db, envelope.id)
    assert row.tries == [(1, "failed"), (2, "failed"), (3, "failed"), (4, "failed")]
    assert "HTTP 500" in row.last_error
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        dlq = await (await connection.channel()).get_queue("notifier.actions.dlq")
        message = await wait_for_message(dlq)
        assert Envelope.from_json(message.body).id == envelope.id
    assert len(standin.received) == 4


async def wait_for_message(queue: Any) -> Any:
    import asyncio

    for _ in range(100):
        message = await queue.get(no_ack=True, fail=False)
        if message is not None:
            return message
        await asyncio.sleep(0.05)
    raise AssertionError("no message in the DLQ")


async def test_a_permanent_refusal_is_not_retried(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("webhook", webhook_config(standin))
    standin.script = [422]
    await run_notifier()
    envelope = action("webhook", org, channel)
    await publisher.publish(envelope)
    await wait_for(lambda: deliveries(db, envelope.id) and deliveries(db, envelope.id)[0].status == "failed")
    assert deliveries(db, envelope.id)[0].tries == [(1, "rejected")]
    assert len(standin.received) == 1


async def test_nothing_is_sent_through_a_disabled_foreign_or_mismatched_channel(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    other_org = uuid.uuid4()
    db.execute("INSERT INTO organizations (id, name, slug, settings, created_at) VALUES (%s, 'o', %s, '{}', now())",
               (other_org, f"nt-{other_org.hex[:12]}"))
    disabled = make_channel("webhook", webhook_config(standin), enabled=False)
    foreign = make_channel("webhook", webhook_config(standin), org_id=other_org)
    mine = make_channel("webhook", webhook_config(standin))
    await run_notifier()
    cases = [(action("webhook", org, disabled), "disabled"), (action("webhook", org, foreign), "no such channel"),
             (action("telegram", org, mine, recipients=["1"]), "is a webhook channel")]
    for envelope, _ in cases:
        await publisher.publish(envelope)
    for envelope, error in cases:
        [row] = await wait_for(lambda e=envelope: deliveries(db, e.id), what=error)
        assert row.status == "failed" and error in row.last_error and row.tries == [(1, "rejected")]
    assert standin.received == []


async def test_a_webhook_to_a_private_address_is_refused_and_recorded(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("webhook", {"url": "http://169.254.169.254/latest/meta-data/", "secret": WEBHOOK_SECRET})
    await run_notifier()
    envelope = action("webhook", org, channel)
    await publisher.publish(envelope)
    [row] = await wait_for(lambda: [r for r in deliveries(db, envelope.id) if r.status == "failed"])
    assert row.tries == [(1, "rejected")] and "169.254.169.254" in row.last_error


async def test_messages_carry_the_snapshot_and_signed_links_control_accepts(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, tmp_path: Any) -> None:
    from vigia.common.settings import CommonSettings
    from vigia.common.storage import open_store, verify_signed_url

    store_url = f"file://{tmp_path}/objects"
    settings = CommonSettings(object_store=store_url)
    store = open_store(store_url, settings)
    store.ensure_bucket("snapshots")
    jpeg = b"\xff\xd8\xff\xe0snapshot\xff\xd9"
    store.put("snapshots", f"{org}/cam/1.jpg", jpeg, content_type="image/jpeg")
    telegram = make_channel("telegram", {"bot_token": TELEGRAM_TOKEN})
    hook = make_channel("webhook", webhook_config(standin))
    await run_notifier(VIGIA_OBJECT_STORE=store_url, VIGIA_NOTIFIER_PUBLIC_URL="https://vigia.example.com")
    payload = {"title": "Pessoa", "snapshot_key": f"{org}/cam/1.jpg"}
    await publisher.publish(action("telegram", org, telegram, recipients=["42"], event=EVENT, payload=payload))
    await publisher.publish(action("webhook", org, hook, event=EVENT, payload=payload))
    [photo] = await wait_for(lambda: standin.accepted("telegram"), what="the photo")
    assert photo.path.endswith("/sendPhoto") and photo.files["photo"] == jpeg
    [posted] = await wait_for(lambda: standin.accepted("webhook"), what="the webhook")
    document = posted.json()
    assert document["snapshot_url"].startswith("https://vigia.example.com/objects/snapshots/")
    secret = settings.object_url_secret.get_secret_value()
    assert verify_signed_url(document["snapshot_url"], secret) == ("snapshots", f"{org}/cam/1.jpg")
    assert verify_signed_url(document["evidence_url"], secret) == ("evidence", f"{org}/{EVENT}/video.mp4")
    assert document["snapshot_url"] in document["text"]  # the default template links it


async def test_a_rate_limited_channel_defers_sends_without_counting_attempts(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    # One token, refilled 5 times a second, and no waiting in the handler: every recipient past the
    # first goes round the delay queue until the bucket lets it through.
    channel = make_channel("telegram", {"bot_token": TELEGRAM_TOKEN, "rate_per_s": 5, "burst": 1})
    await run_notifier(VIGIA_NOTIFIER_RATE_WAIT_MAX_S="0")
    envelope = action("telegram", org, channel, recipients=["1", "2", "3", "4"])
    await publisher.publish(envelope)
    await wait_for(lambda: len(standin.accepted("telegram")) == 4, what="four messages")

    def all_delivered() -> list[Any] | None:
        rows = deliveries(db, envelope.id)
        return rows if len(rows) == 4 and all(r.status == "delivered" for r in rows) else None

    rows = await wait_for(all_delivered, what="four deliveries recorded")
    assert [(r.recipient, r.tries) for r in rows] == [(n, [(1, "delivered")]) for n in ("1", "2", "3", "4")]
    assert sorted(r.form["chat_id"] for r in standin.accepted("telegram")) == ["1", "2", "3", "4"]


async def test_the_token_bucket_gives_burst_tokens_then_says_how_long_to_wait(redis_prefix: str) -> None:
    from redis.asyncio import Redis

    from services.notifier.tests.conftest import REDIS_URL
    from vigia.notifier.ratelimit import RateLimiter

    client = Redis.from_url(REDIS_URL)
    try:
        limiter = RateLimiter(client, redis_prefix)
        channel = uuid.uuid4()
        assert [await limiter.take(channel, 0.5, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
        wait = await limiter.take(channel, 0.5, 3)
        assert 0 < wait <= 2.0  # one token every 2 s
        assert await limiter.take(uuid.uuid4(), 0.5, 3) == 0.0  # another channel has its own bucket
    finally:
        await client.aclose()


async def test_a_fast_channel_takes_its_tokens_in_batches_from_the_shared_bucket(redis_prefix: str) -> None:
    from redis.asyncio import Redis

    from services.notifier.tests.conftest import REDIS_URL
    from vigia.notifier.ratelimit import RateLimiter

    client = Redis.from_url(REDIS_URL)
    try:
        channel = uuid.uuid4()
        one, other = RateLimiter(client, redis_prefix), RateLimiter(client, redis_prefix)  # two replicas
        assert await one.take(channel, 1000, 60) == 0.0  # takes 50 (50 ms of 1000/s) from the shared 60
        left = float(await client.hget(f"{redis_prefix}rate:{channel}", "tokens"))
        assert 10 <= left < 11  # what the other replica can still get (plus at most a few ms of refill)
        assert [await one.take(channel, 1000, 60) for _ in range(49)] == [0.0] * 49  # spent locally
        assert float(await client.hget(f"{redis_prefix}rate:{channel}", "tokens")) == left  # no Redis call
        assert await other.take(channel, 1000, 60) == 0.0
    finally:
        await client.aclose()


async def test_a_modbus_pulse_longer_than_the_send_time_out_is_held_and_reset_once(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, org: uuid.UUID, make_channel: MakeChannel,
        db: psycopg.Connection[Any]) -> None:
    from services.notifier.tests.standins import ModbusStandIn

    plc = ModbusStandIn()
    await plc.start()
    try:
        channel = make_channel("modbus", {"host": "127.0.0.1", "port": plc.port, "address": 2})
        await run_notifier(VIGIA_NOTIFIER_TIMEOUT_S="0.5")  # the pulse (1.5 s) outlasts the time-out
        envelope = action("modbus", org, channel, payload={"register_type": "coil", "address": 9, "value": 1,
                                                         "pulse_s": 1.5})
        await publisher.publish(envelope)
        await wait_for(lambda: deliveries(db, envelope.id) and deliveries(db, envelope.id)[0].status == "delivered",
                       what="the pulse")
        assert [(w.kind, w.address, w.value) for w in plc.writes] == [("coil", 9, 1), ("coil", 9, 0)]
        assert deliveries(db, envelope.id)[0].tries == [(1, "delivered")]
    finally:
        await plc.stop()


async def test_http_sends_beyond_the_clients_connections_wait_their_turn_and_all_arrive_once(
        run_notifier: Callable[..., Any], publisher: AsyncPublisher, standin: HttpStandIn, org: uuid.UUID,
        make_channel: MakeChannel, db: psycopg.Connection[Any]) -> None:
    channel = make_channel("webhook", webhook_config(standin))
    standin.hold = asyncio.Event()  # the receiver answers nothing until released
    await run_notifier(VIGIA_NOTIFIER_HTTP_CONNECTIONS="2", VIGIA_PREFETCH="6")
    envelopes = [action("webhook", org, channel) for _ in range(5)]
    for envelope in envelopes:
        await publisher.publish(envelope)
    await wait_for(lambda: len(standin.received) == 2, what="two requests held")
    await asyncio.sleep(0.5)  # the other three are claimed and waiting: none reaches the receiver
    assert len(standin.received) == 2
    standin.hold.set()
    await wait_for(lambda: len(standin.accepted("webhook")) == 5, what="every action delivered")
    for envelope in envelopes:
        await wait_for(lambda e=envelope: [r.status for r in deliveries(db, e.id)] == ["delivered"])
        assert [r.tries for r in deliveries(db, envelope.id)] == [[(1, "delivered")]]
    assert len({r.headers["idempotency-key"] for r in standin.received}) == 5
