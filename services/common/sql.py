"""Set-based writes: many rows in one statement through `unnest` of one array per column."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection


class BulkInsert:
    """`INSERT INTO table (cols) SELECT * FROM unnest(...) <on_conflict>`, built once."""

    def __init__(self, table: str, columns: Mapping[str, str], on_conflict: str = "") -> None:
        self.columns = list(columns)
        arrays = ", ".join(f"CAST(:{name} AS {sql_type}[])" for name, sql_type in columns.items())
        self.statement: TextClause = text(
            f"INSERT INTO {table} ({', '.join(self.columns)}) "
            f"SELECT * FROM unnest({arrays}) {on_conflict}"
        )

    async def run(self, conn: AsyncConnection, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            by_column = dict(
                zip(self.columns, (list(c) for c in zip(*rows, strict=True)), strict=True)
            )
            await conn.execute(self.statement, by_column)


class CountsTable:
    """A table of counts per key: adds deltas (which may be negative) to the stored numbers."""

    def __init__(self, table: str, keys: Mapping[str, str], measures: Sequence[str]) -> None:
        self.measures = tuple(measures)
        additions = ", ".join(f"{m} = {table}.{m} + EXCLUDED.{m}" for m in measures)
        columns = dict(keys) | dict.fromkeys(measures, "bigint")
        conflict = f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {additions}"
        self._upsert = BulkInsert(table, columns, conflict)

    async def add(self, conn: AsyncConnection, deltas: Mapping[tuple[Any, ...], int]) -> None:
        """`deltas` keyed by (the key columns' values..., measure name)."""
        rows: dict[tuple[Any, ...], list[int]] = {}
        for (*key, measure), value in deltas.items():
            row = rows.setdefault(tuple(key), [0] * len(self.measures))
            row[self.measures.index(measure)] += value
        # in key order, as every writer of the table does: concurrent batches lock the rows
        # they share in the same order, so they wait for each other but never deadlock
        ordered = sorted(rows.items(), key=lambda row: [(v is None, v) for v in row[0]])
        await self._upsert.run(conn, [(*key, *values) for key, values in ordered])


async def copy_rows(
    conn: AsyncConnection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Binary COPY into a table, inside the connection's open transaction: the fastest way
    in for rows that cannot conflict (callers guarantee it, e.g. ids claimed just before)."""
    if rows:
        driver = await _asyncpg(conn)
        await driver.copy_records_to_table(table, records=rows, columns=list(columns))


async def fetch(conn: AsyncConnection, sql: str, *args: Any) -> list[Any]:
    """Rows straight from asyncpg (`$1` parameters), inside the connection's transaction:
    for hot reads where SQLAlchemy's per-row result processing would dominate."""
    rows: list[Any] = await (await _asyncpg(conn)).fetch(sql, *args)
    return rows


async def _asyncpg(conn: AsyncConnection) -> Any:
    """The asyncpg connection under SQLAlchemy's, in the same open transaction."""
    raw = await conn.get_raw_connection()
    return raw.driver_connection
