"""Read a score, a comment or an opt-out from a raw SMS reply (docs/events.md). Pure, no I/O.

The reply is folded for matching (NFKC, so full-width digits become ASCII; lower case; keycap emoji
to digits: ``9️⃣`` -> 9, ``🔟`` / ``1️⃣0️⃣`` -> 10); the comment is cut from the text as sent (NFC).

Rules:

- Nothing but whitespace, punctuation or control characters -> ``invalid`` / ``empty``.
- Opt-out: every word of the reply is an opt-out word (``stop``, ``lopeta``, ``seis``, ``stopp``,
  ``sluta``, ``avsluta``, ``unsubscribe``) or a courtesy (``kiitos``, ``tack``, ``please``), any
  case, with any punctuation or emoji: ``Stop.``, ``SEIS 🙏``, ``Lopeta kiitos``. A sentence that
  merely contains such a word (``älä lopeta tätä palvelua``) is read as usual.
- A number is a digit run not glued to a letter or digit in front (``covid19`` is no score; a word
  may follow it, ``9kiitos``). ``10/10``, ``9 / 10``, ``9 out of 10`` mean 9 and 10; other forms:
  ``7-8``, ``7/8``, ``9,5``, ``9.5``, ``9 ja puoli`` -> ambiguous. Never scores: dates and times
  (``3.11.``, ``1.5.``, ``3.11.2025``, ``9:30``, ``klo 9.30``), runs of 7+ digits with single
  spaces or hyphens (phone numbers), numbers of 4+ digits (years, codes), a number after ``klo``,
  ``huone``, ``puh``, and a quantity (a number followed by a unit: ``20 min``, ``3 kertaa``,
  ``2 viikkoa``, ``50 %``).
- A number is *strong* when it is the first or last word, follows a cue (``arvosana``, ``annan``,
  ``betyg``, ``score``, ...) or is written ``n/10``; a number inside the text counts only when it
  is 0-10. A minus is read only glued to a number that opens the reply or follows a cue (``-1``).
- Number words (fi/sv/en, with colloquial forms like ``ysi``, ``kymppi``, ``kasi`` and forms
  without umlauts) match whole words only (``kasino``, ``sextio``, ``tenant``, ``ettan`` are not
  numbers), and only when they stand as their own clause (``Ysi!``, ``Kiitos. Kymppi``, ``ysi
  kiitos``), follow a cue (``annan kympin``) or are written ``n/10``. Words that are mostly
  articles or pronouns in running text (``en``, ``ett``, ``one``, ``yksi``, ``yks``) count only
  alone or after a cue.
- All readings that count must agree: ``9 ja 10``, ``7 tai 8``, ``Hoitaja 10, lääkäri 8`` ->
  ambiguous; ``10!! 10/10`` -> 10. The single value outside 0-10 -> ``out_of_range``.
- Comment of a scored reply: the reply minus the score (with its cue) and minus punctuation next
  to the cut (``Kiitos! 9/10 👍`` -> ``Kiitos 👍``). Of an invalid one: the whole reply, unless
  nothing but the numbers and connectors (``tai``, ``or``, ``eller``, ...) is left. ``None`` when
  nothing is left.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["scored", "comment", "opt_out", "invalid"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What an SMS reply says. ``note`` is a short machine-readable reason."""

    outcome: Outcome
    score: int | None
    comment: str | None
    note: str


_WORDS_BY_SCORE = {
    0: "nolla nollan noll zero",
    1: "yksi yks ykkönen ykkösen ett en etta one",
    2: "kaksi kaks kakkonen kakkosen två tvåa two",
    3: "kolme kolmonen kolmosen tre trea three",
    4: "neljä nelonen nelosen fyra four",
    5: "viisi viis vitonen vitosen fem femma five",
    6: "kuusi kuus kutonen kutosen sex sexa six",
    7: "seitsemän seittemän seiska seiskan sju sjua seven",
    8: "kahdeksan kaheksan kasi kasin åtta eight",
    9: "yhdeksän yheksän ysi ysin nio nia nine",
    10: "kymmenen kymppi kympin tio tia ten",
}
_NO_UMLAUTS = str.maketrans("äöå", "aoa")
NUMBER_WORDS: dict[str, int] = {
    variant: score
    for score, words in _WORDS_BY_SCORE.items()
    for word in words.split()
    for variant in (word, word.translate(_NO_UMLAUTS))
}
_LOOSE_WORDS = frozenset({"en", "ett", "one", "yksi", "yks"})

