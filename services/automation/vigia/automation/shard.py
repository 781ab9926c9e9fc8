"""One automation shard (``automation.<k>``): consume in batches, evaluate, publish, commit, ack.

Contract, per batch (the messages taken from the queue in order, at most ``batch`` of them, plus
the tick when one is due):

1. each message is decoded (undecodable: rejected to the DLQ) and applied in order -- a control
   change (pipeline, camera, watch-list) changes the organization's plans at once, a data message
   becomes an :class:`~vigia.common.pipelines.engine.Item` evaluated by every running pipeline of
   its organization that accepts it. The first message of an organization loads it from
   PostgreSQL (its running pipelines, zones and lines, watch-lists, time zone and node state);
2. every emission and status is published with confirms;
3. node state (the dirty keys of each pipeline's MemoryState), counters and runs are committed in
   one transaction (retried while PostgreSQL is away, the messages held);
4. the messages are acknowledged.

A crash between 2 and 4 redelivers the messages: the state in PostgreSQL is the one before them,
so they compute the same emissions with the same ids (the notifier deduplicates). A crash between
3 and 4 redelivers messages whose state change is committed: their ids are kept with the state
(``~runtime/applied``), so a redelivered message is not applied twice. When publishing or
committing fails for good, the batch goes back to the broker and the shard's organizations are
dropped from memory, to be loaded again from PostgreSQL.

Ticks: every ``tick_s`` each organization whose plans need ticks gets ``Item(kind="tick")`` (the
time in whole seconds; ``resumed`` for a pipeline whose state was loaded since its last tick, so the
time the runtime was away does not age its keys, ADR 0004); data items carry the time they were
taken (``Item.received``); organizations with ``event`` inputs in ``unacknowledged`` mode first get
the events acknowledged since the last tick and those left unacknowledged past the shortest delay.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from vigia.automation import metrics
from vigia.automation.emissions import emission_envelope, status_envelope
from vigia.automation.inputs import item_of, item_record, tick_item, unacknowledged_item
from vigia.automation.organization import RUNTIME_NODE, OrgPipelines
from vigia.automation.repository import UNAVAILABLE, BatchWrite, PipelineRecord, Repository
from vigia.common.ids import uuid7_of
from vigia.common.messages import Envelope
from vigia.common.pipelines.engine import GraphError, Item, RunResult

log = logging.getLogger(__name__)

Publish = Callable[[Iterable[Envelope]], Awaitable[None]]
CONTROL_PREFIXES = ("pipeline.", "camera.", "watchlist.")
_MISSING = object()


@dataclass
class _PipelineBatch:
    """What one pipeline did in one batch."""

    org: uuid.UUID
    pipeline: uuid.UUID
    ids: list[str] = field(default_factory=list)
    #: node -> [inputs, outputs, errors, fired at, (latest error, its input's time) or None]
    counters: dict[str, list[Any]] = field(default_factory=dict)
    fired_runs: deque[Any] = field(default_factory=deque)
    quiet_runs: deque[Any] = field(default_factory=deque)
    fired: tuple[str, datetime, uuid.UUID] | None = None
    error: tuple[str, str, datetime, uuid.UUID] | None = None


class Batch:
    def __init__(self, quiet_runs: int, fired_runs: int) -> None:
        self.fired_runs = fired_runs
        self.envelopes: list[Envelope] = []
        self.write = BatchWrite()
        # Keyed by the pipeline id's integer: hashing a UUID object is a Python-level call per run.
        self.pipelines: dict[int, _PipelineBatch] = {}
        self.quiet_runs = quiet_runs

    def of(self, org: uuid.UUID, pipeline: uuid.UUID) -> _PipelineBatch:
        entry = self.pipelines.get(pipeline.int)
        if entry is None:
            entry = self.pipelines[pipeline.int] = _PipelineBatch(
                org, pipeline, fired_runs=deque(maxlen=self.fired_runs), quiet_runs=deque(maxlen=self.quiet_runs or 1))
        return entry


class ShardWorker:
    """Consumes one ``automation.<k>`` queue (see the module docstring); ``start``/``shutdown`` as
    :class:`vigia.common.shards.ShardedConsumers` expects."""

    def __init__(self, shard: int, queue: str, connection: AbstractRobustConnection, repository: Repository,
                 publish: Publish, *, prefetch: int = 512, batch: int = 256, tick_s: float = 1.0,
                 quiet_runs: int = 3, fired_runs: int = 20, runs_kept: int = 100, org_refresh_s: float = 60.0,
                 db_retry_max_s: float = 10.0, grace_s: float = 25.0, linger_s: float = 0.005,
                 probe: Callable[[], Awaitable[None]] | None = None) -> None:
        self.shard = shard
        self.queue_name = queue
        self.connection = connection
        self.repository = repository
        self.publish = publish
        self.prefetch = prefetch
        self.batch_size = batch
        self.tick_s = tick_s
        self.quiet_runs = quiet_runs
        self.fired_runs = fired_runs
        self.runs_kept = runs_kept
        self.org_refresh_s = org_refresh_s
        self.db_retry_max_s = db_retry_max_s
        self.grace_s = grace_s
        self.linger_s = linger_s
        self.probe = probe
        self.orgs: dict[uuid.UUID, OrgPipelines] = {}
        self._known: set[uuid.UUID] = set()  # organizations of this shard seen so far (reloaded for ticks)
        self._refreshed: dict[uuid.UUID, float] = {}
        self._runs_unpruned: dict[uuid.UUID, int] = {}
        self._announced: dict[uuid.UUID, float] = {}
        self._last_tick_at: datetime | None = None
        self._inbox: asyncio.Queue[AbstractIncomingMessage | None] = asyncio.Queue()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    # --- lifecycle ---

    async def start(self) -> None:
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._queue = await self._channel.get_queue(self.queue_name, ensure=True)
        self._tag = await self._queue.consume(self._inbox.put)
        self._task = asyncio.create_task(self._run(), name=f"automation-shard-{self.shard}")
        if self.probe is not None:
            await self.probe()
        log.info("shard started", extra={"queue": self.queue_name})

    async def shutdown(self) -> None:
        """Stop taking messages, finish the batch in flight (published, committed, acked), close."""
        if self._queue is not None and self._tag is not None and self._channel is not None \
                and not self._channel.is_closed:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._tag, timeout=5)
        self._tag = None
        self._stopping = True
        await self._inbox.put(None)
        if self._task is not None:
            done, _ = await asyncio.wait({self._task}, timeout=self.grace_s)
            if not done:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()  # unacked messages go back to the queue
        self._channel = None
        metrics.PIPELINES.dec(sum(len(o.pipelines) for o in self.orgs.values()))
        self.orgs.clear()

    # --- the loop ---

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + self.tick_s
        while not self._stopping:
            messages: list[AbstractIncomingMessage] = []
            timeout = max(0.0, next_tick - loop.time())
            try:
                first = await asyncio.wait_for(self._inbox.get(), timeout)
            except TimeoutError:
                first = None
            if first is not None:
                messages.append(first)
                self._drain(messages)
                if self.linger_s > 0 and 1 < len(messages) < self.batch_size:
                    # Busy: wait a moment for more, so one commit and one round of confirms serve many.
                    await asyncio.sleep(self.linger_s)
                    self._drain(messages)
            tick = loop.time() >= next_tick
            if tick:
                next_tick = max(next_tick + self.tick_s, loop.time())
            if not messages and not tick:
                continue
            try:
                await self.process(messages, tick=tick)
            except Exception:
                log.exception("batch failed; its messages go back to the queue",
                              extra={"queue": self.queue_name, "messages": len(messages)})

    def _drain(self, messages: list[AbstractIncomingMessage]) -> None:
        while len(messages) < self.batch_size and not self._inbox.empty():
            message = self._inbox.get_nowait()
            if message is not None:
                messages.append(message)

    async def process(self, messages: list[AbstractIncomingMessage], *, tick: bool = False) -> None:
        """Evaluate, publish, commit and acknowledge one batch (see the module docstring).

        PostgreSQL unavailable while evaluating (loading an organization, reading events): the
        messages are held and the batch evaluated again from PostgreSQL's state after a pause
        growing up to ``db_retry_max_s`` -- not handed back, which would spend their deliveries."""
        decoded: list[tuple[AbstractIncomingMessage, Envelope]] = []
        for message in messages:
            try:
                decoded.append((message, Envelope.from_json(message.body)))
            except Exception as exc:
                log.error("poison message sent to the dead-letter queue", extra={
                    "queue": self.queue_name, "message_id": message.message_id, "error": str(exc)[:300]})
                await message.reject(requeue=False)
        pause = 0.1
        while True:
            try:
                await self._process(decoded, tick=tick)
                return
            except UNAVAILABLE as exc:
                self._forget()  # the evaluation ran partly: start again from PostgreSQL's state
                if self._stopping:
                    await self._give_back([m for m, _ in decoded])
                    raise
                log.warning("PostgreSQL unavailable; evaluating the batch again", extra={
                    "queue": self.queue_name, "retry_in_s": pause, "error": str(exc)[:300]})
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.db_retry_max_s)

    async def _process(self, decoded: list[tuple[AbstractIncomingMessage, Envelope]], *, tick: bool) -> None:
        started = time.perf_counter()
        batch = Batch(self.quiet_runs, self.fired_runs)
        kept: list[AbstractIncomingMessage] = []
        rejected: list[AbstractIncomingMessage] = []
        try:
            for message, envelope in decoded:
                try:
                    await self._apply(envelope, bool(message.redelivered), batch)
                except UNAVAILABLE:
                    raise
                except Exception:
                    log.exception("message could not be applied; sent to the dead-letter queue", extra={
                        "queue": self.queue_name, "message_id": str(envelope.id), "type": envelope.type})
                    rejected.append(message)
                    continue
                kept.append(message)
            if tick:
                await self._tick(batch)
            self._close(batch)
        except UNAVAILABLE:
            raise
        except Exception:
            metrics.BATCH_FAILURES.labels("evaluate").inc()
            await self._give_back([m for m, _ in decoded])
            raise
        for message in rejected:
            await message.reject(requeue=False)
        try:
            if batch.envelopes:
                await self.publish(batch.envelopes)
        except Exception:
            metrics.BATCH_FAILURES.labels("publish").inc()
            await self._give_back(kept)
            raise
        try:
            await self._commit(batch.write)
        except Exception:
            metrics.BATCH_FAILURES.labels("commit").inc()
            await self._give_back(kept)
            raise
        if kept:
            await kept[-1].ack(multiple=True)
        self._account(batch)
        metrics.BATCH_MESSAGES.observe(len(decoded))
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)

    def _forget(self) -> None:
        """Drop every organization from memory (reloaded from PostgreSQL on their next message)."""
        metrics.PIPELINES.dec(sum(len(o.pipelines) for o in self.orgs.values()))
        self.orgs.clear()

    async def _give_back(self, messages: list[AbstractIncomingMessage]) -> None:
        # The in-memory state ran ahead of PostgreSQL: forget it, reload on the next message.
        self._forget()
        for message in messages:
            with contextlib.suppress(Exception):
                await message.nack(requeue=True)

    async def _commit(self, write: BatchWrite) -> None:
        pause = 0.1
        while True:
            try:
                await self.repository.commit(write)
                return
            except UNAVAILABLE as exc:
                log.warning("PostgreSQL unavailable; retrying the batch's commit", extra={
                    "queue": self.queue_name, "retry_in_s": pause, "error": str(exc)[:300]})
                if self._stopping and pause >= self.db_retry_max_s:
                    raise
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.db_retry_max_s)

    # --- organizations ---

    async def organization(self, org: uuid.UUID, batch: Batch | None = None) -> OrgPipelines:
        """The organization's pipelines, loaded from PostgreSQL on first use."""
        current = self.orgs.get(org)
        if current is not None:
            return current
        repo = self.repository
        record = await repo.organization(org)
        if record is None:  # unknown organization: nothing runs for it
            from vigia.automation.repository import Organization
            record = Organization(org, "America/Sao_Paulo", 300.0)
        loaded = OrgPipelines(record, await repo.zones(org), await repo.watchlists(org))
        pipelines = await repo.running_pipelines(org)
        states = await repo.states(p.id for p in pipelines)
        for pipeline in pipelines:
            try:
                loaded.install(pipeline, states.get(pipeline.id))
            except GraphError as exc:
                log.warning("a running pipeline does not compile", extra={
                    "pipeline": str(pipeline.id), "error": str(exc)[:500]})
        self.orgs[org] = loaded
        self._known.add(org)
        self._refreshed[org] = time.monotonic()
        metrics.PIPELINES.inc(len(loaded.pipelines))
        return loaded

    async def _apply(self, envelope: Envelope, redelivered: bool, batch: Batch) -> None:
        known = envelope.org in self.orgs
        org = await self.organization(envelope.org, batch)
        kind = envelope.type
        if kind == "automation.probe":
            return
        if kind.startswith(CONTROL_PREFIXES) and kind != "pipeline.hook":
            await self._control(org, envelope, batch, fresh=not known)
            return
        item = item_of(envelope, datetime.now(UTC))
        if item is not None:
            # A webhook post is for one pipeline's node; node ids repeat across pipelines.
            only = getattr(envelope.data, "pipeline", None) if kind == "pipeline.hook" else None
            self._evaluate(org, item, redelivered, batch, envelope.trace, only=only)

    async def _control(self, org: OrgPipelines, envelope: Envelope, batch: Batch, *, fresh: bool) -> None:
        kind, data, at = envelope.type, envelope.data, datetime.now(UTC)
        if kind.startswith("pipeline."):
            pipeline: uuid.UUID = data.pipeline  # type: ignore[attr-defined]
            was = pipeline in org.pipelines
            state = getattr(data, "state", None)
            if kind != "pipeline.deleted" and state == "running":
                version = data.version  # type: ignore[attr-defined]
                current = org.pipelines.get(pipeline)
                if current is not None and current.record.version > version:
                    return  # an older change still queued: the newer one is running
                record = PipelineRecord(pipeline, org.id, data.name, "running", version,  # type: ignore[attr-defined]
                                        data.graph)  # type: ignore[attr-defined]
                state_rows = None
                if not was and pipeline not in batch.write.state_clears:
                    state_rows = (await self.repository.states([pipeline])).get(pipeline)
                try:
                    org.install(record, state_rows)
                except GraphError as exc:
                    if org.remove(pipeline) is not None:
                        metrics.PIPELINES.dec()
                    batch.envelopes.append(status_envelope(org.id, pipeline, "error", at, error=str(exc),
                                                           cause=envelope.id))
                    return
                if not was:
                    metrics.PIPELINES.inc()
                if not was or fresh:
                    batch.envelopes.append(status_envelope(org.id, pipeline, "started", at, cause=envelope.id))
                return
            removed = org.remove(pipeline)
            if removed is not None:
                metrics.PIPELINES.dec()
            if kind != "pipeline.deleted":
                batch.write.clear_state(pipeline)  # stopping resets timers, windows and counts
            if removed is not None or fresh:
                batch.envelopes.append(status_envelope(org.id, pipeline, "stopped", at, cause=envelope.id))
            return
        if fresh:
            return  # just loaded from PostgreSQL, which already holds this change
        if kind in ("camera.created", "camera.updated"):
            org.zones[str(data.camera)] = {  # type: ignore[attr-defined]
                "zones": [z.model_dump(mode="json") for z in getattr(data, "zones", [])],
                "lines": [ln.model_dump(mode="json") for ln in getattr(data, "lines", [])]}
        elif kind == "camera.deleted":
            org.zones.pop(str(data.camera), None)  # type: ignore[attr-defined]
        elif kind.startswith("watchlist."):
            org.watchlists = await self.repository.watchlists(org.id)
        else:
            return
        for pipeline, reason in org.recompile():
            metrics.PIPELINES.dec()
            batch.envelopes.append(status_envelope(org.id, pipeline, "error", at, error=reason, cause=envelope.id))

    # --- evaluation ---

    def _evaluate(self, org: OrgPipelines, item: Item, redelivered: bool, batch: Batch, trace: str | None, *,
                  only: uuid.UUID | None = None) -> None:
        metrics.item(item.kind).inc()
        message_id = str(item.message_id)
        envelopes = batch.envelopes
        for running in org.pipelines.values():
            if (only is not None and running.id != only) or not running.plan.accepts(item):
                continue
            if redelivered and message_id in running.applied():
                continue  # committed before a crash: its state change is already there
            run_item = item
            if running.resumed and item.kind == "tick":
                run_item, running.resumed = tick_item(item.org, item.time, resumed=True), False
            try:
                result = running.plan.run(run_item, running.state, trace=True)
            except Exception as exc:  # the engine catches node failures; this is a failure of its own
                result = RunResult([], [], False, f"{type(exc).__name__}: {exc}")
            entry = batch.of(org.id, running.id)
            entry.ids.append(message_id)
            for emission in result.emissions:
                envelopes.append(emission_envelope(emission, item, trace))
                metrics.emission(emission.kind).inc()
            self._record(entry, item, result)

    def _record(self, entry: _PipelineBatch, item: Item, result: RunResult) -> None:
        counters = entry.counters
        for node in result.trace:
            fired_at = item.time if node.outputs else None
            node_failure = (node.error, item.time) if node.error else None
            values = counters.get(node.node)
            if values is None:
                counters[node.node] = [len(node.inputs), len(node.outputs), 1 if node.error else 0, fired_at,
                                       node_failure]
            else:
                values[0] += len(node.inputs)
                values[1] += len(node.outputs)
                values[2] += 1 if node.error else 0
                if fired_at is not None:
                    values[3] = fired_at
                if node_failure is not None:
                    values[4] = node_failure
        if result.emissions:
            entry.fired = (result.emissions[0].node, item.time, item.message_id)
        if result.error:
            failed = next((n.node for n in result.trace if n.error), None) or ""
            entry.error = (failed, result.error, item.time, item.message_id)
        run = (entry.org, entry.pipeline, item, result)
        if result.fired or result.error:
            entry.fired_runs.append(run)
        elif self.quiet_runs and item.kind != "tick":  # a quiet tick every second would bury the runs
            entry.quiet_runs.append(run)

    def _close(self, batch: Batch) -> None:
        """Turn the batch's results into the write and the status messages."""
        write = batch.write
        for entry in batch.pipelines.values():
            org_id, pipeline_id = entry.org, entry.pipeline
            org = self.orgs.get(org_id)
            running = org.pipelines.get(pipeline_id) if org is not None else None
            if running is not None:
                state = running.state
                if state.dirty():
                    previous = state.get(RUNTIME_NODE, "applied") or {}
                    state.set(RUNTIME_NODE, "applied", {"last": entry.ids, "previous": previous.get("last", [])})
                    for node, key in state.dirty():
                        value = state.get(node, key, _MISSING)
                        if value is _MISSING:
                            write.delete_state(pipeline_id, node, key)
                        else:
                            write.set_state(org_id, pipeline_id, node, key, value)
                    state.clear_dirty()
            for org_of, pipeline, item, result in [*entry.fired_runs, *entry.quiet_runs]:
                nodes = [{"node": n.node, "inputs": n.inputs, "outputs": n.outputs, "error": n.error}
                         for n in result.trace]
                run_id = uuid7_of(int(item.time.timestamp() * 1e9), f"run/{item.message_id}/{pipeline}")
                write.runs.append((run_id, org_of, pipeline, item.time, item_record(item), nodes, result.fired,
                                   result.error))
            count = len(entry.fired_runs) + len(entry.quiet_runs)
            if count:
                unpruned = self._runs_unpruned.get(pipeline_id, 0) + count
                if unpruned >= max(10, self.runs_kept // 5):
                    write.trims.add(pipeline_id)
                    unpruned = 0
                self._runs_unpruned[pipeline_id] = unpruned
            if entry.fired is not None and self._may_announce_firing(pipeline_id):
                node, at, cause = entry.fired
                batch.envelopes.append(status_envelope(org_id, pipeline_id, "fired", at, node=node, cause=cause))
            if entry.error is not None:
                node, error, at, cause = entry.error
                batch.envelopes.append(status_envelope(org_id, pipeline_id, "error", at, node=node or None,
                                                       error=error, cause=cause))
            for node, values in entry.counters.items():
                write.count(org_id, pipeline_id, node, values[0], values[1], values[2], values[3], values[4])

    def _may_announce_firing(self, pipeline: uuid.UUID) -> bool:
        """At most one ``fired`` status per pipeline and second: operators see that it fires, the
        actions themselves say how often."""
        now = time.monotonic()
        if now - self._announced.get(pipeline, -1.0) < 1.0:
            return False
        self._announced[pipeline] = now
        return True

    def _account(self, batch: Batch) -> None:
        for entry in batch.pipelines.values():
            pipeline = str(entry.pipeline)
            for node, (inputs, outputs, errors, fired_at, _failed) in entry.counters.items():
                if inputs:
                    metrics.NODE_INPUTS.labels(pipeline, node).inc(inputs)
                if outputs:
                    metrics.NODE_OUTPUTS.labels(pipeline, node).inc(outputs)
                if errors:
                    metrics.NODE_ERRORS.labels(pipeline, node).inc(errors)
                if fired_at is not None:
                    metrics.NODE_LAST_FIRED.labels(pipeline, node).set(fired_at.timestamp())

    # --- ticks ---

    async def _tick(self, batch: Batch) -> None:
        at = datetime.now(UTC).replace(microsecond=0)
        since = self._last_tick_at or at - timedelta(seconds=max(self.tick_s, 1) * 2)
        self._last_tick_at = at
        now = time.monotonic()
        for org_id in list(self._known):
            org = await self.organization(org_id)  # forgotten after a failed batch: load it again
            if now - self._refreshed.get(org_id, now) >= self.org_refresh_s:
                await self._refresh(org, batch)
            if not org.needs_ticks():
                continue
            delays = org.escalation_delays()
            if delays:
                rows = await self.repository.events_to_escalate(
                    org_id, handled_since=since - timedelta(seconds=1),
                    overdue_before=at - timedelta(seconds=min(delays)),
                    horizon=at - timedelta(seconds=max(delays) + 86_400))
                for row in rows:
                    self._evaluate(org, unacknowledged_item(org_id, row, at), False, batch, None)
            self._evaluate(org, tick_item(org_id, at), False, batch, None)

    async def _refresh(self, org: OrgPipelines, batch: Batch) -> None:
        self._refreshed[org.id] = time.monotonic()
        record = await self.repository.organization(org.id)
        if record is None or record == org.organization:
            return
        org.organization = record
        for pipeline, reason in org.recompile():
            metrics.PIPELINES.dec()
            batch.envelopes.append(status_envelope(org.id, pipeline, "error", datetime.now(UTC), error=reason))
