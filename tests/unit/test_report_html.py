"""The monthly report's HTML page (render_html and its Jinja2 templates), without a database:
what each table shows, what is escaped and what is not."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest

from services.common.i18n import LANGUAGES, translator
from services.gateway.feedback.schemas import NpsFigures
from services.gateway.reports import render_html
from services.gateway.reports.schemas import (
    ChatComparison,
    ChatFigures,
    Definition,
    Definitions,
    Metadata,
    MonthlyReport,
    NpsComparison,
    NpsDrop,
    QueueReport,
    Scope,
    ServiceAreaReport,
    ShareComparison,
    ShareFigures,
    StatementFigures,
    Targets,
    TotalReport,
    TrendPoint,
    UnitReport,
)


def chat(offered: int, service_level: float, met: bool) -> ChatComparison:
    month = ChatFigures(
        offered=offered,
        answered=offered - 10,
        abandoned=10,
        short_abandoned=2,
        transferred_out=0,
        service_level=service_level,
        asa_seconds=41.6,
        abandon_rate=0.05,
        resolved_rate=None,
    )
    return ChatComparison(
        month=month,
        previous_month=month,
        year_before=None,
        service_level_target=0.8,
        service_level_target_met=met,
    )


def nps(
    responses: int, suppressed: bool, target: float | None, drop: NpsDrop | None = None
) -> NpsComparison:
    month = NpsFigures(
        surveys_sent=100,
        delivery_failed=1,
        responses=responses,
        promoters=responses,
        passives=0,
        detractors=0,
        nps=None if suppressed else 100.0,
        ci95_lower=None,
        ci95_upper=None,
        response_rate=responses / 100,
        suppressed=suppressed,
    )
    met = None if suppressed or target is None else True
    return NpsComparison(
        month=month,
        previous_month=None,
        year_before=None,
        target=target,
        target_met=met,
        drop=drop,
    )


def share(channels: dict[str, int]) -> ShareComparison:
    contacts, digital = sum(channels.values()), channels.get("chat", 0)
    figures = ShareFigures(
        contacts=contacts,
        digital_contacts=digital,
        digital_share=digital / contacts,
        by_channel=channels,
    )
    return ShareComparison(
        month=figures, previous_month=figures, year_before=None, target=0.35, target_met=False
    )


def queue(queue_id: str, name: str, seconds: int) -> QueueReport:
    return QueueReport(
        queue_id=queue_id, name=name, service_level_seconds=seconds, chat=chat(50, 0.5, False)
    )


SIGNALLED = NpsDrop(alarm_at_month_end=True, since=date(2025, 9, 28), days_on=31, method="cusum")
ENDED = NpsDrop(alarm_at_month_end=False, since=None, days_on=5, method="cusum")


def unit(
    name: str, queues: list[QueueReport], suppressed: bool = False, drop: NpsDrop | None = None
) -> UnitReport:
    return UnitReport(
        unit_id=name.lower(),
        name=name,
        chat=chat(1200, 0.9, True),
        queues=queues,
        nps=nps(3 if suppressed else 40, suppressed, 70.0, drop),
        digital_share=share({"phone": 6, "chat": 3, "e_service": 1}),
    )


def report(name: str = "Vastaanotto") -> MonthlyReport:
    units = [
        unit("Terveysasema", [queue("q1", "Terveysasemachat", 60)], drop=SIGNALLED),
        unit("Hammashoitola", [queue("q2", "Aikuiset", 60), queue("q3", "Lapset", 90)], True),
    ]
    area = ServiceAreaReport(
        service_area_id="sa1",
        name=name,
        chat=chat(2400, 0.7, False),
        nps=nps(43, False, None),
        digital_share=share({"phone": 12, "chat": 6, "e_service": 2}),
        pathways=[],
        units=units,
    )
    return MonthlyReport(
        month="2025-10",
        previous_month="2025-09",
        year_before="2024-10",
        title=f"Monthly report October 2025, {name}",
        scope=Scope(limited=False, units=None, description="all units"),
        total=TotalReport(
            name="County",
            chat=area.chat,
            chatbot=None,
            nps=area.nps,
            digital_share=area.digital_share,
            pathways=None,
        ),
        service_areas=[area],
        statements=[
            StatementFigures(
                unit_id=None,
                name="County",
                statement="t1",
                responses=12,
                distribution={"1": 0, "2": 1, "3": 2, "4": 3, "5": 6},
                mean=50 / 12,
                suppressed=False,
            ),
            StatementFigures(
                unit_id="u1",
                name="Terveysasema",
                statement="<b>t2</b>",
                responses=3,
                distribution={"1": 1, "2": 0, "3": 0, "4": 0, "5": 2},
                mean=None,
                suppressed=True,
            ),
        ],
        trend=[
            TrendPoint(
                month="2025-10",
                chat_offered=2400,
                chat_service_level=0.7,
                nps=70.0,
                nps_ci95_lower=60.0,
                nps_ci95_upper=80.0,
                nps_responses=43,
                digital_share=0.3,
            )
        ],
        targets=Targets(
            chat_service_level=0.8, digital_share=0.35, nps_by_unit={}, nps_default=75.0
        ),
        definitions=Definitions(
            formula_version="kanava-report-1",
            timezone="Europe/Helsinki",
            service_level_seconds={"q1": 60},
            short_abandon_seconds={},
            digital_channels=["chat", "e_service"],
            min_responses=5,
            terms=[Definition(term="NPS", text="promoters minus detractors, % of responses")],
        ),
        metadata=Metadata(
            generated_at=datetime(2025, 11, 1, 6, 0, tzinfo=UTC), generator="test", language="en"
        ),
    )


Rows = list[tuple[str, str]]  # (class of the row, text of each cell joined by "|")


class Tables(HTMLParser):
    """The page's tables after its <h3> headings: rows of (row class, cell texts)."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, Rows] = {}
        self.heading = ""
        self.in_heading = False
        self.row_class = ""
        self.cells: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("h2", "h3"):
            self.heading, self.in_heading = "", True
        elif tag == "tr":
            self.row_class, self.cells = dict(attrs).get("class") or "", []
        elif tag in ("td", "th"):
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h2", "h3"):
            self.in_heading = False
        elif tag == "tr":
            cells = "|".join(re.sub(r"[ \t\r\n]+", " ", c).strip() for c in self.cells)
            self.tables.setdefault(self.heading, []).append((self.row_class, cells))

    def handle_data(self, data: str) -> None:
        if self.in_heading:
            self.heading += data
        elif self.cells:
            self.cells[-1] += data


