"""Many rows into one table: one statement, one parameter.

`connection.execute(insert(table), rows)` sends one INSERT per row (psycopg
pipelines them, but the server still parses, binds and runs each). Here the
rows travel as one JSON array that `jsonb_populate_recordset` turns back
into rows of the table's own type, so the server runs a single INSERT and
the statement text is the same whatever the number of rows (prepared once,
not parsed again for each batch size). Rows for several tables go in one
statement (`insert_into_tables`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, FromClause, Interval, Table, TextClause, text
from sqlalchemy import Enum as SQLEnum
from sqlalchemy.dialects import postgresql

_PREPARER = postgresql.dialect().identifier_preparer


def insert_rows(
    connection: Connection, table: FromClause, rows: Sequence[dict[str, Any]]
) -> None:
    """INSERT `rows` (dicts with the same keys, column names) into `table`."""
    insert_into_tables(connection, [(table, rows)])


def insert_into_tables(
    connection: Connection,
    batches: Sequence[tuple[FromClause, Sequence[dict[str, Any]]]],
) -> None:
    """INSERT each batch's rows into its table, all in one statement.

    Foreign keys between the batches are checked once every row is in, as
    within one INSERT: a batch may refer to rows of a later one.
    """
    parts: list[tuple[Table, tuple[str, ...]]] = []
    parameters: dict[str, str] = {}
    for table, rows in batches:
        if not rows:
            continue
        assert isinstance(table, Table)
        columns = tuple(rows[0])
        converters = [_converter(table, name) for name in columns]
        payload = [
            {
                name: convert(row[name])
                for name, convert in zip(columns, converters, strict=True)
            }
            for row in rows
        ]
        parameters[f"rows{len(parts)}"] = json.dumps(payload, separators=(",", ":"))
        parts.append((table, columns))
    if parts:
        connection.execute(_statement(tuple(parts)), parameters)


@functools.cache
def _statement(parts: tuple[tuple[Table, tuple[str, ...]], ...]) -> TextClause:
    inserts = []
    for index, (table, columns) in enumerate(parts):
        name = _PREPARER.format_table(table)
        names = ", ".join(_PREPARER.quote(column) for column in columns)
        # Identifiers from the tables' own metadata, quoted: no outside input.
        inserts.append(
            f"INSERT INTO {name} ({names}) SELECT {names}"  # noqa: S608
            f" FROM jsonb_populate_recordset(NULL::{name}, CAST(:rows{index} AS jsonb))"
        )
    # All but the last as data-modifying WITH queries of the last.
    *first, last = inserts
    if not first:
        return text(last)
    with_queries = ", ".join(f"b{index} AS ({sql})" for index, sql in enumerate(first))
    return text(f"WITH {with_queries} {last}")


def _same(value: Any) -> Any:
    return value


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _timestamp(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _interval(value: dt.timedelta | None) -> str | None:
    if value is None:
        return None
    # PostgreSQL's interval input: exact, whatever the sign of the parts.
    return f"{value.days} days {value.seconds} seconds {value.microseconds} us"


@functools.cache
def _converter(table: Table, column: str) -> Any:
    """How a column's Python value is written in the JSON row."""
    column_type = table.c[column].type
    if isinstance(column_type, SQLEnum):
        return _enum_value
    if isinstance(column_type, Interval):
        return _interval
    python_type = None
    with contextlib.suppress(NotImplementedError):
        python_type = column_type.python_type
    if python_type is dt.datetime:
        return _timestamp
    if python_type in (int, str, bool, float, dict, list) or isinstance(
        column_type, (postgresql.JSONB, postgresql.ARRAY)
    ):
        return _same
    raise TypeError(f"insert_rows: no JSON form for {table.name}.{column}")


__all__ = ["insert_into_tables", "insert_rows"]
