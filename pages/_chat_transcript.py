"""The chat's transcript download: one conversation as CSV or a print-friendly HTML page."""

from datetime import timedelta

import streamlit as st

from pages._shared import act, viewer
from smschat.log import transcript

LABELS = {"csv": "CSV", "html": "HTML (print-friendly)"}


def transcript_download(project_id: int, contact_id: int) -> None:
    with st.expander("Transcript"):
        first, last, notes = st.columns([2, 2, 2], vertical_alignment="bottom")
        since = first.date_input("From (local day)", value=None, key=f"tr_from_{contact_id}")
        until = last.date_input("To (local day, included)", value=None, key=f"tr_to_{contact_id}")
        with_notes = notes.checkbox("Include notes", key=f"tr_notes_{contact_id}")
        ready = st.session_state.get(f"tr_file_{contact_id}")
        for (fmt, label), column in zip(LABELS.items(), st.columns([1, 2, 3]), strict=False):
            if column.button(f"Prepare {label}", key=f"tr_prepare_{fmt}_{contact_id}"):
                # Prepared on a click, not at every run: each file is one audit row.
                ready = act(transcript.write_transcript, project_id, contact_id, fmt, since=since,
                            until=until and until + timedelta(days=1), notes=with_notes,
                            username=viewer("chat").username, rerun=False)
                st.session_state[f"tr_file_{contact_id}"] = ready
        if ready is not None:
            st.download_button(f"Download {LABELS[ready.format]} ({ready.rows} messages)", ready.data,
                               file_name=ready.filename, mime=ready.media_type, key=f"tr_download_{contact_id}",
                               on_click="ignore")
