"""docs/flows.md names each hop as `path:qualname`; every such reference must exist in the code, so
the map cannot drift from the territory without a failing test. Parsing only, no imports: fast."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "docs" / "flows.md"

#: `services/x/vigia/x/mod.py:Class.method` (a function, class, method or module-level name).
REFERENCE = re.compile(r"`((?:services|tests)/[\w./-]+\.py):([A-Za-z_][\w.]*)`")
#: `services/x/.../file` named without a qualname: the file (or folder) must exist.
PATH = re.compile(r"`((?:services|tests|deploy|docs)/[\w./-]+)`")


def references() -> list[tuple[str, str]]:
    return sorted(set(REFERENCE.findall(FLOWS.read_text())))


@cache
def defined_names(path: str) -> frozenset[str]:
    """Qualified names a module defines: functions, classes, their methods and nested classes, and
    module- or class-level assigned names."""
    tree = ast.parse((ROOT / path).read_text(), filename=path)
    names: set[str] = set()

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                names.add(prefix + node.name)
                walk(node.body, f"{prefix}{node.name}.")
            elif isinstance(node, ast.Assign):
                names.update(prefix + t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                names.add(prefix + node.target.id)

    walk(tree.body, "")
    return frozenset(names)


def defines(path: str, qualname: str) -> bool:
    return (ROOT / path).is_file() and qualname in defined_names(path)


def test_flows_names_the_hops_it_follows() -> None:
    refs = references()
    # A frame and a packet hop by hop plus five recipes: far more than this; a rewrite that lost
    # the `path:qualname` form would otherwise pass with nothing checked.
    assert len(refs) >= 60, f"only {len(refs)} `path:qualname` references in {FLOWS}"
    files = {path for path, _ in refs}
    for service in ("streamer", "ingest-frames", "vision", "ingest-sensors", "fusion", "correlator", "live",
                    "control", "common"):
        assert any(f.startswith(f"services/{service}/") for f in files), f"no hop in services/{service}"


@pytest.mark.parametrize(("path", "qualname"), references(), ids=lambda v: v)
def test_every_referenced_function_exists(path: str, qualname: str) -> None:
    assert (ROOT / path).is_file(), f"{path} does not exist"
    assert qualname in defined_names(path), f"{path} defines no {qualname}"


def test_every_referenced_path_exists() -> None:
    missing = sorted({p for p in PATH.findall(FLOWS.read_text()) if not (ROOT / p).exists()})
    assert missing == []


@pytest.mark.parametrize(("path", "qualname"), [
    ("services/vision/vigia/vision/worker.py", "VisionWorker.no_such_method"),
    ("services/vision/vigia/vision/worker.py", "no_such_function"),
    ("services/vision/vigia/vision/no_such_module.py", "VisionWorker"),
    ("services/vision/vigia/vision/worker.py", "handle"),  # a method is not a module-level name
])
def test_a_stale_reference_is_caught(path: str, qualname: str) -> None:
    assert not defines(path, qualname)


def test_methods_and_constants_are_found() -> None:
    assert defines("services/vision/vigia/vision/worker.py", "VisionWorker.handle")
    assert defines("services/live/vigia/live/wire.py", "BINDING_KEYS")
