"""Chat templates: how the chat window lays out its history. Registered here, as data."""

from __future__ import annotations

from dataclasses import dataclass

from smschat.errors import ValidationError


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    description: str
    css: str  # scoped to .smschat-history; no user data in it
    one_line: bool  # sender, body and time on one line


_BASE_CSS = (
    ".smschat-history .who{font-weight:600}"
    ".smschat-history .ts{color:#888;font-size:.8em;margin-left:.5em}"
    ".smschat-history .status{font-size:.75em;color:#777;margin-left:.4em}"
    ".smschat-history .status.bad,.smschat-history .err{color:#c00}"
    ".smschat-history .dot{display:inline-block;width:.55em;height:.55em;border-radius:50%;"
    "background:#1a73e8;margin-right:.35em;vertical-align:middle}"
    ".smschat-history .msg.in .who{color:#0b5394}"
    ".smschat-history .body{white-space:pre-wrap;word-break:break-word}"
    # A staff note: boxed and tinted, never mistaken for an SMS.
    ".smschat-history .msg.note{background:#fff8db;border-left:4px solid #e0b400;padding-left:.5em;font-style:italic}"
    ".smschat-history .msg.note .who{color:#8a6d00}"
)

TEMPLATES: dict[str, ChatTemplate] = {
    t.name: t
    for t in (
        ChatTemplate(
            "Default",
            "The seed's layout: one message per block, time after the text.",
            _BASE_CSS + ".smschat-history .msg{padding:5px 0}",
            one_line=False,
        ),
        ChatTemplate(
            "Compact",
            "One line per message, small type: more history on screen.",
            _BASE_CSS
            + ".smschat-history .msg{padding:1px 0;font-size:.85em;white-space:nowrap;overflow:hidden;"
            "text-overflow:ellipsis}.smschat-history .body{white-space:nowrap}",
            one_line=True,
        ),
        ChatTemplate(
            "Bubbles",
            "A phone's layout: incoming on the left, outgoing on the right, time and status under each.",
            _BASE_CSS
            + ".smschat-history .msg{width:fit-content;max-width:75%;margin:6px 0;padding:6px 10px;"
            "border-radius:14px;background:#eef0f3}"
            ".smschat-history .msg.out{margin-left:auto;background:#dcebff}"
            ".smschat-history .who{display:block;font-size:.8em}"
            ".smschat-history .ts{display:block;margin-left:0;font-size:.72em}"
            ".smschat-history .status{display:block;margin-left:0;text-align:right}"
            ".smschat-history .msg.out .ts{text-align:right}",
            one_line=False,
        ),
    )
}
DEFAULT_TEMPLATE = "Default"


def validate_template(name: str) -> str:
    if name not in TEMPLATES:
        raise ValidationError(f"Unknown chat template {name!r}; use one of {', '.join(TEMPLATES)}.")
    return name


def get_template(name: str | None) -> ChatTemplate:
    return TEMPLATES.get(name or DEFAULT_TEMPLATE, TEMPLATES[DEFAULT_TEMPLATE])
