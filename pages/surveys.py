"""Surveys (supervisors, admins): ordered questions, sessions, answers as CSV."""

import pandas as pd
import streamlit as st

from pages._automation import PICK_LIMIT
from pages._shared import act, read, viewer
from smschat.automation import surveys
from smschat.people import contacts

me = viewer("surveys")
st.title("Surveys")


def _accepts(q) -> str:
    if q["kind"] == "number":
        low, high = q.get("min"), q.get("max")
        return "a number" + (f" from {low:g}" if low is not None else "") + (f" to {high:g}" if high is not None else "")
    if q["kind"] == "choice":
        return "1-%d or the choice's text" % len(q["choices"])
    return "any text"


def _survey(session, actor, project_id: int, survey_id: int):
    """One survey's questions, answers and answers file, in one transaction."""
    columns, answers = surveys.export_rows(session, actor, project_id, survey_id)
    return (surveys.survey_detail(session, actor, project_id, survey_id).questions, columns, answers,
            surveys.export_csv(session, actor, project_id, survey_id))


rows = read(surveys.list_surveys, me.project_id)

if rows:
    st.dataframe(pd.DataFrame({
        "Survey": [r.name for r in rows],
        "Questions": [r.questions for r in rows],
        "Asks per question": [r.max_attempts for r in rows],
        "Timeout (minutes)": [r.timeout_minutes for r in rows],
        "Sessions": [r.sessions for r in rows],
        "Completed": [r.completed for r in rows],
    }), hide_index=True, width="stretch")
    names = {r.id: r.name for r in rows}
    pick = st.selectbox("Survey", list(names), format_func=names.get, key="sv_pick")
    questions, columns, answers, answers_csv = read(_survey, me.project_id, pick)
    st.dataframe(pd.DataFrame({
        "#": list(range(1, len(questions) + 1)),
        "Question as sent": [surveys.question_text(q) for q in questions],
        "Kind": [surveys.KINDS[q["kind"]] for q in questions],
        "Accepts": [_accepts(q) for q in questions],
    }), hide_index=True, width="stretch")
    st.caption("Answers")
    frame = pd.DataFrame(answers, columns=columns)
    st.dataframe(frame, hide_index=True, width="stretch")
    st.download_button("Download answers (CSV)", answers_csv, file_name=f"survey-{pick}.csv",
                       mime="text/csv", key="sv_csv")
    people = read(contacts.browse, me.project_id, page_size=PICK_LIMIT).rows
    if people:
        c1, c2 = st.columns([3, 1])
        who = c1.selectbox("Start it now for", people, format_func=lambda r: f"{r.name} · {r.phone}", key="sv_who")
        if c2.button("Start survey", key="sv_start"):
            act(surveys.start_for_contact, me.project_id, pick, who.id, rerun=False,
                flash="Started: the first question is queued.")
else:
    st.info("No surveys yet. Start one from a keyword, a broadcast or a reminder once it exists.")

with st.container(border=True):
    st.subheader("New survey")
    name = st.text_input("Name", key="sv_name")
    st.caption("One question per row. Kind: text, number (optional min and max) or choice "
               "(choices separated by |, answered by number or text).")
    editor = st.data_editor(
        pd.DataFrame({"Question": pd.Series(dtype="str"), "Kind": pd.Series(dtype="str"),
                      "Min": pd.Series(dtype="float"), "Max": pd.Series(dtype="float"),
                      "Choices": pd.Series(dtype="str")}),
        num_rows="dynamic", key="sv_questions", width="stretch",
        column_config={"Kind": st.column_config.SelectboxColumn(options=list(surveys.KINDS), default="text")},
    )
    c1, c2 = st.columns(2)
    attempts = c1.number_input("Asks per question (first ask + re-asks after an invalid answer)", 1, 10, 3,
                               key="sv_attempts")
    timeout = c2.number_input("Timeout (minutes without an answer)", 1, 7 * 24 * 60, 60, key="sv_timeout")
    if st.button("Add survey", type="primary", key="sv_add"):
        questions = [
            {"text": row["Question"], "kind": row["Kind"] or "text",
             "min": None if pd.isna(row["Min"]) else row["Min"], "max": None if pd.isna(row["Max"]) else row["Max"],
             "choices": [c for c in str(row["Choices"] or "").split("|")] if not pd.isna(row["Choices"]) else []}
            for _, row in editor.iterrows() if isinstance(row["Question"], str) and row["Question"].strip()
        ]
        act(surveys.create_survey, me.project_id, name, questions, max_attempts=attempts, timeout_minutes=timeout)
