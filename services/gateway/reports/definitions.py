"""The targets of the monthly report and the definitions it prints, in one place.

Targets:
- chat service level: at least the queue's `service_level_target` (registry; 80 % by default)
  of the visits that count answered within its `service_level_seconds` (60 s by default). No
  source sets a chat target (docs/calibration.md#targets); 80/T is the usual contact-centre
  convention. A unit or service area is judged by its queues' target when they share one, else
  by the default.
- NPS: the unit's `nps_target` from the registry (75 by default: docs/calibration.md#targets); a
  unit meets it when its NPS (not suppressed) is at least the target. Service areas and the total
  have no NPS target of their own: their units' targets differ.
- digital share: at least 35 % of contacts in the digital channels, the national target
  (docs/calibration.md#digital-share), applied to every unit, service area and the total.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.common.i18n import N_, Translator
from services.common.registry import SERVICE_LEVEL_TARGET, Registry

FORMULA_VERSION = "kanava-report-1 (metric definitions of docs/metrics.md, 2025)"
CHAT_SERVICE_LEVEL_TARGET = SERVICE_LEVEL_TARGET  # a queue's unless the registry gives its own
DIGITAL_SHARE_TARGET = 0.35
DEFAULT_NPS_TARGET = 75.0
MINUS, TIMES, EN_DASH = "\u2212", "\u00d7", "\u2013"
NOT_REGISTERED = N_("Not in the registry")
CHANNEL_NAMES = {
    "in_person": N_("in person"),
    "home_visit": N_("home visit"),
    "phone": N_("phone"),
    "video": N_("video"),
    "chat": N_("chat"),
    "message": N_("message"),
    "e_service": N_("e-service"),
    "pathway": N_("pathway"),
    "other": N_("other"),
}


def channel_name(t: Translator, channel: str) -> str:
    """A channel as the reader's language names it; a channel not of ours as it is."""
    return t(CHANNEL_NAMES.get(channel, channel))


def chat_target(registry: Registry, queues: Sequence[str]) -> float:
    """The queues' service-level target: their own when they share one (a queue's from the
    registry), else the report's."""
    targets = {q.service_level_target for q in registry.queues if q.id in queues}
    return targets.pop() if len(targets) == 1 else CHAT_SERVICE_LEVEL_TARGET


def nps_target(registry: Registry, unit_id: str | None) -> float | None:
    """The unit's NPS target; None for a unit missing from the registry."""
    unit = registry.unit(unit_id) if unit_id is not None else None
    return unit.nps_target if unit else None


def texts(
    min_responses: int, digital_channels: tuple[str, ...], t: Translator
) -> list[tuple[str, str]]:
    """(term, definition) pairs printed in every format of the report."""
    digital = ", ".join(channel_name(t, c) for c in digital_channels) or t("none")
    signs = {"minus": MINUS, "times": TIMES, "dash": EN_DASH}
    return [
        (
            t("Periods"),
            t(
                "Calendar months in local time (Europe/Helsinki). A chat wait belongs to the "
                "month in which the client left the queue, an entry to the month it entered; a "
                "survey to the month it was sent; a contact and a pathway event to their own "
                "local day."
            ),
        ),
        (t("Offered"), t("Entries into a queue (chat.queued and transfers in).")),
        (
            t("Service level"),
            t(
                "Answered within the queue's service-level seconds ÷ (answered + abandoned "
                "{minus} abandoned within the short-abandon seconds). Transfers out count in "
                "neither part.",
                **signs,
            ),
        ),
        (
            t("Service-level target"),
            t(
                "{target} of clients answered within the queue's service-level seconds (the "
                "80/T convention; no source sets a chat target), unless the registry gives the "
                "queue a target of its own. A unit or service area whose queues' targets differ "
                "is judged by {target}.",
                target=t.whole_percent(CHAT_SERVICE_LEVEL_TARGET),
            ),
        ),
        (
            t("Average speed of answer (ASA)"),
            t("The mean wait of answered visits, in seconds."),
        ),
        (
            t("Abandon rate"),
            t(
                "(Abandoned {minus} short abandoned) ÷ (answered + abandoned {minus} short "
                "abandoned).",
                **signs,
            ),
        ),
        (t("Resolved rate"), t("Closed as resolved ÷ closed with the resolution known.")),
        (
            t("Chatbot"),
            t(
                "Containment = conversations the bot resolved ÷ conversations that started with "
                "the bot; shown for the whole county only."
            ),
        ),
        (
            t("NPS"),
            t(
                "100 {times} (promoters 9{dash}10 {minus} detractors 0{dash}6) ÷ responses; "
                "ci95 = NPS ± 1.96 {times} 100 {times} √((p + d {minus} (p {minus} d)²) ÷ n). "
                "Response rate = responses ÷ (sent {minus} delivery failed).",
                **signs,
            ),
        ),
        (
            t("Suppression"),
            t(
                "With fewer than {min_responses} responses in a group and month, NPS and its "
                "interval are not shown (counts still are).",
                min_responses=min_responses,
            ),
        ),
        (
            t("National statements"),
            t(
                "THL's national feedback model asks, beside the NPS question, statements "
                "answered 1 (fully disagree) to 5 (fully agree). Per statement: the answers, "
                "how many gave each value and their mean, not shown with fewer than "
                "{min_responses} answers; by the month the survey was sent.",
                min_responses=min_responses,
            ),
        ),
        (
            t("NPS target"),
            t(
                "Per unit, from the registry (default {target}); met when the month's NPS is at "
                "least the target. Service areas have no NPS target.",
                target=round(DEFAULT_NPS_TARGET),
            ),
        ),
        (
            t("NPS drop signal"),
            t(
                "Per unit, a CUSUM detector over the unit's daily responses against the unit's "
                "own baseline (a test of 7 against 28 days while its history is thin). Shown: "
                "the alarm at month end, since when, and the evenings of the month it was on."
            ),
        ),
        (
            t("Digital share"),
            t(
                "Contacts in the digital channels ({channels}) ÷ all contacts. Target "
                "{target}: the national target for the share of service users aged 20+ "
                "dealing digitally, applied here to contacts. A unit's month without recorded "
                "contacts counts its imported monthly counts (history from before go-live); a "
                "month with recorded contacts counts those only, never both.",
                channels=digital,
                target=t.whole_percent(DIGITAL_SHARE_TARGET),
            ),
        ),
        (
            t("Pathways"),
            t(
                "Starts and completions in the month; active = started and not ended at the end "
                "of the month; completion rate = completions ÷ (completions + discontinued)."
            ),
        ),
        (
            t("Roll-up"),
            t(
                "A unit sums its queues (by the queue's unit in the registry), a service area "
                "sums its units; pathways belong to the service area the registry names. Ids "
                "missing from the registry are counted under '{not_registered}'.",
                not_registered=t(NOT_REGISTERED),
            ),
        ),
    ]
