"""Projects (admins): create projects, rename them, time zone, default region, sender numbers."""

import pandas as pd
import streamlit as st

from pages._shared import act, read, show_flash, viewer
from smschat.accounts import projects

me = viewer("projects")
st.title("Projects")
st.caption("The projects you administer. A sender number belongs to one project only; "
           "numbers are stored in E.164, national numbers are read in the project's default region.")

read(projects.managed_project, me.project_id)  # refuses a non-admin here
rows = read(projects.managed_projects)
show_flash("flash")  # it quotes the project's name

st.dataframe(
    pd.DataFrame(
        {
            "Slug": [r.slug for r in rows],
            "Name": [r.name for r in rows],
            "Time zone": [r.time_zone for r in rows],
            "Default region": [r.default_region for r in rows],
            "Sender numbers": [", ".join(r.sender_numbers) for r in rows],
        }
    ),
    hide_index=True,
    width="stretch",
)

ZONES = projects.time_zones()
left, right = st.columns(2)

with left.form("add_project", clear_on_submit=True):
    st.subheader("Add a project")
    slug = st.text_input("Slug", help="Lower-case letters, digits and dashes; used by the command line.")
    name = st.text_input("Name")
    zone = st.selectbox("Time zone", ZONES, index=ZONES.index("UTC"), key="new_zone")
    region = st.text_input("Default region", value="US", max_chars=2, key="new_region",
                           help="Two letters, e.g. US, KE, SN: how national phone numbers are read.")
    senders = st.text_area("Sender numbers", placeholder="one per line, e.g. +15005550006", key="new_senders")
    if st.form_submit_button("Add project"):
        act(projects.add_project, me.project_id, slug, name, time_zone=zone, default_region=region,
            sender_numbers=[n.strip() for n in senders.splitlines() if n.strip()],
            flash=lambda created: f"Added {created.name}. You are its admin; switch to it in the sidebar.")

with right.container(border=True):
    st.subheader("Change a project")
    ids = [r.id for r in rows]
    by_id = {r.id: r for r in rows}
    chosen = by_id[st.selectbox("Project", ids, index=ids.index(me.project_id), format_func=lambda i: by_id[i].name,
                                key="projects_target")]
    new_name = st.text_input("Name", value=chosen.name, key=f"name_{chosen.id}")
    if st.button("Rename"):
        act(projects.rename_project, chosen.id, new_name)
    new_zone = st.selectbox("Time zone", ZONES, index=ZONES.index(chosen.time_zone) if chosen.time_zone in ZONES else 0,
                            key=f"zone_{chosen.id}")
    if st.button("Set time zone"):
        act(projects.set_time_zone, chosen.id, new_zone)
    new_region = st.text_input("Default region", value=chosen.default_region, max_chars=2, key=f"region_{chosen.id}")
    if st.button("Set default region"):
        act(projects.set_default_region, chosen.id, new_region)

    st.markdown("**Sender numbers**")
    if not chosen.sender_numbers:
        st.caption("No sender number yet.")
    for number in chosen.sender_numbers:
        text_col, button_col = st.columns([4, 1])
        text_col.text(number)
        if button_col.button("Remove", key=f"remove_{chosen.id}_{number}"):
            act(projects.remove_sender_number, chosen.id, number, where=text_col)
    new_number = st.text_input("Sender number", key=f"sender_{chosen.id}", placeholder="+15005550006")
    if st.button("Add sender number", key="add_sender"):
        act(projects.add_sender_number, chosen.id, new_number)
