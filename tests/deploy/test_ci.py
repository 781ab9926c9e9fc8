"""CI runs the linters as well as the tests, and `make lint` covers every service."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.parent.relative_to(ROOT).as_posix() for p in ROOT.glob("services/*/vigia"))


def test_ci_runs_lint_and_the_tests_unconditionally() -> None:
    commands = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert "make lint || status=1" in commands
    assert "make test || status=1" in commands
    assert commands[-1] == 'exit "$status"'


def test_make_lint_type_checks_every_service() -> None:
    dry_run = subprocess.run(["make", "-n", "-o", "bootstrap", "lint"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout
    ruff, mypy = (line.split() for line in dry_run.splitlines() if "ruff" in line or "mypy" in line)
    assert ruff[-3:] == ["check", "services", "tests"]
    assert len(SERVICES) >= 11
    mypy_path, targets = mypy[0].removeprefix("MYPYPATH="), mypy[2:]
    assert sorted(mypy_path.split(":")) == SERVICES  # each service a base of the vigia namespace
    assert sorted(targets) == [f"{service}/vigia" for service in SERVICES]


def test_plain_mypy_sees_every_service_as_a_namespace_base() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert sorted(config["mypy_path"]) == SERVICES
    assert config["files"] == ["services/*/vigia"]
