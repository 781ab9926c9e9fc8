"""The weights fetcher, offline: a local ``file://`` URL stands in for the release; a file whose
checksum is not the pinned one is refused and removed."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from vigia.vision.models_fetch import PINNED, ChecksumMismatch, fetch


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "vigia.vision.models_fetch", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    source = tmp_path / "mirror" / "yolov8n.pt"
    source.parent.mkdir()
    source.write_bytes(b"not the real yolov8n weights" * 1000)
    return source


def test_a_download_whose_checksum_is_not_the_pinned_one_is_refused_and_removed(weights: Path, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    done = run("yolov8n", "--dest", str(dest), "--url", weights.as_uri())
    assert done.returncode == 1
    assert "CHECKSUM MISMATCH" in done.stderr and PINNED["yolov8n"].sha256 in done.stderr
    assert hashlib.sha256(weights.read_bytes()).hexdigest() in done.stderr
    assert list(dest.iterdir()) == []  # neither the weights nor a .part file


def test_a_download_with_the_expected_checksum_is_installed_then_kept(weights: Path, tmp_path: Path) -> None:
    dest, digest = tmp_path / "models", hashlib.sha256(weights.read_bytes()).hexdigest()
    done = run("yolov8n", "--dest", str(dest), "--url", weights.as_uri(), "--sha256", digest)
    assert done.returncode == 0, done.stderr
    assert (dest / "yolov8n.pt").read_bytes() == weights.read_bytes()
    assert [p.name for p in dest.iterdir()] == ["yolov8n.pt"]
    weights.unlink()  # the source is gone: a second run must not need it
    again = run("yolov8n", "--dest", str(dest), "--url", weights.as_uri(), "--sha256", digest)
    assert again.returncode == 0 and "already present" in again.stdout


def test_an_installed_file_with_another_checksum_is_fetched_again_and_refused(weights: Path, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    dest.mkdir()
    (dest / "yolov8n.pt").write_bytes(b"truncated")
    with pytest.raises(ChecksumMismatch):
        fetch("yolov8n", dest, url=weights.as_uri())
    assert (dest / "yolov8n.pt").read_bytes() == b"truncated"  # nothing replaced it
    assert not (dest / "yolov8n.pt.part").exists()


def test_unknown_models_and_unreachable_urls_fail_with_a_message(tmp_path: Path) -> None:
    unknown = run("yolov99", "--dest", str(tmp_path))
    assert unknown.returncode == 2 and "yolov8n" in unknown.stderr
    missing = run("yolov8n", "--dest", str(tmp_path / "m"), "--url", (tmp_path / "absent.pt").as_uri())
    assert missing.returncode == 1 and "could not download" in missing.stderr
    assert list((tmp_path / "m").iterdir()) == []
    assert run("none", "--dest", str(tmp_path / "n")).returncode == 0


def test_every_pinned_model_names_a_release_url_and_a_full_sha256() -> None:
    for name, pinned in PINNED.items():
        assert pinned.url.startswith("https://github.com/ultralytics/assets/releases/download/v")
        assert pinned.url.endswith("/" + pinned.file) and pinned.file == f"{name}.pt"
        assert len(pinned.sha256) == 64 and int(pinned.sha256, 16) >= 0 and pinned.size > 1_000_000
