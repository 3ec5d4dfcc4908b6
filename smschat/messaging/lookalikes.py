"""GSM-7 look-alikes, in the spirit of Twilio's Smart Encoding: one curly quote turns a whole
message into UCS-2 (70 characters per SMS instead of 160), so the composer names the characters
that force Unicode and offers to replace them with these. The page's script gets the same table
(pages/_scripts.py); the README publishes it."""

from __future__ import annotations

from smschat.messaging.segments import GSM7_SINGLE, UCS2_SINGLE, count_segments, is_gsm7

SHOWN_CULPRITS = 8  # the hint names at most this many characters, then "…"

# character -> (its GSM-7 look-alike, how the composer names it when it cannot be seen)
LOOKALIKES: dict[str, tuple[str, str]] = {
    # quotes and apostrophes
    "\u2018": ("'", "left single quote"),
    "\u2019": ("'", "right single quote"),
    "\u201a": ("'", "low single quote"),
    "\u201b": ("'", "reversed single quote"),
    "\u2032": ("'", "prime"),
    "\u02bc": ("'", "modifier apostrophe"),
    "\u00b4": ("'", "acute accent"),
    "`": ("'", "grave accent"),
    "\u2039": ("<", "single left angle quote"),
    "\u203a": (">", "single right angle quote"),
    "\u201c": ('"', "left double quote"),
    "\u201d": ('"', "right double quote"),
    "\u201e": ('"', "low double quote"),
    "\u201f": ('"', "reversed double quote"),
    "\u2033": ('"', "double prime"),
    "\u00ab": ('"', "left guillemet"),
    "\u00bb": ('"', "right guillemet"),
    # dashes and hyphens
    "\u2010": ("-", "hyphen"),
    "\u2011": ("-", "non-breaking hyphen"),
    "\u2012": ("-", "figure dash"),
    "\u2013": ("-", "en dash"),
    "\u2014": ("-", "em dash"),
    "\u2015": ("-", "horizontal bar"),
    "\u2212": ("-", "minus sign"),
    "\u2022": ("-", "bullet"),
    "\u00ad": ("", "soft hyphen"),
    # dots, slashes, small signs
    "\u2026": ("...", "ellipsis"),
    "\u2024": (".", "one dot leader"),
    "\u2044": ("/", "fraction slash"),
    "\u02c6": ("^", "modifier circumflex"),
    "\u02dc": ("~", "small tilde"),
    # spaces: the odd ones become a plain space, the invisible ones go
    "\t": (" ", "tab"),
    "\u00a0": (" ", "no-break space"),
    "\u2000": (" ", "en quad"),
    "\u2001": (" ", "em quad"),
    "\u2002": (" ", "en space"),
    "\u2003": (" ", "em space"),
    "\u2004": (" ", "three-per-em space"),
    "\u2005": (" ", "four-per-em space"),
    "\u2006": (" ", "six-per-em space"),
    "\u2007": (" ", "figure space"),
    "\u2008": (" ", "punctuation space"),
    "\u2009": (" ", "thin space"),
    "\u200a": (" ", "hair space"),
    "\u202f": (" ", "narrow no-break space"),
    "\u205f": (" ", "medium mathematical space"),
    "\u3000": (" ", "ideographic space"),
    "\u2028": ("\n", "line separator"),
    "\u2029": ("\n", "paragraph separator"),
    "\u200b": ("", "zero-width space"),
    "\u2060": ("", "word joiner"),
    "\ufeff": ("", "zero-width no-break space"),
}


def unicode_culprits(text: str) -> list[str]:
    """The distinct characters, in order of first use, that make `text` need UCS-2."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in seen and not is_gsm7(ch):
            seen[ch] = None
    return list(seen)


def shown(ch: str) -> str:
    """A character as the composer names it: itself, or a name in brackets when it cannot be
    seen (a space or invisible character of the table, a control character). No Unicode
    database decides, so the page's script (another Unicode version) says exactly the same."""
    if ch in LOOKALIKES and not LOOKALIKES[ch][0].strip():
        return f"[{LOOKALIKES[ch][1]}]"
    if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F:
        return f"[U+{ord(ch):04X}]"
    return ch


def with_lookalikes(text: str) -> str:
    """`text` with every character of the table replaced by its look-alike (others kept)."""
    return "".join(LOOKALIKES[ch][0] if ch in LOOKALIKES else ch for ch in text)


def unicode_hint(text: str) -> str:
    """What the composer says when `text` needs Unicode, e.g.
    "“ ” — force Unicode: 3 SMS instead of 1"; "" when it does not."""
    bad = unicode_culprits(text)
    if not bad:
        return ""
    now, fixed = count_segments(text), count_segments(with_lookalikes(text))
    names = " ".join(shown(ch) for ch in bad[:SHOWN_CULPRITS]) + (" \u2026" if len(bad) > SHOWN_CULPRITS else "")
    why = (f"{now.segments} SMS instead of {fixed.segments}"
           if fixed.encoding == "GSM-7" and fixed.segments != now.segments
           else f"{UCS2_SINGLE} characters per SMS instead of {GSM7_SINGLE}")
    return f"{names} \u2014 {'forces' if len(bad) == 1 else 'force'} Unicode: {why}"
