"""The runtime's PostgreSQL side (psycopg 3, async): what it reads at load (organizations,
running pipelines, camera zones and lines, watch-lists, node state) and the one transaction that
commits a batch (node state, counters, runs).

Control's Django migrations own these tables (``pipeline_node_state``, ``pipeline_node_counters``,
``pipeline_runs`` in the pipelines app); this module only reads and upserts rows. Every query is
scoped by organization or by pipelines of one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row

log = logging.getLogger(__name__)

#: Errors meaning PostgreSQL is away (restarting, unreachable): retry, the batch is not at fault.
UNAVAILABLE: tuple[type[BaseException], ...] = (psycopg.OperationalError, psycopg.errors.AdminShutdown,
                                                psycopg.errors.CannotConnectNow)
#: Longest node error kept in pipeline_node_counters.last_error (characters).
MAX_ERROR = 2000


def dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


@dataclass(frozen=True)
class Organization:
    id: uuid.UUID
    time_zone: str
    escalation_delay_s: float


@dataclass(frozen=True)
class PipelineRecord:
    id: uuid.UUID
    org: uuid.UUID
    name: str
    state: str
    version: int
    graph: Mapping[str, Any]


@dataclass
class BatchWrite:
    """Everything one batch changes, written in one transaction."""

    state_upserts: dict[tuple[uuid.UUID, str, str], tuple[uuid.UUID, Any]] = field(default_factory=dict)
    state_deletes: set[tuple[uuid.UUID, str, str]] = field(default_factory=set)
    state_clears: set[uuid.UUID] = field(default_factory=set)  # pipelines whose whole state goes
    #: (org, pipeline, node) -> [inputs, outputs, errors, last fired, latest error, its time]
    counters: dict[tuple[uuid.UUID, uuid.UUID, str], list[Any]] = field(default_factory=dict)
    #: (id, org, pipeline, time, trigger, nodes trace, fired, error); trigger and trace as JSON values
    runs: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, datetime, Any, Any, bool, str | None]] = field(
        default_factory=list)
    trims: set[uuid.UUID] = field(default_factory=set)

    def set_state(self, org: uuid.UUID, pipeline: uuid.UUID, node: str, key: str, value: Any) -> None:
        self.state_deletes.discard((pipeline, node, key))
        self.state_upserts[(pipeline, node, key)] = (org, value)

    def delete_state(self, pipeline: uuid.UUID, node: str, key: str) -> None:
        self.state_upserts.pop((pipeline, node, key), None)
        self.state_deletes.add((pipeline, node, key))

    def clear_state(self, pipeline: uuid.UUID) -> None:
        for key in [k for k in self.state_upserts if k[0] == pipeline]:
            del self.state_upserts[key]
        self.state_deletes = {k for k in self.state_deletes if k[0] != pipeline}
        self.state_clears.add(pipeline)

    def count(self, org: uuid.UUID, pipeline: uuid.UUID, node: str, inputs: int, outputs: int, errors: int,
              fired_at: datetime | None, failed: tuple[str, datetime] | None = None) -> None:
        """Add a node's counts; ``failed``: its latest error and the input's time, if it failed."""
        if not (inputs or outputs or errors or fired_at is not None or failed is not None):
            return  # a node a quiet tick passed through: nothing to add, so no row written every second
        error, error_at = (failed[0][:MAX_ERROR], failed[1]) if failed is not None else (None, None)
        entry = self.counters.get((org, pipeline, node))
        if entry is None:
            self.counters[(org, pipeline, node)] = [inputs, outputs, errors, fired_at, error, error_at]
            return
        entry[0] += inputs
        entry[1] += outputs
        entry[2] += errors
        if fired_at is not None and (entry[3] is None or fired_at > entry[3]):
            entry[3] = fired_at
        if error_at is not None and (entry[5] is None or error_at >= entry[5]):
            entry[4], entry[5] = error, error_at

    def empty(self) -> bool:
        return not (self.state_upserts or self.state_deletes or self.state_clears or self.counters or self.runs)


_UPSERT_STATE = """
INSERT INTO pipeline_node_state (org_id, pipeline_id, node, key, value, updated_at)
SELECT o, p, n, k, v, now() FROM jsonb_to_recordset(%s::jsonb) AS t(o uuid, p uuid, n text, k text, v jsonb)
ON CONFLICT (pipeline_id, node, key) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"""
_DELETE_STATE = """
DELETE FROM pipeline_node_state s USING unnest(%s::uuid[], %s::text[], %s::text[]) AS t(p, n, k)
WHERE s.pipeline_id = t.p AND s.node = t.n AND s.key = t.k"""
_ADD_COUNTERS = """
INSERT INTO pipeline_node_counters (org_id, pipeline_id, node, inputs, outputs, errors, last_fired_at, last_error,
                                    last_error_at, updated_at)
