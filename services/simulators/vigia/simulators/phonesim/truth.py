"""Ground truth: one JSON line per injected anomaly, written once all its samples were generated.

``{"kind": "magnetic"|"imu"|"infrasound"|"ultrasound"|"voice"|"humanoid", "device": "<uuid>",
"start": ns, "end": ns (exclusive), "magnitude": float, "unit": "uT"|"m/s2"|"fs"|"flag",
"episode": n, ...}`` plus per-kind detail (``freq_hz``; ``vowel``, ``formants_hz``, ``f0_hz``;
``gyro_peak``, axes). Anomalies of one episode with the same ``episode`` number on one device
happened together (a correlated episode). At shutdown the anomalies under way are written with
``"complete": false``. A ``{"kind": "phone", "device", "index", "seed", "epoch", "rate",
"audio_rate"}`` line per phone says when its packet 0 was due.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any, TextIO


class TruthLog:
    """Appends records as JSON lines, flushed per write (thread-safe; a crash loses nothing written)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = self.path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        with self._lock:
            if self._file is None:
                raise ValueError("truth log is closed")
            self._file.write("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records))
            self._file.flush()

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def read_truth(path: Path | str) -> list[dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
