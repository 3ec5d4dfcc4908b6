"""Keywords (supervisors, admins): an inbound message's first word gets a reply or starts a survey."""

import pandas as pd
import streamlit as st

from pages._automation import survey_picker
from pages._shared import act, read, viewer
from smschat.automation import keywords

me = viewer("keywords")
st.title("Keywords")
st.caption("An incoming message whose first word is a keyword (any case) gets the reply, or starts the survey. "
           "A contact in the middle of a survey answers it first. STOP, START and HELP are reserved.")

rows = read(keywords.list_keywords, me.project_id)

if rows:
    st.dataframe(pd.DataFrame({
        "Keyword": [r.keyword for r in rows],
        "Reply": [r.reply for r in rows],
        "Starts survey": [r.survey or "" for r in rows],
    }), hide_index=True, width="stretch")
    names = {r.id: r.keyword for r in rows}
    pick = st.selectbox("Keyword", list(names), format_func=names.get, key="kw_pick")
    if st.button("Delete keyword", key="kw_delete"):
        act(keywords.delete_keyword, me.project_id, pick)
else:
    st.info("No keywords yet.")

with st.container(border=True):
    st.subheader("New keyword")
    word = st.text_input("Keyword", key="kw_word", placeholder="CLINIC")
    reply = st.text_area("Reply", key="kw_reply", max_chars=1600)
    survey_id = survey_picker(me, "kw", label="Survey to start (optional)")
    if st.button("Add keyword", type="primary", key="kw_add"):
        act(keywords.create_keyword, me.project_id, word, reply, survey_id=survey_id)