OPT_OUT_WORDS = frozenset({"stop", "stopp", "lopeta", "seis", "sluta", "avsluta", "unsubscribe"})
_COURTESY = frozenset({"kiitos", "kiitti", "kiitoksia", "tack", "thanks", "thank", "please"})
_CUES = frozenset(
    {"arvosana", "arvosanani", "arvosanaksi", "arvio", "annan", "annoin", "antaisin", "pisteet"}
    | {"betyg", "betyget", "ger", "score", "rating", "rate", "give", "nps"}
)
_NOT_AFTER = frozenset({"klo", "kl", "kello", "huone", "rum", "room", "puh", "tel"})
_UNITS = frozenset(
    {"min", "mins", "h", "hr", "hrs", "s", "v", "pv", "vk", "kk", "krt", "kpl"}
    | {"e", "eur", "kr", "år"}
)
_UNIT_STEMS = (
    *("minuut", "tunti", "tunni", "sekun", "päiv", "viik", "kuukau", "vuo", "kerta", "kerra"),
    *("minut", "timm", "dag", "veck", "månad", "gång", "euro"),
    *("second", "hour", "day", "week", "month", "year", "time"),
)
_CONNECTORS = re.compile(r"\b(?:tai|vai|ja|eller|och|or|and)\b", re.IGNORECASE)

_SLASH = r"\s*/\s*|\s+(?:out\s+of|of|av)\s+"
_TOKEN = re.compile(
    rf"(?P<num>(?<![^\W_])\d+(?:(?:{_SLASH}|[.,:\-\u2013])\d+)*)"
    r"|(?P<word>[^\W\d_]+)(?P<outof>\s*/\s*10(?!\d))?"
)
_FRACTION = re.compile(rf"(\d{{1,3}})(?:{_SLASH})(\d{{1,3}})")
_RANGE = re.compile(r"(\d{1,3})[\-\u2013](\d{1,3})")
_DECIMAL = re.compile(r"(\d{1,3})[.,](\d)")
_PHONE = re.compile(r"\+?\d(?:[ \-]?\d){6,}")
_AFTER = re.compile(r"\s*(?:(?P<symbol>[%€$£°])|(?P<word>[^\W\d_]+))")
_HALF = re.compile(r"\s*(?:1\u20442|(?:ja|och|and)\s+(?:en\s+|a\s+)?(?:puoli|halv|half)\b)")
_KEYCAP_MARKS = "\ufe0f\u20e3"  # variation selector and combining keycap: 9 + FE0F + 20E3
_KEYCAP_TEN = "\U0001f51f"

Ambiguous = Literal["ambiguous"]


@dataclass(frozen=True, slots=True)
class _Reading:
    value: int | Ambiguous
    start: int  # span in the folded text, cue included
    end: int
    kind: str
    strong: bool


def read_reply(text: str) -> Reply:
    """Read one SMS reply; never raises."""
    sent = unicodedata.normalize("NFC", text)
    if not _has_content(sent):
        return Reply("invalid", None, None, "empty")
    folded, origin = _fold(sent)
    words = re.findall(r"[^\W_]+", folded)
    if any(w in OPT_OUT_WORDS for w in words) and all(
        w in OPT_OUT_WORDS or w in _COURTESY for w in words
    ):
        return Reply("opt_out", None, None, "opt_out_word")

    readings = [r for r in _readings(folded) if r.strong or _in_range(r.value)]
    if not readings:
        return Reply("comment", None, sent.strip(), "no_score")
    spans = [_to_sent(r.start, r.end, sent, origin) for r in readings]
    rest = _rest(sent, spans)
    values = {r.value for r in readings}
    value = readings[0].value
    if len(values) > 1 or not isinstance(value, int):
        # the whole reply is kept: cutting two candidate scores out of it would garble it
        return Reply("invalid", None, sent.strip() if rest else None, "ambiguous")
    if not _in_range(value):
        return Reply("invalid", None, sent.strip() if rest else None, "out_of_range")
    first = spans[0]
    keycap = any(c in sent[first[0] : first[1]] for c in _KEYCAP_MARKS + _KEYCAP_TEN)
    return Reply("scored", value, rest, "keycap" if keycap else readings[0].kind)


