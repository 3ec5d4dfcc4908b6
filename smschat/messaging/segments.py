"""Exact SMS segment counting: GSM-7 (with its extension table) or UCS-2.

One rule, also run by the page's live counter (pages/_scripts.py builds its tables from `RULES`):
- GSM-7 when every character is in the basic or the extension table; an extension character
  costs two septets (escape + itself). Otherwise UCS-2, counted in UTF-16 code units, where a
  character outside the Basic Multilingual Plane (an emoji) is a surrogate pair of two units.
- Up to 160 septets (70 units) is one SMS; longer messages go in segments of 153 septets
  (67 units), and an escape pair or a surrogate pair is never split between two segments: it
  moves whole to the next one, so such a message may need one segment more than units/153.
- The 1,600 limit counts UTF-16 code units, as Twilio and a browser's `value.length` do: an
  emoji counts as two.
"""

from __future__ import annotations

from dataclasses import dataclass

from smschat.errors import EmptyMessage, MessageTooLong
from smschat.text import clean

# GSM 03.38 basic character set.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table: each costs an escape plus itself (two septets).
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

GSM7_SINGLE, GSM7_MULTI = 160, 153  # septets in a lone SMS / in each part of a long one
UCS2_SINGLE, UCS2_MULTI = 70, 67  # UTF-16 code units, likewise
MAX_BODY_UNITS = 1600  # UTF-16 code units
MAX_BODY_CHARS = MAX_BODY_UNITS  # the name older code uses

# The tables both counters use (the page's is generated from this, see pages/_scripts.py).
RULES = {
    "basic": "".join(sorted(GSM7_BASIC)),
    "ext": "".join(sorted(GSM7_EXTENDED)),
    "gsm7": [GSM7_SINGLE, GSM7_MULTI],
    "ucs2": [UCS2_SINGLE, UCS2_MULTI],
    "max": MAX_BODY_UNITS,
}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    single_limit: int  # 160 or 70: the figure the character counter shows

    @property
    def per_segment(self) -> int:
        if self.segments <= 1:
            return self.single_limit
        return GSM7_MULTI if self.encoding == "GSM-7" else UCS2_MULTI


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _costs(text: str) -> tuple[str, list[int]]:
    """The encoding, and what each character (code point) costs in it."""
    if is_gsm7(text):
        return "GSM-7", [2 if ch in GSM7_EXTENDED else 1 for ch in text]
    return "UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def _starts(costs: list[int], single: int, multi: int) -> list[int]:
    """Index of the first character of each segment; a two-unit character never straddles two."""
    if sum(costs) <= single:
        return [0]
    starts, fill = [0], 0
    for i, cost in enumerate(costs):
        if fill + cost > multi:
            starts.append(i)
            fill = 0
        fill += cost
    return starts


def _limits(encoding: str) -> tuple[int, int]:
    return (GSM7_SINGLE, GSM7_MULTI) if encoding == "GSM-7" else (UCS2_SINGLE, UCS2_MULTI)


def count_segments(text: str) -> SegmentInfo:
    encoding, costs = _costs(text)
    single, multi = _limits(encoding)
    return SegmentInfo(encoding=encoding, units=sum(costs), segments=len(_starts(costs, single, multi)),
                       single_limit=single)


def split_segments(text: str) -> list[str]:
    """The parts a phone receives (without their concatenation headers)."""
    encoding, costs = _costs(text)
    starts = _starts(costs, *_limits(encoding))
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)]


def validate_body(body: str) -> str:
    """The rule every outgoing message passes, after `text.clean` (returned cleaned): not blank,
    at most 1,600 UTF-16 code units."""
    body = clean(body) if body is not None else None
    if body is None or not body.strip():
        raise EmptyMessage("The message is empty.")
    units = utf16_units(body)
    if units > MAX_BODY_UNITS:
        raise MessageTooLong(f"The message has {units:,} characters; the limit is {MAX_BODY_UNITS:,}.")
    return body
