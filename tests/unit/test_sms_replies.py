"""The SMS reply parser: real-looking replies in Finnish, Swedish and English (docs/events.md)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.feedback_ingest.replies import NUMBER_WORDS, OPT_OUT_WORDS, Reply, read_reply

S, C, OPT, INV = "scored", "comment", "opt_out", "invalid"

REPLIES: list[tuple[str, str, int | None, str | None]] = [
    # a bare number, with the punctuation people add
    ("9", S, 9, None),
    ("9.", S, 9, None),
    (" 9/10", S, 9, None),
    ("10!!", S, 10, None),
    ("(9)", S, 9, None),
    ('"8"', S, 8, None),
    ("10 +", S, 10, None),
    ("0", S, 0, None),
    ("0/10", S, 0, None),
    ("10/10", S, 10, None),
    ("9 / 10", S, 9, None),
    ("9 out of 10", S, 9, None),
    ("\uff19", S, 9, None),  # full-width digits
    ("\uff11\uff10\uff01", S, 10, None),
    ("10!!! 10/10", S, 10, None),
    # a number with words around it
    ("9 kiitos hyvä palvelu", S, 9, "kiitos hyvä palvelu"),
    ("8/10 ok", S, 8, "ok"),
    ("10, kiitos nopeasta avusta!", S, 10, "kiitos nopeasta avusta!"),
    ("9kiitos", S, 9, "kiitos"),
    ("Kiitos! 9/10 👍", S, 9, "Kiitos 👍"),
    ("Hyvä palvelu, annan 9", S, 9, "Hyvä palvelu"),
    ("Hyvä 👍 9", S, 9, "Hyvä 👍"),
    ("En tiedä, ehkä 7", S, 7, "En tiedä, ehkä"),
    ("stop waiting times are long 6", S, 6, "stop waiting times are long"),
    ("Jonotin 45 min mutta hoito 9", S, 9, "Jonotin 45 min mutta hoito"),
    ("Kiitos, 3.11. käynti oli hyvä 9", S, 9, "Kiitos, 3.11. käynti oli hyvä"),
    ("Soitin klo 9.30, vastaus heti. 10", S, 10, "Soitin klo 9.30, vastaus heti"),
    ("Tack för hjälpen 8", S, 8, "Tack för hjälpen"),
    ("I'd give it a 9", S, 9, "I'd give it a"),
    # cue words
    ("Arvosana 8", S, 8, None),
    ("Annan 7", S, 7, None),
    ("betyg 9", S, 9, None),
    ("score: 10", S, 10, None),
    ("BETYG: 7. Lång väntetid", S, 7, "Lång väntetid"),
    # keycaps
    ("9️⃣", S, 9, None),
    ("🔟", S, 10, None),
    ("1️⃣0️⃣", S, 10, None),
    ("8️⃣ kiitos", S, 8, "kiitos"),
    ("Kiitos 🔟", S, 10, "Kiitos"),
    # number words: Finnish, colloquial, without umlauts
    ("yhdeksän", S, 9, None),
    ("Yhdeksan", S, 9, None),
    ("KYMMENEN!", S, 10, None),
    ("kymppi", S, 10, None),
    ("Ysi kiitos", S, 9, "kiitos"),
    ("Kasi.", S, 8, None),
    ("seiska", S, 7, None),
    ("kutonen", S, 6, None),
    ("Vitonen", S, 5, None),
    ("nelonen", S, 4, None),
    ("nelja", S, 4, None),
    ("kolmonen", S, 3, None),
    ("kakkonen", S, 2, None),
    ("ykkönen", S, 1, None),
    ("nolla!", S, 0, None),
    ("Kymppi, kiitos hyvästä palvelusta", S, 10, "kiitos hyvästä palvelusta"),
    ("Seitsemän. Jonot pitkät", S, 7, "Jonot pitkät"),
    ("Annan kympin!", S, 10, None),
    ("kymppi/10", S, 10, None),
    # Swedish and English words
    ("nio", S, 9, None),
    ("Tio!", S, 10, None),
    ("åtta", S, 8, None),
    ("Jag ger åtta", S, 8, "Jag"),
    ("Betyg: tio, tack", S, 10, "tack"),
    ("ett", S, 1, None),
    ("Ten", S, 10, None),
    ("zero", S, 0, None),
    ("Nine 🙂", S, 9, "🙂"),
    # number words inside other words or running text are not scores
    ("kasino", C, None, "kasino"),
    ("sextio", C, None, "sextio"),
    ("tenant", C, None, "tenant"),
    ("ettan", C, None, "ettan"),
    ("En tiedä", C, None, "En tiedä"),
    ("Ett bra bemötande", C, None, "Ett bra bemötande"),
    ("One of the best", C, None, "One of the best"),
    ("Kolme kertaa soitin", C, None, "Kolme kertaa soitin"),
    ("kymmenen minuuttia jonossa", C, None, "kymmenen minuuttia jonossa"),
    # phone numbers, dates, times, quantities, codes
    ("040 123 4567", C, None, "040 123 4567"),
    ("Soittakaa 0401234567", C, None, "Soittakaa 0401234567"),
    ("3.11.", C, None, "3.11."),
    ("1.5.", C, None, "1.5."),
    ("3.11.2025", C, None, "3.11.2025"),
    ("klo 9", C, None, "klo 9"),
    ("Jonotin 20 minuuttia", C, None, "Jonotin 20 minuuttia"),
    ("Vastaus tuli 2 päivän päästä", C, None, "Vastaus tuli 2 päivän päästä"),
    ("vuonna 2025 ok", C, None, "vuonna 2025 ok"),
    ("covid19", C, None, "covid19"),
    # out of range
    ("11", INV, None, None),
    ("100", INV, None, None),
    ("-1", INV, None, None),
    ("12/10", INV, None, None),
    ("11/10!!", INV, None, None),
    ("Arvosana 11", INV, None, None),
    ("15 ihan paras", INV, None, "15 ihan paras"),
    # ambiguous
    ("7-8", INV, None, None),
    ("7 \u2013 8", INV, None, None),
    ("7 tai 8", INV, None, None),
    ("7 or 8", INV, None, None),
    ("7/8", INV, None, None),
    ("8 eller 9", INV, None, None),
    ("9 ja 10", INV, None, None),
    ("9,5", INV, None, None),
    ("9.5", INV, None, None),
    ("9 ja puoli", INV, None, None),
    ("9/10, 10/10", INV, None, None),
    ("kasi-ysi", INV, None, None),
    ("7 tai 8, hyvä palvelu", INV, None, "7 tai 8, hyvä palvelu"),
    ("Hoitaja 10, lääkäri 8", INV, None, "Hoitaja 10, lääkäri 8"),
    # opt-out
    ("STOP", OPT, None, None),
    ("Stop.", OPT, None, None),
    (" lopeta!", OPT, None, None),
    ("SEIS 🙏", OPT, None, None),
    ("Stopp", OPT, None, None),
    ("sluta!!", OPT, None, None),
    ("Unsubscribe", OPT, None, None),
    ("LOPETA kiitos", OPT, None, None),
    ("älä lopeta tätä palvelua", C, None, "älä lopeta tätä palvelua"),
    ("Stop 9", S, 9, "Stop"),
    # comments and empties
    ("Kiitos!", C, None, "Kiitos!"),
    ("Tack så mycket", C, None, "Tack så mycket"),
    ("Thanks, very helpful nurse", C, None, "Thanks, very helpful nurse"),
    ("  Hyvä palvelu  ", C, None, "Hyvä palvelu"),
    ("👍", C, None, "👍"),
    ("", INV, None, None),
    ("   \n", INV, None, None),
    ("...", INV, None, None),
]


@pytest.mark.parametrize(("text", "outcome", "score", "comment"), REPLIES)
def test_real_replies(text: str, outcome: str, score: int | None, comment: str | None) -> None:
    reply = read_reply(text)
    assert (reply.outcome, reply.score, reply.comment) == (outcome, score, comment)


@pytest.mark.parametrize(
    ("text", "note"),
    [
        ("9", "digit"),
        ("yhdeksän", "number_word"),
        ("9️⃣", "keycap"),
        ("11", "out_of_range"),
        ("7 tai 8", "ambiguous"),
        ("Kiitos!", "no_score"),
        ("STOP", "opt_out_word"),
        (" ", "empty"),
    ],
)
def test_notes(text: str, note: str) -> None:
    assert read_reply(text).note == note


def test_reply_is_frozen() -> None:
    reply = read_reply("9")
    assert reply == Reply("scored", 9, None, "digit")
    with pytest.raises(AttributeError):
        reply.score = 10  # type: ignore[misc]


# Comments for the properties: no digits, number words, opt-out words, units or connectors.
COMMENT_WORDS = [
    *("kiitos", "hyvä", "palvelu", "ystävällinen", "hoitaja", "lääkäri", "nopea", "selkeä"),
    *("loistavaa", "asiallinen", "mukava", "huono", "jonotus", "pitkä", "ok", "Kiitos"),
    *("tack", "bra", "bemötande", "great", "service", "kasino", "sextio", "tenant", "ettan"),
]
PUNCT = ["", " ", ". ", "! ", "!! ", ", ", " - ", ": ", "/10 ", " +"]
comments = st.lists(st.sampled_from(COMMENT_WORDS), min_size=1, max_size=6).map(" ".join)


@given(st.integers(0, 10))
def test_every_bare_score_is_read(n: int) -> None:
    assert read_reply(f"{n}") == Reply("scored", n, None, "digit")


@given(st.integers(0, 10), st.sampled_from(PUNCT), comments)
def test_score_then_comment(n: int, punct: str, comment: str) -> None:
    reply = read_reply(f"{n}{punct}{comment}")
    assert (reply.outcome, reply.score, reply.comment) == ("scored", n, comment)


PLAIN = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzäöåABCKLMSTÄÖ .,!?:;()'\"\n-🙂👍❤🙏", max_size=40
)


def _no_number_or_opt_out_word(text: str) -> bool:
    words = set(re.findall(r"[^\W\d_]+", text.lower()))
    return not words & (NUMBER_WORDS.keys() | OPT_OUT_WORDS)


@given(PLAIN.filter(_no_number_or_opt_out_word))
def test_text_without_numbers_is_a_comment(text: str) -> None:
    reply = read_reply(text)
    if any(ch.isalnum() or unicodedata.category(ch) == "So" for ch in text):
        assert reply == Reply("comment", None, text.strip(), "no_score")
    else:
        assert reply == Reply("invalid", None, None, "empty")


@given(st.text())
def test_never_raises_and_scores_stay_in_range(text: str) -> None:
    reply = read_reply(text)
    assert (reply.score is not None) == (reply.outcome == "scored")
    assert reply.score is None or 0 <= reply.score <= 10
    assert reply.comment is None or reply.comment == reply.comment.strip() != ""
