"""Processing nodes: filters and behaviour rules over what the inputs hand on -- detections by
label and size, zones (enter / exit / inside), loitering, line crossing, counting, aggregates, plate
watch-lists, recognised faces, field transforms. None of them runs a model: the vision workers did that.

Objects are followed by the tracker id vision gives a detection (``track``); a detection without
one stands for "the one object of that label on that camera". An object not seen for
``lost_after_s`` is forgotten on the next tick (and counts as having left its zones).

Clocks (:mod:`vigia.common.pipelines.clock`): detections are judged in their frames' time; ticks
age an object (lost, dwell) and a window (closing) by the wall time since its latest record was
taken, never by comparing the wall clock with a frame's time, so a data plane lagging behind the
ticks neither loses objects nor closes windows early.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from vigia.common.messages import FACE_LABEL
from vigia.common.pipelines.clock import idle_s, key_clock
from vigia.common.pipelines.geometry import CameraShapes, bottom_centre, camera_shapes, crossing, inside
from vigia.common.pipelines.registry import Category, Environment, Node, NodeConfig, Outputs, PortType, node_type
from vigia.common.pipelines.values import epoch_seconds, key_of, lookup
from vigia.common.plates import look_alike_key, plate_key

if TYPE_CHECKING:
    from vigia.common.pipelines.engine import Run

_LOST_AFTER = Field(10.0, gt=0, le=3600, description="Seconds without a detection after which an object is "
                    "forgotten (and has left its zones).")


def _object_key(camera: str, data: Mapping[str, Any]) -> str:
    track = data.get("track")
    return f"{camera}|{track}" if track else f"{camera}|label:{data.get('label')}"


def _object_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What is kept of a detection in state to describe its object later (on a tick)."""
    return {"camera": data.get("camera"), "label": data.get("label"), "track": data.get("track")}


class ObjectDetectionConfig(NodeConfig):
    """Keeps the detections (published by the vision workers) of the chosen labels, with enough
    confidence and a box of the chosen size (fractions of the frame's width, height and area)."""

    classes: list[str] = Field(default_factory=list, max_length=100, description="Labels to keep; empty: all.")
    confidence: float = Field(0.5, ge=0, le=1)
    min_width: float = Field(0, ge=0, le=1)
    min_height: float = Field(0, ge=0, le=1)
    min_area: float = Field(0, ge=0, le=1)
    max_area: float = Field(1, gt=0, le=1)


@node_type("object_detection", ObjectDetectionConfig, category=Category.PROCESSING, label="Object detection",
           inputs={"detections": PortType.DETECTIONS}, outputs={"detections": PortType.DETECTIONS})
