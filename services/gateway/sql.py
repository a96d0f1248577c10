"""What the areas' queries share: integer sums in SQL and the typed rows they come back as."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from functools import reduce
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import Row


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
