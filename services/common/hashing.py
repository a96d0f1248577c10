"""Pseudonymous recipients: phone numbers never enter Kafka or Postgres in clear
(docs/events.md)."""

from __future__ import annotations

import hashlib
import hmac

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def to_e164(phone: str, default_region: str = "FI") -> str:
    """Normalise what people type (`040 123 4567`, `+358 40 1234567`) to E.164."""
    try:
        number = phonenumbers.parse(phone, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise InvalidPhoneNumber("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def hash_recipient(phone: str, key: str) -> str:
    """Lowercase hex HMAC-SHA256 of the E.164 number under the deployment's key."""
    return hash_identifier(to_e164(phone), key)


def hash_identifier(text: str, key: str) -> str:
    """Lowercase hex HMAC-SHA256 of a recipient's identifier as it is (a number already in
    E.164, or an export's own id for a person) under the deployment's key."""
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
