"""Licence plates as Vigia compares them: one definition of a plate's key, of the OCR look-alike
characters and of how near two plates are, shared by the pipelines' ``plate_match`` node, the
recorder's watch-list marking of passages and control's tolerant plate search.

A plate's *key* is its upper-case letters and digits (``"abc-1d23"`` -> ``"ABC1D23"``). Its
*look-alike key* folds the characters OCR confuses onto one (O/0/Q/D, I/1/J, B/8, S/5, Z/2, G/6),
so two plates that differ only by such confusions share it. Nearness, best first
(:class:`Likeness`): the same key, the same look-alike key, look-alike keys one edit apart
(a character replaced, missing or added).
"""

from __future__ import annotations

import enum
import string

#: OCR look-alikes folded onto one character (both ways: a watch-list entry may be misread too).
LOOK_ALIKE_GROUPS = {"0": "ODQ", "1": "IJ", "8": "B", "5": "S", "2": "Z", "6": "G"}
LOOK_ALIKES = str.maketrans({char: folded for folded, chars in LOOK_ALIKE_GROUPS.items() for char in chars})

#: ``translate(column, LOOK_ALIKE_FROM, LOOK_ALIKE_TO)`` is :func:`look_alike_key` in SQL (for keys).
LOOK_ALIKE_FROM = "".join(chars for chars in LOOK_ALIKE_GROUPS.values())
LOOK_ALIKE_TO = "".join(folded * len(chars) for folded, chars in LOOK_ALIKE_GROUPS.items())

#: The characters a look-alike key can hold.
FOLDED_ALPHABET = "".join(sorted(set(string.ascii_uppercase + string.digits) - set(LOOK_ALIKE_FROM)))


class Likeness(enum.IntEnum):
    """How near a plate is to the one searched for; lower is nearer."""

    EXACT = 0
    LOOK_ALIKE = 1
    EDIT = 2


def plate_key(text: str) -> str:
    """Upper case, letters and digits only (``"abc-1d23"`` -> ``"ABC1D23"``)."""
    return "".join(c for c in text.upper() if c.isascii() and c.isalnum())


def look_alike_key(text: str) -> str:
    """The plate's key with every look-alike character folded (O/0/D/Q, I/1/J, B/8, S/5, Z/2, G/6)."""
    return plate_key(text).translate(LOOK_ALIKES)


def edit_neighbours(folded: str) -> frozenset[str]:
    """Every look-alike key at most one edit (replace, delete, insert a character) from ``folded``,
    itself included: what a tolerant search looks up in an index of look-alike keys."""
    found = {folded}
    for i in range(len(folded) + 1):
        for char in FOLDED_ALPHABET:
            found.add(folded[:i] + char + folded[i:])
        if i < len(folded):
            found.add(folded[:i] + folded[i + 1:])
            found.update(folded[:i] + char + folded[i + 1:] for char in FOLDED_ALPHABET)
    found.discard("")
    return frozenset(found)


def likeness(query: str, plate: str) -> Likeness | None:
    """How near ``plate`` is to ``query`` (both any spelling), or None if further than one edit."""
    query_key, plate_key_ = plate_key(query), plate_key(plate)
    if query_key == plate_key_:
        return Likeness.EXACT
    folded_query, folded_plate = query_key.translate(LOOK_ALIKES), plate_key_.translate(LOOK_ALIKES)
    if folded_query == folded_plate:
        return Likeness.LOOK_ALIKE
    return Likeness.EDIT if _one_edit_apart(folded_query, folded_plate) else None


def _one_edit_apart(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) <= 1
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((n for n, (x, y) in enumerate(zip(short, long, strict=False)) if x != y), len(short))
    return short[i:] == long[i + 1:]
