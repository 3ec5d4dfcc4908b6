"""The Settings page's Quick replies section: a project's canned chat texts (supervisors)."""

import streamlit as st

from pages._shared import act, notice, read
from smschat.chat import quickreplies


def quick_replies_section(me) -> None:
    st.subheader("Quick replies")
    notice("caption", "Canned texts the chat can insert into the message box. Placeholders: "
           + ", ".join("{" + k + "} " + v for k, v in quickreplies.PLACEHOLDERS.items()) + ".")
    replies = read(quickreplies.list_quick_replies, me.project_id)
    for reply in replies:
        with st.expander(reply.title):
            with st.form(f"quick_reply_{reply.id}"):
                title = st.text_input("Title", value=reply.title)
                body = st.text_area("Text", value=reply.body)
                save, delete = st.columns(2)
                if save.form_submit_button("Save"):
                    act(quickreplies.save_quick_reply, me.project_id, title, body, quick_reply_id=reply.id,
                        flash="Quick reply saved.")
                if delete.form_submit_button("Delete"):
                    act(quickreplies.delete_quick_reply, me.project_id, reply.id, flash="Quick reply deleted.")
    if st.session_state.pop("quick_reply_added", False):  # emptied only after a save: an error keeps the text
        st.session_state.update(quick_reply_title="", quick_reply_body="")
    with st.form("quick_reply_new"):
        title = st.text_input("Title", key="quick_reply_title", placeholder="e.g. Clinic hours")
        body = st.text_area("Text", key="quick_reply_body", placeholder="Hello {first_name}, the clinic opens at 8.")
        if st.form_submit_button("Add quick reply") and act(
                quickreplies.save_quick_reply, me.project_id, title, body, rerun=False) is not None:
            st.session_state.update(quick_reply_added=True, flash="Quick reply added.")
            st.rerun()
