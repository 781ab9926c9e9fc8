"""The engine's two clocks and the one rule that keeps a node from mixing them (ADR 0004).

A record's time is its *observation* time (a detection's frame, a plate visit's last sighting, an
anomaly's packet): it lags the wall clock by however far the data plane is behind (vision runs
4-10 s behind under load, more after a restart). A tick's time is the *wall* clock. The rule:

1. Records are judged in record time, against other record times: dwell, the gaps between records,
   window membership, schedules, cooldowns, a debounce's quiet time between two records, TTLs and
   watch-list expiry. Replaying the same records gives the same result, whatever their lag.
2. A tick never compares its wall time with a record time. A node that acts on a key (an object,
   a debounce key, a window) on ticks keeps, with the key's latest record time ``seen``, the wall
   time ``wall`` its record was taken by the runtime (``Item.received``). The key's clock on a tick
   is ``seen`` advanced by the wall time elapsed since then (:func:`key_clock`): a lag that holds
   steady cancels out, and a key whose records stopped still ages at the wall clock's pace.
3. State a tick only forgets (the records decide with it themselves: cooldown, cache TTL, escalated
   events) is forgotten :data:`LATE_S` after it expired by the tick's clock: forgetting it early
   would let a late record through, keeping it costs only memory.
4. The first tick of a pipeline whose state was loaded (a restart, a reload after a failed batch)
   is ``resumed``: the wall time the runtime was away is not elapsed time of its keys, whose
   records may still be queued, so every ``wall`` stamp restarts then (:func:`restamp`).

Ticks know idleness to about a second (records are stamped when taken, ticks fall on whole
seconds, a zone refreshes an object's stamp at most once a second). Without ``Item.received`` (dry runs, tests, state
written before this rule) a record's wall time is its own time, i.e. no lag.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vigia.common.pipelines.engine import Run

#: How far the records' lag may grow, in seconds, before state a tick only forgets is forgotten
#: under a late record (rule 3).
LATE_S = 600.0


def key_clock(run: Run, entry: Any) -> float:
    """A key's time at this tick (rule 2): ``entry["seen"]`` (its latest record time) plus the
    wall time since ``entry["wall"]`` (when that record was taken). Entries written without a wall
    stamp (before the rule) fall back to the tick's own time, as before."""
    wall = entry.get("wall")
    if wall is None:
        return run.now_s
    return float(entry["seen"]) + run.wall_s - wall


def idle_s(run: Run, entry: Any) -> float:
    """Wall seconds since the key's latest record was taken (``key_clock`` minus its record time)."""
    wall = entry.get("wall")
    return run.now_s - float(entry["seen"]) if wall is None else run.wall_s - wall


def restamp(run: Run, node: str) -> None:
    """Restart the wall stamps of ``node``'s keys at this (resumed) tick (rule 4)."""
    for key, entry in run.state.items(node):
        if isinstance(entry, dict) and entry.get("wall") is not None:
            run.state.set(node, key, {**entry, "wall": run.wall_s})


__all__ = ["LATE_S", "idle_s", "key_clock", "restamp"]
