"""The monthly report's SVG charts and its small formats, without a database."""

from __future__ import annotations

from datetime import date
from xml.etree import ElementTree

import pytest

from services.common.i18n import translator
from services.common.months import Month
from services.gateway.reports import charts
from services.gateway.reports.render_csv import cell

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: str) -> ElementTree.Element:
    return ElementTree.fromstring(svg)  # well-formed XML, or this raises


@pytest.mark.parametrize(
    ("low", "high", "ticks"),
    [
        (0.0, 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]),
        (0.0, 100.0, [0.0, 25.0, 50.0, 75.0, 100.0]),
        (61.3, 89.8, [60.0, 70.0, 80.0, 90.0]),
        (-12.0, 30.0, [-20.0, 0.0, 20.0, 40.0]),
        (5.0, 5.0, [5.0, 5.25, 5.5, 5.75, 6.0]),
    ],
)
def test_nice_ticks(low: float, high: float, ticks: list[float]) -> None:
    assert charts.nice_ticks(low, high) == ticks


def test_a_line_breaks_where_a_month_has_no_value() -> None:
    points = [
        charts.Point(label, value)
        for label, value in zip("abcdef", [0.5, 0.6, None, 0.7, 0.8, 0.9], strict=True)
    ]
    root = parsed(charts.line_chart("Service level", points, charts.percent, 0.0, 1.0, 0.8))
    lines = root.findall(f"{SVG}polyline")
    assert [len(line.get("points", "").split()) for line in lines] == [2, 3]
    assert len(root.findall(f"{SVG}circle")) == 5
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "target 80 %" in texts
    assert "90 %" in texts  # the last value, labelled
    assert texts[0] == "Service level"


def test_whiskers_and_an_empty_chart() -> None:
    with_interval = charts.line_chart(
        "NPS", [charts.Point("10/25", 50.0, 40.0, 60.0)], charts.number
    )
    assert len(parsed(with_interval).findall(f"{SVG}path")) == 1
    empty = parsed(charts.line_chart("NPS", [charts.Point("10/25", None)], charts.number))
    assert "no data" in [t.text for t in empty.iter(f"{SVG}text")]


def test_names_are_escaped_and_long_ones_shortened() -> None:
    rows = [
        charts.Interval("Lasten & nuorten <poliklinikka>", 70.0, 60.0, 80.0, 75.0, "70.0, n = 40"),
        charts.Interval("x" * 60, None, None, None, 75.0, "suppressed, n = 3"),
    ]
    root = parsed(charts.interval_chart("NPS by unit", rows))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "Lasten & nuorten <poliklinikka>" in texts
    assert "x" * 43 + "\u2026" in texts
    assert "suppressed, n = 3" in texts
    dots = [c.get("fill") for c in root.findall(f"{SVG}circle")]
    assert dots[-1] == charts.BAD  # 70 < 75; the legend's dots come first


def test_bars_are_coloured_by_kind() -> None:
    bars = [
        charts.Bar("phone", 0.6, "60.0 % (6)", False),
        charts.Bar("chat", 0.4, "40.0 % (4)", True),
    ]
    root = parsed(charts.bar_chart("Contacts by channel", bars, "digital channels"))
    fills = [r.get("fill") for r in root.findall(f"{SVG}rect")][2:]  # after the legend
    assert fills == [charts.GREY, charts.BLUE]


def test_months() -> None:
    october = Month.parse("2025-10")
    assert (october.first, october.last, translator("en").month(october.label)) == (
        date(2025, 10, 1),
        date(2025, 10, 31),
        "October 2025",
    )
    assert october.shift(-1).label == "2025-09"
    assert october.shift(-12).label == "2024-10"
    assert october.shift(3).label == "2026-01"
    assert Month.parse("2024-02").last == date(2024, 2, 29)
    for bad in ("2025-13", "2025-00", "abc", "2025-1", "0999-01", " 2025-10"):
        with pytest.raises(ValueError, match="is not a month"):
            Month.parse(bad)


def test_csv_cells() -> None:
    assert [cell(v) for v in (None, True, False, 3, 0.1, 2 / 3, "u1")] == [
        "",
        "true",
        "false",
        "3",
        "0.1",
        "0.6666666666666666",
        "u1",
    ]
