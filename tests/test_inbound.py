import pytest
from sqlalchemy import func, select

from smschat.chat import window as chat
from smschat.errors import InvalidPhoneNumber
from smschat.messaging import inbound
from smschat.models import Message, PhoneNumber
from smschat.people import contacts


def test_inbound_message_lands_in_the_contacts_chat(session, project, marie):
    result = inbound.receive_sms(session, project, "+17033996500", "I visited two patients")
    session.commit()
    assert not result.duplicate
    [line] = chat.get_history(session, project.id, marie.id)
    assert (line.sender, line.body, line.direction) == ("marie", "I visited two patients", "in")


def test_same_gateway_message_id_is_stored_once(session, project, marie):
    first = inbound.receive_sms(session, project, "+17033996500", "hi", gateway_message_id="SM123")
    again = inbound.receive_sms(session, project, "+17033996500", "hi", gateway_message_id="SM123")
    session.commit()
    assert again.duplicate and again.message.id == first.message.id
    assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_unknown_sender_is_kept_without_a_contact(session, project):
    result = inbound.receive_sms(session, project, "+17035550199", "who is this?")
    session.commit()
    assert result.message.contact_id is None and result.message.phone_number == "+17035550199"


def test_malformed_sender_number_is_refused(session, project):
    with pytest.raises(InvalidPhoneNumber):
        inbound.receive_sms(session, project, "not a number", "hi")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_verification_reply_verifies_and_thanks(session, project):
    from smschat.people import verification

    bob = contacts.create_contact(session, project, "mobile_worker", "bob")
    phone = contacts.register_phone(session, project, bob, "+17035550101")
    verification.start(session, project, bob, phone)
    session.commit()
    assert contacts.count_contacts(session, project.id) == 0  # not listed until verified
    inbound.receive_sms(session, project, "+17035550101", "nope")
    session.commit()
    assert not session.get(PhoneNumber, phone.id).verified
    inbound.receive_sms(session, project, "+17035550101", "123")
    session.commit()
    session.expire_all()
    assert session.get(PhoneNumber, phone.id).verified and session.get(PhoneNumber, phone.id).two_way
    lines = chat.get_history(session, project.id, bob.id)
    assert [(line.sender, line.body) for line in lines] == [
        ("System", "Welcome to Test Project! Is this phone used by bob? If yes, reply '123' to start using SMS with Test Project."),
        ("bob", "nope"),
        ("bob", "123"),
        ("System", "Thank you. This phone has been verified for using SMS with Test Project"),
    ]
    assert contacts.count_contacts(session, project.id) == 1
