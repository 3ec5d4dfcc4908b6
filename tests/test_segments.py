import pytest
from hypothesis import given
from hypothesis import strategies as st

from smschat.errors import EmptyMessage, MessageTooLong
from smschat.messaging.lookalikes import LOOKALIKES, unicode_culprits, unicode_hint, with_lookalikes
from smschat.messaging.segments import count_segments, is_gsm7, split_segments, validate_body


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
        # Hand-checked: an escape pair or a surrogate pair that would straddle two segments
        # moves whole to the next one, so these need one segment more than units / 153 (67).
        ("a" * 152 + "€" + "a" * 152, "GSM-7", 3, 160),  # 306 septets: 152 | € + 151 | a
        ("€" * 153, "GSM-7", 3, 160),  # 306 septets: 76 € per segment (152 septets), 76 | 76 | 1
        ("a" * 152 + "€", "GSM-7", 1, 160),  # 154 septets fit in one SMS: no split at all
        ("a" * 152 + "€" + "a" * 7, "GSM-7", 2, 160),  # 161 septets: 152 | € + 7
        ("a" * 305 + "\f", "GSM-7", 3, 160),  # the form feed is an escape pair too: 153 | 152 | FF
        ("ж" * 66 + "😀" + "ж" * 66, "UCS-2", 3, 70),  # 134 units: 66 | 😀 + 65 | ж
        ("😀" * 67, "UCS-2", 3, 70),  # 134 units: 33 emoji per segment (66 units), 33 | 33 | 1
        ("ж" * 68 + "😀", "UCS-2", 1, 70),  # 70 units: one SMS, where a pair is never split anyway
        ("€" + "ж", "UCS-2", 1, 70),  # in UCS-2 the euro sign is one unit like any other
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
    # Each full segment holds at least per - 1 units (a pair may have moved on).
    assert info.segments == 1 or (info.segments - 1) * (per - 1) < info.units
    parts = split_segments(text)
    assert "".join(parts) == text and len(parts) == info.segments


def test_the_parts_a_phone_receives_never_split_a_pair():
    parts = split_segments("a" * 152 + "€" + "a" * 152)
    assert [len(p) for p in parts] == [152, 152, 1] and parts[1].startswith("€")
    parts = split_segments("ж" * 66 + "😀" + "ж" * 66)
    assert [len(p) for p in parts] == [66, 66, 1] and parts[1].startswith("😀")


def test_the_limit_counts_utf16_units_as_the_page_does():
    validate_body("😀" * 800)  # 1,600 units
    with pytest.raises(MessageTooLong, match="1,602 characters"):
        validate_body("😀" * 801)


def test_bodies_over_1600_characters_are_refused():
    validate_body("x" * 1600)
    with pytest.raises(MessageTooLong, match="1,601 characters"):
        validate_body("x" * 1601)


@pytest.mark.parametrize("body", ["", "   ", "\n\t"])
def test_blank_bodies_are_refused(body):
    with pytest.raises(EmptyMessage):
        validate_body(body)


def test_every_lookalike_is_gsm7_and_the_hint_names_what_forces_unicode():
    assert all(is_gsm7(rep) for rep, _ in LOOKALIKES.values())
    text = "“Hello” — see you at 9… " + "a" * 120
    assert unicode_culprits(text) == ["“", "”", "—", "…"]
    assert count_segments(text).segments == 3
    assert with_lookalikes(text) == '"Hello" - see you at 9... ' + "a" * 120
    assert unicode_hint(text) == "“ ” — … — force Unicode: 3 SMS instead of 1"
    assert unicode_hint("hello\u00a0there") == "[no-break space] — forces Unicode: 70 characters per SMS instead of 160"
    assert unicode_hint("Привет 😀") == ("П р и в е т 😀 — force Unicode: 70 characters per SMS instead of 160")
    assert unicode_hint("plain text €") == ""
