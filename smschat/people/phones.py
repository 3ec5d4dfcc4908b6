"""Phone numbers are parsed with `phonenumbers` and stored in E.164."""

from __future__ import annotations

import functools

import phonenumbers

from smschat.errors import InvalidPhoneNumber


@functools.lru_cache(maxsize=100_000)  # parsing costs more than a webhook's queries; a reply storm repeats numbers
def to_e164(raw: str, region: str | None = "US") -> str:
    text = (raw or "").strip()
    if not text:
        raise InvalidPhoneNumber("The phone number is empty.")
    # Numbers written as bare international digits (as CommCare shows them) get a '+'.
    candidates = [text]
    digits = "".join(ch for ch in text if ch.isdigit())
    if not text.startswith("+") and len(digits) > 10:
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidPhoneNumber(f"{text!r} is not a valid phone number.")


def try_e164(raw: str, region: str | None = "US") -> str | None:
    try:
        return to_e164(raw, region)
    except InvalidPhoneNumber:
        return None


def validate_region(region: str) -> str:
    """A two-letter region code phonenumbers knows (national numbers are read in it)."""
    code = (region or "").strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidPhoneNumber(f"Unknown region {region!r}; use a two-letter code such as US, KE or SN.")
    return code
