"""The chat's banner about the contact's number: opted out, or a carrier's fact about it,
with the consent record's latest line for it and what staff can do. Plain text only."""

import streamlit as st

from pages._shared import act, notice, read
from smschat.people import number_facts


def show_number_facts(project_id: int, contact_id: int) -> None:
    status = read(number_facts.number_status, project_id, contact_id)
    if status.blocked is not None:
        what = status.latest or status.blocked.label
        notice("warning", f"{status.e164} — {what}. {status.advice}", icon="⛔")
        if status.can_allow_again and st.button("Allow sending again", key=f"allow_again_{contact_id}"):
            act(number_facts.allow_again, project_id, contact_id)
    elif status.latest:
        notice("caption", f"{status.e164} — {status.latest}.")
