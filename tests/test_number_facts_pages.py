"""The number facts and the consent record on the pages (AppTest): the chat's banner and its
Allow sending again, the Contacts list's Number status, the Message log's consent download."""

from sqlalchemy import select

from smschat.messaging import inbound
from smschat.models import AuditEvent, PhoneNumber
from smschat.people import contacts, number_facts

from .test_pages import _as, app

MARIE = "+17033996500"


def _fact(session, e164):
    session.rollback()
    session.expire_all()
    return session.scalar(select(PhoneNumber.fact).where(PhoneNumber.e164 == e164))


def test_the_chat_says_what_the_carrier_said_and_staff_allow_the_number_again(db_url, session, project, agent, marie):
    number_facts.set_fact(session, project.id, MARIE, number_facts.LANDLINE, number_facts.TWILIO, "30006")
    session.commit()
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params["contact"] = str(marie.id)
    at.run()
    assert not at.exception
    [banner] = at.warning
    assert "marked as a landline or unreachable" in banner.value and "error 30006" in banner.value
    at.button(key=f"allow_again_{marie.id}").click().run()
    assert not at.exception and not at.warning
    assert _fact(session, MARIE) is None
    assert any("allowed again" in c.value and "by amy" in c.value for c in at.caption)


def test_contacts_show_each_numbers_status(db_url, session, project, agent, marie):
    case = contacts.create_contact(session, project, "case", "Zed")
    contacts.register_phone(session, project, case, "+17035550101")
    session.commit()
    number_facts.set_fact(session, project.id, "+17035550101", number_facts.INVALID, number_facts.TWILIO, "21211")
    inbound.receive_sms(session, project, MARIE, "STOP")
    session.commit()
    at = _as(app("pages/contacts.py"), agent, project).run()
    assert not at.exception
    frame = at.dataframe[0].value
    assert dict(zip(frame["Contact Name"], frame["Number status"], strict=True)) == {
        "marie": "opted out", "Zed": "invalid number"}


def test_the_message_log_hands_out_the_consent_record(db_url, session, project, sam, marie):
    inbound.receive_sms(session, project, MARIE, "STOP")
    session.commit()
    at = _as(app("pages/message_log.py"), sam, project, role="supervisor").run()
    assert not at.exception
    at.button(key="consent_prepare").click().run()
    assert not at.exception and not at.error
    assert at.get("download_button")
    session.expire_all()
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert (event.username, event.detail["what"], event.detail["rows"]) == ("sam", "consent record", 1)
