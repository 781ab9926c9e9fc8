"""Reading a plate straight from the recogniser's per-step character probabilities.

EasyOCR's recogniser is a CTC network: for each of T horizontal steps it gives a probability for
every character and for "blank". Greedy decoding (best character per step, then slot-aware
correction of the text) throws away what the network knew: when a ``7`` looks a little like a
``Z``, greedy reading says ``Z`` and the correction table then turns it into ``2``. Decoding
*constrained to the plate's format* keeps it: in a digit slot only digits compete, so the ``7``
that was the second choice wins.

:func:`decode` finds the most probable CTC path (Viterbi) that spells exactly seven characters
following a format's letter/digit slots, for each format; a separator (the old plate's hyphen,
a space, a dot) counts as blank. Its result keeps, for each slot, the probabilities of the slot's
best candidates at the step where the character was most certain, so several frames of one visit
can be voted per slot with soft weights (:mod:`vigia.vision.plates.voting`).
"""

from __future__ import annotations

import math
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vigia.vision.plates.brazil import FORMATS, PlateFormat, PlateReading, canonical

LETTERS = string.ascii_uppercase
DIGITS = string.digits
#: Column order of :func:`fold`'s output: blank, A-Z, 0-9.
CLASSES = "_" + LETTERS + DIGITS
SEPARATORS = "-. ·:"
#: Slot alternatives kept per reading for the soft vote.
ALTERNATIVES = 3
_NEG = -1e9


def fold(probs: np.ndarray, charset: str) -> np.ndarray:
    """The recogniser's probabilities ``probs`` (T x (1 + len(charset)), column 0 blank) folded to
    :data:`CLASSES`: lower-case letters count for their capital, separators for blank, every other
    symbol is dropped; rows are renormalised."""
    out = np.zeros((probs.shape[0], len(CLASSES)), np.float64)
    out[:, 0] = probs[:, 0]
    for i, char in enumerate(charset, start=1):
        if char in SEPARATORS:
            out[:, 0] += probs[:, i]
            continue
        upper = char.upper()
        j = CLASSES.find(upper) if upper in LETTERS or upper in DIGITS else -1
        if j > 0:
            out[:, j] += probs[:, i]
    out /= np.maximum(out.sum(axis=1, keepdims=True), 1e-12)
    return out


@dataclass(frozen=True)
class Decoded:
    """The best path of one format: its 7-character ``key``, the path's log-probability, and per
    slot the most certain step's probabilities of the slot's best candidates (char -> p)."""

    format: PlateFormat
    key: str
    log_prob: float
    slots: tuple[Mapping[str, float], ...]

    @property
    def confidence(self) -> float:
        """Geometric mean of the chosen characters' probabilities."""
        chosen = [max(1e-6, slot[char]) for slot, char in zip(self.slots, self.key, strict=True)]
        return math.exp(sum(math.log(p) for p in chosen) / len(chosen))


def _allowed(fmt: PlateFormat) -> np.ndarray:
    """(7, classes) additive mask: 0 where the slot takes the class, -inf elsewhere."""
    mask = np.full((7, len(CLASSES)), _NEG)
    for slot, kind in enumerate(FORMATS[fmt]):
        chars = LETTERS if kind == "L" else DIGITS
        for char in chars:
            mask[slot, CLASSES.index(char)] = 0.0
    return mask


_MASKS = {fmt: _allowed(fmt) for fmt in FORMATS}


def decode_format(probs: np.ndarray, fmt: PlateFormat) -> Decoded | None:
    """The most probable CTC path over folded ``probs`` that spells a plate of format ``fmt``
    (Viterbi over states "k characters emitted, now on blank / on character c")."""
    return decode_formats([(probs, fmt)])[0]


def decode_formats(jobs: Sequence[tuple[np.ndarray, PlateFormat]]) -> list[Decoded | None]:
    """:func:`decode_format` of each (probabilities, format) pair; pairs with the same number of
    steps share one Viterbi pass, vectorised over them (one pass costs about what one pair did)."""
    out: list[Decoded | None] = [None] * len(jobs)
    by_steps: dict[int, list[int]] = {}
    for i, (probs, _) in enumerate(jobs):
        if probs.shape[0] >= 7:
            by_steps.setdefault(probs.shape[0], []).append(i)
    for group in by_steps.values():
        found = _viterbi(np.stack([jobs[i][0] for i in group]), [jobs[i][1] for i in group])
        for i, decoded in zip(group, found, strict=True):
            out[i] = decoded
    return out


