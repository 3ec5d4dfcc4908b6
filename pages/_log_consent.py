"""The Message log's download of the consent record (every opt-out and opt-in, with its
source and the message that caused it), prepared on a click and audited like an export."""

import streamlit as st

from pages._shared import act
from smschat.log import consent


def consent_download(project_id: int, username: str) -> None:
    st.subheader("Consent record")
    st.caption("Every opt-out and opt-in of the project's numbers (STOP and START replies, Twilio's 21610, "
               "imports), and what carrier errors taught about numbers, with the message that caused each.")
    if st.button("Prepare the consent record (CSV)", key="consent_prepare"):
        data = act(consent.consent_csv, project_id, username=username, rerun=False)
        if data is not None:
            st.session_state["consent_csv"] = data
    data = st.session_state.get("consent_csv")
    if data is not None:
        st.download_button("Download the consent record (CSV)", data=data, file_name="consent-record.csv",
                           mime="text/csv", key="consent_download", on_click="ignore", type="primary")
