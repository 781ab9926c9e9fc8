"""Logic nodes: conditions, schedules (in the organization's time zone), iteration, stored values,
debounce and cooldown.

Clocks (:mod:`vigia.common.pipelines.clock`): a timer gate, a cooldown, a debounce between two
records and a cache's TTL judge records by their observation time; a timer's own ticks are wall
time; a debounce's quiet time on ticks runs from when its latest record was taken; what ticks only
forget (cooldown keys, cached records) is kept ``LATE_S`` longer for records still to come.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, time
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from vigia.common.pipelines.clock import LATE_S, key_clock
from vigia.common.pipelines.registry import Category, Environment, Node, NodeConfig, Outputs, PortType, node_type
from vigia.common.pipelines.values import key_of, lookup

if TYPE_CHECKING:
    from vigia.common.pipelines.engine import Run

_OPERATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "contains": lambda a, b: b in a,
    "in": lambda a, b: a in b,
    "not_in": lambda a, b: a not in b,
    "exists": lambda a, b: a is not None,
}


class ConditionalConfig(NodeConfig):
    """Routes each record to ``true`` or ``false`` by comparing one of its fields (a dotted path such
    as ``zone`` or ``box.y2``) with ``value``; a missing field or values that do not compare go to
    ``false``."""

    field: str = Field(min_length=1, max_length=128)
    operator: Literal["eq", "ne", "gt", "gte", "lt", "lte", "contains", "in", "not_in", "exists"] = "eq"
    value: Any = None

    @model_validator(mode="after")
    def _list_for_membership(self) -> ConditionalConfig:
        if self.operator in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"operator {self.operator!r} needs a list value")
        return self


@node_type("conditional", ConditionalConfig, category=Category.LOGIC, label="Conditional",
           inputs={"in": PortType.ANY}, outputs={"true": PortType.ANY, "false": PortType.ANY})
class Conditional(Node):
    __slots__ = ("_field", "_test", "_value")

    def __init__(self, node_id: str, config: ConditionalConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._field, self._value, self._test = config.field, config.value, _OPERATORS[config.operator]

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        found = value.get(self._field)
        if found is None and "." in self._field:
            found = lookup(value, self._field)
        try:
            passed = found is not None and bool(self._test(found, self._value))
        except TypeError:
            passed = False
        if found is None and self._test is _OPERATORS["ne"]:
            passed = self._value is not None
        return (("true" if passed else "false", value),)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _every_day() -> list[Weekday]:
    return ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TimeWindow(BaseModel):
    """From ``start`` to ``end`` (local ``HH:MM``) on the listed weekdays; a window whose end is before
    its start runs overnight into the next day (the weekday is the one it starts on); equal: all day."""

    model_config = ConfigDict(extra="forbid")

    start: time
    end: time
    weekdays: list[Weekday] = Field(default_factory=lambda: _every_day(), min_length=1)


_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def parse_cron(text: str) -> tuple[frozenset[int], ...]:
    """The five fields of a cron expression (minute hour day-of-month month day-of-week; ``*``,
    ``a-b``, ``*/n``, ``a-b/n`` and lists; Sunday is 0 or 7) as sets of values."""
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("cron needs 5 fields: minute hour day-of-month month day-of-week")
    out: list[frozenset[int]] = []
    for field, (low, high) in zip(fields, _CRON_RANGES, strict=True):
        values: set[int] = set()
        for part in field.split(","):
            match = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
            if match is None:
                raise ValueError(f"cron field {field!r} is not understood")
            span, step = match.group(1), int(match.group(2) or 1)
            first, last = (low, high) if span == "*" else (int(span.split("-")[0]), int(span.split("-")[-1]))
            if not low <= first <= last <= high or step < 1:
                raise ValueError(f"cron field {field!r} is out of range {low}-{high}")
            values.update(range(first, last + 1, step))
        out.append(frozenset(values))
    days = set(out[4])
    if 7 in days:
        days = (days - {7}) | {0}
    out[4] = frozenset(days)
    return tuple(out)


def cron_matches(fields: tuple[frozenset[int], ...], local: datetime) -> bool:
    minute, hour, dom, month, dow = fields
    if local.minute not in minute or local.hour not in hour or local.month not in month:
        return False
    weekday = (local.weekday() + 1) % 7  # cron: 0 is Sunday
    day_any, week_any = len(dom) == 31, len(dow) == 7
    if day_any or week_any:  # cron's rule: both restricted -> either may match
        return local.day in dom and weekday in dow
    return local.day in dom or weekday in dow


class TimerConfig(NodeConfig):
    """Schedules, in the organization's time zone (or ``time_zone``). Wired after another node it is a
    gate: records pass only inside one of its ``windows``. Unwired, it is a source: a record every
    ``interval_s`` seconds or at each minute matching ``cron``, inside its windows if it has any."""

    windows: list[TimeWindow] = Field(default_factory=list, max_length=20)
    interval_s: float | None = Field(None, gt=0, le=31_536_000)
    cron: str | None = Field(None, max_length=128)
    time_zone: str | None = Field(None, max_length=64, description="IANA zone; default: the organization's.")

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            parse_cron(value)
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _something_to_do(self) -> TimerConfig:
        if self.interval_s is not None and self.cron is not None:
            raise ValueError("set at most one of interval_s or cron")
        if not self.windows and self.interval_s is None and self.cron is None:
            raise ValueError("set windows, interval_s or cron")
        return self


@node_type("timer", TimerConfig, category=Category.LOGIC, label="Timer / schedule",
           inputs={"in": PortType.ANY}, outputs={"out": PortType.ANY}, optional_inputs=frozenset({"in"}))
class Timer(Node):
    __slots__ = ("_cron", "_interval", "_windows", "_zone")

    def __init__(self, node_id: str, config: TimerConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._zone = ZoneInfo(config.time_zone) if config.time_zone else env.time_zone
        self._windows = tuple((w.start, w.end, frozenset(WEEKDAYS.index(d) for d in w.weekdays))
                              for w in config.windows)
        self._interval = config.interval_s
        self._cron = parse_cron(config.cron) if config.cron else None

    def needs_ticks(self) -> bool:
        return self._interval is not None or self._cron is not None

    def in_window(self, local: datetime) -> bool:
        """Whether the local time falls in one of the windows (always, without windows)."""
        if not self._windows:
            return True
        clock, day = local.time().replace(tzinfo=None), local.weekday()
        for start, end, days in self._windows:
            if start == end:
                if day in days:
                    return True
            elif start < end:
                if day in days and start <= clock < end:
                    return True
            elif (day in days and clock >= start) or ((day - 1) % 7 in days and clock < end):
                return True
        return False

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        return (("out", value),) if self.in_window(run.local_time(self._zone)) else None

    def tick(self, run: Run) -> Outputs:
        local = run.local_time(self._zone)
        if self._interval is not None:
            slot = math.floor(run.now_s / self._interval)
        else:
            slot = math.floor(run.now_s / 60)
            if self._cron is None or not cron_matches(self._cron, local):
                return None
        if run.state.get(self.id, "slot") == slot:
            return None
        run.state.set(self.id, "slot", slot)
        if not self.in_window(local):
            return None
        return (("out", {"timer": self.id, "time": run.now.isoformat(), "local_time": local.isoformat()}),)


class LoopConfig(NodeConfig):
    """Hands on each element of a list field separately (as ``item``, with its ``index``)."""

    field: str = Field("items", min_length=1, max_length=128)
    max_items: int = Field(100, ge=1, le=10_000)


@node_type("loop", LoopConfig, category=Category.LOGIC, label="Loop / iterate",
           inputs={"in": PortType.ANY}, outputs={"item": PortType.ANY})
class Loop(Node):
    __slots__ = ("_field", "_max")

    def __init__(self, node_id: str, config: LoopConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._field, self._max = config.field, config.max_items

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        elements = lookup(value, self._field)
        if not isinstance(elements, list):
            return None
        rest = {k: v for k, v in value.items() if k != self._field}
        return [("item", {**rest, "item": element, "index": i}) for i, element in enumerate(elements[:self._max])]


class DataStorageConfig(NodeConfig):
    """Remembers the latest record (per ``key`` field, if set) and hands each record on with the one
    remembered before it as ``previous``; ``cache`` forgets after ``ttl_s``, ``persist`` keeps it."""

    mode: Literal["cache", "persist"] = "cache"
    ttl_s: float = Field(3600, gt=0, le=31_536_000)
    key: str | None = Field(None, max_length=128, description="Field path to keep one record per value of.")


@node_type("data_storage", DataStorageConfig, category=Category.LOGIC, label="Data storage",
           inputs={"in": PortType.ANY}, outputs={"out": PortType.ANY})
class DataStorage(Node):
    __slots__ = ("_key", "_ttl")

    def __init__(self, node_id: str, config: DataStorageConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._key = config.key
        self._ttl = config.ttl_s if config.mode == "cache" else None

    def needs_ticks(self) -> bool:
        return self._ttl is not None

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        key = key_of(value, self._key)
        stored = run.state.get(self.id, key)
        previous = None
        if stored is not None and (self._ttl is None or run.now_s - stored["at"] < self._ttl):
            previous = stored["record"]
        run.state.set(self.id, key, {"at": run.now_s, "record": {k: v for k, v in value.items() if k != "previous"}})
        return (("out", {**value, "previous": previous}),)

    def tick(self, run: Run) -> Outputs:
        # Records judge the TTL themselves (in their own time): ticks only free memory, late enough
        # that a record lagging behind the wall clock still finds the one before it.
        for key, stored in run.state.items(self.id):
            if self._ttl is not None and run.now_s - stored["at"] >= self._ttl + LATE_S:
                run.state.delete(self.id, key)
        return None


class DebounceConfig(NodeConfig):
    """Waits until records (per ``key`` field, if set) stop arriving for ``seconds``, then hands on the
    last one: a burst becomes one record at its end."""

    seconds: float = Field(5, gt=0, le=86_400)
    key: str | None = Field(None, max_length=128)


@node_type("debounce", DebounceConfig, category=Category.LOGIC, label="Debounce",
           inputs={"in": PortType.ANY}, outputs={"out": PortType.ANY})
class Debounce(Node):
    __slots__ = ("_key", "_seconds")
    ticks = True

    def __init__(self, node_id: str, config: DebounceConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._seconds, self._key = config.seconds, config.key

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        key = key_of(value, self._key)
        pending = run.state.get(self.id, key)
        out = None
        if pending is not None and pending["due"] <= run.now_s:  # its quiet time passed before a tick came
            out = (("out", pending["record"]),)
        run.state.set(self.id, key, {"due": run.now_s + self._seconds, "seen": run.now_s, "wall": run.wall_s,
                                     "record": dict(value)})
        return out

    def tick(self, run: Run) -> Outputs:
        # Quiet since the latest record was taken, not since it was observed: a burst whose records
        # lag behind the ticks is still one burst.
        out: list[tuple[str, Any]] = []
        for key, pending in run.state.items(self.id):
            if pending["due"] <= key_clock(run, pending):
                run.state.delete(self.id, key)
                out.append(("out", pending["record"]))
        return out


class CooldownConfig(NodeConfig):
    """Hands a record on, then drops the following ones (per ``key`` field, if set, e.g. ``zone`` or
    ``camera``) for ``seconds``."""

    seconds: float = Field(60, gt=0, le=86_400)
    key: str | None = Field(None, max_length=128)


@node_type("cooldown", CooldownConfig, category=Category.LOGIC, label="Cooldown",
           inputs={"in": PortType.ANY}, outputs={"out": PortType.ANY})
class Cooldown(Node):
    __slots__ = ("_key", "_seconds")

    def __init__(self, node_id: str, config: CooldownConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._seconds, self._key = config.seconds, config.key

    def needs_ticks(self) -> bool:
        return self._key is not None  # to forget keys whose cooldown ended

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        key = key_of(value, self._key)
        last = run.state.get(self.id, key)
        if last is not None and run.now_s - last < self._seconds:
            return None
        run.state.set(self.id, key, run.now_s)
        return (("out", value),)

    def tick(self, run: Run) -> Outputs:
        # Ticks carry the wall clock, records their observation time, which lags when inputs queue
        # up: forgetting a key as soon as the wall clock passed its cooldown would let the next
        # late record through. Forgetting only frees memory, so it waits for late records too.
        for key, last in run.state.items(self.id):
            if run.now_s - last >= self._seconds + LATE_S:
                run.state.delete(self.id, key)
        return None


class SuppressedConfig(NodeConfig):
    """Holds likely false alarms: routes each event to ``true`` when the correlator marked it a
    likely false alarm (its false-alarm score, by the organization's active classifier, reached the
    organization's ``false_alarm_threshold``) and to ``false`` otherwise, so notifications wired
    after ``false`` are held for them. With ``min_score`` an event scored at least that is held
    too, whatever the organization's threshold. Unscored events always go to ``false``; nothing is
    deleted."""

    min_score: float | None = Field(None, ge=0, le=1, description="Also hold events whose false_alarm_score "
                                    "is at least this; default: only those the organization's policy marked.")


@node_type("suppressed", SuppressedConfig, category=Category.LOGIC, label="Suppressed (likely false alarm)",
           inputs={"in": PortType.EVENTS}, outputs={"true": PortType.EVENTS, "false": PortType.EVENTS})
class Suppressed(Node):
    __slots__ = ("_min_score",)

    def __init__(self, node_id: str, config: SuppressedConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._min_score = config.min_score

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        held = value.get("likely_false_alarm") is True
        score = value.get("false_alarm_score")
        if not held and self._min_score is not None and isinstance(score, int | float) and not isinstance(score, bool):
            held = score >= self._min_score
        return (("true" if held else "false", value),)
