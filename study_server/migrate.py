"""Adds to an existing database the columns that later versions of the models introduced.

The schema is created by ``create_all``, which makes missing tables but never touches existing
ones. A study database made by an earlier version lacks the columns added since; each of those is
nullable, so ``ALTER TABLE ... ADD COLUMN`` adds it with NULL in every existing row and nothing
stored changes. Several workers may start at once: a column another worker added meanwhile is
not an error.
"""

from __future__ import annotations

from sqlalchemy import Column, Engine, inspect
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.schema import MetaData


def missing_columns(engine: Engine, metadata: MetaData) -> list[Column]:
    """Columns of ``metadata``'s existing tables that the database lacks."""
    inspector = inspect(engine)
    existing_tables = set(inspector.get_table_names())
    missing = []
    for table in metadata.sorted_tables:
        if table.name not in existing_tables:
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing.extend(c for c in table.columns if c.name not in present)
    return missing


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add every missing nullable column; return ``table.column`` of those added.

    Raises ``ValueError`` naming the table and column if one cannot be added (not nullable).
    """
    added = []
    for column in missing_columns(engine, metadata):
        name = f"{column.table.name}.{column.name}"
        if not column.nullable or column.primary_key or column.server_default is not None:
            raise ValueError(f"database {engine.url.render_as_string()!r}: column {name} is missing and cannot be added automatically")
        kind = column.type.compile(dialect=engine.dialect)
        preparer = engine.dialect.identifier_preparer
        sql = f"ALTER TABLE {preparer.quote(column.table.name)} ADD COLUMN {preparer.quote(column.name)} {kind}"
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(sql)
        except (OperationalError, ProgrammingError):
            if column.name not in {c["name"] for c in inspect(engine).get_columns(column.table.name)}:
                raise  # not another worker's doing
            continue
        added.append(name)
    return added
