"""Fetch pinned YOLO weights and verify them: ``python -m vigia.vision.models_fetch [MODEL] --dest DIR``.

The one place weights are downloaded: the vision image runs it at build time (build argument
``VISION_MODEL``) and ``make models`` runs it for a local run on a machine that reaches the internet;
the worker itself never downloads anything. Every model is pinned: a release URL (never "latest")
and the SHA-256 of the file. The download goes to ``<file>.part`` and becomes ``<file>`` only when
its checksum matches; on a mismatch the partial file is removed, nothing is installed and the exit
status is 1, with a message naming the model, the URL and both checksums. A file already in place
with the right checksum is kept (no download); one with another checksum is fetched again.

``--url`` fetches from a mirror (any URL urllib opens, ``file://`` included: the tests run offline
that way); the pinned checksum still applies unless ``--sha256`` names another one (weights not
in the table). Exit status: 0 installed or already there, 1 checksum mismatch or download failed,
2 bad arguments (an unknown model names the pinned ones).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class PinnedWeights:
    """One downloadable model: its file name, release URL, SHA-256 and size in bytes."""

    file: str
    url: str
    sha256: str
    size: int


#: Ultralytics' COCO detectors, from the ``v8.4.0`` release of ultralytics/assets (AGPL-3.0).
PINNED: dict[str, PinnedWeights] = {
    "yolov8n": PinnedWeights("yolov8n.pt", "https://github.com/ultralytics/assets/releases/download/v8.4.0/yolov8n.pt",
                             "f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36", 6_549_796),
    "yolo11n": PinnedWeights("yolo11n.pt", "https://github.com/ultralytics/assets/releases/download/v8.4.0/yolo11n.pt",
                             "0ebbc80d4a7680d14987a577cd21342b65ecfd94632bd9a8da63ae6417644ee1", 5_613_764),
    "yolo11s": PinnedWeights("yolo11s.pt", "https://github.com/ultralytics/assets/releases/download/v8.4.0/yolo11s.pt",
                             "85a76fe86dd8afe384648546b56a7a78580c7cb7b404fc595f97969322d502d5", 19_313_732),
}
DEFAULT_MODEL = "yolov8n"


class ChecksumMismatch(Exception):
    """The downloaded file is not the pinned one (it was removed)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(model: str, dest: Path, *, url: str | None = None, sha256: str | None = None,
          timeout_s: float = 120.0) -> tuple[Path, bool]:
    """Install ``model``'s weights in ``dest``; returns (path, downloaded). Raises KeyError for
    an unknown model, ChecksumMismatch when the bytes are not the pinned ones, OSError when the
    download fails (no file is left behind in either case)."""
    pinned = PINNED[model]
    expected = (sha256 or pinned.sha256).lower()
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / pinned.file
    if target.is_file() and sha256_of(target) == expected:
        return target, False
    source = url or pinned.url
    partial = target.with_name(target.name + ".part")
    digest = hashlib.sha256()
    try:
        request = urllib.request.Request(source, headers={"User-Agent": "vigia-models-fetch"})  # noqa: S310
        with urllib.request.urlopen(request, timeout=timeout_s) as response, partial.open("wb") as out:  # noqa: S310
            for chunk in iter(lambda: response.read(CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    actual = digest.hexdigest()
    if actual != expected:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatch(f"{model}: the file from {source} has SHA-256 {actual}, expected {expected}; "
                               f"removed, nothing installed")
    os.replace(partial, target)
    return target, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vigia.vision.models_fetch",
                                     description="Download pinned YOLO weights and verify their SHA-256.")
    parser.add_argument("model", nargs="?", default=DEFAULT_MODEL,
                        help=f"one of {', '.join(PINNED)} (default {DEFAULT_MODEL}); 'none' does nothing")
    parser.add_argument("--dest", type=Path, default=Path("var/models"), help="directory (default var/models)")
    parser.add_argument("--url", help="fetch from this URL instead (a mirror; file:// works)")
    parser.add_argument("--sha256", help="expected SHA-256 instead of the pinned one (weights not in the table)")
    parser.add_argument("--timeout", type=float, default=120.0, help="network timeout, seconds")
    args = parser.parse_args(argv)
    if args.model == "none":
        print("models_fetch: no model asked for (none): nothing downloaded; vision will use the OpenCV detector")
        return 0
    if args.model not in PINNED:
        print(f"models_fetch: unknown model {args.model!r}; pinned: {', '.join(PINNED)}", file=sys.stderr)
        return 2
    try:
        path, downloaded = fetch(args.model, args.dest, url=args.url, sha256=args.sha256, timeout_s=args.timeout)
    except ChecksumMismatch as exc:
        print(f"models_fetch: CHECKSUM MISMATCH: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"models_fetch: could not download {args.model} from {args.url or PINNED[args.model].url}: {exc}",
              file=sys.stderr)
        return 1
    verb = "downloaded and verified" if downloaded else "already present and verified"
    print(f"models_fetch: {args.model} {verb}: {path} (sha256 {sha256_of(path)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