def test_the_chat_table_has_a_row_group_per_unit_and_queue() -> None:
    rows = Tables(render_html.render(report())).tables["Chat"]
    assert rows[0] == (
        "",
        "Unit, queue|Month|Offered|Answered|Service level|ASA|Abandon rate|Resolved|Target",
    )
    assert [(css, cells.split("|")[0]) for css, cells in rows[1:]] == [
        ("level-area", "Vastaanotto, all queues"),  # two units with chat: the area first
        ("level-area earlier", ""),
        ("level-area earlier", ""),
        ("level-unit", "TerveysasemaTerveysasemachat (60 s)"),  # one queue: one row, both names
        ("level-unit earlier", ""),
        ("level-unit earlier", ""),
        ("level-unit", "Hammashoitola"),
        ("level-unit earlier", ""),
        ("level-unit earlier", ""),
        ("level-queue", "Aikuiset (60 s)"),
        ("level-queue earlier", ""),
        ("level-queue earlier", ""),
        ("level-queue", "Lapset (90 s)"),
        ("level-queue earlier", ""),
        ("level-queue earlier", ""),
    ]
    assert rows[4][1].split("|")[1:] == [
        "Oct 2025",
        "1,200",
        "1,190",
        "90.0%",
        "42 s",
        "5.0%",
        "\u2013",
        "≥ 80% met",
    ]
    assert rows[6][1].split("|")[1:] == ["Oct 2024", *["\u2013"] * 6, ""]  # no data, no target


