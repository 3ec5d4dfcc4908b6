"""Exact SMS segment counting: GSM-7 (with its extension table) or UCS-2."""

from __future__ import annotations

import math
from dataclasses import dataclass

from smschat.errors import EmptyMessage, MessageTooLong

# GSM 03.38 basic character set.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table: each costs an escape plus itself (two septets).
GSM7_EXTENDED = frozenset("^{}\\[~]|€\f")

MAX_BODY_CHARS = 1600


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
        return 153 if self.encoding == "GSM-7" else 67


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def count_segments(text: str) -> SegmentInfo:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
        encoding = "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
        encoding = "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SegmentInfo(encoding=encoding, units=units, segments=segments, single_limit=single)


def validate_body(body: str) -> str:
    """The rule every outgoing message passes: not blank, at most 1,600 characters."""
    if body is None or not body.strip():
        raise EmptyMessage("The message is empty.")
    if len(body) > MAX_BODY_CHARS:
        raise MessageTooLong(
            f"The message has {len(body):,} characters; the limit is {MAX_BODY_CHARS:,}."
        )
    return body
