"""Watch-list marks of passages: which of its organization's watch-lists a passage's plate is on.

A passage is marked with every list holding an entry whose plate equals the passage's once OCR
look-alikes are folded (:mod:`vigia.common.plates`) and that had not expired when the vehicle was
last seen: one mark per list, the exact entry preferred, lists in name order. Marks follow the
lists *as they are now*, not as they were when the passage was recorded: the recorder marks a
passage when it writes it, and every change of a list or of one of its entries re-marks, in the
same transaction, the passages it concerns (a plate added to a deny list today is ``listed=true``
in last week's passages at once; a plate removed leaves them). An entry's expiry passing changes
nothing by itself: passages seen before it stay marked, later ones are not (the recorder does not
mark them).

Re-marks are set-based ``UPDATE`` statements whose rows are found through an index: an entry's
change is one statement, by the ``(org, plate_folded)`` index of passages (the entry's old and new
plate); a list's rename, change of kind or deletion finds its passages by the GIN index on
``watchlist_ids`` and re-marks them in batches of :data:`BATCH` (it costs in proportion to them:
0.1 to 0.2 ms a passage on this machine, tests/bench/bench_passage_marks.py). The entries a passage matches are
found by the ``(org, translate(plate))`` index of entries.

Writers of one organization's marks are serialised by one transaction-scoped advisory lock: the
recorder holds it shared while it writes a passage, a watch-list change exclusively while it
re-marks. So a passage recorded while an entry is being added is either written before the
re-mark (which then sees and re-marks it) or after the entry committed (and the recorder sees the
entry); it cannot miss both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from vigia.common.plates import LOOK_ALIKE_FROM, LOOK_ALIKE_TO, look_alike_key

# The marks of the ``passages`` row being updated, as (watchlist_ids, watchlist_matches). Evaluated
# on the row's newest version: a concurrent change of its plate or last_seen is marked correctly.
# The look-alike tables are code constants (letters and digits), inlined so that the expression
# is the entries' index expression even in a prepared (generic) plan.
_MARKS = f"""(
    SELECT coalesce(array_agg(m.id ORDER BY m.name, m.id), '{{}}'::uuid[]),
           coalesce(jsonb_agg(jsonb_build_object('watchlist', m.id, 'name', m.name, 'kind', m.kind,
                                                 'plate', m.plate, 'label', m.label, 'exact', m.exact)
                              ORDER BY m.name, m.id), '[]'::jsonb)
    FROM (SELECT DISTINCT ON (l.id) l.id, l.name, l.kind, e.plate, e.label,
                 e.plate = passages.plate_text AS exact
          FROM plate_watchlist_entries e JOIN plate_watchlists l ON l.id = e.watchlist_id
          WHERE e.org_id = passages.org_id
            AND translate(e.plate, '{LOOK_ALIKE_FROM}', '{LOOK_ALIKE_TO}') = passages.plate_folded
            AND (e.expires_at IS NULL OR e.expires_at > passages.last_seen)
          ORDER BY l.id, e.plate <> passages.plate_text, e.plate) m)"""  # noqa: S608

# updated_at moves with the marks: they are part of what a passage says.
_REMARK = ("UPDATE passages SET (watchlist_ids, watchlist_matches, updated_at) = "  # noqa: S608
           f"(SELECT *, now() FROM {_MARKS} AS marks)")

#: Marks one passage (``%(id)s``); the recorder runs it after writing the passage.
MARK_PASSAGE = f"{_REMARK} WHERE id = %(id)s"

#: Re-marks an organization's passages whose folded plate is one of ``%(keys)s``.
REMARK_PLATES = f"{_REMARK} WHERE org_id = %(org)s AND plate_folded = ANY(%(keys)s)"

#: An organization's passages marked with the watch-list ``%(watchlist)s``. The length condition
#: is the partial GIN index's (passages_watchlists), as Django spells ``__len__gt=0``.
WATCHLIST_PASSAGES = ("SELECT id FROM passages WHERE org_id = %(org)s AND CASE WHEN watchlist_ids IS NULL "
                      "THEN NULL ELSE coalesce(array_length(watchlist_ids, 1), 0) END > 0 "
                      "AND watchlist_ids @> ARRAY[%(watchlist)s]::uuid[]")

#: Re-marks the passages ``%(ids)s`` (by primary key).
REMARK_PASSAGES = f"{_REMARK} WHERE id = ANY(%(ids)s)"

#: Passages re-marked per statement when a list changes: a list may mark a large share of an
#: organization's passages, and no statement may run into the statement timeout.
BATCH = 5000

#: Taken shared by the recorder while it writes a passage, exclusively by a re-mark.
LOCK_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtextextended('vigia.passage_marks:' || %(org)s, 0))"
LOCK_EXCLUSIVE = "SELECT pg_advisory_xact_lock(hashtextextended('vigia.passage_marks:' || %(org)s, 0))"


def remark_plates(cursor: Any, org: uuid.UUID, plates: Iterable[str]) -> int:
    """Re-mark the organization's passages of ``plates`` (any spelling; look-alikes are passages
    of the same folded plate) in the caller's transaction; returns how many rows were re-marked."""
    keys = sorted({look_alike_key(plate) for plate in plates} - {""})
    if not keys:
        return 0
    cursor.execute(LOCK_EXCLUSIVE, {"org": str(org)})
    cursor.execute(REMARK_PLATES, {"org": org, "keys": keys})
    return int(cursor.rowcount or 0)


def remark_watchlist(cursor: Any, org: uuid.UUID, watchlist: uuid.UUID, batch: int = BATCH) -> int:
    """Re-mark the organization's passages marked with ``watchlist`` (renamed, kind changed or
    deleted) in the caller's transaction, ``batch`` per statement; returns how many were
    re-marked. Under the lock no passage can gain the mark meanwhile."""
    cursor.execute(LOCK_EXCLUSIVE, {"org": str(org)})
    cursor.execute(WATCHLIST_PASSAGES, {"org": org, "watchlist": watchlist})
    ids = [row[0] for row in cursor.fetchall()]
    done = 0
    for start in range(0, len(ids), batch):
        cursor.execute(REMARK_PASSAGES, {"ids": ids[start:start + batch]})
        done += int(cursor.rowcount or 0)
    return done