def test_nps_and_digital_share_tables() -> None:
    tables = Tables(render_html.render(report())).tables
    nps = [cells for _, cells in tables["Customer feedback (NPS)"]]
    assert nps[1].startswith("Vastaanotto, all units|Oct 2025|100.0|\u2013|43|")
    assert nps[1].endswith("|")  # the area has no target of its own
    assert nps[4].startswith("TerveysasemaDrop signalled since Sep 28, 2025.|Oct 2025|100.0|")
    assert nps[4].endswith("|≥ 70 met")
    assert nps[7].startswith("Hammashoitola|Oct 2025|suppressed|\u2013|3|100|3.0%")
    share = [cells for _, cells in tables["Digital share of contacts"]]
    assert share[1].split("|")[-2:] == ["phone 60% · chat 30% · e-service 10%", "≥ 35% not met"]
    assert share[2].split("|")[-2:] == ["", ""]  # channels and target: the month's row only
    assert "Digital care pathways" not in tables


def test_the_summary() -> None:
    rows = Tables(render_html.render(report())).tables["Summary, October 2025"]
    assert rows[0] == ("", "County|Oct 2025|Sep 2025|Oct 2024|Target|")
    assert rows[2] == ("", "Chat service level|70.0%|70.0%|\u2013|≥ 80%|not met")
    assert rows[6] == ("", "NPS|100.0|\u2013|\u2013|per unit|")


def test_values_are_escaped_and_only_the_charts_are_markup() -> None:
    page = render_html.render(report(name='Äitiys & <script>alert("x")</script>'))
    assert "<script" not in page
    assert "Äitiys &amp; &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;, all queues" in page
    assert page.count("<svg") == page.count("</svg>") == 5
    assert '<span class="muted">suppressed</span>' in page
    assert page.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("drop", "note"),
    [
        (SIGNALLED, "Drop signalled since Sep 28, 2025."),
        (ENDED, "Drop signalled on 5 days"),
        (ENDED.model_copy(update={"days_on": 1}), "Drop signalled on 1 day"),
        (NpsDrop(alarm_at_month_end=False, since=None, days_on=0, method="none"), ""),
        (None, ""),
    ],
)
def test_the_drop_note_under_a_units_name(drop: NpsDrop | None, note: str) -> None:
    assert render_html.drop_note(translator("en"), drop) == note


def test_a_report_without_data() -> None:
    empty = report().model_copy(
        update={
            "service_areas": [],
            "total": TotalReport(
                name="County", chat=None, chatbot=None, nps=None, digital_share=None, pathways=None
            ),
        }
    )
    page = render_html.render(empty)
    assert "No data for this month, the month before or a year before." in page
    assert "No service area has data for these months." in page
    assert '<table class="summary">' not in page


def test_the_statements_table() -> None:
    tables = Tables(render_html.render(report()))
    rows = tables.tables["National feedback model: statements, October 2025"]
    assert rows == [
        ("", "Units|Statement|Answers|Mean|1|2|3|4|5"),
        ("total", "County|t1|12|4.17|0|1|2|3|6"),  # (2 + 6 + 12 + 30) / 12
        ("", "Terveysasema|<b>t2</b>|3|n < 5|1|0|0|0|2"),  # as text, not markup
    ]


def test_every_template_compiles() -> None:
    folder = Path(render_html.__file__).parent / "templates"
    names = sorted(p.name for p in folder.iterdir())
    assert "report.html.j2" in names
    for language in LANGUAGES:
        for name in names:
            render_html.templates(language).get_template(name)