def _viterbi(probs: np.ndarray, fmts: Sequence[PlateFormat]) -> list[Decoded | None]:
    """Best paths of ``probs`` (N x steps x classes), item i under format ``fmts[i]``."""
    n, steps, classes = probs.shape
    logp = np.log(np.maximum(probs, 1e-12))
    mask = np.stack([_MASKS[fmt] for fmt in fmts])  # N, 7, classes
    # blank[:, k]: best log-prob having emitted k chars and now on blank; char[:, k-1, c]: on c as k-th char.
    blank = np.full((n, 8), _NEG)
    char = np.full((n, 7, classes), _NEG)
    blank[:, 0] = logp[:, 0, 0]
    char[:, 0] = logp[:, 0] + mask[:, 0]
    # Back-pointers: for char states, where the state came from: -1 repeat, -2 from blank, else
    # the previous char class; for blank states, -1 from blank, else the char class it left.
    back_char = np.zeros((n, steps, 7, classes), np.int16)
    back_blank = np.zeros((n, steps, 8), np.int16)
    back_char[:, 0] = -2
    same_class = np.arange(classes)
    for t in range(1, steps):
        new_blank = np.empty((n, 8))
        from_char = char.max(axis=2)
        arg_char = char.argmax(axis=2)
        new_blank[:, 0] = blank[:, 0] + logp[:, t, 0]
        back_blank[:, t, 0] = -1
        stay = blank[:, 1:] >= from_char
        new_blank[:, 1:] = np.where(stay, blank[:, 1:], from_char) + logp[:, t, :1]
        back_blank[:, t, 1:] = np.where(stay, -1, arg_char)
        # Entering slot k from the previous slot: best of (blank after k chars) and (a different
        # char as the k-th): keep the top two of each row so "different" is cheap.
        order = np.argsort(char, axis=2)
        top1, top2 = order[:, :, -1], order[:, :, -2]
        best1 = np.take_along_axis(char, top1[:, :, None], 2)[:, :, 0]
        best2 = np.take_along_axis(char, top2[:, :, None], 2)[:, :, 0]
        enter = np.empty((n, 7, classes))
        enter_from = np.empty((n, 7, classes), np.int16)
        enter[:, 0] = blank[:, :1]  # slot 0 is entered from the leading blanks only
        enter_from[:, 0] = -2
        same = same_class == top1[:, :6, None]  # CTC: a repeated class needs a blank between
        prev = np.where(same, best2[:, :6, None], best1[:, :6, None])
        prev_from = np.where(same, top2[:, :6, None], top1[:, :6, None])
        use_blank = blank[:, 1:7, None] >= prev
        enter[:, 1:] = np.where(use_blank, blank[:, 1:7, None], prev)
        enter_from[:, 1:] = np.where(use_blank, -2, prev_from)
        entered = enter + mask
        repeat = char >= entered
        new_char = np.where(repeat, char, entered) + logp[:, t, None, :]
        back_char[:, t] = np.where(repeat, -1, enter_from)
        blank, char = new_blank, new_char
    return [_best_path(probs[i], fmts[i], blank[i], char[i], back_blank[i], back_char[i]) for i in range(n)]


def _best_path(probs: np.ndarray, fmt: PlateFormat, blank: np.ndarray, char: np.ndarray,
               back_blank: np.ndarray, back_char: np.ndarray) -> Decoded | None:
    """One item's path walked back from the Viterbi's final states, as a :class:`Decoded`."""
    steps = probs.shape[0]
    end_blank, end_char = blank[7], char[6].max()
    score = max(end_blank, end_char)
    if score <= _NEG / 2:
        return None
    # Walk the path back: which class each step was on, and at which slot.
    path_slot = np.full(steps, -1)
    path_char = np.full(steps, -1)
    if end_char >= end_blank:
        state: tuple[str, int, int] = ("c", 6, int(char[6].argmax()))
    else:
        state = ("b", 7, -1)
    for t in range(steps - 1, -1, -1):
        kind, k, c = state
        if kind == "c":
            path_slot[t], path_char[t] = k, c
            pointer = int(back_char[t, k, c])
            if pointer == -1:
                state = ("c", k, c)
            elif pointer == -2:
                state = ("b", k, -1)
            else:
                state = ("c", k - 1, pointer)
        else:
            pointer = int(back_blank[t, k])
            state = ("b", k, -1) if pointer == -1 else ("c", k - 1, pointer)
    key = ["?"] * 7
    slots: list[dict[str, float]] = []
    for k, kind in enumerate(FORMATS[fmt]):
        at = np.flatnonzero(path_slot == k)
        if at.size == 0:
            return None
        c = int(path_char[at[0]])
        key[k] = CLASSES[c]
        best_step = at[np.argmax(probs[at, c])]
        allowed = [CLASSES.index(ch) for ch in (LETTERS if kind == "L" else DIGITS)]
        row = probs[best_step, allowed]
        top = np.argsort(row)[::-1][:ALTERNATIVES]
        slots.append({CLASSES[allowed[i]]: float(row[i]) for i in top})
        slots[-1].setdefault(CLASSES[c], float(probs[best_step, c]))
    return Decoded(fmt, "".join(key), float(score), tuple(slots))


