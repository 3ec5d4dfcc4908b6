"""SMS surveys and keywords: the valid path, invalid answers and re-asks, timeout, keyword
start, export; and the Survey Traffic filter in the chat for each mode."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from smschat.accounts import projects
from smschat.accounts.actor import Actor
from smschat.automation import keywords, surveys
from smschat.automation import runner as automation
from smschat.chat import window as chat
from smschat.errors import ValidationError
from smschat.messaging import inbound
from smschat.models import Message, SurveySession, utcnow

QUESTIONS = [
    {"text": "How many children under 5 live with you?", "kind": "number", "min": 0, "max": 20},
    {"text": "Did they sleep under a net last night?", "kind": "choice", "choices": ["Yes", "No"]},
    {"text": "Anything else to tell us?", "kind": "text"},
]


@pytest.fixture
def survey(session, project, sam):
    s = surveys.create_survey(session, Actor.web(sam.id), project.id, "Household", QUESTIONS, max_attempts=2, timeout_minutes=30)
    keywords.create_keyword(session, Actor.web(sam.id), project.id, "survey", "Thanks, here come 3 questions.", survey_id=s.id)
    keywords.create_keyword(session, Actor.web(sam.id), project.id, "clinic", "The clinic opens at 8am.")
    session.commit()
    return s


def reply(session, project, text):
    return inbound.receive_sms(session, project, "+17033996500", text).message


def outgoing(session):
    return [m.body for m in session.scalars(
        select(Message).where(Message.direction == "out").order_by(Message.id))]


def test_a_keyword_gets_its_reply_case_insensitively(session, project, marie, survey):
    message = reply(session, project, "Clinic? when")
    assert message.workflow == "keyword"
    assert outgoing(session) == ["The clinic opens at 8am."]
    plain = reply(session, project, "clinical question")  # first word must match exactly
    assert plain.workflow == "default" and len(outgoing(session)) == 1


def test_a_keyword_starts_a_survey_and_valid_answers_complete_it(session, project, marie, survey):
    reply(session, project, "SURVEY")
    assert outgoing(session) == ["Thanks, here come 3 questions.", "How many children under 5 live with you?"]
    answer = reply(session, project, "3")
    assert (answer.workflow, answer.invalid_response) == ("survey", False)
    assert outgoing(session)[-1] == "Did they sleep under a net last night? Reply 1 for Yes, 2 for No"
    reply(session, project, "yes")
    reply(session, project, "All good, thank you")
    sess = session.scalar(select(SurveySession))
    assert (sess.status, sess.origin) == ("completed", "keyword")
    assert sess.answers == {"0": "3", "1": "Yes", "2": "All good, thank you"}
    columns, rows = surveys.export_rows(session, Actor.web(_sam_id(session)), project.id, survey.id)
    assert columns[-3:] == [f"Q{i}: {q['text']}" for i, q in enumerate(QUESTIONS, 1)]
    assert rows[0][1:3] == ["marie", "+17033996500"] and rows[0][4:] == ["completed", "keyword", "3", "Yes",
                                                                        "All good, thank you"]
    # After the survey, the contact's messages are plain chat again.
    assert reply(session, project, "hello").workflow == "default"


def _sam_id(session):
    from smschat.models import WebUser

    return session.scalar(select(WebUser.id).where(WebUser.username == "sam"))


def test_an_invalid_answer_is_flagged_and_the_question_asked_again_up_to_the_limit(session, project, marie, survey):
    reply(session, project, "survey")
    bad = reply(session, project, "lots")
    assert (bad.workflow, bad.invalid_response) == ("survey", True)
    assert outgoing(session)[-1] == ("Sorry, that is not a valid answer. Please answer with a number. "
                                     "How many children under 5 live with you?")
    too_big = reply(session, project, "25")  # second and last attempt (max_attempts=2)
    assert too_big.invalid_response is True
    sess = session.scalar(select(SurveySession))
    assert sess.status == "too_many_invalid" and len(outgoing(session)) == 3  # no third ask
    assert reply(session, project, "4").workflow == "default"


def test_a_choice_question_refuses_an_unknown_choice(session, project, marie, survey):
    reply(session, project, "survey")
    reply(session, project, "2")
    assert reply(session, project, "3").invalid_response is True
    assert outgoing(session)[-1].startswith("Sorry, that is not a valid answer. Please reply with a number from 1 to 2.")
    assert reply(session, project, "2").invalid_response is False
    assert session.scalar(select(SurveySession)).answers == {"0": "2", "1": "No"}


def test_a_session_times_out_and_a_late_answer_is_plain_chat(session, project, marie, survey):
    reply(session, project, "survey")
    sess = session.scalar(select(SurveySession))
    assert automation.run_due(session, utcnow() + timedelta(minutes=29))["timed_out"] == 0
    assert automation.run_due(session, utcnow() + timedelta(minutes=31))["timed_out"] == 1
    session.refresh(sess)
    assert sess.status == "timed_out"
    assert reply(session, project, "3").workflow == "default"


@pytest.mark.parametrize("mode, shown", [
    ("show_all", ["SURVEY", "Thanks, here come 3 questions.", "How many children under 5 live with you?", "lots",
                  "Sorry, that is not a valid answer. Please answer with a number. How many children under 5 live with you?",
                  "2", "Did they sleep under a net last night? Reply 1 for Yes, 2 for No", "hi there"]),
    ("hide_all", ["SURVEY", "Thanks, here come 3 questions.", "hi there"]),
    ("invalid_only", ["SURVEY", "Thanks, here come 3 questions.", "lots", "hi there"]),
])
def test_survey_traffic_setting_filters_the_chat(session, project, marie, survey, mode, shown):
    for text in ("SURVEY", "lots", "2"):
        reply(session, project, text)
    surveys.expire_sessions(session, utcnow() + timedelta(hours=1))
    reply(session, project, "hi there")
    projects.get_chat_settings(session, project.id).survey_traffic = mode
    session.flush()
    assert [line.body for line in chat.get_history(session, project.id, marie.id)] == shown


def test_survey_and_keyword_validation(session, project, sam):
    with pytest.raises(ValidationError, match="at least two choices"):
        surveys.create_survey(session, Actor.web(sam.id), project.id, "Bad", [{"text": "Pick", "kind": "choice", "choices": ["a"]}])
    with pytest.raises(ValidationError, match="min is greater than max"):
        surveys.create_survey(session, Actor.web(sam.id), project.id, "Bad", [{"text": "N", "kind": "number", "min": 5, "max": 1}])
    with pytest.raises(ValidationError, match="reserved"):
        keywords.create_keyword(session, Actor.web(sam.id), project.id, "stop", "bye")
    with pytest.raises(ValidationError, match="one word"):
        keywords.create_keyword(session, Actor.web(sam.id), project.id, "two words", "x")


def test_stop_during_a_survey_is_not_an_answer(session, project, marie, survey):
    reply(session, project, "survey")
    stop = reply(session, project, "STOP")
    assert (stop.workflow, stop.invalid_response, stop.survey_session_id) == ("default", False, None)
    assert session.scalar(select(SurveySession)).question_index == 0
    assert len(outgoing(session)) == 2  # nothing more was asked


def test_two_answers_arriving_at_once_answer_two_questions(session, db_url, project, marie, survey):
    import threading

    from smschat import db as dbmod

    reply(session, project, "survey")
    session.commit()
    barrier = threading.Barrier(2)
    errors = []

    def answer(text):
        try:
            barrier.wait()
            with dbmod.session_scope(db_url) as s:
                p = projects.get_project(s, project.id)
                inbound.receive_sms(s, p, "+17033996500", text)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=answer, args=(t,)) for t in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    session.rollback()
    sess = session.scalar(select(SurveySession).execution_options(populate_existing=True))
    # "1" and "2" fit both questions: whichever came first answered the first, the other the second.
    assert sess.question_index == 2 and set(sess.answers) == {"0", "1"}


def test_an_unverified_workers_number_gets_no_keyword_reply(session, project, survey):
    from smschat.people import contacts

    bob = contacts.create_contact(session, project, "mobile_worker", "bob")
    contacts.register_phone(session, project, bob, "+17035550101")
    message = inbound.receive_sms(session, project, "+17035550101", "clinic").message
    assert message.workflow == "default" and outgoing(session) == []
