"""What every console test shares: Node's packages installed once, the console built once per
session (each area's browser test serves the same build), and running one Playwright spec file
against a stack in Debian's Chromium (tests/console/node.py's :func:`playwright`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.console.node import BIN, CHROMIUM, install, require_node, run


@pytest.fixture(scope="session")
def node_modules() -> None:
    require_node()
    install()


@pytest.fixture(scope="session")
def console_dist(node_modules: None, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The console built once (vite build into a temporary dist/), for every stack of the session."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: `make bootstrap` installs Debian's chromium", pytrace=False)
    dist = tmp_path_factory.mktemp("console") / "dist"
    run([str(BIN / "vite"), "build", "--outDir", str(dist), "--emptyOutDir", "--logLevel", "warn"], timeout=300,
        what="vite build")
    return dist