class ObjectDetection(Node):
    __slots__ = ("_confidence", "_frames", "_labels", "_max_area", "_min_area", "_min_height", "_min_width",
                 "_sized")

    def __init__(self, node_id: str, config: ObjectDetectionConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._labels = frozenset(config.classes) or None
        self._confidence = config.confidence
        self._min_width, self._min_height = config.min_width, config.min_height
        self._min_area, self._max_area = config.min_area, config.max_area
        self._sized = bool(config.min_width or config.min_height or config.min_area or config.max_area < 1)
        self._frames = {camera: shapes.frame for camera, shapes in camera_shapes(env.zones).items()}

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        if self._labels is not None and value.get("label") not in self._labels:
            return None
        if value.get("confidence", 0.0) < self._confidence:
            return None
        if self._sized:
            box = value.get("box")
            if not box:
                return None
            width, height = value.get("frame_width"), value.get("frame_height")
            if not width or not height:
                width, height = self._frames.get(str(value.get("camera"))) or (1280.0, 720.0)
            w, h = (box["x2"] - box["x1"]) / width, (box["y2"] - box["y1"]) / height
            if w < self._min_width or h < self._min_height or not self._min_area <= w * h <= self._max_area:
                return None
        return (("detections", value),)


class ZoneAnalysisConfig(NodeConfig):
    """Where objects are relative to the camera's zones, judged on the bottom centre of their box (where
    they stand): ``enter`` and ``exit`` once per object and zone, ``inside`` for every detection in a
    zone, ``count`` when the number of objects in a zone reaches ``threshold``."""

    zones: list[str] = Field(default_factory=list, max_length=50, description="Zone names; empty: all zones.")
    trigger: Literal["enter", "exit", "inside", "count"] = "enter"
    threshold: int = Field(1, ge=1, le=10_000)
    lost_after_s: float = _LOST_AFTER


@node_type("zone_analysis", ZoneAnalysisConfig, category=Category.PROCESSING, label="Zone analysis",
           inputs={"detections": PortType.DETECTIONS}, outputs={"events": PortType.EVENTS})
class ZoneAnalysis(Node):
    __slots__ = ("_lost_after", "_shapes", "_threshold", "_trigger")

    def __init__(self, node_id: str, config: ZoneAnalysisConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._shapes = camera_shapes(env.zones, config.zones)
        self._trigger = config.trigger
        self._threshold = config.threshold
        self._lost_after = config.lost_after_s

    def needs_ticks(self) -> bool:
        return self._trigger != "inside"

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        camera = str(value.get("camera"))
        shapes: CameraShapes | None = self._shapes.get(camera)
        if shapes is None or not shapes.zones:
            return None
        point = bottom_centre(value, shapes.frame)
        if point is None:
            return None
        x, y = point
        now_in = [name for name, polygon in shapes.zones if inside(x, y, polygon)]
        if self._trigger == "inside":
            return [("events", {**value, "zone": name, "zone_event": "inside"}) for name in now_in]
        key = _object_key(camera, value)
        state = run.state
        before = state.get(self.id, key)
        if before is None:
            if not now_in:
                return None  # outside every zone and not known: nothing to remember
            was_in: list[str] = []
        else:
            was_in = before["in"]
            if was_in == now_in:
                # Refresh at most once a second (of either clock: a backlog drains many frames a second).
                if run.now_s - before["seen"] >= 1.0 or run.wall_s - before.get("wall", 0.0) >= 1.0:
                    state.set(self.id, key, {**before, "seen": max(run.now_s, before["seen"]), "wall": run.wall_s})
                return None
        entered = [name for name in now_in if name not in was_in]
        left = [name for name in was_in if name not in now_in]
        if now_in:
            state.set(self.id, key, {"in": now_in, "seen": run.now_s, "wall": run.wall_s,
                                     "object": _object_fields(value)})
        else:
            state.delete(self.id, key)
        return self._changes(run, value, camera, entered, left)

    def _changes(self, run: Run, value: Mapping[str, Any], camera: str, entered: list[str],
                 left: list[str]) -> Outputs:
        out: list[tuple[str, Mapping[str, Any]]] = []
        if self._trigger == "count":
            for name in entered:
                out.extend(self._count(run, value, camera, name, +1))
            for name in left:
                self._count(run, value, camera, name, -1)
            return out
        if self._trigger == "enter":
            out.extend(("events", {**value, "zone": name, "zone_event": "enter"}) for name in entered)
        else:
            out.extend(("events", {**value, "zone": name, "zone_event": "exit"}) for name in left)
        return out

    def _count(self, run: Run, value: Mapping[str, Any], camera: str, zone: str,
               change: int) -> list[tuple[str, Mapping[str, Any]]]:
        key = f"#{camera}|{zone}"
        entry = run.state.get(self.id, key) or {"n": 0, "reached": False}
        n = max(0, entry["n"] + change)
        reached = n >= self._threshold
        run.state.set(self.id, key, {"n": n, "reached": reached})
        if reached and not entry["reached"]:
            return [("events", {**value, "zone": zone, "zone_event": "count", "count": n})]
        return []

    def tick(self, run: Run) -> Outputs:
        out: list[tuple[str, Mapping[str, Any]]] = []
        for key, entry in run.state.items(self.id):
            if key.startswith("#") or idle_s(run, entry) <= self._lost_after:
                continue
            run.state.delete(self.id, key)
            camera = key.partition("|")[0]
            record = {**entry["object"], "lost": True}
            changes = self._changes(run, record, camera, [], entry["in"])
            if changes:
                out.extend(changes)
        return out


class LoiteringConfig(NodeConfig):
    """Fires once per object and zone when the object stays in the zone (or, with no zones, in view)
    longer than ``seconds``; leaving the zone starts over."""

    zones: list[str] = Field(default_factory=list, max_length=50, description="Zone names; empty: anywhere.")
    seconds: float = Field(30, gt=0, le=86_400)
    labels: list[str] = Field(default_factory=lambda: ["person"], max_length=50, description="Empty: all labels.")
    lost_after_s: float = _LOST_AFTER


@node_type("loitering", LoiteringConfig, category=Category.PROCESSING, label="Loitering",
           inputs={"detections": PortType.DETECTIONS}, outputs={"events": PortType.EVENTS})
class Loitering(Node):
    __slots__ = ("_anywhere", "_labels", "_lost_after", "_seconds", "_shapes")
    ticks = True

    def __init__(self, node_id: str, config: LoiteringConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._anywhere = not config.zones
        self._shapes = camera_shapes(env.zones, config.zones)
        self._seconds = config.seconds
        self._labels = frozenset(config.labels) or None
        self._lost_after = config.lost_after_s

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        if self._labels is not None and value.get("label") not in self._labels:
            return None
        camera = str(value.get("camera"))
        if self._anywhere:
            now_in = [""]
        else:
            shapes = self._shapes.get(camera)
            point = bottom_centre(value, shapes.frame) if shapes is not None else None
            if shapes is None or point is None:
                return None
            now_in = [name for name, polygon in shapes.zones if inside(point[0], point[1], polygon)]
        key = _object_key(camera, value)
        entry = run.state.get(self.id, key)
        if entry is None:
            if not now_in:
                return None
            entry = {"zones": {}, "fired": [], "object": _object_fields(value)}
        since = {zone: entry["zones"].get(zone, run.now_s) for zone in now_in}
        fired = [zone for zone in entry["fired"] if zone in since]
        if not since:
            run.state.delete(self.id, key)
            return None
        entry = {"zones": since, "fired": fired, "seen": run.now_s, "wall": run.wall_s, "object": entry["object"]}
        out = self._due(run, entry, value, run.now_s)
        run.state.set(self.id, key, entry)
        return out

    def _due(self, run: Run, entry: dict[str, Any], value: Mapping[str, Any], now: float) -> list[tuple[str, Any]]:
        """Zones the object has stayed in for ``seconds`` by ``now`` (a record time, or the key's clock)."""
        out: list[tuple[str, Any]] = []
        for zone, since in entry["zones"].items():
            if zone not in entry["fired"] and now - since >= self._seconds:
                entry["fired"].append(zone)
                out.append(("events", {**value, "zone": zone or None, "dwell_s": round(now - since, 3),
                                       "zone_event": "loitering"}))
        return out

    def tick(self, run: Run) -> Outputs:
        out: list[tuple[str, Any]] = []
        for key, stored in run.state.items(self.id):
            if idle_s(run, stored) > self._lost_after:
                run.state.delete(self.id, key)
                continue
            entry = {**stored, "fired": list(stored["fired"])}
            due = self._due(run, entry, stored["object"], key_clock(run, stored))
            if due:
                run.state.set(self.id, key, entry)
                out.extend(due)
        return out


class LineCrossingConfig(NodeConfig):
    """Fires when an object's bottom centre crosses one of the camera's lines between two detections.
    Side A of a line is on the right hand of someone walking on the screen from its first point to its
    second, side B on the left; ``a_to_b`` keeps crossings from A to B."""

    lines: list[str] = Field(default_factory=list, max_length=50, description="Line names; empty: all lines.")
    direction: Literal["any", "a_to_b", "b_to_a"] = "any"
    labels: list[str] = Field(default_factory=list, max_length=50, description="Empty: all labels.")
    lost_after_s: float = _LOST_AFTER


@node_type("line_crossing", LineCrossingConfig, category=Category.PROCESSING, label="Line crossing",
           inputs={"detections": PortType.DETECTIONS}, outputs={"events": PortType.EVENTS})
class LineCrossing(Node):
    __slots__ = ("_labels", "_lost_after", "_shapes", "_wanted")
    ticks = True

    def __init__(self, node_id: str, config: LineCrossingConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._shapes = camera_shapes(env.zones, (), config.lines)
        self._wanted = {"any": (1, -1), "a_to_b": (1,), "b_to_a": (-1,)}[config.direction]
        self._labels = frozenset(config.labels) or None
        self._lost_after = config.lost_after_s

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        if self._labels is not None and value.get("label") not in self._labels:
            return None
        camera = str(value.get("camera"))
        shapes = self._shapes.get(camera)
        if shapes is None or not shapes.lines:
            return None
        point = bottom_centre(value, shapes.frame)
        if point is None:
            return None
        key = _object_key(camera, value)
        before = run.state.get(self.id, key)
        run.state.set(self.id, key, {"p": [point[0], point[1]], "seen": run.now_s, "wall": run.wall_s})
        if before is None:
            return None
        start = (before["p"][0], before["p"][1])
        out: list[tuple[str, Any]] = []
        for name, a, b in shapes.lines:
            way = crossing(start, point, a, b)
            if way and way in self._wanted:
                out.append(("events", {**value, "line": name, "direction": "a_to_b" if way > 0 else "b_to_a"}))
        return out

    def tick(self, run: Run) -> Outputs:
        for key, entry in run.state.items(self.id):
            if idle_s(run, entry) > self._lost_after:
                run.state.delete(self.id, key)
        return None


class _Windows:
    """Tumbling windows of ``size`` seconds aligned on the epoch, in record time, kept in a node's
    state under ``"window"`` as {"start", "groups": {group: accumulator}, "seen", "wall"} (the
    latest record time counted and when it was taken). A window closes on the first record past its
    end, or on the first tick at which its clock (``key_clock``) is: records lagging behind the ticks
    still fall in their own window. A record older than the open window (its own one closed) is
    counted in the open one."""

    __slots__ = ("node", "size")

    def __init__(self, node: str, size: float) -> None:
        self.node, self.size = node, size

    def current(self, run: Run) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        """For a record: (the window that just closed, if any; the open window)."""
        window = run.state.get(self.node, "window")
        if window is not None and run.now_s < window["start"] + self.size:
            return None, window
        return window, {"start": math.floor(run.now_s / self.size) * self.size, "groups": {}}

    def keep(self, run: Run, window: Mapping[str, Any], groups: dict[str, Any]) -> None:
        """Store the open window with ``groups`` after counting the current record."""
        seen = max(run.now_s, window.get("seen", run.now_s))
        run.state.set(self.node, "window", {"start": window["start"], "groups": groups, "seen": seen,
                                            "wall": run.wall_s})

    def closing(self, run: Run) -> dict[str, Any] | None:
        """On a tick: the open window if its clock reached its end (then forgotten)."""
        window = run.state.get(self.node, "window")
        if window is None or key_clock(run, window) < window["start"] + self.size:
            return None
        run.state.delete(self.node, "window")
        return window

    def bounds(self, window: Mapping[str, Any]) -> dict[str, Any]:
        return {"window_start": window["start"], "window_end": window["start"] + self.size,
                "window_s": self.size}


class CountingConfig(NodeConfig):
    """Counts what it receives (e.g. zone entries, line crossings) per window of ``window_s`` and per
    group (``group_by``: a field such as ``zone``, ``line``, ``label``), handing on each group's count
    when its window closes (when at least ``min_count``)."""

    window_s: float = Field(60, gt=0, le=86_400)
    group_by: str | None = Field(None, max_length=128, description="Field path; default: the zone or line.")
    min_count: int = Field(1, ge=1, le=1_000_000)


@node_type("counting", CountingConfig, category=Category.PROCESSING, label="Counting",
           inputs={"in": PortType.ANY}, outputs={"counts": PortType.EVENTS})
class Counting(Node):
    __slots__ = ("_group_by", "_min", "_windows")
    ticks = True

    def __init__(self, node_id: str, config: CountingConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._windows = _Windows(node_id, config.window_s)
        self._group_by = config.group_by
        self._min = config.min_count

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        closed, window = self._windows.current(run)
        if self._group_by is not None:
            group = key_of(value, self._group_by)
        else:
            group = str(value.get("zone") or value.get("line") or "")
        groups = dict(window["groups"])
        groups[group] = groups.get(group, 0) + 1
        self._windows.keep(run, window, groups)
        return self._report(closed)

    def tick(self, run: Run) -> Outputs:
        return self._report(self._windows.closing(run))

    def _report(self, closed: Mapping[str, Any] | None) -> Outputs:
        if closed is None:
            return None
        bounds = self._windows.bounds(closed)
        by = self._group_by or "zone/line"
        return [("counts", {"count": n, "group": group, "group_by": by, **bounds})
                for group, n in sorted(closed["groups"].items()) if n >= self._min]


class AnalyticsConfig(NodeConfig):
    """An aggregate (count, sum, average, min, max, rate per second) of a numeric field over windows of
    ``window_s``, handed on when each window closes (per group when ``group_by`` is set)."""

    metric: Literal["count", "rate", "sum", "average", "min", "max"] = "count"
    field: str | None = Field(None, max_length=128, description="Field path of the number (all but count/rate).")
    window_s: float = Field(60, gt=0, le=86_400)
    group_by: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _field_for_numbers(self) -> AnalyticsConfig:
        if self.metric not in ("count", "rate") and not self.field:
            raise ValueError(f"metric {self.metric!r} needs a field")
        return self


@node_type("analytics", AnalyticsConfig, category=Category.PROCESSING, label="Analytics",
           inputs={"data": PortType.ANY}, outputs={"metrics": PortType.EVENTS})
class Analytics(Node):
    __slots__ = ("_field", "_group_by", "_metric", "_windows")
    ticks = True

    def __init__(self, node_id: str, config: AnalyticsConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._metric, self._field, self._group_by = config.metric, config.field, config.group_by
        self._windows = _Windows(node_id, config.window_s)

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        closed, window = self._windows.current(run)
        number: float | None = None
        if self._field is not None:
            raw = lookup(value, self._field)
            if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
                number = float(raw)
            elif self._metric not in ("count", "rate"):
                if closed is not None:  # open the record's window, or the closed one is reported again
                    self._windows.keep(run, window, dict(window["groups"]))
                return self._report(closed)  # nothing to aggregate in this one
        group = key_of(value, self._group_by)
        groups = dict(window["groups"])
        n, total, low, high = groups.get(group, (0, 0.0, None, None))
        if number is not None:
            total += number
            low = number if low is None else min(low, number)
            high = number if high is None else max(high, number)
        groups[group] = [n + 1, total, low, high]
        self._windows.keep(run, window, groups)
        return self._report(closed)

    def tick(self, run: Run) -> Outputs:
        return self._report(self._windows.closing(run))

    def _report(self, closed: Mapping[str, Any] | None) -> Outputs:
        if closed is None:
            return None
        bounds = self._windows.bounds(closed)
        out: list[tuple[str, Any]] = []
        for group, (n, total, low, high) in sorted(closed["groups"].items()):
            value = {"count": n, "rate": n / self._windows.size, "sum": total, "average": total / n if n else None,
                     "min": low, "max": high}[self._metric]
            out.append(("metrics", {"metric": self._metric, "field": self._field, "value": value, "count": n,
                                    "group": group, **bounds}))
        return out


class DataTransformConfig(NodeConfig):
    """Reshapes each record: keeps or drops fields, renames them, sets constants and converts types
    (in that order)."""

    keep: list[str] = Field(default_factory=list, max_length=100, description="Fields to keep; empty: all.")
    drop: list[str] = Field(default_factory=list, max_length=100)
    rename: dict[str, str] = Field(default_factory=dict, max_length=100, description="old name -> new name")
    set: dict[str, Any] = Field(default_factory=dict, max_length=100)
    convert: dict[str, Literal["int", "float", "str", "bool"]] = Field(default_factory=dict, max_length=100)


_CONVERTERS: dict[str, Callable[[Any], Any]] = {"int": lambda v: int(float(v)), "float": float, "str": str,
               "bool": lambda v: v.strip().lower() in ("1", "true", "yes", "on") if isinstance(v, str) else bool(v)}


@node_type("data_transform", DataTransformConfig, category=Category.PROCESSING, label="Data transform",
           inputs={"data": PortType.ANY}, outputs={"data": PortType.ANY})
class DataTransform(Node):
    __slots__ = ("_config",)

    def __init__(self, node_id: str, config: DataTransformConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._config = config

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        c = self._config
        record = {k: value[k] for k in c.keep if k in value} if c.keep else dict(value)
        for name in c.drop:
            record.pop(name, None)
        for old, new in c.rename.items():
            if old in record:
                record[new] = record.pop(old)
        record.update(c.set)
        for name, to in c.convert.items():
            if record.get(name) is not None:
                try:
                    record[name] = _CONVERTERS[to](record[name])
                except (TypeError, ValueError):
                    record[name] = None
        return (("data", record),)


class PlateMatchConfig(NodeConfig):
    """Matches plate reads against the organization's watch-lists (allow or deny, with labels and expiry),
    tolerating OCR look-alikes (O/0/D/Q, I/1/J, B/8, S/5, Z/2, G/6). ``on: listed`` hands on reads found
    on a list (once per list, with its label); ``on: unlisted`` reads on none of them (e.g. a vehicle
    missing from an allow list)."""

    watchlists: list[str] = Field(min_length=1, max_length=20, description="Watch-list names or ids.")
    on: Literal["listed", "unlisted"] = "listed"
    look_alikes: bool = Field(True, description="Tolerate look-alike characters; false: exact plates only.")


@node_type("plate_match", PlateMatchConfig, category=Category.PROCESSING, label="Plate watch-list",
           inputs={"plates": PortType.PLATES}, outputs={"plates": PortType.PLATES})
class PlateMatch(Node):
    __slots__ = ("_fold", "_index", "_listed")

    def __init__(self, node_id: str, config: PlateMatchConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._listed = config.on == "listed"
        self._fold: Callable[[str], str] = look_alike_key if config.look_alikes else plate_key
        # folded plate -> [(list name, list kind, plate, label, expires at (epoch s) or None)], in list order
        self._index: dict[str, list[tuple[str, str, str, Any, float | None]]] = {}
        for name in config.watchlists:
            watchlist = env.watchlists.get(name) or next(
                (w for w in env.watchlists.values() if w.get("name") == name or str(w.get("id")) == name), None)
            if watchlist is None:
                raise ValueError(f"watch-list {name!r} does not exist")
            for plate, entry in (watchlist.get("entries") or {}).items():
                entry = entry or {}
                expires = entry.get("expires_at")
                self._index.setdefault(self._fold(plate), []).append(
                    (str(watchlist.get("name") or name), str(watchlist.get("kind", "deny")), plate_key(plate),
                     entry.get("label"), epoch_seconds(expires) if expires else None))

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        text = value.get("plate_text")
        if not text:
            return None
        read = plate_key(text)
        seen: dict[str, tuple[str, str, str, Any, float | None]] = {}
        for entry in self._index.get(self._fold(read), ()):
            name, _, plate, _, expires = entry
            if expires is not None and expires <= run.now_s:
                continue
            if name not in seen or (plate == read and seen[name][2] != read):  # an exact entry wins
                seen[name] = entry
        if not self._listed:
            return None if seen else (("plates", value),)
        return [("plates", {**value, "watchlist": name, "watchlist_kind": kind, "listed_plate": plate,
                            "listed_label": label, "exact": plate == read})
                for name, kind, plate, label, _ in seen.values()]


class FaceRecognitionConfig(NodeConfig):
    """Keeps the faces the vision workers recognised (detections labelled ``face`` from cameras whose
    faces switch is on, with the enrolled person they matched in ``identity``): ``match: known``
    faces of the chosen enrolled people (of anyone enrolled when none is chosen), ``unknown`` faces
    matching nobody (published only where the organization keeps unknown faces), ``any`` both.
    ``max_distance`` below 0.6 demands closer matches: a match farther than it counts as unknown."""

    match: Literal["known", "unknown", "any"] = "known"
    people: list[uuid.UUID] = Field(default_factory=list, max_length=500,
                                    description="Enrolled people's ids (match known); empty: anyone enrolled.")
    max_distance: float = Field(0.6, gt=0, le=2, description="Largest embedding distance taken as a match.")

    @model_validator(mode="after")
    def _people_only_when_known(self) -> FaceRecognitionConfig:
        if self.people and self.match != "known":
            raise ValueError("people can only be chosen with match: known")
        return self


@node_type("face_recognition", FaceRecognitionConfig, category=Category.PROCESSING, label="Face recognition",
           inputs={"detections": PortType.DETECTIONS}, outputs={"faces": PortType.DETECTIONS})
class FaceRecognition(Node):
    __slots__ = ("_known", "_max", "_people", "_unknown")

    def __init__(self, node_id: str, config: FaceRecognitionConfig, env: Environment) -> None:
        super().__init__(node_id, config, env)
        self._people = frozenset(str(p) for p in config.people) or None
        self._known = config.match in ("known", "any")
        self._unknown = config.match in ("unknown", "any")
        self._max = config.max_distance

    def receive(self, port: str, value: Mapping[str, Any], run: Run) -> Outputs:
        if value.get("label") != FACE_LABEL:
            return None
        identity, distance = value.get("identity"), value.get("identity_distance")
        known = identity is not None and (distance is None or distance <= self._max)
        if known and self._known and (self._people is None or str(identity) in self._people):
            return (("faces", value),)
        if not known and self._unknown:
            return (("faces", {**value, "identity": None}),)
        return None
