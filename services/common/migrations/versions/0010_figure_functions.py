"""Each reported ratio as one SQL function, the twin of `services.common.formulas` (and of
`services.common.nps` for NPS and its interval); the views and the dashboards call them instead
of writing the formula again. tests/integration/test_formulas_sql.py proves each gives the same
float as the Python definition.

The arguments are float8: counts and sums of counts (bigint or numeric) convert to it exactly
below 2^53, so each function does the same IEEE operations, in the same order, as Python does on
ints. Written in SQL, IMMUTABLE: PostgreSQL inlines them into the query.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

from services.common import grafana_reader

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_FUNCTIONS = {
    "kanava_ratio(part float8, whole float8)": "part / NULLIF(whole, 0)",
    "kanava_service_level(within_sl float8, answered float8, abandoned float8, "
    "short_abandoned float8)": "kanava_ratio(within_sl, answered + abandoned - short_abandoned)",
    "kanava_abandon_rate(answered float8, abandoned float8, short_abandoned float8)": (
        "kanava_ratio(abandoned - short_abandoned, answered + abandoned - short_abandoned)"
    ),
    "kanava_asa_seconds(answered_wait_ms float8, answered float8)": (
        "kanava_ratio(answered_wait_ms / 1000, answered)"
    ),
    "kanava_aht_seconds(handle_ms float8, closed float8)": "kanava_ratio(handle_ms / 1000, closed)",
    "kanava_resolved_rate(resolved_true float8, resolved_known float8)": (
        "kanava_ratio(resolved_true, resolved_known)"
    ),
    "kanava_response_rate(responses float8, surveys_sent float8, delivery_failed float8)": (
        "kanava_ratio(responses, surveys_sent - delivery_failed)"
    ),
    "kanava_completion_rate(completions float8, discontinued float8)": (
        "kanava_ratio(completions, completions + discontinued)"
    ),
    "kanava_thumbs_up_share(thumbs_up float8, thumbs_down float8)": (
        "kanava_ratio(thumbs_up, thumbs_up + thumbs_down)"
    ),
    "kanava_digital_share(digital_contacts float8, contacts float8)": (
        "kanava_ratio(digital_contacts, contacts)"
    ),
    "kanava_nps(promoters float8, passives float8, detractors float8)": (
        "kanava_ratio(100 * (promoters - detractors), promoters + passives + detractors)"
    ),
    # 1.96 times the standard error sqrt(100^2 (p + d - (p - d)^2) / n), p and d the shares
    "kanava_nps_ci95_half(promoters float8, passives float8, detractors float8)": (
        "1.96 * sqrt(10000 * (promoters / n + detractors / n "
        "- (promoters / n - detractors / n) ^ 2) / n) "
        "FROM (SELECT NULLIF(promoters + passives + detractors, 0) AS n) counted"
    ),
    "kanava_nps_ci95_lower(promoters float8, passives float8, detractors float8)": (
        "kanava_nps(promoters, passives, detractors) "
        "- kanava_nps_ci95_half(promoters, passives, detractors)"
    ),
    "kanava_nps_ci95_upper(promoters float8, passives float8, detractors float8)": (
        "kanava_nps(promoters, passives, detractors) "
        "+ kanava_nps_ci95_half(promoters, passives, detractors)"
    ),
}

_CHAT_VIEW = """
CREATE VIEW chat_queue_day_figures AS
SELECT d.queue_id, d.day, d.offered, d.answered, d.abandoned, d.short_abandoned, d.timed_out,
       d.transferred_out, d.answered_within_sl, d.closed, d.resolved_true, d.resolved_known,
       d.bot_handovers,
       kanava_service_level(d.answered_within_sl, d.answered, d.abandoned, d.short_abandoned)
           AS service_level,
       kanava_abandon_rate(d.answered, d.abandoned, d.short_abandoned) AS abandon_rate,
       kanava_asa_seconds(d.answered_wait_ms, d.answered) AS asa_seconds,
       w.wait_p50_seconds, w.wait_p90_seconds,
       kanava_aht_seconds(d.handle_ms, d.closed) AS aht_seconds,
       kanava_resolved_rate(d.resolved_true, d.resolved_known) AS resolved_rate
FROM chat_queue_daily d
LEFT JOIN (
    SELECT queue_id, ended_day AS day,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY wait_ms) / 1000.0 AS wait_p50_seconds,
           percentile_cont(0.9) WITHIN GROUP (ORDER BY wait_ms) / 1000.0 AS wait_p90_seconds
    FROM chat_visits WHERE outcome = 'answered'
    GROUP BY queue_id, ended_day
) w USING (queue_id, day)
"""
_FEEDBACK_VIEW = """
CREATE VIEW feedback_unit_day_figures AS
SELECT day, unit_id, service_area, surveys_sent, delivery_failed,
       promoters + passives + detractors AS responses, promoters, passives, detractors,
       kanava_nps(promoters, passives, detractors) AS nps,
       kanava_response_rate(promoters + passives + detractors, surveys_sent, delivery_failed)
           AS response_rate
FROM feedback_unit_daily
"""
_VIEWS = ("chat_queue_day_figures", "feedback_unit_day_figures")


def upgrade() -> None:
    for signature, body in _FUNCTIONS.items():
        op.execute(
            f"CREATE FUNCTION {signature} RETURNS float8 "
            f"LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURN (SELECT {body})"
        )
    _replace_views(_CHAT_VIEW, _FEEDBACK_VIEW)


def downgrade() -> None:
    chat, feedback = _revision("0002_chat_metrics"), _revision("0003_feedback")
    _replace_views(chat._DAY_FIGURES_VIEW, feedback._UNIT_DAY_FIGURES_VIEW)
    for signature in reversed(_FUNCTIONS):
        op.execute(f"DROP FUNCTION {signature}")


def _revision(name: str) -> ModuleType:
    """An earlier revision's module, for the views as they were (the folder is no package)."""
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _replace_views(chat: str, feedback: str) -> None:
    """The views' column types change (numeric to float8), so they are made anew; Grafana's
    reader keeps its SELECT on them (migration 0008)."""
    for view in _VIEWS:
        op.execute(f"DROP VIEW {view}")
    op.execute(chat)
    op.execute(feedback)
    if grafana_reader.exists(op.get_bind()):
        op.execute(grafana_reader.select_on(_VIEWS))
