"""Matching one recipient's SMS replies and form answers to surveys, with values worked out by hand.

All times are on Monday 3 Nov 2025 (UTC) unless a day is given; the window is 7 days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from services.feedback_ingest.matching import (
    DELIVERY_FAILED,
    SENT,
    Comment,
    FeedbackFact,
    Outcome,
    ReplyOutcome,
    ReplyResult,
    SurveyResult,
    answered_fact,
    derive,
    sms_fact,
)


def at(hhmm: str, day: int = 3) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(2025, 11, day, hour, minute, tzinfo=UTC)


def sent(event_id: str, survey_id: str, time: datetime, unit: str = "u1") -> FeedbackFact:
    return FeedbackFact(event_id, SENT, time, survey_id=survey_id, unit_id=unit, service_area="sa")


def sms(event_id: str, text: str, time: datetime) -> FeedbackFact:
    return sms_fact(event_id, time, text, f"m-{event_id}")


def answered(
    event_id: str,
    survey_id: str,
    time: datetime,
    score: int | None,
    comment: str | None = None,
    statements: tuple[tuple[str, int], ...] | None = None,
) -> FeedbackFact:
    return answered_fact(event_id, time, survey_id, score, comment, statements)


def failed(event_id: str, survey_id: str, time: datetime) -> FeedbackFact:
    return FeedbackFact(event_id, DELIVERY_FAILED, time, survey_id=survey_id, reason="bounced")


def survey(survey_id: str, sent_at: datetime, **outcome: Any) -> SurveyResult:
    """A delivered survey of unit u1 with no answer, but for the `outcome` fields given."""
    unanswered = SurveyResult(
        survey_id, "u1", "sa", sent_at, True, None, None, None, None, (), (), None
    )
    return unanswered._replace(**outcome)


def reply(
    event_id: str, time: datetime, outcome: ReplyOutcome, survey_id: str | None, note: str
) -> ReplyResult:
    return ReplyResult(event_id, time, outcome, survey_id, note)


def test_reply_matches_the_newest_of_two_open_surveys() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sent("e2", "s2", at("12:00")),
        sms("e3", "8", at("13:00")),
    ]
    assert derive(facts) == Outcome(
        surveys=(
            survey("s1", at("09:00")),
            survey(
                "s2", at("12:00"), score=8, scored_at=at("13:00"), category="passive", source="sms"
            ),
        ),
        replies=(reply("e3", at("13:00"), "scored", "s2", "digit"),),
        opted_out_at=None,
        unmatched=(),
        orphans=(),
    )


def test_next_reply_goes_to_the_older_survey_that_is_still_open() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sent("e2", "s2", at("12:00")),
        sms("e3", "8", at("13:00")),
        sms("e4", "10", at("14:00")),
    ]
    outcome = derive(facts)
    assert outcome.survey("s1").score == 10
    assert outcome.survey("s2").score == 8
    assert [r.survey_id for r in outcome.replies] == ["s2", "s1"]


def test_reply_after_the_window_is_unmatched() -> None:
    facts = [sent("e1", "s1", at("09:00", day=3)), sms("e2", "9", at("09:01", day=10))]
    unmatched = reply("e2", at("09:01", day=10), "unmatched", None, "digit")
    assert derive(facts) == Outcome(
        surveys=(survey("s1", at("09:00", day=3)),),
        replies=(unmatched,),
        opted_out_at=None,
        unmatched=(unmatched,),
        orphans=(),
    )
    # exactly 7 days is still inside; a survey sent after the reply is never matched
    assert (
        derive([sent("e1", "s1", at("09:01", day=3)), sms("e2", "9", at("09:01", day=10))])
        .replies[0]
        .survey_id
        == "s1"
    )
    assert derive([sent("e1", "s1", at("10:00")), sms("e2", "9", at("09:00"))]).replies[
        0
    ].outcome == ("unmatched")


def test_first_score_wins_and_a_second_sms_becomes_a_comment() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sms("e2", "9", at("10:00")),
        sms("e3", "6 sittenkin", at("11:00")),
    ]
    assert derive(facts) == Outcome(
        surveys=(
            survey(
                "s1",
                at("09:00"),
                score=9,
                scored_at=at("10:00"),
                category="promoter",
                source="sms",
                comments=(Comment(at("11:00"), "6 sittenkin", "e3"),),
            ),
        ),
        replies=(
            reply("e2", at("10:00"), "scored", "s1", "digit"),
            reply("e3", at("11:00"), "comment", "s1", "already_scored"),
        ),
        opted_out_at=None,
        unmatched=(),
        orphans=(),
    )


def test_form_answer_before_an_sms_score_wins() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        answered("e2", "s1", at("10:00"), 5, "jonotus kesti", (("q2", 3), ("q1", 4))),
        sms("e3", "10", at("11:00")),
    ]
    assert derive(facts).surveys == (
        survey(
            "s1",
            at("09:00"),
            score=5,
            scored_at=at("10:00"),
            category="detractor",
            source="form",
            comments=(
                Comment(at("10:00"), "jonotus kesti", "e2"),
                Comment(at("11:00"), "10", "e3"),
            ),
            statements=(("q1", 4), ("q2", 3)),
        ),
    )


def test_sms_score_before_a_form_answer_wins() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sms("e2", "10", at("10:00")),
        answered("e3", "s1", at("11:00"), 5, "jonotus kesti", (("q1", 4),)),
    ]
    assert derive(facts).surveys == (
        survey(
            "s1",
            at("09:00"),
            score=10,
            scored_at=at("10:00"),
            category="promoter",
            source="sms",
            comments=(Comment(at("11:00"), "jonotus kesti", "e3"),),
            statements=(("q1", 4),),
        ),
    )


def test_failed_delivery_counts_as_sent_and_is_not_matched_by_sms() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sent("e2", "s2", at("12:00")),
        failed("e3", "s2", at("12:01")),
        sms("e4", "7", at("13:00")),
    ]
    outcome = derive(facts)
    assert outcome.surveys == (
        survey("s1", at("09:00"), score=7, scored_at=at("13:00"), category="passive", source="sms"),
        survey("s2", at("12:00"), delivered=False),
    )
    assert outcome.replies == (reply("e4", at("13:00"), "scored", "s1", "digit"),)
    # a form answer naming the failed survey still counts
    with_form = derive([*facts, answered("e5", "s2", at("14:00"), 9)])
    assert with_form.survey("s2").score == 9
    assert not with_form.survey("s2").delivered


def test_opt_out() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sms("e2", "STOP", at("10:00")),
        sms("e3", "Lopeta!", at("11:00")),
    ]
    assert derive(facts) == Outcome(
        surveys=(survey("s1", at("09:00"), opt_out_at=at("10:00")),),
        replies=(
            reply("e2", at("10:00"), "opt_out", "s1", "opt_out_word"),
            reply("e3", at("11:00"), "opt_out", "s1", "opt_out_word"),
        ),
        opted_out_at=at("10:00"),
        unmatched=(),
        orphans=(),
    )


def test_opt_out_without_a_survey_is_still_honoured() -> None:
    outcome = derive([sms("e1", "seis", at("10:00"))])
    assert outcome.opted_out_at == at("10:00")
    assert outcome.replies == (reply("e1", at("10:00"), "opt_out", None, "opt_out_word"),)
    assert outcome.unmatched == ()


def test_score_with_a_word_gives_score_and_comment() -> None:
    outcome = derive([sent("e1", "s1", at("09:00")), sms("e2", "9 kiitos", at("10:00"))])
    assert outcome.surveys == (
        survey(
            "s1",
            at("09:00"),
            score=9,
            scored_at=at("10:00"),
            category="promoter",
            source="sms",
            comments=(Comment(at("10:00"), "kiitos", "e2"),),
        ),
    )


def test_comment_with_a_phone_number_is_redacted() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sms("e2", "Soittakaa 040 123 4567", at("10:00")),
        answered("e3", "s1", at("11:00"), None, "sähköposti matti@example.fi"),
    ]
    outcome = derive(facts)
    assert outcome.survey("s1").comments == (
        Comment(at("10:00"), "Soittakaa [puhelinnumero]", "e2"),
        Comment(at("11:00"), "sähköposti [sähköposti]", "e3"),
    )
    assert outcome.replies == (reply("e2", at("10:00"), "comment", "s1", "no_score"),)


def test_invalid_reply_is_counted_and_keeps_its_text_only_when_read_as_comment() -> None:
    facts = [
        sent("e1", "s1", at("09:00")),
        sms("e2", "7 tai 8", at("10:00")),
        sms("e3", "11 huono", at("11:00")),
    ]
    outcome = derive(facts)
    assert outcome.replies == (
        reply("e2", at("10:00"), "invalid", "s1", "ambiguous"),
        reply("e3", at("11:00"), "invalid", "s1", "out_of_range"),
    )
    assert outcome.survey("s1").score is None
    assert outcome.survey("s1").comments == (Comment(at("11:00"), "11 huono", "e3"),)


def test_answer_for_an_unknown_survey_is_an_orphan() -> None:
    orphan = answered("e2", "s9", at("10:00"), 9)
    lost_failure = failed("e3", "s8", at("10:05"))
    outcome = derive([sent("e1", "s1", at("09:00")), orphan, lost_failure])
    assert outcome.orphans == (orphan, lost_failure)
    assert outcome.surveys == (survey("s1", at("09:00")),)


SCENARIO = [
    sent("a1", "s1", at("09:00", day=1)),
    sent("a2", "s2", at("12:00", day=3)),
    failed("a3", "s3", at("12:00", day=3)),
    sent("a4", "s3", at("12:00", day=3)),
    sms("a5", "8", at("13:00", day=3)),
    answered("a6", "s1", at("13:00", day=3), 4, "hidas", (("q1", 2),)),
    sms("a6b", "8", at("13:00", day=3)),  # same time as a5: the event id decides
    sms("a7", "Kiitos! 9/10 👍 p. 040 123 4567", at("14:00", day=3)),
    answered("a8", "s9", at("15:00", day=3), 10),
    sms("a9", "STOP", at("16:00", day=4)),
    sms("b1", "10", at("09:00", day=20)),
]


def test_scenario_worked_by_hand() -> None:
    outcome = derive(SCENARIO)
    # a6 (form, s1) is before a5 (sms) at 13:00 by type; a5 -> s2 (newest open, s3 failed),
    # a6b -> s1 was scored 4 by a6 -> newest in window s2 is scored -> comment on s2
    assert [(r.event_id, r.outcome, r.survey_id) for r in outcome.replies] == [
        ("a5", "scored", "s2"),
        ("a6b", "comment", "s2"),
        ("a7", "comment", "s2"),
        ("a9", "opt_out", "s2"),
        ("b1", "unmatched", None),
    ]
    assert outcome.survey("s1").score == 4
    assert outcome.survey("s2").comments == (
        Comment(at("13:00", day=3), "8", "a6b"),
        Comment(at("14:00", day=3), "Kiitos! 9/10 👍 p. [puhelinnumero]", "a7"),
    )
    assert outcome.opted_out_at == at("16:00", day=4)
    assert [f.event_id for f in outcome.orphans] == ["a8"]


@settings(max_examples=200)
@given(st.permutations(SCENARIO), st.lists(st.sampled_from(SCENARIO), max_size=6))
def test_any_order_with_duplicates_gives_the_same_outcome(
    facts: list[FeedbackFact], duplicates: list[FeedbackFact]
) -> None:
    shuffled = list(facts)
    for i, fact in enumerate(duplicates):
        shuffled.insert((i * 7) % (len(shuffled) + 1), fact)
    assert derive(shuffled) == derive(SCENARIO)


def test_a_resent_message_id_counts_once() -> None:
    first = sms("e2", "9", at("10:00"))
    again = sms_fact("e3", at("10:00"), "9", first.message_id)
    outcome = derive([sent("e1", "s1", at("09:00")), first, again])
    assert [r.event_id for r in outcome.replies] == ["e2"]


def test_window_can_be_shorter() -> None:
    facts = [sent("e1", "s1", at("09:00")), sms("e2", "9", at("12:00"))]
    assert derive(facts, window=timedelta(hours=2)).replies[0].outcome == "unmatched"
