"""vigia.common.db declares, for the data plane, tables that Django's migrations create. Each
declared table must match the migrated test database: same columns, same types (as PostgreSQL
spells them), same nullability, same primary key. A mismatch names the table and the column."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from sqlalchemy import Engine, Table, inspect
from sqlalchemy.dialects import postgresql

from vigia.common.db import make_engine, metadata

DIALECT = postgresql.dialect()  # type: ignore[no-untyped-call]


@pytest.fixture
def migrated(db: Any) -> Iterator[Engine]:
    """An engine on the migrated test database (the schema is committed by the migrations)."""
    cfg = connection.settings_dict
    password = f":{cfg['PASSWORD']}" if cfg["PASSWORD"] else ""
    url = (f"postgresql://{cfg['USER'] or 'postgres'}{password}@{cfg['HOST'] or '127.0.0.1'}:"
           f"{cfg['PORT'] or 5432}/{cfg['NAME']}")
    engine = make_engine(url, pool_size=1, application_name="vigia-declarations-test")
    yield engine
    engine.dispose()


def _type(column_type: Any) -> str:
    return str(column_type.compile(dialect=DIALECT)).upper()


@pytest.mark.parametrize("table", list(metadata.sorted_tables), ids=lambda t: t.name)
def test_declared_table_matches_the_migrated_schema(migrated: Engine, table: Table) -> None:
    inspector = inspect(migrated)
    assert inspector.has_table(table.name), f"{table.name}: declared in vigia.common.db, not migrated"
    actual = {col["name"]: col for col in inspector.get_columns(table.name)}
    declared = {col.name: col for col in table.columns}

    missing = sorted(set(declared) - set(actual))
    assert not missing, f"{table.name}: declared columns missing in the database: {missing}"
    undeclared = sorted(name for name, col in actual.items()
                        if name not in declared and not col["nullable"] and col.get("default") is None)
    # Extra nullable/defaulted columns are harmless to Core inserts; required ones would break them.
    assert not undeclared, f"{table.name}: NOT NULL columns without default not declared: {undeclared}"

    problems = []
    for name, column in declared.items():
        db_column = actual[name]
        declared_type, db_type = _type(column.type), _type(db_column["type"])
        if declared_type != db_type:
            problems.append(f"{table.name}.{name}: declared {declared_type}, database has {db_type}")
        if bool(column.nullable) != bool(db_column["nullable"]):
            problems.append(f"{table.name}.{name}: declared nullable={column.nullable}, "
                            f"database nullable={db_column['nullable']}")
    assert not problems, "\n".join(problems)

    declared_pk = [col.name for col in table.primary_key.columns]
    db_pk = inspector.get_pk_constraint(table.name)["constrained_columns"]
    # TimescaleDB hypertables widen the key to (id, time); the declared id must still lead it.
    if db_pk != declared_pk:
        assert db_pk[:len(declared_pk)] == declared_pk and set(db_pk) - set(declared_pk) <= {"time"}, (
            f"{table.name}: primary key declared {declared_pk}, database has {db_pk}")
