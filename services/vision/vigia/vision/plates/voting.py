"""Multi-frame plate voting: one plate per vehicle visit from several noisy OCR readings.

Every valid reading votes in each of the 7 slots: with the probabilities of the slot's likeliest
characters when the reader gave them (a soft vote, :mod:`vigia.vision.plates.ctc`), else with its
confidence for the character it read; each slot's winner is the character with the most weight.
Mercosul and the old format share every slot but the fifth, so the winners always spell a valid plate, whose format is
decided by that slot's vote. The vote is *decided* once at least ``agree`` readings spell the
winning plate exactly.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from vigia.vision.plates.brazil import PlateReading, canonical, plate_format


@dataclass(frozen=True)
class PlateDecision:
    """The current outcome of a visit's vote: canonical ``text``, ``confidence`` (mean share of the
    winning weight per slot), how many readings voted and how many spell the winner exactly."""

    text: str
    confidence: float
    votes: int
    agreeing: int


@dataclass
class PlateVote:
    """Confidence-weighted per-slot vote over the readings of one visit."""

    agree: int = 2
    readings: list[PlateReading] = field(default_factory=list)
    _weights: list[dict[str, float]] = field(default_factory=lambda: [defaultdict(float) for _ in range(7)])

    def add(self, reading: PlateReading) -> None:
        """Count one valid reading. With per-slot probabilities each slot's candidates get their
        probability as weight (a soft vote); else the read character gets the reading's confidence
        (zero still counts a little)."""
        self.readings.append(reading)
        if reading.slots is not None:
            for slot, options in enumerate(reading.slots):
                for char, p in options.items():
                    self._weights[slot][char] += p
            return
        weight = max(reading.confidence, 1e-3)
        for slot, char in enumerate(reading.key):
            self._weights[slot][char] += weight

    def result(self) -> PlateDecision | None:
        """The plate the readings so far vote for, or ``None`` before the first reading."""
        if not self.readings:
            return None
        chars: list[str] = []
        shares: list[float] = []
        for slot in self._weights:
            # Ties break alphabetically so the result never depends on reading order.
            char, weight = max(slot.items(), key=lambda item: (item[1], item[0]))
            chars.append(char)
            shares.append(weight / sum(slot.values()))
        key = "".join(chars)
        fmt = plate_format(key) or "mercosul"
        agreeing = sum(1 for r in self.readings if r.key == key)
        confidence = sum(shares) / len(shares) * max(r.confidence for r in self.readings if r.key == key) \
            if agreeing else sum(shares) / len(shares) * 0.5
        return PlateDecision(canonical(key, fmt), round(min(1.0, confidence), 4), len(self.readings), agreeing)

    @property
    def decided(self) -> bool:
        """True once ``agree`` readings spell the winning plate exactly."""
        decision = self.result()
        return decision is not None and decision.agreeing >= self.agree
