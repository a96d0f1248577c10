"""Redaction of free-text feedback comments before they are stored
(docs/services.md#feedback_ingest).

Pure functions, no I/O. Three kinds of personal data become placeholders, in this order:

1. e-mail addresses -> ``[sähköposti]`` (first, so that digits or a code inside an address do not
   leave its domain behind);
2. Finnish personal identity codes (henkilötunnus) -> ``[henkilötunnus]`` (before phone numbers,
   so that no digit group of a code can be taken for a number);
3. phone numbers -> ``[puhelinnumero]``.

Identity codes, DDMMYYCZZZQ:

- DD is a day 01-31 and MM a month 01-12; YY and ZZZ are any digits (temporary identifiers,
  ZZZ 900-999, point to people as well).
- C is the century sign: ``+`` 1800s; ``-`` and (from 2023) ``U V W X Y`` 1900s; ``A`` and (from
  2023) ``B C D E F`` 2000s. One space on either side of the sign is tolerated
  (``131052 - 308T``).
- Q is any control character, ``0123456789ABCDEFHJKLMNPRSTUVWXY``. Letters are matched in any
  case.
- Decision: the shape alone is enough. Neither Q (``int(DDMMYYZZZ) % 31`` indexed into the
  control characters) nor the calendar date is checked, so a mistyped code (``131052-308U`` for
  ``131052-308T``) is redacted too: one wrong character still points to one person. The price
  is that a reference or order number of the same shape is redacted and counted as a code;
  numbers without a century sign, or with an impossible day or month, are left alone.
- Except: a string of that shape made only of digits and ``-``/``+``, whose Q or date is wrong
  and which is a valid phone number (``091234-5678``), is left to the phone step, so it stays a
  phone number. A code with a correct Q and date is a code even then, and a spared string that
  the phone step does not take is redacted as a code after it, so no string of the shape is
  ever left in clear.
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

# Both cases spelt out instead of re.IGNORECASE, which would also take the Kelvin sign for K
# and the long s for S.
_IDENTITY_CODE_RE = re.compile(
    r"(?<!\w)(?P<dd>0[1-9]|[12][0-9]|3[01])(?P<mm>0[1-9]|1[0-2])(?P<yy>[0-9]{2})"
    r" ?(?P<century>[-+A-FU-Ya-fu-y]) ?(?P<zzz>[0-9]{3})"
    r"(?P<q>[0-9A-FHJ-NPR-Ya-fhj-npr-y])(?!\w)"
)
_PHONE_CHARACTERS = re.compile(r"[0-9 +-]+")
_ALNUM = r"[^\W_]"
_LABEL = rf"{_ALNUM}(?:[\w-]*{_ALNUM})?"
_EMAIL_RE = re.compile(rf"\w(?:[\w.%+-]*\w)?@(?:{_LABEL}\.)+[^\W\d_]{{2,}}")


@dataclass(frozen=True)
class Redacted:
    """A redacted text and how many items of each kind were replaced (all kinds, zeros too)."""

    text: str
    counts: dict[str, int]


def is_valid_identity_code(code: str) -> bool:
    """True if ``code`` alone is an identity code with a correct control character and date.

    Redaction does not need this: any string of the shape is redacted (module docstring)."""
    match = _IDENTITY_CODE_RE.fullmatch(code.strip())
    return match is not None and _is_valid(match)


def redact(text: str) -> Redacted:
    """Replace e-mail addresses, identity codes and phone numbers; keep everything else as is."""
    text, emails = _EMAIL_RE.subn(PLACEHOLDERS[EMAIL], text)
    text, codes = _redact_identity_codes(text, spare_phone_numbers=True)
    text, phones = _redact_phones(text)
    text, missed = _redact_identity_codes(text, spare_phone_numbers=False)
    return Redacted(text, {IDENTITY_CODE: codes + missed, PHONE: phones, EMAIL: emails})


def _redact_identity_codes(text: str, *, spare_phone_numbers: bool) -> tuple[str, int]:
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        if spare_phone_numbers and not _is_valid(match) and _is_phone_number(match.group(0)):
            return match.group(0)
        count += 1
        return PLACEHOLDERS[IDENTITY_CODE]

    return _IDENTITY_CODE_RE.sub(replace, text), count


def _is_phone_number(candidate: str) -> bool:
    # phonenumbers.parse reads letters as a vanity number ("131052-308U" is "valid"), though its
    # matcher never takes such a string from a text.
    if not _PHONE_CHARACTERS.fullmatch(candidate):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(candidate, "FI"))
    except phonenumbers.NumberParseException:
        return False


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