def decode(probs: np.ndarray, priors: Mapping[PlateFormat, float] | None = None,
           min_confidence: float = 0.05) -> PlateReading | None:
    """The most likely valid plate in folded ``probs``: each format's best path, weighted by the
    format's prior probability (e.g. from the plate's colour), the better one wins. ``None`` when
    no path fits or its characters are too uncertain to be a plate."""
    return decode_many([probs], [priors], min_confidence)[0]


def decode_many(probs: Sequence[np.ndarray], priors: Sequence[Mapping[PlateFormat, float] | None] | None = None,
                min_confidence: float = 0.05) -> list[PlateReading | None]:
    """:func:`decode` of each matrix of ``probs`` (with ``priors[i]``), in one batched Viterbi."""
    found = decode_formats([(p, fmt) for p in probs for fmt in FORMATS])
    out: list[PlateReading | None] = []
    for i in range(len(probs)):
        best: tuple[float, Decoded] | None = None
        for decoded in found[i * len(FORMATS):(i + 1) * len(FORMATS)]:
            if decoded is None:
                continue
            prior = ((priors[i] if priors else None) or {}).get(decoded.format, 0.5)
            score = decoded.log_prob + math.log(max(prior, 1e-6))
            if best is None or score > best[0]:
                best = (score, decoded)
        if best is None or best[1].confidence < min_confidence:
            out.append(None)
            continue
        chosen = best[1]
        out.append(PlateReading(canonical(chosen.key, chosen.format), chosen.confidence, chosen.format, 0,
                                chosen.slots))
    return out


def agree(readings: Sequence[PlateReading | None]) -> PlateReading | None:
    """One reading from several views of the same crop (test-time augmentation; the views
    decoded with :func:`decode_many`): the plate whose readings' confidences add up to the most
    wins, the first view's on a tie. Its confidence and slot probabilities are the views' mean,
    a view that read another plate or none counting zero: views that disagree make a less
    certain reading, so a floor and the per-visit vote weigh it as such. One view's reading is
    returned as it is."""
    if len(readings) == 1:
        return readings[0]
    valid = [r for r in readings if r is not None]
    if not valid:
        return None
    totals: dict[str, float] = {}
    for reading in valid:
        totals[reading.text] = totals.get(reading.text, 0.0) + reading.confidence
    text = max(totals, key=lambda t: totals[t])  # max keeps the first of equals: the first view's
    same = [r for r in valid if r.text == text]
    views = len(readings)
    slots: tuple[Mapping[str, float], ...] | None = None
    if all(r.slots is not None for r in same):
        merged: list[dict[str, float]] = []
        for k, char in enumerate(same[0].key):
            mean: dict[str, float] = {}
            for reading in same:
                for option, p in reading.slots[k].items():  # type: ignore[index]
                    mean[option] = mean.get(option, 0.0) + p / views
            top = dict(sorted(mean.items(), key=lambda item: -item[1])[:ALTERNATIVES])
            top.setdefault(char, mean[char])
            merged.append(top)
        slots = tuple(merged)
    return PlateReading(text, totals[text] / views, same[0].format, 0, slots)


def greedy_text(probs: np.ndarray) -> str:
    """Plain best-per-step CTC decoding of folded ``probs`` (for logs and diagnostics)."""
    best = probs.argmax(axis=1)
    out = [CLASSES[c] for i, c in enumerate(best) if c != 0 and (i == 0 or c != best[i - 1])]
    return "".join(out)

