"""Widgets the automation pages share: who receives a message, which survey, what it costs."""

from __future__ import annotations

import streamlit as st

from pages._shared import notice, read
from smschat.automation import groups, surveys
from smschat.messaging import pricing
from smschat.messaging.lookalikes import unicode_hint, with_lookalikes
from smschat.people import contacts

PICK_LIMIT = 500  # the most a picker lists (the contacts list's largest page)


def target_picker(me, prefix: str) -> dict:
    """One contact, all mobile workers, all cases, or cases with a property value."""
    kinds = list(groups.TARGETS)
    kind = st.selectbox("Recipients", kinds, format_func=groups.TARGETS.get, key=f"{prefix}_target")
    if kind == "contact":
        rows = read(contacts.browse, me.project_id, page_size=PICK_LIMIT).rows
        choice = st.selectbox("Contact", rows, format_func=lambda r: f"{r.name} · {r.kind_label} · {r.phone}",
                              key=f"{prefix}_contact")
        return {"kind": kind, "contact_id": choice.id if choice else None}
    if kind == "case_property":
        c1, c2 = st.columns(2)
        prop = c1.text_input("Case property", key=f"{prefix}_property", placeholder="village")
        value = c2.text_input("Value", key=f"{prefix}_value", placeholder="Kisumu")
        return {"kind": kind, "property": prop, "value": value}
    return {"kind": kind}


def survey_picker(me, prefix: str, label: str = "Survey (instead of a message)") -> int | None:
    rows = read(surveys.list_surveys, me.project_id)
    options = [None] + [r.id for r in rows]
    names = {r.id: r.name for r in rows}
    return st.selectbox(label, options, format_func=lambda i: "No survey: send the message" if i is None else names[i],
                        key=f"{prefix}_survey")


def _use_lookalikes(key: str) -> None:
    st.session_state[key] = with_lookalikes(st.session_state.get(key) or "")


def cost_estimate(me, prefix: str, body: str, target: dict, survey_id: int | None) -> None:
    """Before saving: segments × recipients × the project's price per segment, and the
    characters that force Unicode, with the same one-click look-alike replacement as the chat."""
    if survey_id is not None or not (body or "").strip():
        return
    estimate = read(pricing.automation_estimate, me.project_id, body, target)
    with st.container(key=f"{prefix}_estimate"):
        notice("caption", f"Estimate: {estimate.describe()}")
        hint = unicode_hint(body)
        if hint:
            text_col, button_col = st.columns([3, 1])
            notice("caption", hint, where=text_col)
            button_col.button("Use GSM-7 look-alikes", key=f"{prefix}_lookalikes", on_click=_use_lookalikes,
                              args=(f"{prefix}_body",))
