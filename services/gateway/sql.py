"""What the areas' queries share: integer sums in SQL and the typed rows they come back as."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from functools import reduce
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.gateway.periods import Selection

UNIT_FILTER = " AND unit_id = ANY(CAST(:units AS text[]))"


def unit_filter(units: list[str] | None) -> str:
    """The condition keeping the rows of `units` (bound as :units); none for every unit."""
    return "" if units is None else UNIT_FILTER


async def per_period(
    conn: AsyncConnection,
    sel: Selection,
    table: str,
    select: str,
    key: str | None,
    where: str = "",
    params: Mapping[str, object] | None = None,
    then_by: str | None = None,
) -> Sequence[Row[Any]]:
    """`select` over the table's days in the selection's range, per period and per `key`
    column (and per `then_by` column), in that order: columns period, key, [then_by,] select."""
    columns, group = sel.grouping("day", key)
    if then_by:
        columns, group = f"{columns}, {then_by}", f"{group}, {then_by}"
    query = (
        f"SELECT {columns}, {select} FROM {table} WHERE day BETWEEN :first AND :last{where} "
        f"GROUP BY {group} ORDER BY {group}"
    )
    rows = await conn.execute(text(query), {"first": sel.first, "last": sel.last, **(params or {})})
    return rows.all()


def sums(*columns: str, **renamed: str) -> str:
    """`sum(c)::bigint AS c, ...`, and `sum(expr)::bigint AS name` for name=expr: integer sums
    (PostgreSQL's sum of bigint is numeric, which would come back as Decimal)."""
    pairs = [(c, c) for c in columns] + [(expr, name) for name, expr in renamed.items()]
    return ", ".join(f"sum({expr})::bigint AS {name}" for expr, name in pairs)


@dataclass(frozen=True, slots=True)
class Counts:
    """Counts of a table, each field a column: summed over days by a query and over queues,
    units or pathways by `+` (a unit sums its queues, a service area its units)."""

    @classmethod
    def summed(cls) -> str:
        """The select list summing every column."""
        return sums(*(f.name for f in fields(cls)))

    @classmethod
    def of(cls, row: Row[Any]) -> Self:
        return cls(**{f.name: row._mapping[f.name] for f in fields(cls)})

    def __add__(self, other: Self) -> Self:
        return replace(
            self, **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )


C = TypeVar("C", bound=Counts)


def total(counts: Iterable[C]) -> C:
    """The sum of one or more counts."""
    return reduce(lambda a, b: a + b, counts)


@dataclass(frozen=True, slots=True)
class Sums(Generic[C]):
    """A row of a statistics query: the counts of a period, and of one queue, unit or pathway
    (`key`) when the rows are per key."""

    period: str
    key: str | None
    counts: C
