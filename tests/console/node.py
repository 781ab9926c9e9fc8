"""Running the console's Node tooling from pytest: ``npm ci`` once per lockfile, each command as a
subprocess whose output is the failure message, and a Playwright spec against a running stack."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "services" / "console"
BIN = CONSOLE / "node_modules" / ".bin"
CHROMIUM = os.environ.get("VIGIA_CHROMIUM", "/usr/bin/chromium")
# Screenshots of every page the browser tests visit, kept after the run (var/ is not versioned).
SCREENSHOTS = Path(os.environ.get("VIGIA_CONSOLE_SCREENSHOTS", ROOT / "var" / "test-artifacts" / "console"))


def require_node() -> None:
    """Skip (with the reason) where Node is not installed; `make bootstrap` installs it."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: the console's tests need Node >= 20.19 "
                    "(make bootstrap installs it)")


def run(argv: list[str], *, timeout: float, env: dict[str, str] | None = None, what: str) -> str:
    """Run ``argv`` in services/console; fail with its output when it exits non-zero."""
    done = subprocess.run(argv, cwd=CONSOLE, env={**os.environ, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)
    output = f"$ {' '.join(argv)}\n{done.stdout[-12000:]}\n{done.stderr[-6000:]}"
    if done.returncode != 0:
        pytest.fail(f"{what} failed (exit {done.returncode}):\n{output}", pytrace=False)
    return output


def install() -> None:
    """``npm ci`` unless node_modules already holds exactly this lockfile (npm writes its copy)."""
    installed = CONSOLE / "node_modules" / ".package-lock.json"
    lock = CONSOLE / "package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], timeout=600, what="npm ci")


def playwright(spec: str, base: str, tmp_path: Path, env: dict[str, str] | None = None, timeout: float = 300) -> None:
    """Run ``e2e/<spec>`` (every project: desktop and phone) against the console at ``base``; fail
    with Playwright's report. ``env`` passes what the spec should expect (VIGIA_CONSOLE_* names)."""
    artifacts = tmp_path / "playwright"
    run([str(BIN / "playwright"), "test", f"e2e/{spec}", "--reporter=list"], timeout=timeout,
        what=f"Playwright e2e/{spec}", env={
            "VIGIA_CONSOLE_URL": base, "VIGIA_CHROMIUM": CHROMIUM, "VIGIA_CONSOLE_ARTIFACTS": str(artifacts),
            "VIGIA_CONSOLE_SCREENSHOTS": str(SCREENSHOTS), "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", **(env or {})})
    shutil.rmtree(artifacts, ignore_errors=True)
