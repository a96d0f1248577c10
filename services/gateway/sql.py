"""SQL fragments the query endpoints share."""

from __future__ import annotations


def sums(*columns: str, **renamed: str) -> str:
    """`sum(c)::bigint AS c, ...`, and `sum(expr)::bigint AS name` for name=expr: integer sums
    (PostgreSQL's sum of bigint is numeric, which would come back as Decimal)."""
    pairs = [(c, c) for c in columns] + [(expr, name) for name, expr in renamed.items()]
    return ", ".join(f"sum({expr})::bigint AS {name}" for expr, name in pairs)
