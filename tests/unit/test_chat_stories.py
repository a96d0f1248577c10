"""Deriving contact stories and per-day figures, with values worked out by hand.

Scenario (queue q1 and q2, service level 60 s, short abandon 10 s, Monday 3 Nov 2025):
  c1 queued 10:00:05, answered 10:00:50 (wait 45 s, within 60), closed 10:10:50 resolved
  c2 queued 10:01:00, abandoned 10:01:08 (wait 8 s: short)
  c3 queued 10:02:00, abandoned 10:04:00 (wait 120 s)
  c4 bot 10:03, handed over to q1 10:05:00, answered 10:06:30 (wait 90 s), closed 10:16:30
     not resolved
  c5 bot 10:04, resolved by the bot 10:06
  c6 queued q1 10:07:00, transferred to q2 10:07:30, answered 10:08:00 (wait 30 s in q2),
     closed 10:20:00 resolved unknown
q1: offered 5 (c1 c2 c3 c4 c6), answered 2, abandoned 2 (1 short), transferred out 1,
    within 60 s 1 (c1), wait sum 45+90 = 135 s, closed 2, handle 600+600 s, resolved 1 of 2
    known, bot handovers 1 -> service level 1/(2+2-1) = 1/3, ASA 67.5 s.
q2: offered 1, answered 1 within, wait 30 s, closed 1 handle 720 s, resolved unknown.
Bot: sessions 2 (c4, c5), resolved 1.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

from services.chat_metrics.figures import bot_figures, queue_figures
from services.chat_metrics.service import to_fact
from services.chat_metrics.stories import Story, derive
from tests.support.chat_events import (
    HELSINKI,
    SCENARIO_BOT,
    SCENARIO_Q1,
    SCENARIO_Q2,
    at,
    chat,
    scenario,
)

DAY = date(2025, 11, 3)


def rules(queue: str) -> tuple[int, int]:
    return 60, 10


def stories(events: list[Any]) -> dict[str, Story]:
    by_contact: dict[str, list[Any]] = {}
    for event in events:
        by_contact.setdefault(event.data.contact_id, []).append(to_fact(event))
    return {c: derive(c, facts, rules) for c, facts in by_contact.items()}


def figures(events: list[Any]) -> tuple[Counter[Any], Counter[Any]]:
    derived = stories(events).values()
    queues = queue_figures([v for s in derived for v in s.visits], HELSINKI)
    bots = bot_figures(derived, HELSINKI)
    return queues, bots


def per_queue(queues: Counter[Any], queue: str, day: date = DAY) -> dict[str, int]:
    return {m: n for (q, d, m), n in queues.items() if q == queue and d == day and n}


def nonzero(expected: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in expected.items() if v}


def test_scenario_figures_match_the_hand_computed_ones() -> None:
    queues, bots = figures(scenario())
    assert per_queue(queues, "q1") == nonzero(SCENARIO_Q1)
    assert per_queue(queues, "q2") == nonzero(SCENARIO_Q2)
    assert dict(bots) == {(DAY, "sessions"): 2, (DAY, "resolved"): 1}
    assert SCENARIO_BOT == {"sessions": 2, "resolved": 1}


def test_visit_details_of_the_transferred_contact() -> None:
    c6 = stories(scenario())["c6"]
    first, second = c6.visits
    assert (first.queue_id, first.outcome, first.wait_ms) == ("q1", "transferred", 30_000)
    assert (second.queue_id, second.entered_by, second.outcome) == ("q2", "transfer", "answered")
    assert (second.wait_ms, second.handle_ms, second.resolved) == (30_000, 720_000, None)


def test_any_order_and_any_duplicates_give_the_same_figures() -> None:
    events = scenario()
    expected = figures(events)
    rng = random.Random(5)
    for _ in range(50):
        shuffled = events + rng.sample(events, 6)
        rng.shuffle(shuffled)
        assert figures(shuffled) == expected


def test_a_wait_across_midnight_counts_entry_and_exit_on_their_own_days() -> None:
    queues, _ = figures(
        [
            chat("chat.queued", at(3, "23:59:30"), contact_id="m", queue_id="q1"),
            chat("chat.answered", at(4, "00:00:40"), contact_id="m", queue_id="q1"),
        ]
    )
    assert per_queue(queues, "q1", date(2025, 11, 3)) == {"offered": 1}
    assert per_queue(queues, "q1", date(2025, 11, 4)) == {"answered": 1, "answered_wait_ms": 70_000}


def test_an_answer_without_its_queue_entry_infers_a_visit_with_no_wait() -> None:
    story = stories([chat("chat.answered", at(3, "12:00:00"), contact_id="x", queue_id="q1")])["x"]
    (visit,) = story.visits
    assert (visit.entered_by, visit.outcome, visit.wait_ms) == ("inferred", "answered", 0)


def test_a_second_answer_or_abandon_after_the_visit_ended_is_ignored() -> None:
    queues, _ = figures(
        [
            chat("chat.queued", at(3, "12:00:00"), contact_id="y", queue_id="q1"),
            chat("chat.answered", at(3, "12:00:20"), contact_id="y", queue_id="q1"),
            chat("chat.abandoned", at(3, "12:00:30"), contact_id="y", queue_id="q1"),
            chat("chat.answered", at(3, "12:00:40"), contact_id="y", queue_id="q1"),
        ]
    )
    assert per_queue(queues, "q1") == {
        "offered": 1,
        "answered": 1,
        "answered_within_sl": 1,
        "answered_wait_ms": 20_000,
    }


def test_a_late_answer_before_a_service_timeout_wins_over_the_timeout() -> None:
    queues, _ = figures(
        [
            chat("chat.queued", at(3, "12:00:00"), contact_id="z", queue_id="q1"),
            chat(
                "chat.abandoned", at(3, "16:00:00"), contact_id="z", queue_id="q1", reason="timeout"
            ),
            chat("chat.answered", at(3, "12:03:00"), contact_id="z", queue_id="q1"),
        ]
    )
    assert per_queue(queues, "q1") == {"offered": 1, "answered": 1, "answered_wait_ms": 180_000}


def test_a_timeout_counts_as_abandoned_and_apart_as_timed_out() -> None:
    queues, _ = figures(
        [
            chat("chat.queued", at(3, "12:00:00"), contact_id="t", queue_id="q1"),
            chat(
                "chat.abandoned", at(3, "16:00:00"), contact_id="t", queue_id="q1", reason="timeout"
            ),
        ]
    )
    assert per_queue(queues, "q1") == {"offered": 1, "abandoned": 1, "timed_out": 1}


def test_transferring_an_answered_conversation_keeps_it_answered_and_ends_its_handling() -> None:
    story = stories(
        [
            chat("chat.queued", at(3, "09:00:00"), contact_id="n", queue_id="nurse"),
            chat("chat.answered", at(3, "09:00:30"), contact_id="n", queue_id="nurse"),
            chat(
                "chat.transferred",
                at(3, "09:05:30"),
                contact_id="n",
                from_queue_id="nurse",
                to_queue_id="doctor",
            ),
            chat("chat.answered", at(3, "09:06:00"), contact_id="n", queue_id="doctor"),
            chat("chat.closed", at(3, "09:16:00"), contact_id="n", resolved=True),
        ]
    )["n"]
    nurse, doctor = story.visits
    assert (nurse.outcome, nurse.closed_by, nurse.handle_ms) == ("answered", "transfer", 300_000)
    assert (
        doctor.outcome,
        doctor.wait_ms,
        doctor.closed_by,
        doctor.handle_ms,
        doctor.resolved,
    ) == ("answered", 30_000, "closed", 600_000, True)
    queues, _ = figures([])
    assert queues == Counter()


def test_queued_again_elsewhere_while_waiting_ends_the_first_visit_as_transferred() -> None:
    story = stories(
        [
            chat("chat.queued", at(3, "09:00:00"), contact_id="r", queue_id="q1"),
            chat("chat.queued", at(3, "09:00:40"), contact_id="r", queue_id="q2"),
            chat("chat.queued", at(3, "09:00:50"), contact_id="r", queue_id="q2"),
        ]
    )["r"]
    assert [(v.queue_id, v.outcome) for v in story.visits] == [
        ("q1", "transferred"),
        ("q2", "waiting"),
    ]
    assert story.waiting_visit() is story.visits[1]
