import pytest
from hypothesis import given
from hypothesis import strategies as st

from smschat.errors import EmptyMessage, MessageTooLong
from smschat.messaging.segments import count_segments, validate_body


@pytest.mark.parametrize(
    "text,encoding,segments,limit",
    [
        ("", "GSM-7", 1, 160),
        ("a" * 160, "GSM-7", 1, 160),
        ("a" * 161, "GSM-7", 2, 160),
        ("a" * 306, "GSM-7", 2, 160),
        ("a" * 307, "GSM-7", 3, 160),
        ("€" * 80, "GSM-7", 1, 160),  # extension characters cost two septets
        ("€" * 81, "GSM-7", 2, 160),
        ("ü" * 160, "GSM-7", 1, 160),  # in the basic table
        ("ж" * 70, "UCS-2", 1, 70),
        ("ж" * 71, "UCS-2", 2, 70),
        ("ж" * 134, "UCS-2", 2, 70),
        ("ж" * 135, "UCS-2", 3, 70),
        ("😀" * 35, "UCS-2", 1, 70),  # a surrogate pair is two UCS-2 units
        ("😀" * 36, "UCS-2", 2, 70),
    ],
)
def test_segment_count_matches_gsm_and_ucs2_rules(text, encoding, segments, limit):
    info = count_segments(text)
    assert (info.encoding, info.segments, info.single_limit) == (encoding, segments, limit)


@given(st.text(max_size=800))
def test_segments_always_cover_the_text(text):
    info = count_segments(text)
    per = info.per_segment
    assert info.segments * per >= info.units
    assert info.segments == 1 or (info.segments - 1) * per < info.units


def test_bodies_over_1600_characters_are_refused():
    validate_body("x" * 1600)
    with pytest.raises(MessageTooLong, match="1,601 characters"):
        validate_body("x" * 1601)


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_blank_bodies_are_refused(body):
    with pytest.raises(EmptyMessage):
        validate_body(body)
