# ruff: noqa: RUF001  (the formulas are docs/metrics.md's, with its minus and multiplication signs)
"""The Grafana dashboards of dashboards/, checked as files: valid JSON with their fixed uids and
titles, only the two provisioned datasources, a formula in every KPI panel's description, every
template variable used and none undefined, window gauges aggregated with max and live gauges
with sum (docs/metrics.md), and the monthly report's panels those of the gateway's snapshot.

The helpers here (loading, walking panels and targets) are shared with
tests/integration/test_dashboards.py, which runs every query on live data."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest
import yaml

from services.gateway.reports.grafana import DASHBOARD_UID, snapshot_dashboard
from services.gateway.reports.schemas import MonthlyReport
from tests.support.infra import project_root

DASHBOARD_DIR = project_root() / "dashboards"
DATASOURCES = yaml.safe_load(
    (project_root() / "infra/grafana/provisioning/datasources/kanava.yml").read_text()
)["datasources"]
DATASOURCE_TYPES = {ds["uid"]: ds["type"] for ds in DATASOURCES}
PROMETHEUS, POSTGRES = "kanava-prometheus", "kanava-postgres"

# file → (uid, title): the uids are fixed, links and the gateway's snapshot rely on them
DASHBOARDS = {
    "live-chat-queues.json": ("kanava-live-chat", "Live chat queues"),
    "customer-feedback.json": ("kanava-feedback", "Customer feedback (NPS)"),
    "digital-care-pathways.json": ("kanava-pathways", "Digital care pathways"),
    "digital-contact-share.json": ("kanava-digital-share", "Digital-contact share"),
    "monthly-report.json": (DASHBOARD_UID, "Monthly report"),
    "service-health.json": ("kanava-service-health", "Kanava service health"),
}

# A KPI of docs/metrics.md named in a panel's title → the formula its description must give.
FORMULAS = {
    r"(?i)service level": "answered with wait ≤ T ÷ (answered + abandoned − short_abandoned)",
    r"(?i)abandon rate": "(abandoned − short_abandoned) ÷ (answered + abandoned − short_abandoned)",
    r"\bNPS\b": "nps = 100 × (promoters − detractors) ÷ responses",
    r"ci95": "1.96 × 100 × √((p + d − (p − d)²) ÷ n)",
    r"(?i)response rate": "response_rate = responses ÷ (sent − delivery_failed)",
    r"(?i)digital share|contacts by channel": "contacts in digital channels ÷ all contacts",
    r"(?i)completion rate": "completions ÷ (completions + discontinued)",
    r"(?i)occupancy": "occupancy = active ÷ capacity_slots",
    r"(?i)bot containment": "bot_containment = bot_resolved ÷ chats started with entry=bot",
    r"(?i)bot handover": "queued with via_bot ÷ chats started with entry=bot",
    r"(?i)z-score": "z = (nps₇ − nps₂₈) ÷ √(var₇ + var₂₈)",
    r"(?i)mean answer": "mean = Σ v · answers[v] ÷ n",
}

# docs/metrics.md: gauges recomputed from PostgreSQL (the same on every instance) and configuration
# gauges are aggregated with max; live gauges of owned partitions with sum, the oldest wait
# with max.
MAX_GAUGES = (
    "kanava_chat_service_level_ratio",
    "kanava_chat_oldest_wait_seconds",
    "kanava_chat_queue_open",
    "kanava_chat_queue_service_level_seconds",
    "kanava_chat_queue_service_level_target_ratio",
    "kanava_nps",
    "kanava_nps_ci95_lower",
    "kanava_nps_ci95_upper",
    "kanava_nps_responses",
    "kanava_nps_drop_zscore",
    "kanava_nps_drop_alarm",
    "kanava_nps_drop_statistic",
    "kanava_nps_target",
    "kanava_feedback_response_ratio",
    "kanava_digital_contact_share",
    "kanava_contacts_in_window",
    "kanava_digital_contacts_in_window",
    "kanava_digital_channel",
    "kanava_chat_queue_info",
    "kanava_unit_info",
    "kanava_pathway_info",
)
SUM_GAUGES = (
    "kanava_chat_waiting",
    "kanava_chat_active",
    "kanava_chat_agents_available",
    "kanava_chat_capacity_slots",
    "kanava_pathway_active",
)
# Grafana's own variables and macros the queries may use.
BUILTINS = {
    "__rate_interval",
    "__interval",
    "__range",
    "__timeFilter",
    "__timeFrom",
    "__timeTo",
}
VARIABLE = re.compile(r"\$\{?(\w+)")


def load(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DASHBOARD_DIR / name).read_text(encoding="utf-8"))
    return loaded


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel that shows data (rows left out, panels inside collapsed rows included)."""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            yield from panel.get("panels", [])
        else:
            yield panel


def targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of every panel."""
    for panel in panels(dashboard):
        for target in panel["targets"]:
            yield panel, target


def query_of(target: dict[str, Any]) -> str:
    """The PromQL or SQL text of a target."""
    text: str = target["expr"] if target["datasource"]["uid"] == PROMETHEUS else target["rawSql"]
    return text


def variables(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = dashboard["templating"]["list"]
    return found


def variable_query(variable: dict[str, Any]) -> str:
    query = variable["query"]
    return str(query["query"] if isinstance(query, dict) else query)


def datasource_refs(node: Any) -> Iterator[dict[str, Any]]:
    """Every `datasource` object anywhere in a dashboard."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource":
                yield value
            yield from datasource_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from datasource_refs(item)


