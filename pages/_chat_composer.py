"""The composer's live line: character counter, the cost of this message when the project
sets a price per segment, and the characters that force Unicode with a one-click GSM-7
look-alike replacement. The script (pages/_scripts.py) fills it in as the user types; the
price reaches it through data- attributes, never inside the script."""

from html import escape

import streamlit as st

from pages._shared import read
from smschat.messaging import pricing

STYLE = ("<style>.smschat-counter{color:#666;font-size:.85em}.smschat-counter.over{color:#d00;font-weight:600}"
         ".smschat-hint{color:#8a5300;font-size:.85em}.smschat-hint button{margin-left:.6em;font-size:.95em;"
         "padding:0 .5em;border:1px solid #c98a00;border-radius:4px;background:#fff8e6;cursor:pointer}</style>")


def composer_counter(me, contact_id: int) -> None:
    """Draw the counter and the hint under the message box (inside the composer container).
    Its data attributes also name the window for the page script (the draft's key, the Send
    button): ids only."""
    price = read(pricing.composer_price, me.project_id)
    attributes = {"window": f"{me.user_id}:{me.project_id}:{contact_id}", "send": f"send_{contact_id}",
                  **(price.data_attributes() if price else {})}
    data = "".join(f" data-{k}='{escape(v)}'" for k, v in attributes.items())
    st.html(f"<div class='smschat-counter' aria-live='polite'{data}>0 / 160</div>"
            f"<div class='smschat-hint' aria-live='polite' hidden></div>{STYLE}")
