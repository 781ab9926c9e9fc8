"""The notifier process: actions in, messages out; metrics and health on :9108.

Start-up: configure logging, read settings, open the PostgreSQL pool, Redis, the object store, the
shared HTTP client and the broker (declaring the topology), then consume ``notifier.actions`` (an
action meeting PostgreSQL or Redis down is held and retried in place, not dead-lettered) until
SIGTERM, which stops consuming, lets in-flight deliveries finish and closes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from vigia.common.broker import AsyncPublisher, Consumer, connect
from vigia.common.broker.topology import NOTIFIER_ACTIONS, declare_topology
from vigia.common.channels import SendContext
from vigia.common.channels.netguard import NetworkPolicy
from vigia.common.observability import configure_logging, health, serve_metrics
from vigia.common.storage import open_store
from vigia.notifier.channels import ChannelDirectory
from vigia.notifier.deliveries import Deliveries
from vigia.notifier.handler import Notifier
from vigia.notifier.messages import Composer, Links
from vigia.notifier.ratelimit import RateLimiter
from vigia.notifier.settings import DEFAULT_METRICS_PORT, NotifierSettings

log = logging.getLogger("vigia.notifier")

# Errors meaning a store the notifier records deliveries in or keeps rate limits in is down.
DEPENDENCY_DOWN = (psycopg.OperationalError, PoolTimeout, RedisConnectionError, RedisTimeoutError)


async def run(settings: NotifierSettings, stopping: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until ``stopping`` is set, when given: tests run it in-process)."""
    pool = AsyncConnectionPool(settings.database_url, min_size=2, max_size=max(4, min(settings.prefetch, 32)),
                               kwargs={"application_name": "vigia-notifier", "autocommit": True}, open=False)
    await pool.open(wait=True, timeout=30)
    redis = Redis.from_url(settings.redis_url)
    store = open_store(settings.object_store, settings)
    # One pool of connections for every channel: Telegram and WhatsApp through the client, webhooks
    # straight through its transport (SendContext.transport).
    transport = httpx.AsyncHTTPTransport(limits=httpx.Limits(
        max_connections=settings.notifier_http_connections,
        max_keepalive_connections=settings.notifier_http_connections))
    http = httpx.AsyncClient(transport=transport, timeout=settings.notifier_timeout_s, follow_redirects=False,
                             cookies=no_cookies())
    connection = await connect(settings.amqp_url, name="notifier")
    publisher = AsyncPublisher(settings.amqp_url, settings=settings, declare=True, connection=connection)
    await publisher.connect()

    context = SendContext(http=http, transport=transport,
                          policy=NetworkPolicy.from_string(settings.notifier_allowed_networks),
                          timeout_s=settings.notifier_timeout_s,
                          telegram_api_url=settings.notifier_telegram_api_url,
                          whatsapp_api_url=settings.notifier_whatsapp_api_url,
                          whatsapp_api_version=settings.notifier_whatsapp_api_version)
    notifier = Notifier(
        channels=ChannelDirectory(pool, settings.fernet_keys.get_secret_value(), settings.notifier_channel_cache_s),
        deliveries=Deliveries(pool, settings.notifier_lease_s),
        limiter=RateLimiter(redis, settings.notifier_redis_prefix),
        composer=Composer(Links(store, settings.notifier_public_url, timedelta(seconds=settings.notifier_link_ttl_s))),
        publisher=publisher, context=context, retry_delays_ms=settings.notifier_retry_delays(),
        rate_wait_max_s=settings.notifier_rate_wait_max_s, http_sends=settings.notifier_http_connections)

    async def setup(channel: object) -> None:
        await declare_topology(channel, settings)

    consumer = Consumer(settings.amqp_url, NOTIFIER_ACTIONS, notifier.handle, settings=settings, setup=setup,
                        connection=connection, unavailable=DEPENDENCY_DOWN)
    health.add("broker", lambda: not connection.is_closed)
    health.add("consuming", consumer.started.is_set)
    metrics_port = settings.metrics_port or DEFAULT_METRICS_PORT
    server = serve_metrics(metrics_port)

    if stopping is None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
    await consumer.start()
    log.info("notifier ready: consuming %s, metrics on :%d", NOTIFIER_ACTIONS, metrics_port)
    try:
        await stopping.wait()
    finally:
        await consumer.shutdown()
        server.shutdown()
        await publisher.close()
        await connection.close()
        await http.aclose()
        await redis.aclose()
        await pool.close()
        log.info("notifier stopped")


def no_cookies() -> CookieJar:
    """A cookie jar that keeps nothing: the client is shared by every organization's channels, so
    a cookie one receiver sets must never travel with another organization's request."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


def main() -> None:
    settings = NotifierSettings()
    configure_logging(settings.log_level, settings.log_json)
    try:  # uvloop: a cheaper event loop per delivery (several wake-ups each)
        import uvloop
    except ImportError:
        asyncio.run(run(settings))
    else:
        uvloop.run(run(settings))
