"""The targets of the monthly report and the definitions it prints, in one place.

Targets:
- chat service level: at least 80 % of the visits that count answered within the queue's own
  `service_level_seconds` (registry; 60 s by default). No source sets a chat target
  (docs/calibration.md#targets); 80/T is the usual contact-centre convention, applied to every
  queue, unit and service area.
- NPS: the unit's `nps_target` from the registry (75 by default: docs/calibration.md#targets); a
  unit meets it when its NPS (not suppressed) is at least the target. Service areas and the total
  have no NPS target of their own: their units' targets differ.
- digital share: at least 35 % of contacts in the digital channels, the national target
  (docs/calibration.md#digital-share), applied to every unit, service area and the total.
"""

from __future__ import annotations

from services.common.chat_forecast import SERVICE_LEVEL_TARGET
from services.common.registry import Registry

FORMULA_VERSION = "kanava-report-1 (metric definitions of docs/metrics.md, 2025)"
CHAT_SERVICE_LEVEL_TARGET = SERVICE_LEVEL_TARGET  # the staffing advice aims at it too
DIGITAL_SHARE_TARGET = 0.35
DEFAULT_NPS_TARGET = 75.0
MINUS, TIMES, EN_DASH = "\u2212", "\u00d7", "\u2013"


def nps_target(registry: Registry, unit_id: str | None) -> float | None:
    """The unit's NPS target; None for a unit missing from the registry."""
    unit = registry.unit(unit_id) if unit_id is not None else None
    return unit.nps_target if unit else None


def texts(min_responses: int, digital_channels: tuple[str, ...]) -> list[tuple[str, str]]:
    """(term, definition) pairs printed in every format of the report."""
    digital = ", ".join(digital_channels) or "none"
    return [
        (
            "Periods",
            "Calendar months in local time (Europe/Helsinki). A chat wait belongs to the "
            "month in which the client left the queue, an entry to the month it entered; a "
            "survey to the month it was sent; a contact and a pathway event to their own "
            "local day.",
        ),
        ("Offered", "Entries into a queue (chat.queued and transfers in)."),
        (
            "Service level",
            f"Answered within the queue's service-level seconds ÷ (answered + abandoned {MINUS} "
            "abandoned within the short-abandon seconds). Transfers out count in neither part.",
        ),
        (
            "Service-level target",
            f"{CHAT_SERVICE_LEVEL_TARGET * 100:.0f} % of clients answered within the queue's "
            "service-level seconds (the 80/T convention; no source sets a chat target), for "
            "every queue, unit and service area.",
        ),
        ("ASA", "Average speed of answer: the mean wait of answered visits, in seconds."),
        (
            "Abandon rate",
            f"(Abandoned {MINUS} short abandoned) ÷ "
            f"(answered + abandoned {MINUS} short abandoned).",
        ),
        ("Resolved rate", "Closed as resolved ÷ closed with the resolution known."),
        (
            "Chatbot",
            "Containment = conversations the bot resolved ÷ conversations that started with "
            "the bot; shown for the whole county only.",
        ),
        (
            "NPS",
            f"100 {TIMES} (promoters 9{EN_DASH}10 {MINUS} detractors 0{EN_DASH}6) ÷ responses; "
            f"ci95 = NPS ± 1.96 {TIMES} 100 {TIMES} √((p + d {MINUS} (p {MINUS} d)²) ÷ n). "
            f"Response rate = responses ÷ (sent {MINUS} delivery failed).",
        ),
        (
            "Suppression",
            f"With fewer than {min_responses} responses in a group and month, NPS and its "
            "interval are not shown (counts still are).",
        ),
        (
            "National statements",
            "THL's national feedback model asks, beside the NPS question, statements answered "
            f"1 (fully disagree) to 5 (fully agree). Per statement: the answers, how many gave "
            f"each value and their mean, not shown with fewer than {min_responses} answers; by "
            "the month the survey was sent.",
        ),
        (
            "NPS target",
            f"Per unit, from the registry (default {DEFAULT_NPS_TARGET:.0f}); met when the "
            "month's NPS is at least the target. Service areas have no NPS target.",
        ),
        (
            "NPS drop signal",
            "Per unit, the detector of docs/nps-drop.md over the unit's daily responses: a "
            "CUSUM against the unit's own baseline (a test of 7 against 28 days while its "
            "history is thin). Shown: the alarm at month end, since when, and the evenings of "
            "the month it was on.",
        ),
        (
            "Digital share",
            f"Contacts in the digital channels ({digital}) ÷ all contacts. Target "
            f"{DIGITAL_SHARE_TARGET * 100:.0f} %: the national target for the share of service "
            "users aged 20+ dealing digitally, applied here to contacts. A unit's month without "
            "recorded contacts counts its imported monthly counts (history from before "
            "go-live); a month with recorded contacts counts those only, never both.",
        ),
        (
            "Pathways",
            "Starts and completions in the month; active = started and not ended at the end "
            "of the month; completion rate = completions ÷ (completions + discontinued).",
        ),
        (
            "Roll-up",
            "A unit sums its queues (by the queue's unit in the registry), a service area sums "
            "its units; pathways belong to the service area the registry names. Ids missing "
            "from the registry are counted under 'Not in the registry'.",
        ),
    ]
