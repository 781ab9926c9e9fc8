"""Plain rows of the hot read statements that are written out instead of built with the ORM.

Building a query with the ORM (filters, annotations, ordering) and compiling it costs, per
statement, more CPU than PostgreSQL spends answering a plate search; the searches run two each per
request. Their statements are therefore written out once (see
:mod:`vigia.control.observations.queries` and :mod:`vigia.control.observations.passages`) and read
here as the ORM's ``values()`` would have read them: one dict per row, by column name, with JSON
columns decoded as :class:`~django.db.models.JSONField` decodes them.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from django.db import connection, models


def fetch_dicts(sql: str, params: Sequence[Any], json_columns: Collection[str] = ()) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts by column name; ``json_columns`` (text from the database, as
    Django's PostgreSQL backend loads ``jsonb``) decoded."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for name in json_columns:
        for row in rows:
            row[name] = decode_json(row[name])
    return rows


def decode_json(text: str | None) -> Any:
    """A ``jsonb`` value as ``JSONField.from_db_value`` decodes it. (Not orjson: it reads an
    integer beyond 64 bits as a float.)"""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def select_list(model: type[models.Model], attnames: Sequence[str]) -> str:
    """``"table"."column", ...`` of ``model``'s fields named ``attnames`` (their attribute names), for
    the SELECT of a written-out statement whose rows read like ``values(*attnames)``."""
    table = model._meta.db_table
    columns = []
    for name in attnames:
        field = model._meta.get_field(name)
        if not isinstance(field, models.Field) or field.attname != name:
            raise ValueError(f"{name} is no concrete field's attribute of {model.__name__}")
        columns.append(f'"{table}"."{field.column}"')
    return ", ".join(columns)
