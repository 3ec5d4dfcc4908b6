"""Add contacts (supervisors, admins): one at a time, a CSV upload, and phone verification."""

import pandas as pd
import streamlit as st

from pages._shared import act, read, viewer
from smschat.people import imports

me = viewer("manage_contacts")
st.title("Add contacts")

worker_tab, case_tab, upload_tab, verify_tab = st.tabs(["Mobile worker", "Case", "Import a CSV file", "Verification"])

with worker_tab, st.form("add_worker", clear_on_submit=True):
    name = st.text_input("Name")
    username = st.text_input("Username")
    phone = st.text_input("Phone number")
    verify = st.checkbox("Send the verification SMS now", value=True)
    if st.form_submit_button("Add mobile worker"):
        act(imports.add_contact, me.project_id, "mobile_worker", name, phone, username=username or None,
            send_verification=verify, rerun=False,
            flash="Added. The worker appears in the contacts once the number is verified.")

with case_tab, st.form("add_case", clear_on_submit=True):
    name = st.text_input("Case name")
    phone = st.text_input("Phone number", key="case_phone")
    props = st.text_area("Case properties", placeholder="one per line: property = value")
    if st.form_submit_button("Add case"):
        properties = dict(
            (k.strip(), v.strip()) for k, v in (line.split("=", 1) for line in props.splitlines() if "=" in line)
        )
        act(imports.add_contact, me.project_id, "case", name, phone, case_properties=properties, rerun=False,
            flash="Added.")

with upload_tab:
    st.write("Columns: `type` (mobile_worker or case), `name`, `phone`; for workers optionally "
             "`username`, `first_name`, `verified`; for any row `opted_out` (yes opts the number out, "
             "kept in the consent record; no never opts it back in); every other column is a case property. "
             "Rows are matched by phone number: importing the same file again changes nothing.")
    upload = st.file_uploader("CSV file", type=["csv"])
    if upload is not None and st.button("Import"):
        report = act(imports.import_csv, me.project_id, upload.getvalue().decode("utf-8-sig"), rerun=False,
                     flash=lambda report: report.summary)
        if report and report.errors:
            st.dataframe(pd.DataFrame(report.errors, columns=["Line", "Error"]), hide_index=True)

with verify_tab:
    st.write("Mobile workers whose number is not verified yet are not in the contacts list. "
             "The verification SMS asks them to reply '123'.")
    pending = read(imports.unverified_workers, me.project_id)
    if not pending:
        st.info("Every mobile worker's number is verified.")
    for contact_id, name, number in pending:
        left, right = st.columns([4, 1])
        left.text(f"{name} · {number}")
        if right.button("Send verification", key=f"verify_{contact_id}"):
            act(imports.start_verification, me.project_id, contact_id, where=left, rerun=False, flash="Sent.")
