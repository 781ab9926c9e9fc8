"""N simulated phones on one event loop: each samples its sensors on its own clock and hands the
items to its :class:`~vigia.simulators.phonesim.link.PhoneLink`.

A phone produces packet ``i`` when its time ``epoch + i / rate`` comes (late ticks catch up: a
packet is never skipped, its timestamp is when it was due) and audio chunk ``k`` once the chunk's
last sample is due. It keeps sampling while disconnected — the link buffers. Every item takes the
next number of the phone's seq counter, which starts from the wall clock in microseconds, so a
restarted simulator keeps increasing seqs without persisting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from vigia.simulators.phonesim.link import Item, LinkOptions, PhoneLink
from vigia.simulators.phonesim.signals import NS, PhoneSignals, SignalConfig
from vigia.simulators.phonesim.truth import TruthLog

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PhoneIdentity:
    device: str  # the device's id (UUID) in the control plane
    token: str
    name: str = ""


class Phone:
    """One simulated phone: its signals, its seq counter and its link."""

    def __init__(self, identity: PhoneIdentity, index: int, config: SignalConfig, link: LinkOptions, *,
                 seed: int, epoch_ns: int, seq_start: int, truth: TruthLog | None = None,
                 send_device_id: bool = True) -> None:
        self.identity, self.index, self.config, self.truth = identity, index, config, truth
        self.signals = PhoneSignals(config, seed=seed, index=index, epoch_ns=epoch_ns)
        self.link = PhoneLink(link, name=identity.name or f"phone-{index + 1}")
        self.next_seq = seq_start
        self.packets = 0
        self.chunks = 0
        self.send_device_id = send_device_id
        if truth is not None:
            truth.write([{"kind": "phone", "device": identity.device, "name": self.link.name, "index": index,
                          "seed": seed, "epoch": epoch_ns, "rate": config.rate, "audio_rate": config.audio_rate,
                          "chunk_seconds": config.chunk_seconds, "seq_start": seq_start}])

    def _seq(self) -> int:
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def step(self) -> None:
        """Produce the next packet, the audio chunks it completes, and log finished anomalies."""
        signals, cfg = self.signals, self.config
        t_ns = signals.packet_time(self.packets)
        if cfg.audio_rate:
            while signals.chunk_time(self.chunks + 1) <= t_ns:
                self._audio(self.chunks)
                self.chunks += 1
        packet = signals.packet(self.packets)
        self.packets += 1
        packet["seq"] = seq = self._seq()
        if self.send_device_id:
            packet["device_id"] = self.identity.device
        self.link.put(Item(seq, "packet", orjson.dumps(packet).decode()))
        if self.truth is not None:
            done_until = min(t_ns, signals.chunk_time(self.chunks)) if cfg.audio_rate else t_ns
            finished = signals.finished(done_until)
            if finished:
                self.truth.write([a.record(self.identity.device) for a in finished])
        if self.packets % 256 == 0:  # audio chunks lag packets by at most one chunk
            signals.forget_before(t_ns - int((2 * cfg.chunk_seconds + 1) * NS))

    def _audio(self, k: int) -> None:
        seq = self._seq()
        header = {"type": "audio", "seq": seq, "timestamp": self.signals.chunk_time(k),
                  "sample_rate": self.config.audio_rate}
        self.link.put(Item(seq, "audio", orjson.dumps(header).decode(), self.signals.chunk(k)))

    def close_truth(self) -> None:
        """At shutdown: anomalies under way go to the truth log marked incomplete, and so do those
        that ended after the last audio chunk was cut (:meth:`step` logs an anomaly only once the
        chunks it touches exist, so they were never logged)."""
        if self.truth is None or not self.packets:
            return
        last = self.signals.packet_time(self.packets - 1)
        pending = self.signals.finished(last) + self.signals.started(last)
        self.truth.write([{**a.record(self.identity.device), "complete": False} for a in pending])

    async def sample(self, stop: asyncio.Event) -> None:
        """Tick at the phone's rate until ``stop``: packet i is produced when it is due."""
        epoch = self.signals.epoch_ns
        while not stop.is_set():
            due = self.signals.packet_time(self.packets)
            wait = (due - time.time_ns()) / NS
            if wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
                continue
            self.step()
            if self.packets % 64 == 0:
                await asyncio.sleep(0)  # catching up: let the links run
        log.debug("%s sampled %d packets since %d", self.link.name, self.packets, epoch)


class Fleet:
    """Run phones until :meth:`stop`; :meth:`stats` sums their links' counters."""

    def __init__(self, identities: list[PhoneIdentity], *, url: str, config: SignalConfig | None = None,
                 seed: int = 1, truth: TruthLog | None = None, link: dict[str, Any] | None = None,
                 epoch_ns: int | None = None, send_device_id: bool = True) -> None:
        self.config = config or SignalConfig()
        self.truth = truth
        now = time.time_ns()
        epoch = epoch_ns if epoch_ns is not None else now
        seq_start = now // 1000  # microseconds: a later run always starts above an earlier one
        period = NS / self.config.rate
        self.phones = [
            Phone(identity, i, self.config, LinkOptions(url=url, token=identity.token, **(link or {})),
                  seed=seed, epoch_ns=epoch + int(period * i / max(1, len(identities))), seq_start=seq_start,
                  truth=truth, send_device_id=send_device_id)
            for i, identity in enumerate(identities)
        ]
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Sample and deliver until :meth:`stop`; then drain every link (up to its drain timeout)."""
        links = [asyncio.create_task(p.link.run(), name=f"{p.link.name}-link") for p in self.phones]
        samplers = [asyncio.create_task(p.sample(self._stop), name=f"{p.link.name}-sample") for p in self.phones]
        try:
            await self._stop.wait()
            await asyncio.gather(*samplers)
        finally:
            for phone in self.phones:
                phone.link.stop()
            for task in samplers:
                task.cancel()
            await asyncio.gather(*links, return_exceptions=True)
            for phone in self.phones:
                phone.close_truth()

    def inject(self, phone: int, kind: str, lead_s: float = 1.0) -> list[dict[str, Any]]:
        """Make phone ``phone`` (0-based) have an episode of ``kind`` about ``lead_s`` from now (see
        :meth:`PhoneSignals.inject`); its anomalies as the truth log will record them. Call it on
        the fleet's event loop. IndexError for no such phone, ValueError for a kind it cannot have."""
        if not 0 <= phone < len(self.phones):
            raise IndexError(f"phone must be 0..{len(self.phones) - 1}")
        target = self.phones[phone]
        anomalies = target.signals.inject(time.time_ns() + int(lead_s * NS), kind)
        log.info("%s: injected %s at %d", target.link.name, kind, anomalies[0].start)
        return [a.record(target.identity.device) for a in anomalies]

    def stats(self) -> dict[str, Any]:
        """Totals over the fleet, plus one entry per device."""
        per_device = {p.identity.device: {"name": p.link.name, "packets": p.packets, "chunks": p.chunks,
                                          "unacked": p.link.unacked, **p.link.stats.as_dict()}
                      for p in self.phones}
        totals: dict[str, Any] = {"phones": len(self.phones)}
        for entry in per_device.values():
            for key, value in entry.items():
                if isinstance(value, int) and not isinstance(value, bool) and key != "last_ack":
                    totals[key] = totals.get(key, 0) + value
        latencies = sorted(x for p in self.phones for x in p.link.stats.latencies)
        if latencies:
            totals["ack_p50_ms"] = round(latencies[len(latencies) // 2] * 1000, 2)
            totals["ack_p99_ms"] = round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2)
        return {"totals": totals, "devices": per_device}
