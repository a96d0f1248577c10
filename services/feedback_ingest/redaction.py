"""Redaction of free-text feedback comments before they are stored (SPEC §3.3).

Pure functions, no I/O. Three kinds of personal data become placeholders, in this order:

1. e-mail addresses -> ``[sähköposti]`` (first, so that digits or a code inside an address do not
   leave its domain behind);
2. Finnish personal identity codes (henkilötunnus) -> ``[henkilötunnus]`` (before phone numbers,
   so that no digit group of a code can be taken for a number);
3. phone numbers -> ``[puhelinnumero]``.

Identity codes, DDMMYYCZZZQ:

- C is the century sign: ``+`` 1800s; ``-`` and (from 2023) ``U V W X Y`` 1900s; ``A`` and (from
  2023) ``B C D E F`` 2000s. Letters are matched in any case. One space on either side of the sign
  is tolerated (``131052 - 308T``).
- Q must equal ``int(DDMMYYZZZ) % 31`` indexed into ``0123456789ABCDEFHJKLMNPRSTUVWXY`` and
  DD.MM.(century+YY) must be a real calendar date; only then is the code replaced. Any ZZZ
  000-999 is accepted: temporary identifiers (900-999) point to people as well.
- Decision: a string of the right shape whose control character is wrong, or whose date does not
  exist, is left alone and is not counted. The control character exists to catch typing errors,
  and a random 6+3+1 string passes it with odd 1/31, so a failing one is far more often a
  reference, an order number or a product code than an identity code; we accept the residual
  risk of a mistyped real code staying in the comment.
- The code must stand alone: no letter, digit or ``_`` right before or after it (punctuation and
  spaces are fine).

Phone numbers are found by :class:`phonenumbers.PhoneNumberMatcher` with default region ``FI`` and
leniency ``VALID``: the digits must form a valid number for their region (Finnish or, with a
``+``/``00`` prefix, foreign), in any grouping people use (``040 12 34 567``, ``050-555 12 34``).
``POSSIBLE`` also takes dates (``3.11.2025``), postcodes (``45100``), big sums (``125 000``) and
digit groups of identity codes; ``STRICT_GROUPING``/``EXACT_GROUPING`` miss numbers grouped in
ways that differ from the official format. Known limit: a number glued to letters
(``puh0401234567``) is not found, because the matcher requires a non-letter around a number.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass
from typing import Any

import phonenumbers

IDENTITY_CODE = "identity_code"
PHONE = "phone"
EMAIL = "email"

PLACEHOLDERS: dict[str, str] = {
    IDENTITY_CODE: "[henkilötunnus]",
    PHONE: "[puhelinnumero]",
    EMAIL: "[sähköposti]",
}

CONTROL_CHARACTERS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURIES: dict[str, int] = (
    {"+": 1800, "-": 1900, "A": 2000} | dict.fromkeys("UVWXY", 1900) | dict.fromkeys("BCDEF", 2000)
)

_IDENTITY_CODE_RE = re.compile(
    r"(?<!\w)(?P<dd>[0-9]{2})(?P<mm>[0-9]{2})(?P<yy>[0-9]{2})"
    r" ?(?P<century>[-+A-FU-Y]) ?(?P<zzz>[0-9]{3})(?P<q>[0-9A-Y])(?!\w)",
    re.IGNORECASE,
)
_ALNUM = r"[^\W_]"
_LABEL = rf"{_ALNUM}(?:[\w-]*{_ALNUM})?"
_EMAIL_RE = re.compile(rf"\w(?:[\w.%+-]*\w)?@(?:{_LABEL}\.)+[^\W\d_]{{2,}}")


@dataclass(frozen=True)
class Redacted:
    """A redacted text and how many items of each kind were replaced (all kinds, zeros too)."""

    text: str
    counts: dict[str, int]


def is_valid_identity_code(code: str) -> bool:
    """True if ``code`` alone is an identity code with a correct control character and date."""
    match = _IDENTITY_CODE_RE.fullmatch(code.strip())
    return match is not None and _is_valid(match)


def redact(text: str) -> Redacted:
    """Replace e-mail addresses, identity codes and phone numbers; keep everything else as is."""
    text, emails = _EMAIL_RE.subn(PLACEHOLDERS[EMAIL], text)
    text, codes = _redact_identity_codes(text)
    text, phones = _redact_phones(text)
    return Redacted(text, {IDENTITY_CODE: codes, PHONE: phones, EMAIL: emails})


def _redact_identity_codes(text: str) -> tuple[str, int]:
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if not _is_valid(match):
            return match.group(0)
        count += 1
        return PLACEHOLDERS[IDENTITY_CODE]

    return _IDENTITY_CODE_RE.sub(replace, text), count


def _is_valid(match: re.Match[str]) -> bool:
    day, month, yy = int(match["dd"]), int(match["mm"]), int(match["yy"])
    year = CENTURIES[match["century"].upper()] + yy
    if not (1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]):
        return False
    number = int(match["dd"] + match["mm"] + match["yy"] + match["zzz"])
    return CONTROL_CHARACTERS[number % 31] == match["q"].upper()


def _redact_phones(text: str) -> tuple[str, int]:
    parts: list[str] = []
    position = count = 0
    for found in phonenumbers.PhoneNumberMatcher(text, "FI", leniency=phonenumbers.Leniency.VALID):
        start = found.start
        if found.raw_string.startswith("(") and ")" not in found.raw_string:
            start += 1  # "(0401234567)": the matcher takes the opening bracket but not the closing
        parts += [text[position:start], PLACEHOLDERS[PHONE]]
        position = found.end
        count += 1
    parts.append(text[position:])
    return "".join(parts), count


_HASHED = re.compile(r"[0-9a-f]{64}")


def redact_message(raw: bytes) -> bytes:
    """A dead letter made safe to keep: every text in the JSON redacted (recipient hashes left
    as they are), or the whole message redacted as text when it is not JSON."""
    try:
        message = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return redact(raw.decode("utf-8", errors="replace")).text.encode()
    return json.dumps(_redact_values(message), ensure_ascii=False).encode()


def _redact_values(value: Any) -> Any:
    if isinstance(value, str):
        return value if _HASHED.fullmatch(value) else redact(value).text
    if isinstance(value, dict):
        return {key: _redact_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_redact_values(item) for item in value]
    return value
