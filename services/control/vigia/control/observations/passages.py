"""Reading passages by plate: the tolerant search, a plate's history across cameras, the CSV export.

Tolerant search ranks plates by :class:`vigia.common.plates.Likeness`: the plate searched for,
then plates differing only by OCR look-alikes (O/0/Q/D, I/1/J, B/8, S/5, Z/2, G/6), then plates
one edit away once look-alikes are folded (a character misread, missing or invented). It looks up
every look-alike key within one edit of the query's (a few hundred) in the ``(org, plate_folded)``
index, so it costs index probes, not a scan nor a similarity threshold.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, JSONField, Max, Min, Q, QuerySet

from vigia.common.plates import Likeness, edit_neighbours, look_alike_key
from vigia.control.core.rows import fetch_dicts, select_list
from vigia.control.core.serializers import iso_datetime
from vigia.control.observations.models import Passage

LIKENESS_NAMES = {Likeness.EXACT: "exact", Likeness.LOOK_ALIKE: "look_alike", Likeness.EDIT: "edit"}

# What a passage's representation reads, by column (attribute) name.
PASSAGE_COLUMNS = ("id", "camera_id", "site", "visit", "first_seen", "last_seen", "label", "plate_text",
                   "confidence", "votes", "agreeing", "runner_ups", "crop_key", "snapshot_key", "final",
                   "watchlist_matches", "received_at", "updated_at")


@dataclass(frozen=True)
class PassageWindow:
    """Narrowing of a search: a camera, a site, passages seen since / until."""

    camera: uuid.UUID | None = None
    site: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def apply(self, queryset: QuerySet[Passage]) -> QuerySet[Passage]:
        if self.camera is not None:
            queryset = queryset.filter(camera_id=self.camera)
        if self.site is not None:
            queryset = queryset.filter(site=self.site)
        if self.since is not None:
            queryset = queryset.filter(last_seen__gte=self.since)
        if self.until is not None:
            queryset = queryset.filter(first_seen__lt=self.until)
        return queryset


def _text_array(keys: frozenset[str]) -> str:
    """PostgreSQL's literal of a text array of look-alike keys (letters and digits only: no
    escaping), every element quoted (an unquoted ``NULL`` would be a null)."""
    joined = '","'.join(keys)
    letters = joined.replace('","', "")  # one check of every character, in C
    if not (letters.isascii() and letters.isalnum()) or "" in keys:
        raise ValueError("look-alike keys are letters and digits")
    return '{"' + joined + '"}'


def tolerant_filter(org_id: uuid.UUID, plate: str, window: PassageWindow) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) selecting the organization's passages whose plate is
    at most one edit from ``plate`` (a key) once look-alikes are folded."""
    # One array parameter, not an IN list of ~400: composing and sending that list cost more than
    # the index probes themselves; and written as an array literal, since psycopg's dumping of a
    # Python list (element by element, in Python) cost more than the rest of the request.
    where = ['"passages"."plate_folded" = ANY(%s::varchar[])', '"passages"."org_id" = %s']
    params: list[Any] = [_text_array(edit_neighbours(look_alike_key(plate))), org_id]
    for condition, value in (('"passages"."camera_id" = %s', window.camera), ('"passages"."site" = %s', window.site),
                             ('"passages"."last_seen" >= %s', window.since),
                             ('"passages"."first_seen" < %s', window.until)):
        if value is not None:
            where.append(condition)
            params.append(value)
    return " AND ".join(where), params


def _likeness(plate: str) -> tuple[str, list[Any]]:
    """The SQL of a passage's :class:`Likeness` to ``plate`` (0 exact, 1 look-alike, 2 one edit)."""
    return ('CASE WHEN "passages"."plate_text" = %s THEN %s WHEN "passages"."plate_folded" = %s THEN %s ELSE %s END',
            [plate, int(Likeness.EXACT), look_alike_key(plate), int(Likeness.LOOK_ALIKE), int(Likeness.EDIT)])


def ranked_plates_sql(org_id: uuid.UUID, plate: str, window: PassageWindow, limit: int) -> tuple[str, list[Any]]:
    """Distinct matching plates, nearest first, then most sighted, then latest: likeness,
    sightings (passages), cameras, first and last seen. Written out, not built with the ORM: see
    :mod:`vigia.control.core.rows`."""
    where, params = tolerant_filter(org_id, plate, window)
    likeness, likeness_params = _likeness(plate)
    # Table and column names are the model's; every value is a parameter.
    return (f'SELECT "passages"."plate_text", ({likeness}) AS "likeness", COUNT("passages"."id") AS "sightings", '  # noqa: S608
            'COUNT(DISTINCT "passages"."camera_id") AS "cameras", MIN("passages"."first_seen") AS "first_seen", '
            f'MAX("passages"."last_seen") AS "last_seen" FROM "passages" WHERE {where} '
            'GROUP BY 1, 2 ORDER BY 2 ASC, 3 DESC, 6 DESC, 1 ASC LIMIT %s', [*likeness_params, *params, limit])


