"""Web users (admins): who may use this project, in which role; and the audit trail."""

import pandas as pd
import streamlit as st

from pages._shared import act, read, viewer
from smschat.accounts import access, users
from smschat.chat.timefmt import format_timestamp

me = viewer("users")
st.title("Web users")
ROLES = [r.value for r in access.Role]

rows = read(users.project_users, me.project_id)
st.dataframe(
    pd.DataFrame(
        {
            "Username": [r.username for r in rows],
            "First name": [r.first_name for r in rows],
            "Role": [r.role for r in rows],
            "Active": [r.active for r in rows],
            # Accounts are global: say which ones only a site admin may change, and why.
            "You can change it": ["No. " + r.locked if r.locked else "Yes" for r in rows],
        }
    ),
    hide_index=True,
    width="stretch",
)

left, right = st.columns(2)
with left.form("add_user", clear_on_submit=True):
    st.subheader("Add a web user")
    username = st.text_input("Username")
    first_name = st.text_input("First name")
    role = st.selectbox("Role", ROLES)
    password = st.text_input("Password", type="password",
                             help="At least 10 characters, not a common password; a few unrelated words work well.")
    if st.form_submit_button("Add"):
        act(users.add_user, me.project_id, username, password, first_name=first_name, role=role, rerun=False,
            flash="Added.")

with right.container(border=True):
    st.subheader("Change a web user")
    names = [r.username for r in rows]
    if names:
        target = st.selectbox("Web user", names, key="users_target")
        locked = {r.username: r.locked for r in rows}.get(target)
        if locked:
            st.text(locked)  # plain text; the buttons below would get the same answer
        new_role = st.selectbox("New role", ROLES, key="users_role")
        c1, c2, c3 = st.columns(3)
        if c1.button("Set role", key="users_set_role"):
            act(users.change_role, me.project_id, target, new_role)
        if c2.button("Disable"):
            act(users.set_active, me.project_id, target, False)
        if c3.button("Enable"):
            act(users.set_active, me.project_id, target, True)
        new_password = st.text_input("New password", type="password", key="users_password")
        if st.button("Reset password", key="users_reset_password"):
            act(users.reset_password, me.project_id, target, new_password, rerun=False, flash="Password changed.")

st.subheader("Audit trail")
ALL = "All"
kinds, names = read(users.audit_filters, me.project_id)
what_col, who_col = st.columns(2)
# Options are plain text (selectbox labels are not Markdown).
what = what_col.selectbox("What", [ALL, *kinds], key="audit_action")
who = who_col.selectbox("Who", [ALL, *names], key="audit_user")
events = read(users.audit_trail, me.project_id, action=None if what == ALL else what,
              username=None if who == ALL else who)
st.dataframe(
    pd.DataFrame(
        {
            "When": [format_timestamp(e.at, me.time_zone) for e in events],
            "What": [e.action for e in events],
            "Who": [e.username or "" for e in events],
            "Address": [e.address or "" for e in events],
            "Details": [", ".join(f"{k}: {v}" for k, v in e.detail.items()) for e in events],
        }
    ),
    hide_index=True,
    width="stretch",
)
