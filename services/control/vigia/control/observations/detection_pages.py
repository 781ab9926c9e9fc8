"""The detection list's page statement, written out instead of built with the ORM.

Building the list's query (organization, filters, cursor position, ordering, slice) and compiling
it cost more CPU per request than the rest of the list's Python. :class:`DetectionPageRows` is what
DRF's ``CursorPagination`` orders, positions and slices in its place (its logic, cursors and links
unchanged); it reads the same rows, as ``values(*DETECTION_COLUMNS)`` reads them.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, models
from django_filters.constants import EMPTY_VALUES

from vigia.control.core.rows import fetch_dicts, select_list
from vigia.control.observations.filtersets import DetectionFilterSet
from vigia.control.observations.models import Detection
from vigia.control.observations.plates import normalise_plate
from vigia.control.observations.queries import DETECTION_COLUMNS

_SELECT = select_list(Detection, DETECTION_COLUMNS)
_TABLE = Detection._meta.db_table
_OPERATORS = {"exact": "=", "gte": ">=", "lt": "<", "gt": ">"}
_ORDERINGS: dict[tuple[str, ...], str] = {("-time", "-id"): f'"{_TABLE}"."time" DESC, "{_TABLE}"."id" DESC',
              ("time", "id"): f'"{_TABLE}"."time" ASC, "{_TABLE}"."id" ASC'}


def _condition(field_name: str, lookup: str, value: Any) -> tuple[str, Any]:
    """``"detections"."column" <op> %s`` and its parameter, prepared as the ORM prepares it."""
    field = Detection._meta.get_field(field_name)
    if not isinstance(field, models.Field):
        raise UnwrittenFilter(field_name)
    return f'"{_TABLE}"."{field.column}" {_OPERATORS[lookup]} %s', field.get_db_prep_value(value, connection)


class UnwrittenFilter(Exception):
    """A filter the written-out statement does not know: the list is built with the ORM instead."""


class DetectionPageRows:
    """The organization's detections matching a validated :class:`DetectionFilterSet`, as DRF's
    ``CursorPagination`` uses a queryset: ``order_by`` its ordering, ``filter`` by the cursor's
    position, slice a page (the statement runs then). Nothing else of a queryset is offered."""

    model = Detection

    def __init__(self, org_id: uuid.UUID, filterset: DetectionFilterSet | None) -> None:
        self._where: list[str] = [f'"{_TABLE}"."org_id" = %s']
        self._params: list[Any] = [org_id]
        self._order = ""
        self._empty = False
        for name, value in (filterset.form.cleaned_data.items() if filterset is not None else ()):
            if value in EMPTY_VALUES:
                continue
            filter_ = filterset.filters[name]  # type: ignore[union-attr]
            if filter_.method == "filter_plate":
                plate = normalise_plate(value)
                if plate is None:
                    self._empty = True  # the filter set answers none()
                else:
                    self._add("plate_text", "exact", plate)
            elif filter_.method is None and filter_.lookup_expr in ("exact", "gte", "lt"):
                self._add(filter_.field_name, filter_.lookup_expr, value)
            else:
                raise UnwrittenFilter(name)

    def _add(self, field_name: str, lookup: str, value: Any) -> None:
        condition, param = _condition(field_name, lookup, value)
        self._where.append(condition)
        self._params.append(param)

    def order_by(self, *ordering: str) -> DetectionPageRows:
        self._order = _ORDERINGS[ordering]
        return self

    def filter(self, **position: Any) -> DetectionPageRows:
        ((lookup, value),) = position.items()
        field_name, operator = lookup.split("__")
        if field_name != "time" or operator not in ("lt", "gt"):
            raise UnwrittenFilter(lookup)
        self._add(field_name, operator, value)
        return self

    def __getitem__(self, page: slice) -> list[dict[str, Any]]:
        if self._empty:
            return []
        offset, stop = page.start or 0, page.stop
        # Table and column names come from the model; every value is a parameter. As the ORM
        # slices: LIMIT, and OFFSET only past the first row.
        sql = (f'SELECT {_SELECT} FROM "{_TABLE}" WHERE {" AND ".join(self._where)} '  # noqa: S608
               f'ORDER BY {self._order} LIMIT %s' + (" OFFSET %s" if offset else ""))
        return fetch_dicts(sql, [*self._params, stop - offset, *([offset] if offset else [])], json_columns=("box",))