def test_the_dashboards_are_there_with_their_fixed_uids_and_titles() -> None:
    assert {p.name for p in DASHBOARD_DIR.glob("*.json")} == set(DASHBOARDS)
    for name, (uid, title) in DASHBOARDS.items():
        dashboard = load(name)
        assert (dashboard["uid"], dashboard["title"]) == (uid, title), name
        assert dashboard["schemaVersion"] == 39, name
        assert dashboard["timezone"] == "Europe/Helsinki", name
        assert "id" not in dashboard, f"{name}: provisioned dashboards carry no database id"
        nested = [p for row in dashboard["panels"] for p in row.get("panels", [])]
        ids = [p["id"] for p in [*dashboard["panels"], *nested]]
        assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"


@pytest.mark.parametrize("name", DASHBOARDS)
def test_only_the_two_provisioned_datasources_are_used(name: str) -> None:
    assert set(DATASOURCE_TYPES) == {PROMETHEUS, POSTGRES}
    dashboard = load(name)
    refs = list(datasource_refs(dashboard))
    assert refs, name
    for ref in refs:
        assert ref["uid"] in DATASOURCE_TYPES, (name, ref)
        assert ref["type"] == DATASOURCE_TYPES[ref["uid"]], (name, ref)
    for panel in panels(dashboard):
        assert panel["targets"], (name, panel["title"])
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], (name, panel["title"])
            assert query_of(target).strip(), (name, panel["title"])
            if target["datasource"]["uid"] == POSTGRES:
                assert target["format"] in ("table", "time_series"), (name, panel["title"])
                if target["format"] == "time_series":
                    assert 'AS "time"' in target["rawSql"], (name, panel["title"])


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_panel_says_what_it_shows_and_kpis_give_their_formula(name: str) -> None:
    for panel in panels(load(name)):
        description = panel.get("description", "")
        assert len(description) > 40, (name, panel["title"])
        for pattern, formula in FORMULAS.items():
            if re.search(pattern, panel["title"]):
                assert formula in description, (name, panel["title"], formula)


@pytest.mark.parametrize("name", DASHBOARDS)
def test_every_template_variable_is_used_and_none_is_undefined(name: str) -> None:
    dashboard = load(name)
    defined = [v["name"] for v in variables(dashboard)]
    texts = [query_of(t) for _, t in targets(dashboard)]
    texts += [p["title"] for p in panels(dashboard)] + [
        p.get("description", "") for p in panels(dashboard)
    ]
    texts += [variable_query(v) for v in variables(dashboard)]
    used = {match for text in texts for match in VARIABLE.findall(text)}
    assert set(defined) <= used, f"{name}: unused variables {set(defined) - used}"
    assert used <= set(defined) | BUILTINS, f"{name}: undefined {used - set(defined) - BUILTINS}"
    # a variable may only use the variables defined before it (Grafana resolves them in order)
    for n, variable in enumerate(variables(dashboard)):
        assert set(VARIABLE.findall(variable_query(variable))) <= set(defined[:n]), variable["name"]


@pytest.mark.parametrize("name", DASHBOARDS)
def test_gauges_are_aggregated_as_spec_6_says(name: str) -> None:
    dashboard = load(name)
    for panel, target in targets(dashboard):
        if target["datasource"]["uid"] != PROMETHEUS:
            continue
        expr = target["expr"]
        for metric, aggregation in [(m, "max") for m in MAX_GAUGES] + [
            (m, "sum") for m in SUM_GAUGES
        ]:
            for found in re.finditer(rf"\b{metric}\b(?![\w:])", expr):
                before = expr[: found.start()]
                assert re.search(rf"\b{aggregation}( by \([\w, ]+\) ?)?\($", before), (
                    f"{name}, {panel['title']}: {metric} must be inside {aggregation} by (...): "
                    f"{expr}"
                )


def test_the_monthly_report_has_the_panels_of_the_gateway_snapshot() -> None:
    """The snapshot (services/gateway/reports/grafana.py) replaces this dashboard's panels by
    its own with the same ids, types and titles; `$month` is the report's month."""
    month = "2025-10"
    point = SimpleNamespace(
        month=month,
        chat_service_level=0.8,
        digital_share=0.4,
        nps=70.0,
        nps_ci95_lower=60.0,
        nps_ci95_upper=80.0,
    )
    report = SimpleNamespace(
        month=month,
        title=f"Kuukausiraportti {month}",
        trend=[point],
        service_areas=[],
        total=SimpleNamespace(digital_share=None),
        definitions=SimpleNamespace(timezone="Europe/Helsinki"),
        metadata=SimpleNamespace(language="en"),  # the provisioned dashboard's
    )
    snapshot = snapshot_dashboard(cast(MonthlyReport, report))
    provisioned = load("monthly-report.json")
    assert snapshot["uid"] == provisioned["uid"]
    assert [(p["id"], p["type"], p["title"]) for p in snapshot["panels"]] == [
        (p["id"], p["type"], p["title"].replace("$month", month)) for p in panels(provisioned)
    ]
    assert [p["gridPos"] for p in snapshot["panels"]] == [p["gridPos"] for p in panels(provisioned)]


def test_grafana_provisions_this_folder() -> None:
    provider = yaml.safe_load(
        (project_root() / "infra/grafana/provisioning/dashboards/kanava.yml").read_text()
    )["providers"][0]
    compose = (project_root() / "docker-compose.yml").read_text()
    assert f"./dashboards:{provider['options']['path']}:ro" in compose
    assert Path(provider["options"]["path"]).is_absolute()
