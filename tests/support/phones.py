"""Simulated phones in tests: which packets the gateway acknowledged, seen from the phone's side."""

from __future__ import annotations

from vigia.simulators.phonesim.link import PhoneLink


def record_acks(link: PhoneLink, acked: set[int]) -> None:
    """Collect, into ``acked``, the seq of every packet the gateway acknowledges on ``link``
    (acks are cumulative: each covers the packets sent on the connection up to its seq, except
    those the gateway refused with an error frame)."""
    original = link._acked

    def on_ack(seq: int) -> None:
        acked.update(item.seq for item in link._inflight
                     if item.seq <= seq and item.kind == "packet" and item.seq not in link._rejected)
        original(seq)

    link._acked = on_ack  # type: ignore[method-assign,unused-ignore]