SELECT o, p, n, i, x, e, f, le, la, now()
FROM unnest(%s::uuid[], %s::uuid[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[],
            %s::text[], %s::timestamptz[])
    AS t(o, p, n, i, x, e, f, le, la)
ON CONFLICT (pipeline_id, node) DO UPDATE SET
    inputs = pipeline_node_counters.inputs + EXCLUDED.inputs,
    outputs = pipeline_node_counters.outputs + EXCLUDED.outputs,
    errors = pipeline_node_counters.errors + EXCLUDED.errors,
    last_fired_at = GREATEST(pipeline_node_counters.last_fired_at, EXCLUDED.last_fired_at),
    last_error = CASE WHEN EXCLUDED.last_error_at IS NOT NULL AND (pipeline_node_counters.last_error_at IS NULL
                          OR EXCLUDED.last_error_at >= pipeline_node_counters.last_error_at)
                      THEN EXCLUDED.last_error ELSE pipeline_node_counters.last_error END,
    last_error_at = GREATEST(pipeline_node_counters.last_error_at, EXCLUDED.last_error_at),
    updated_at = now()"""
_INSERT_RUNS = """
INSERT INTO pipeline_runs (id, org_id, pipeline_id, time, trigger, nodes, fired, error)
SELECT i, o, p, t, g, n, f, e
FROM jsonb_to_recordset(%s::jsonb) AS r(i uuid, o uuid, p uuid, t timestamptz, g jsonb, n jsonb, f bool, e text)
ON CONFLICT (id) DO NOTHING"""
_TRIM_RUNS = """
DELETE FROM pipeline_runs WHERE pipeline_id = %(p)s AND (time, id) < (
    SELECT time, id FROM pipeline_runs WHERE pipeline_id = %(p)s ORDER BY time DESC, id DESC
    OFFSET %(keep)s - 1 LIMIT 1)"""


class Repository:
    """One connection (one per shard worker: a shard's batches are sequential). Callers that share
    one repository across tasks (the runtime's probes of shards taken together and its database
    watch) take turns on it: each transaction holds :attr:`_turn`, since two transactions open at
    once on one connection fail ("commit at the wrong nesting level")."""

    def __init__(self, database_url: str, *, application_name: str = "vigia-automation",
                 runs_kept: int = 100) -> None:
        self.database_url = database_url
        self.application_name = application_name
        self.runs_kept = runs_kept
        self._conn: psycopg.AsyncConnection[dict[str, Any]] | None = None
        self._columns: dict[str, set[str]] = {}
        self._turn = asyncio.Lock()

    async def _connection(self) -> psycopg.AsyncConnection[dict[str, Any]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                await self._conn.close()
            self._conn = await psycopg.AsyncConnection.connect(
                self.database_url, row_factory=dict_row, application_name=self.application_name,
                options="-c statement_timeout=30000")
            self._columns = {}
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def _rows(self, query: str, params: Any = None) -> list[dict[str, Any]]:
        async with self._turn:
            conn = await self._connection()
            async with conn.transaction():
                cur = await conn.execute(query, params)
                return await cur.fetchall()

    async def columns(self, table: str) -> set[str]:
        """The columns ``table`` has (empty: no such table): the runtime reads newer columns (camera
        lines, event resolution) only where the migrations that add them were applied."""
        if table not in self._columns:
            rows = await self._rows("SELECT column_name FROM information_schema.columns "
                                    "WHERE table_schema = current_schema() AND table_name = %s", (table,))
            self._columns[table] = {r["column_name"] for r in rows}
        return self._columns[table]

    async def ping(self) -> bool:
        return bool(await self._rows("SELECT 1 AS ok"))

    # --- loading ---

    async def organization(self, org: uuid.UUID) -> Organization | None:
        rows = await self._rows("SELECT id, time_zone, settings FROM organizations WHERE id = %s", (org,))
        if not rows:
            return None
        settings = rows[0]["settings"] or {}
        delay = settings.get("escalation_delay_s") if isinstance(settings, dict) else None
        return Organization(org, rows[0]["time_zone"] or "America/Sao_Paulo",
                            float(delay) if isinstance(delay, int | float) and delay > 0 else 300.0)

    async def running_pipelines(self, org: uuid.UUID) -> list[PipelineRecord]:
        rows = await self._rows("SELECT id, org_id, name, state, version, graph FROM pipelines "
                                "WHERE org_id = %s AND state = 'running' ORDER BY id", (org,))
        return [PipelineRecord(r["id"], r["org_id"], r["name"], r["state"], r["version"], r["graph"] or {})
                for r in rows]

    async def pipeline(self, org: uuid.UUID, pipeline: uuid.UUID) -> PipelineRecord | None:
        rows = await self._rows("SELECT id, org_id, name, state, version, graph FROM pipelines "
                                "WHERE org_id = %s AND id = %s", (org, pipeline))
        return PipelineRecord(rows[0]["id"], rows[0]["org_id"], rows[0]["name"], rows[0]["state"],
                              rows[0]["version"], rows[0]["graph"] or {}) if rows else None

    async def zones(self, org: uuid.UUID) -> dict[str, dict[str, Any]]:
        """Camera id -> {"zones": [...], "lines": [...]} (normalised coordinates)."""
        has_lines = "lines" in await self.columns("cameras")
        rows = await self._rows(f"SELECT id, zones{', lines' if has_lines else ''} FROM cameras "  # noqa: S608
                                "WHERE org_id = %s", (org,))
        return {str(r["id"]): {"zones": r["zones"] or [], "lines": r.get("lines") or []} for r in rows}

    async def watchlists(self, org: uuid.UUID) -> dict[str, dict[str, Any]]:
        """Watch-lists by name and by id: {"kind", "entries": {plate: {"label", "expires_at"}}}."""
        if not await self.columns("plate_watchlists") or not await self.columns("plate_watchlist_entries"):
            return {}
        lists = await self._rows("SELECT id, name, kind FROM plate_watchlists WHERE org_id = %s", (org,))
        entries = await self._rows("SELECT watchlist_id, plate, label, expires_at FROM plate_watchlist_entries "
                                   "WHERE org_id = %s", (org,))
        by_id: dict[str, dict[str, Any]] = {str(w["id"]): {"kind": w["kind"], "entries": {}} for w in lists}
        for entry in entries:
            target = by_id.get(str(entry["watchlist_id"]))
            if target is not None:
                expires = entry["expires_at"]
                target["entries"][entry["plate"]] = {"label": entry["label"] or "",
                                                     "expires_at": expires.isoformat() if expires else None}
        named = {w["name"]: by_id[str(w["id"])] for w in lists}
        return {**named, **by_id}

    async def states(self, pipelines: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, dict[str, Any]]]:
        ids = list(pipelines)
        if not ids:
            return {}
        rows = await self._rows("SELECT pipeline_id, node, key, value FROM pipeline_node_state "
                                "WHERE pipeline_id = ANY(%s)", (ids,))
        out: dict[uuid.UUID, dict[str, dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r["pipeline_id"], {}).setdefault(r["node"], {})[r["key"]] = r["value"]
        return out

    async def organizations_running(self) -> list[uuid.UUID]:
        """Organizations with at least one running pipeline."""
        rows = await self._rows("SELECT DISTINCT org_id FROM pipelines WHERE state = 'running'")
        return [r["org_id"] for r in rows]

    async def events_to_escalate(self, org: uuid.UUID, *, handled_since: datetime, overdue_before: datetime,
                                 horizon: datetime) -> list[dict[str, Any]]:
        """Events of ``org`` started after ``horizon`` that were acknowledged or resolved since
        ``handled_since`` (so waiting escalations are dropped), then those still open and
        unacknowledged that started before ``overdue_before``, oldest first."""
        columns = await self.columns("events")
        resolved = "resolved_at" in columns
        select = ("SELECT id, event_type, severity, score, time, ended_at, site, sources, description, status, "  # noqa: S608
                  f"acknowledged_at{', resolved_at' if resolved else ''} FROM events WHERE org_id = %(org)s "
                  "AND time > %(horizon)s AND ")
        handled = ("(acknowledged_at >= %(since)s" + (" OR resolved_at >= %(since)s)" if resolved else ")"))
        overdue = ("acknowledged_at IS NULL" + (" AND resolved_at IS NULL" if resolved else "")
                   + " AND status NOT IN ('acknowledged', 'resolved', 'closed') AND time <= %(before)s")
        params = {"org": org, "horizon": horizon, "since": handled_since, "before": overdue_before}
        first = await self._rows(select + handled + " ORDER BY time LIMIT 1000", params)
        second = await self._rows(select + overdue + " ORDER BY time LIMIT 1000", params)
        return first + second

    # --- the batch's transaction ---

    async def commit(self, write: BatchWrite) -> None:
        """Write the batch in one transaction (raises; the caller retries or gives the batch back)."""
        if write.empty():
            return
        async with self._turn:
            conn = await self._connection()
            async with conn.transaction(), conn.cursor() as cur:
                if write.state_clears:
                    await cur.execute("DELETE FROM pipeline_node_state WHERE pipeline_id = ANY(%s)",
                                      (list(write.state_clears),))
                if write.state_deletes:
                    p, n, k = zip(*write.state_deletes, strict=True)
                    await cur.execute(_DELETE_STATE, (list(p), list(n), list(k)))
                if write.state_upserts:
                    # One JSON document, not arrays of text: psycopg escapes array text character by character.
                    await cur.execute(_UPSERT_STATE, (dumps([
                        {"o": org, "p": key[0], "n": key[1], "k": key[2], "v": value}
                        for key, (org, value) in write.state_upserts.items()]),))
                if write.counters:
                    counted = list(write.counters)
                    values = [write.counters[key] for key in counted]
                    await cur.execute(_ADD_COUNTERS, (
                        [k[0] for k in counted], [k[1] for k in counted], [k[2] for k in counted],
                        [v[0] for v in values], [v[1] for v in values], [v[2] for v in values],
                        [v[3] for v in values], [v[4] for v in values], [v[5] for v in values]))
                if write.runs:
                    await cur.execute(_INSERT_RUNS, (dumps([
                        {"i": i, "o": o, "p": p, "t": t, "g": g, "n": n, "f": f, "e": e}
                        for i, o, p, t, g, n, f, e in write.runs]),))
                for pipeline in write.trims:
                    await cur.execute(_TRIM_RUNS, {"p": pipeline, "keep": self.runs_kept})
