"""Unknown senders: SMS from numbers that are no contact's. Kept, never dropped."""

import pandas as pd
import streamlit as st

from pages._shared import read, viewer
from smschat.chat.timefmt import format_timestamp
from smschat.people import unknown_senders

me = viewer("unknown_senders")
st.title("Unknown senders")
st.caption("Messages from numbers that belong to no contact of this project. Add the number to a "
           "contact (Add contacts) and later messages land in that contact's chat.")

rows = read(unknown_senders.list_unknown_senders, me.project_id)
if not rows:
    st.info("No message from an unknown number.")
    st.stop()
# st.dataframe renders every cell as plain text: bodies are user data.
st.dataframe(
    pd.DataFrame({
        "Phone Number": [r.phone_number for r in rows],
        "Messages": [r.messages for r in rows],
        "Last message": [format_timestamp(r.last_at, me.time_zone) for r in rows],
        "Last text": [r.last_body for r in rows],
    }),
    hide_index=True, width="stretch",
)
number = st.selectbox("Show the messages of", [r.phone_number for r in rows])
lines = read(unknown_senders.thread, me.project_id, number)
st.dataframe(
    pd.DataFrame({
        "Time": [line.timestamp for line in lines],
        "From": [number if line.direction == "in" else line.sender for line in lines],
        "Message": [line.body for line in lines],
    }),
    hide_index=True, width="stretch",
)
