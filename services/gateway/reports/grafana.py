"""The monthly report as a Grafana snapshot: the "Monthly report" dashboard with the month's
figures embedded in every panel (`snapshotData`), because Grafana stores no data of its own
for a snapshot. Posted with grafana-client to KANAVA_GRAFANA_URL (POST /api/snapshots)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaException

from services.common.i18n import translator
from services.common.months import Month
from services.gateway.reports.schemas import MonthlyReport, NpsComparison

DASHBOARD_UID = "kanava-monthly-report"  # the provisioned dashboard the snapshot belongs to
Frame = dict[str, Any]
PANEL_HEIGHT = 12


class GrafanaUnavailable(RuntimeError):
    pass


def snapshot_dashboard(report: MonthlyReport) -> dict[str, Any]:
    """The dashboard model, each panel carrying its data frames."""
    t = translator(report.metadata.language)
    month = report.month  # YYYY-MM, as the provisioned dashboard's $month
    contents = [
        (
            t("Chat service level by month"),
            "timeseries",
            _trend(report, "chat_service_level"),
            "percentunit",
        ),
        (t("NPS by month (ci95)"), "timeseries", _nps_trend(report), "none"),
        (
            t("Digital share by month"),
            "timeseries",
            _trend(report, "digital_share"),
            "percentunit",
        ),
        (t("NPS by unit, {month}", month=month), "table", _nps_by_unit(report), "none"),
        (
            t("Contacts by channel, {month}", month=month),
            "barchart",
            _channels(report),
            "none",
        ),
    ]
    panels = [_panel(n, *content) for n, content in enumerate(contents, start=1)]
    return {
        "uid": DASHBOARD_UID,
        "title": f"{report.title}",
        "tags": ["kanava", "monthly-report"],
        "timezone": report.definitions.timezone,
        "editable": False,
        "schemaVersion": 39,
        "time": {"from": f"{report.trend[0].month}-01T00:00:00Z", "to": _month_end(report.month)},
        "panels": panels,
    }


def post_snapshot(url: str, token: str, report: MonthlyReport, expires: int) -> dict[str, Any]:
    """Create the snapshot; Grafana's answer (url, key, deleteKey, deleteUrl)."""
    api = GrafanaApi.from_url(url=url, credential=token, timeout=10.0)
    try:
        answer: dict[str, Any] = api.snapshots.create_new_snapshot(
            dashboard=snapshot_dashboard(report),
            name=f"{report.title} ({report.scope.description})",
            expires=expires,
            external=False,
        )
    except GrafanaException as exc:
        raise GrafanaUnavailable(f"Grafana answered {exc.status_code}: {exc.message}") from None
    except Exception as exc:  # connection refused, timeouts, TLS: all mean "not now"
        raise GrafanaUnavailable(f"cannot reach Grafana at {url}: {type(exc).__name__}") from None
    return answer


def _panel(panel_id: int, title: str, kind: str, frames: list[Frame], unit: str) -> dict[str, Any]:
    """A full-width panel, the panels one under another in the order of their ids."""
    return {
        "id": panel_id,
        "type": kind,
        "title": title,
        "gridPos": {"x": 0, "y": (panel_id - 1) * PANEL_HEIGHT, "w": 24, "h": PANEL_HEIGHT},
        "datasource": {"type": "datasource", "uid": "grafana"},
        "targets": [{"refId": "A", "datasource": {"type": "datasource", "uid": "grafana"}}],
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "snapshotData": frames,
    }


def _field(name: str, kind: str, values: list[Any]) -> dict[str, Any]:
    return {"name": name, "type": kind, "config": {}, "values": values}


def _frame(name: str, *fields: dict[str, Any]) -> Frame:
    return {"name": name, "refId": "A", "fields": list(fields)}


def _times(report: MonthlyReport) -> list[int]:
    """Epoch milliseconds of the first of each trend month (UTC midnight)."""
    return [
        int(datetime.strptime(p.month, "%Y-%m").replace(tzinfo=UTC).timestamp() * 1000)
        for p in report.trend
    ]


def _trend(report: MonthlyReport, figure: str) -> list[Frame]:
    values = [getattr(p, figure) for p in report.trend]
    return [
        _frame(figure, _field("Time", "time", _times(report)), _field(figure, "number", values))
    ]


def _nps_trend(report: MonthlyReport) -> list[Frame]:
    fields = [_field("Time", "time", _times(report))]
    for figure in ("nps", "nps_ci95_lower", "nps_ci95_upper"):
        fields.append(_field(figure, "number", [getattr(p, figure) for p in report.trend]))
    return [_frame("nps", *fields)]


def _nps_by_unit(report: MonthlyReport) -> list[Frame]:
    rows: list[tuple[str, NpsComparison]] = [
        (unit.name, unit.nps)
        for area in report.service_areas
        for unit in area.units
        if unit.nps is not None and unit.nps.month is not None
    ]
    columns: dict[str, list[Any]] = {"unit": [], "nps": [], "ci95_lower": [], "ci95_upper": []}
    columns |= {"responses": [], "target": []}
    for name, nps in rows:
        month = nps.month
        assert month is not None
        for key, value in (
            ("unit", name),
            ("nps", month.nps),
            ("ci95_lower", month.ci95_lower),
            ("ci95_upper", month.ci95_upper),
            ("responses", month.responses),
            ("target", nps.target),
        ):
            columns[key].append(value)
    kinds = {"unit": "string"}
    return [
        _frame("nps_by_unit", *(_field(k, kinds.get(k, "number"), v) for k, v in columns.items()))
    ]


def _channels(report: MonthlyReport) -> list[Frame]:
    share = report.total.digital_share
    by_channel = share.month.by_channel if share and share.month else {}
    channels = sorted(by_channel)
    return [
        _frame(
            "contacts_by_channel",
            _field("channel", "string", channels),
            _field("contacts", "number", [by_channel[c] for c in channels]),
        )
    ]


def _month_end(month: str) -> str:
    return f"{Month.parse(month).shift(1).first}T00:00:00Z"