def ranked_plates(org_id: uuid.UUID, plate: str, window: PassageWindow, limit: int) -> list[dict[str, Any]]:
    """Rows of :func:`ranked_plates_sql`, ``likeness`` by name."""
    rows = fetch_dicts(*ranked_plates_sql(org_id, plate, window, limit))
    for row in rows:
        row["likeness"] = LIKENESS_NAMES[Likeness(row["likeness"])]
    return rows


_PASSAGE_SELECT = select_list(Passage, PASSAGE_COLUMNS)
_PASSAGE_JSON = tuple(c for c in PASSAGE_COLUMNS if isinstance(Passage._meta.get_field(c), JSONField))


def ranked_passages(org_id: uuid.UUID, plate: str, window: PassageWindow, limit: int) -> list[dict[str, Any]]:
    """The matching passages themselves (:data:`PASSAGE_COLUMNS` and ``likeness`` by name), nearest
    plate first, then newest; read as ``values()`` reads them."""
    where, params = tolerant_filter(org_id, plate, window)
    likeness, likeness_params = _likeness(plate)
    rows = fetch_dicts(
        f'SELECT {_PASSAGE_SELECT}, ({likeness}) AS "likeness" FROM "passages" WHERE {where} '  # noqa: S608
        'ORDER BY "likeness" ASC, "passages"."first_seen" DESC, "passages"."id" DESC LIMIT %s',
        [*likeness_params, *params, limit], json_columns=_PASSAGE_JSON)
    for row in rows:
        row["likeness"] = LIKENESS_NAMES[Likeness(row["likeness"])]
    return rows


def history_by_camera(org_id: uuid.UUID, passages: QuerySet[Passage]) -> list[dict[str, Any]]:
    """Per camera that saw the plate: passages, first and last seen, site; most recent first,
    with the camera's name when it still exists."""
    from vigia.control.cameras.models import Camera

    rows = list(passages.values("camera_id").annotate(
        passages=Count("id"), first_seen=Min("first_seen"), last_seen=Max("last_seen"), site=Max("site"))
        .order_by("-last_seen", "camera_id")[:500])
    names = dict(Camera.objects.filter(org_id=org_id, id__in=[r["camera_id"] for r in rows])
                 .values_list("id", "name")) if rows else {}
    return [{"camera": row["camera_id"], "name": names.get(row["camera_id"]), "site": row["site"],
             "passages": row["passages"], "first_seen": row["first_seen"], "last_seen": row["last_seen"]}
            for row in rows]


CSV_HEADER = ("id", "camera", "site", "visit", "first_seen", "last_seen", "label", "plate", "confidence", "votes",
              "agreeing", "runner_ups", "final", "watchlists", "crop_key", "snapshot_key")


def _csv_line(values: tuple[Any, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def csv_rows(queryset: QuerySet[Passage], batch: int = 2000, max_rows: int | None = None) -> Iterator[str]:
    """The header, then one CSV line per passage of ``queryset``, newest first, read in keyset
    batches of ``batch`` (short queries, no long transaction nor server-side cursor while the client
    reads slowly); at most ``max_rows`` passages."""
    yield _csv_line(CSV_HEADER)
    ordered = queryset.order_by("-first_seen", "-id")
    after: tuple[datetime, uuid.UUID] | None = None
    sent = 0
    while max_rows is None or sent < max_rows:
        page = ordered
        if after is not None:
            page = page.filter(Q(first_seen__lt=after[0]) | Q(first_seen=after[0], id__lt=after[1]))
        size = batch if max_rows is None else min(batch, max_rows - sent)
        rows = list(page.values_list(
            "id", "camera_id", "site", "visit", "first_seen", "last_seen", "label", "plate_text", "confidence",
            "votes", "agreeing", "runner_ups", "final", "watchlist_matches", "crop_key", "snapshot_key")[:size])
        for row in rows:
            (ident, camera, site, visit, first, last, label, plate, confidence, votes, agreeing, runner_ups,
             final, matches, crop, snapshot) = row
            yield _csv_line((
                ident, camera, site, visit, _iso(first), _iso(last), label, plate, confidence, votes,
                "" if agreeing is None else agreeing,
                " ".join(r.get("plate_text", "") for r in runner_ups or ()),
                "true" if final else "false",
                " ".join(f"{m.get('kind')}:{m.get('name')}" for m in matches or ()),
                crop or "", snapshot or ""))
        sent += len(rows)
        if len(rows) < size:
            return
        after = (rows[-1][4], rows[-1][0])


def _iso(moment: datetime | None) -> str:
    return iso_datetime(moment) or ""
