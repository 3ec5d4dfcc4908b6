"""The page's live counter (pages/_scripts.py, run in Chromium) against the server's rules
(smschat.messaging.segments and .lookalikes): the same encoding, units and segments, the same
1,600 check, hint and look-alike replacement, on thousands of strings weighted toward the
67/70/153/160 boundaries. One evaluate call counts a whole batch."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pages._scripts import COUNTER_JS
from smschat.messaging.lookalikes import LOOKALIKES, unicode_hint, with_lookalikes
from smschat.messaging.segments import GSM7_BASIC, GSM7_EXTENDED, count_segments, utf16_units

BASIC = sorted(GSM7_BASIC)
EXTENDED = sorted(GSM7_EXTENDED)
BMP = ["ж", "é", "ç", "中", "“", "”", "—", "…", "\u00a0", "\u200b", "á"]
ASTRAL = ["😀", "👍🏽", "𝄞", "🇰🇪"]
LOOKS = sorted(LOOKALIKES)
# Lengths either side of each boundary, and of two and three segments' worth.
BOUNDARIES = [n + d for n in (67, 70, 134, 140, 153, 160, 201, 306, 320, 459, 800, 1600) for d in (-2, -1, 0, 1, 2)]


ALPHABETS = {"gsm": BASIC, "gsm+ext": BASIC + EXTENDED, "ucs2": BASIC + BMP, "ucs2+astral": BASIC + ASTRAL,
             "lookalikes": BASIC + LOOKS, "any": BASIC + EXTENDED + BMP + ASTRAL + LOOKS}
EDGES = [66, 67, 69, 70, 152, 153, 159, 160, 305, 306]


def near_boundary(pick) -> str:
    """A string of about a boundary's length from one of several alphabets, with escape and
    surrogate pairs sprinkled where they may land on a segment's edge. `pick(options)` chooses
    (hypothesis' sampled_from, or a seeded Random's choice for the bulk)."""
    length = pick(BOUNDARIES)
    kind = pick(sorted(ALPHABETS))
    chars = [pick(BASIC)] * length
    for _ in range(pick(range(7))):  # a few other characters anywhere
        chars[pick(range(length))] = pick(ALPHABETS[kind])
    for _ in range(pick(range(3))):  # pairs right at a segment's edge
        edge = pick(EDGES)
        if edge < length and kind != "gsm":
            chars[edge] = pick(EXTENDED + ASTRAL)
    return "".join(chars)


@st.composite
def near_boundaries(draw) -> str:
    return near_boundary(lambda options: draw(st.sampled_from(list(options))))


TEXTS = st.one_of(near_boundaries(), st.text(max_size=400))
BULK = 3000  # more strings per evaluate call, from a Random seeded by hypothesis


@pytest.fixture(scope="module")
def counter(browser):
    """A blank page running the counter script, as the dashboard runs it."""
    page = browser.new_page()
    page.set_content("<!doctype html><title>counter</title>")
    page.add_script_tag(content=COUNTER_JS)
    page.wait_for_function("() => !!window.__smschatSegments")
    yield page
    page.close()


def _in_browser(page, texts: list[str]) -> list[dict]:
    return page.evaluate(
        "texts => texts.map(t => { const S = window.__smschatSegments, m = S.measure(t);"
        " return {encoding: m.encoding, units: m.units, segments: m.segments, limit: m.limit, length: m.length,"
        " tooLong: m.tooLong, hint: S.hint(t), lookalike: S.lookalike(t)}; })", texts)


def _in_python(text: str) -> dict:
    info = count_segments(text)
    return {"encoding": info.encoding, "units": info.units, "segments": info.segments, "limit": info.single_limit,
            "length": utf16_units(text), "tooLong": utf16_units(text) > 1600, "hint": unicode_hint(text),
            "lookalike": with_lookalikes(text)}


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(TEXTS, min_size=20, max_size=60), st.integers(0, 2**32))
def test_page_counter_and_server_agree_on_thousands_of_strings(counter, drawn, seed):
    rnd = random.Random(seed)
    texts = drawn + [near_boundary(lambda options: rnd.choice(list(options))) for _ in range(BULK)]
    browser_side = _in_browser(counter, texts)
    for text, got in zip(texts, browser_side, strict=True):
        assert got == _in_python(text), repr(text)


HAND_CHECKED = [
    # text, encoding, units, segments (worked out by hand from GSM 03.38 / 3GPP 23.040)
    ("", "GSM-7", 0, 1),
    ("a" * 160, "GSM-7", 160, 1),
    ("a" * 161, "GSM-7", 161, 2),
    ("a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("€" * 153, "GSM-7", 306, 3),
    ("a" * 306, "GSM-7", 306, 2),
    ("ж" * 70, "UCS-2", 70, 1),
    ("ж" * 66 + "😀" + "ж" * 66, "UCS-2", 134, 3),
    ("😀" * 67, "UCS-2", 134, 3),
    ("ж" * 134, "UCS-2", 134, 2),
    ("😀" * 800, "UCS-2", 1600, 25),  # 33 per segment,
]


def test_hand_checked_cases_in_both_counters(counter):
    got = _in_browser(counter, [t for t, *_ in HAND_CHECKED])
    for (text, encoding, units, segments), js in zip(HAND_CHECKED, got, strict=True):
        info = count_segments(text)
        assert (info.encoding, info.units, info.segments) == (encoding, units, segments)
        assert (js["encoding"], js["units"], js["segments"]) == (encoding, units, segments)
    over = _in_browser(counter, ["😀" * 800 + "a", "a" * 1600])
    assert [o["tooLong"] for o in over] == [True, False]
