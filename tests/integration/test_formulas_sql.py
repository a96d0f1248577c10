"""The SQL functions of migration 0010 give exactly the floats of services.common.formulas and
services.common.nps, on counts (bigint) and on sums of counts (numeric, as the dashboards pass
them), zero denominators included."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common import formulas
from services.common.nps import Responses

Counts = tuple[int, int, int, int]


def cases() -> list[Counts]:
    rng = random.Random(14)

    def draw(top: int) -> Counts:
        a, b, c, d = (rng.randint(0, top) for _ in range(4))
        return a, b, c, d

    drawn = [draw(top) for top in (3, 40, 5_000, 10**9) for _ in range(50)]
    return [(0, 0, 0, 0), (1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 1), (7, 3, 2, 1), *drawn]


def ci95(r: Responses, bound: int) -> float | None:
    interval = r.ci95()
    return None if interval is None else interval[bound]


FIGURES: dict[str, tuple[str, Callable[[Counts], float | None]]] = {
    "ratio": ("kanava_ratio(a, b)", lambda c: formulas.ratio(c[0], c[1])),
    "service_level": (
        "kanava_service_level(a, b, c + d, d)",
        lambda c: formulas.service_level(c[0], c[1], c[2] + c[3], c[3]),
    ),
    "abandon_rate": (
        "kanava_abandon_rate(b, c + d, d)",
        lambda c: formulas.abandon_rate(c[1], c[2] + c[3], c[3]),
    ),
    "asa_seconds": ("kanava_asa_seconds(a, b)", lambda c: formulas.asa_seconds(c[0], c[1])),
    "aht_seconds": ("kanava_aht_seconds(a, b)", lambda c: formulas.aht_seconds(c[0], c[1])),
    "resolved_rate": ("kanava_resolved_rate(a, b)", lambda c: formulas.resolved_rate(c[0], c[1])),
    "response_rate": (
        "kanava_response_rate(a, b, c)",
        lambda c: formulas.response_rate(c[0], c[1], c[2]),
    ),
    "completion_rate": (
        "kanava_completion_rate(a, b)",
        lambda c: formulas.completion_rate(c[0], c[1]),
    ),
    "thumbs_up_share": (
        "kanava_thumbs_up_share(a, b)",
        lambda c: formulas.thumbs_up_share(c[0], c[1]),
    ),
    "digital_share": (
        "kanava_digital_share(a, a + b)",
        lambda c: formulas.digital_share({"chat": c[0], "phone": c[1]}, {"chat"}),
    ),
    "nps": ("kanava_nps(a, b, c)", lambda c: Responses(c[0], c[1], c[2]).nps),
    "nps_ci95_lower": (
        "kanava_nps_ci95_lower(a, b, c)",
        lambda c: ci95(Responses(c[0], c[1], c[2]), 0),
    ),
    "nps_ci95_upper": (
        "kanava_nps_ci95_upper(a, b, c)",
        lambda c: ci95(Responses(c[0], c[1], c[2]), 1),
    ),
}


@pytest.mark.parametrize("figure", sorted(FIGURES))
@pytest.mark.parametrize("argument", ["bigint", "numeric"])
async def test_sql_function_equals_python(
    conn: AsyncConnection, figure: str, argument: str
) -> None:
    sql, python = FIGURES[figure]
    counts = cases()
    # sum() over bigint is numeric: the dashboards' case
    source = (
        "counts"
        if argument == "bigint"
        else "(SELECT i, sum(a) AS a, sum(b) AS b, sum(c) AS c, sum(d) AS d "
        "FROM counts GROUP BY i) summed"
    )
    rows = await conn.execute(
        text(
            "WITH counts(i, a, b, c, d) AS (SELECT * FROM unnest(CAST(:i AS int[]), "
            "CAST(:a AS bigint[]), CAST(:b AS bigint[]), CAST(:c AS bigint[]), "
            f"CAST(:d AS bigint[]))) SELECT {sql} AS value FROM {source} ORDER BY i"
        ),
        {
            "i": list(range(len(counts))),
            **{name: [c[k] for c in counts] for k, name in enumerate("abcd")},
        },
    )
    assert [r.value for r in rows] == [python(c) for c in counts]


async def test_views_use_the_functions(conn: AsyncConnection) -> None:
    """The views' figures are the functions' (and so Python's) on their own row."""
    definition = await conn.scalar(text("SELECT pg_get_viewdef('chat_queue_day_figures')"))
    assert "kanava_service_level(" in definition
    assert "kanava_asa_seconds(" in definition
    definition = await conn.scalar(text("SELECT pg_get_viewdef('feedback_unit_day_figures')"))
    assert "kanava_nps(" in definition
    assert "kanava_response_rate(" in definition
