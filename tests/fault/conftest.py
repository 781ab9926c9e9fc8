"""The fault suite's platform (one for the module's rounds: servers and six services take most of
a minute to start) and the round counts, printed in the terminal summary of every run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fault.platform import ROUND_COUNTS, FaultPlatform, fault_platform


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultPlatform]:
    tmp: Path = tmp_path_factory.mktemp("fault")
    started = time.monotonic()
    with fault_platform(tmp) as running:
        ROUND_COUNTS.append(f"[fault platform] servers and services ready in {time.monotonic() - started:.0f} s")
        yield running


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if ROUND_COUNTS:
        terminalreporter.section("fault rounds")
        for line in ROUND_COUNTS:
            terminalreporter.write_line(line)