def _readings(folded: str) -> list[_Reading]:
    """Every place in the folded reply that may be a score."""
    tokens = list(_TOKEN.finditer(folded))
    phones = [m.span() for m in _PHONE.finditer(folded)]
    found: list[_Reading] = []
    for i, token in enumerate(tokens):
        prev_word = (tokens[i - 1]["word"] or "") if i else ""
        cued = prev_word in _CUES
        start = tokens[i - 1].start() if cued else token.start()
        if body := token["num"]:
            if (
                prev_word in _NOT_AFTER
                or any(s < token.end() and token.start() < e for s, e in phones)
                or _is_quantity(folded, token.end())
            ):
                continue
            value = _read_number(body, folded[token.end() : token.end() + 1])
            if value is None:
                continue
            end = token.end()
            if half := _HALF.match(folded, end):
                value, end = "ambiguous", half.end()
            if isinstance(value, int) and _negative(folded, token.start(), i == 0 or cued):
                value = -value
            strong = cued or i in (0, len(tokens) - 1) or bool(_FRACTION.fullmatch(body))
            found.append(_Reading(value, start, end, "digit", strong))
        elif (word := token["word"]) in NUMBER_WORDS:
            free = word not in _LOOSE_WORDS and _own_clause(folded, tokens, i)
            if free or cued or token["outof"] or len(tokens) == 1:
                found.append(_Reading(NUMBER_WORDS[word], start, token.end(), "number_word", True))
    return found


def _negative(folded: str, start: int, leading: bool) -> bool:
    """A minus glued to a number that opens the reply or follows a cue: ``-1``, ``betyg -2``."""
    return (
        leading
        and start > 0
        and folded[start - 1] in "-\u2212"
        and not folded[start - 2 : start - 1].isalnum()
    )


def _read_number(body: str, next_char: str) -> int | Ambiguous | None:
    """The score a numeric token stands for; None when it is no score at all."""
    if body.isdecimal():
        return int(body) if len(body) < 4 else None
    if m := _FRACTION.fullmatch(body):
        high, low = int(m[1]), int(m[2])
        if low == 10:
            return high
        return "ambiguous" if high <= 10 and low <= 10 else None
    if m := _RANGE.fullmatch(body):
        return "ambiguous" if int(m[1]) <= 10 and int(m[2]) <= 10 else None
    # "9,5" is half a point; "1.5." (trailing dot) is the 1st of May
    if (m := _DECIMAL.fullmatch(body)) and next_char != ".":
        return "ambiguous" if int(m[1]) <= 10 else None
    return None  # dates, times, longer sequences


def _is_quantity(folded: str, end: int) -> bool:
    m = _AFTER.match(folded, end)
    if m is None:
        return False
    word = m["word"]
    return word is None or word in _UNITS or word.startswith(_UNIT_STEMS)


def _own_clause(folded: str, tokens: list[re.Match[str]], i: int) -> bool:
    """Whether tokens[i] is set off from its neighbours by punctuation, emoji or a courtesy."""

    def apart(left: re.Match[str], right: re.Match[str], neighbour: re.Match[str]) -> bool:
        return bool(folded[left.end() : right.start()].strip()) or neighbour["word"] in _COURTESY

    before = i == 0 or apart(tokens[i - 1], tokens[i], tokens[i - 1])
    after = i == len(tokens) - 1 or apart(tokens[i], tokens[i + 1], tokens[i + 1])
    return before and after


def _in_range(value: int | Ambiguous) -> bool:
    return not isinstance(value, int) or 0 <= value <= 10


def _fold(sent: str) -> tuple[str, list[int]]:
    """The text for matching, and for each of its characters the index it came from in ``sent``."""
    parts: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(sent):
        if ch in _KEYCAP_MARKS:
            continue
        folded = "10" if ch == _KEYCAP_TEN else unicodedata.normalize("NFKC", ch).lower()
        parts.append(folded)
        origin.extend([i] * len(folded))
    return "".join(parts), origin


def _to_sent(start: int, end: int, sent: str, origin: list[int]) -> tuple[int, int]:
    sent_end = origin[end - 1] + 1
    while sent_end < len(sent) and sent[sent_end] in _KEYCAP_MARKS:
        sent_end += 1
    return origin[start], sent_end


def _rest(sent: str, spans: list[tuple[int, int]]) -> str | None:
    """The reply without the given spans; punctuation touching a cut goes with it."""
    pieces: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        pieces.append(sent[pos:start])
        pos = max(pos, end)
    pieces.append(sent[pos:])
    last = len(pieces) - 1
    kept = [_trim(piece, left=i > 0, right=i < last) for i, piece in enumerate(pieces)]
    rest = " ".join(piece for piece in kept if piece)
    return rest if _has_content(_CONNECTORS.sub("", rest)) else None


def _trim(piece: str, *, left: bool, right: bool) -> str:
    start, end = 0, len(piece)
    while left and start < end and _is_filler(piece[start]):
        start += 1
    while right and start < end and _is_filler(piece[end - 1]):
        end -= 1
    return piece[start:end].strip()


def _is_filler(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "PZC" or category in ("Sm", "Sk", "Mn", "Me")


def _has_content(text: str) -> bool:
    return any(ch.isalnum() or unicodedata.category(ch) == "So" for ch in text)
