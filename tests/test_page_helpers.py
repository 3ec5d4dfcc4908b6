"""The pages' read/act helpers (pages/_shared.py): one transaction, errors beside the widget,
stop or rerun, flash messages; and the pages that show what an action returned."""

from datetime import UTC, datetime, timedelta

from streamlit.testing.v1 import AppTest

from smschat.accounts import audit
from tests.test_pages import _as, _automation_data, _supervisor, app

VIEWER = {"user_id": 1, "username": "amy", "display_name": "Amy", "project_id": 1, "project_name": "P",
          "time_zone": "UTC", "role": "agent"}


def _script(fn) -> AppTest:
    at = AppTest.from_function(fn, default_timeout=30)
    at.session_state["viewer"] = dict(VIEWER)
    return at


def _act_in_place():
    import streamlit as st

    from pages._shared import act
    from smschat.errors import ValidationError

    def ok(session, actor, n):
        return {"n": n}

    def refused(session, actor):
        raise ValidationError("No **way**.")

    _, col = st.columns(2)
    st.text(repr(act(ok, 3, rerun=False, flash=lambda r: f"Got {r['n']}.", where=col)))
    st.text(repr(act(refused, rerun=False, flash="Never shown.", where=col)))
    st.text("the page goes on")


def test_act_without_rerun_shows_the_flash_or_the_error_beside_the_widget_and_goes_on(db_url):
    at = _script(_act_in_place).run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Got 3."]
    assert [e.value for e in at.error] == ["No \\*\\*way\\*\\*."]  # shown literally
    assert [t.value for t in at.text] == ["{'n': 3}", "None", "the page goes on"]
    assert at.columns[1].success and at.columns[1].error


def _act_and_rerun():
    import streamlit as st

    from pages._shared import act, show_flash

    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    if st.button("Go", key="go"):
        act(lambda session, actor: "Done: the text the change returned.", flash="Done.")
    show_flash("flash")


def test_act_commits_then_reruns_and_flashes_once(db_url):
    at = _script(_act_and_rerun).run()
    at.button(key="go").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Done: the text the change returned."]
    assert at.session_state["runs"] == 3  # the click's run, then the rerun after the commit
    at.run()
    assert not at.success


def _act_refused_after_a_write():
    from pages._shared import act
    from smschat.accounts import audit
    from smschat.errors import ValidationError

    def half_done(session, actor):
        audit.record(session, "page_helper_test", username="half")
        raise ValidationError("Refused halfway.")

    act(half_done)


def test_an_error_rolls_back_what_the_action_wrote(db_url, session):
    at = _script(_act_refused_after_a_write).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Refused halfway."]
    since = datetime.now(UTC) - timedelta(hours=1)
    assert audit.count_since(session, "page_helper_test", since) == 0


def _read_refused():
    import streamlit as st

    from pages._shared import read
    from smschat.errors import NotFound

    def missing(session, actor):
        raise NotFound("No such thing.")

    st.text(read(missing))
    st.text("below")


def test_read_shows_the_error_and_stops_the_page(db_url):
    at = _script(_read_refused).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["No such thing."]
    assert not at.text


def test_surveys_page_starts_a_survey_for_a_contact_in_place(db_url, session, project, marie):
    sam = _supervisor(session, project)
    _automation_data(session, project, sam)
    at = _as(app("pages/surveys.py"), sam, project, role="supervisor").run()
    assert [o for o in at.selectbox(key="sv_who").options] == ["marie · +17033996500"]
    at.button(key="sv_start").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Started: the first question is queued."]


def test_broadcasts_page_says_what_it_queued_after_the_rerun(db_url, session, project, marie):
    sam = _supervisor(session, project)
    at = _as(app("pages/broadcasts.py"), sam, project, role="supervisor").run()
    at.text_input(key="bc_name").input("Meeting")
    at.text_area(key="bc_body").input("Meeting at 6 pm")
    at.button(key="bc_send").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == ["Queued for 1 contacts (0 opted out, skipped)."]
    at.run()
    assert not at.success
