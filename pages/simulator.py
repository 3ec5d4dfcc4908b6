"""Phone simulator: answer as the contact. The reply takes the same inbound path as a gateway's."""

from html import escape

import streamlit as st

from pages._shared import act, end_if_logged_out, read, viewer
from smschat.config import get_settings
from smschat.messaging import simulator

me = viewer("simulator")
st.title("Phone simulator")
st.caption(
    "Messages sent with the loopback gateway arrive here. Type the contact's answer: it goes "
    "through the same inbound path a real SMS gateway uses."
)

numbers = read(simulator.numbers, me.project_id)
if not numbers:
    st.info("This project has no phone numbers yet.")
    st.stop()

labels = {n: f"{n} · {name}" for n, name, _ in numbers}
# "Reply as <contact>" in the chat opens here with ?contact=<id>: the service checks it is a
# contact of this project; the page opens on its number once, then the picker is the user's.
wanted = st.query_params.get("contact")
if wanted and st.session_state.get("sim_contact") != wanted:
    st.session_state["sim_contact"] = wanted
    number = read(simulator.number_of_contact, me.project_id, wanted)
    if number in labels:
        st.session_state["sim_number"] = number
number = st.selectbox("Phone", list(labels), format_func=labels.__getitem__, key="sim_number")


@st.fragment(run_every=get_settings().chat_refresh_seconds)
def thread() -> None:
    end_if_logged_out()
    lines = read(simulator.thread, me.project_id, number)
    if not lines:
        st.caption("No messages with this phone yet.")
        return
    rows = "".join(
        f"<div class='bubble {'me' if line.direction == 'in' else 'them'}'>"
        f"<div class='body'>{escape(line.body)}</div><div class='ts'>{escape(line.timestamp)}</div></div>"
        for line in lines
    )
    st.html(
        "<style>.phone{max-width:420px;border:1px solid #ddd;border-radius:18px;padding:12px;background:#f7f7f9}"
        ".phone .bubble{margin:6px 0;padding:6px 10px;border-radius:12px;max-width:85%;white-space:pre-wrap;word-break:break-word}"
        ".phone .them{background:#e5e5ea}.phone .me{background:#0b84ff;color:#fff;margin-left:auto}"
        ".phone .ts{font-size:.7em;opacity:.7}</style>"
        f"<div class='phone'>{rows}</div>"
    )


thread()

KEY = "sim_body"
if st.session_state.pop("sim_sent", False):
    st.session_state[KEY] = ""
st.text_input("Contact's reply", key=KEY, placeholder="Type what the contact answers")
if st.button("Send reply", type="primary") and act(
        simulator.reply, me.project_id, number, st.session_state[KEY], rerun=False):
    st.session_state["sim_sent"] = True
    st.rerun()
