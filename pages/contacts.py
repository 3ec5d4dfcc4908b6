"""Contacts: the seed's list of mobile workers and cases, with a Chat link per row."""

import pandas as pd
import streamlit as st

from pages._shared import banner_errors, viewer
from smschat import contacts
from smschat.db import session_scope

PAGE_SIZES = [10, 25, 50, 100]

me = viewer("contacts")
st.title("Contacts")
st.caption("Only mobile workers with a verified phone number and cases with a phone number are listed.")

left, middle, right = st.columns([3, 2, 2])
search = left.text_input("Search", placeholder="Name or phone number", key="contacts_search")
kind_label = middle.selectbox("Contact Type", ["All", "Mobile Worker", "Case"], key="contacts_kind")
page_size = right.selectbox("Show N contacts per page", PAGE_SIZES, index=1, key="contacts_page_size")
kind = {"Mobile Worker": "mobile_worker", "Case": "case"}.get(kind_label)

# A new filter starts again from the first page.
filter_key = (search, kind, page_size)
if st.session_state.get("contacts_filter") != filter_key:
    st.session_state["contacts_filter"] = filter_key
    st.session_state["contacts_page"] = 0

with banner_errors(), session_scope(readonly=True) as session:
    total = contacts.count_contacts(session, me.project_id, search=search, kind=kind)
    pages = max(1, -(-total // page_size))
    page = min(st.session_state.get("contacts_page", 0), pages - 1)
    rows = contacts.list_contacts(
        session, me.project_id, search=search, kind=kind, limit=page_size, offset=page * page_size
    )

    frame = pd.DataFrame(
        {
            "Contact Name": [r.name for r in rows],
            "Contact Type": [r.kind_label for r in rows],
            "Phone Number": [r.phone for r in rows],
            "Chat": [f"chat?contact={r.id}" for r in rows],
        }
    )
    st.dataframe(
        frame,
        hide_index=True,
        width="stretch",
        column_config={"Chat": st.column_config.LinkColumn("Chat", display_text="Chat")},
    )
    first = page * page_size + 1 if total else 0
    last = min(total, (page + 1) * page_size)
    prev_col, info_col, next_col = st.columns([1, 4, 1])
    info_col.write(f"Showing {first} to {last} of {total} contacts")
    if prev_col.button("< Previous", disabled=page == 0):
        st.session_state["contacts_page"] = page - 1
        st.rerun()
    if next_col.button("Next >", disabled=page >= pages - 1):
        st.session_state["contacts_page"] = page + 1
        st.rerun()
