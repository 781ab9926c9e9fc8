"""phonesim's cost: how many phones (10 Hz packets + 48 kHz audio in 0.5 s chunks) one core can
simulate, from the generation rate of packets and audio chunks. Prints one JSON line.

    .venv/bin/python services/simulators/tests/bench/bench_phonesim.py
"""

from __future__ import annotations

import json
import time

import orjson

from vigia.simulators.phonesim.signals import PhoneSignals, SignalConfig


def main() -> None:
    config = SignalConfig()
    phone = PhoneSignals(config, seed=1, index=0, epoch_ns=time.time_ns())
    n = 20_000
    started = time.perf_counter()
    for i in range(n):
        orjson.dumps(phone.packet(i))
    packet_s = (time.perf_counter() - started) / n
    chunks = 200
    started = time.perf_counter()
    for k in range(chunks):
        phone.chunk(k)
    chunk_s = (time.perf_counter() - started) / chunks
    per_phone = config.rate * packet_s + chunk_s / config.chunk_seconds  # CPU seconds per second of a phone
    print(json.dumps({"bench": "phonesim", "packets_per_s": round(1 / packet_s), "chunks_per_s": round(1 / chunk_s),
                      "audio_rate": config.audio_rate, "rate": config.rate,
                      "phones_per_core": round(1 / per_phone), "simulated_s": n / config.rate,
                      "truth": sum(1 for _ in phone.finished(phone.packet_time(n)))}))


if __name__ == "__main__":
    main()
