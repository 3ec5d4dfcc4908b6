"""Untrusted text: the one rule, called at every edge (gateway routes, services behind pages,
CSV imports and the CLI).

The characters it is about (`CONTROLS`): the C0 controls U+0000–U+001F except tab (U+0009),
line feed (U+000A) and carriage return (U+000D), and DEL (U+007F). None of them is text a
person wrote; PostgreSQL cannot store U+0000 at all, and SQLite's LIKE and FTS5 stop at it.
A lone surrogate (U+D800–U+DFFF not in a pair) is not a character either: it cannot be
encoded as UTF-8, so no database, file or page can take it.

- `clean(s)` is for text that is stored: message bodies (inbound and outgoing), notes,
  names, case properties, templates. It removes `CONTROLS`, joins a surrogate pair written
  as two code points into its character and replaces a lone surrogate with U+FFFD. It keeps
  everything else: RTL and LTR marks, zero-width joiners, emoji, combining marks, C1 controls.
  So an inbound SMS is never lost for its bytes: it is stored cleaned.
- `refuse_controls(s, what)` is for text that asks for something (search, filters, settings):
  a `CONTROLS` character or a lone surrogate there is refused with one line naming the field,
  since quietly searching for something else than what was typed would mislead.
"""

from __future__ import annotations

import re

from smschat.errors import ValidationError

#: Removed from stored text, refused in search, filter and settings text.
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_EITHER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean(s: str) -> str:
    """`s` without control characters (tab, CR and LF stay) and with every surrogate resolved:
    always a str that encodes as UTF-8. Text with none of them comes back as it is."""
    if not _EITHER.search(s):
        return s
    s = CONTROLS.sub("", s)
    if _SURROGATE.search(s):
        # A pair written as two code points becomes its one character; a lone one, U+FFFD.
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return s


def clean_optional(s: str | None) -> str | None:
    return None if s is None else clean(s)


def clean_json(value):
    """`clean` on every string of a JSON value (keys too): case properties. PostgreSQL's jsonb
    refuses U+0000 like its text does."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    return value


def refuse_controls(s, what: str):
    """`s` itself, or ValidationError with one line naming `what` (e.g. "Search text") and the
    first character refused. A list, tuple or dict (a setting's parts) is checked through;
    anything else (a number, None) passes as it is."""
    if isinstance(s, dict):
        for part in (*s.keys(), *s.values()):
            refuse_controls(part, what)
        return s
    if isinstance(s, list | tuple):
        for part in s:
            refuse_controls(part, what)
        return s
    if not isinstance(s, str):
        return s
    found = _EITHER.search(s)
    if found is None:
        return s
    char = found.group()
    kind = "a character that is not text" if _SURROGATE.match(char) else "a control character"
    raise ValidationError(f"{what} contains {kind} (U+{ord(char):04X}); remove it and try again.")
