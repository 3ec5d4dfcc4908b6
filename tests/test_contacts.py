import pytest
from sqlalchemy import func, select

from smschat.accounts import projects
from smschat.errors import (
    ContactNotFound,
    InvalidPhoneNumber,
    PhoneNumberInUse,
    ValidationError,
)
from smschat.models import Contact, PhoneNumber
from smschat.people import contacts


def _case(session, project, name, number, **props):
    c = contacts.create_contact(session, project, "case", name, case_properties=props)
    contacts.register_phone(session, project, c, number)
    return c


def test_list_holds_verified_workers_and_cases_with_a_number(session, project, marie):
    unverified = contacts.create_contact(session, project, "mobile_worker", "bob")
    contacts.register_phone(session, project, unverified, "+17035550101")
    contacts.create_contact(session, project, "case", "no phone case")
    _case(session, project, "Grace", "+254712345678")
    session.commit()
    rows = contacts._list_contacts(session, project.id)
    assert [(r.name, r.kind_label, r.phone) for r in rows] == [
        ("Grace", "Case", "+254712345678"),
        ("marie", "Mobile Worker", "+17033996500"),
    ]
    assert contacts.count_contacts(session, project.id) == 2


def test_search_matches_name_case_insensitively_and_digits_in_any_format(session, project, marie):
    _case(session, project, "Grace Achieng", "+254712345678")
    session.commit()
    assert [r.name for r in contacts._list_contacts(session, project.id, search="GRACE")] == ["Grace Achieng"]
    assert [r.name for r in contacts._list_contacts(session, project.id, search="703-399")] == ["marie"]
    assert [r.name for r in contacts._list_contacts(session, project.id, search="+1 703 399 6500")] == ["marie"]
    assert contacts._list_contacts(session, project.id, search="%") == []
    assert contacts.count_contacts(session, project.id, search="nobody") == 0


def test_kind_filter_and_paging(session, project, marie):
    for i in range(5):
        _case(session, project, f"case {i}", f"+2547123456{i:02d}")
    session.commit()
    assert contacts.count_contacts(session, project.id, kind="case") == 5
    assert contacts.count_contacts(session, project.id, kind="mobile_worker") == 1
    page1 = contacts._list_contacts(session, project.id, kind="case", limit=2)
    page3 = contacts._list_contacts(session, project.id, kind="case", limit=2, offset=4)
    assert [r.name for r in page1] == ["case 0", "case 1"]
    assert [r.name for r in page3] == ["case 4"]


def test_numbers_are_stored_in_e164(session, project):
    c = contacts.create_contact(session, project, "case", "x")
    phone = contacts.register_phone(session, project, c, "(703) 399-6501")
    assert phone.e164 == "+17033996501"


def test_a_malformed_number_is_refused_and_nothing_is_written(session, project):
    c = contacts.create_contact(session, project, "case", "x")
    session.commit()
    with pytest.raises(InvalidPhoneNumber):
        contacts.register_phone(session, project, c, "12ab")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(PhoneNumber)) == 0


def test_a_number_another_contact_owns_is_refused(session, project, marie):
    other = contacts.create_contact(session, project, "case", "other")
    with pytest.raises(PhoneNumberInUse, match="already in use"):
        contacts.register_phone(session, project, other, "+1 703 399 6500")


def test_a_two_way_number_is_two_way_in_one_project_only(session, project, marie):
    second = projects.create_project(session, "second", "Second")
    c = contacts.create_contact(session, second, "mobile_worker", "marie2")
    with pytest.raises(PhoneNumberInUse):
        contacts.register_phone(session, second, c, "+17033996500", verified=True)


def test_unknown_contact_and_other_projects_contact_look_the_same(session, project, marie):
    second = projects.create_project(session, "second", "Second")
    session.commit()
    with pytest.raises(ContactNotFound) as a:
        contacts.get_contact(session, second.id, marie.id)
    with pytest.raises(ContactNotFound) as b:
        contacts.get_contact(session, project.id, 999999)
    assert str(a.value) == str(b.value)
    with pytest.raises(ContactNotFound):
        contacts.get_contact(session, project.id, "not-a-number")


def test_case_name_comes_from_the_case_name_display_property(session, project):
    c = _case(session, project, "Grace", "+254712345678", mother_name="Grace's mum")
    settings = projects.get_chat_settings(session, project.id)
    assert contacts.display_name(c, settings) == "Grace"
    settings.case_name_display = "mother_name"
    assert contacts.display_name(c, settings) == "Grace's mum"
    settings.case_name_display = "missing_property"
    assert contacts.display_name(c, settings) == "Grace"


def test_bad_contact_input_is_refused(session, project):
    with pytest.raises(ValidationError):
        contacts.create_contact(session, project, "robot", "x")
    with pytest.raises(ValidationError):
        contacts.create_contact(session, project, "case", "   ")
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Contact)) == 0


@pytest.mark.parametrize("n,size,page,expected", [
    (0, 10, 0, []),                      # empty
    (10, 10, 0, list(range(10))),        # exactly one page
    (23, 10, 2, [20, 21, 22]),           # the last, partial page
    (23, 10, 3, []),                     # past the end
])
def test_paging_edges(session, project, n, size, page, expected):
    for i in range(n):
        _case(session, project, f"case {i:02d}", f"+2547123450{i:02d}")
    session.commit()
    rows = contacts._list_contacts(session, project.id, limit=size, offset=page * size)
    assert [int(r.name.split()[1]) for r in rows] == expected
    assert contacts.count_contacts(session, project.id) == n


def test_activity_columns_follow_messages_and_sort_by_recent(session, project, agent, marie):
    from smschat.chat import window as chat
    from smschat.messaging import inbound

    grace = _case(session, project, "Grace", "+254712345678")
    session.commit()
    assert grace.last_message_id is None
    chat.send_chat_message(session, project.id, marie.id, agent.id, "hi marie")
    msg = inbound.receive_sms(session, project, "+254712345678", "hello").message
    session.commit()
    session.refresh(grace)
    assert (grace.last_message_id, grace.last_incoming_id, grace.last_message_at) == (msg.id, msg.id, msg.created_at)
    assert [r.name for r in contacts._list_contacts(session, project.id, sort="recent")] == ["Grace", "marie"]
    assert [r.name for r in contacts._list_contacts(session, project.id, sort="name")] == ["Grace", "marie"]
    chat.send_chat_message(session, project.id, marie.id, agent.id, "again")
    session.commit()
    assert [r.name for r in contacts._list_contacts(session, project.id, sort="recent")] == ["marie", "Grace"]


@pytest.mark.parametrize("mode", ["per_user", "by_anyone"])
def test_unread_filter_and_summary_respect_the_read_mode(session, project, agent, marie, mode):
    from smschat.accounts import auth
    from smschat.chat import reads
    from smschat.chat import window as chat
    from smschat.messaging import inbound

    sam = auth.create_user(session, "sam", "long enough pw", project=project, role="supervisor")
    projects.get_chat_settings(session, project.id).read_mode = mode
    grace = _case(session, project, "Grace", "+254712345678")
    m = inbound.receive_sms(session, project, "+17033996500", "unread?").message
    inbound.receive_sms(session, project, "+254712345678", "me too")
    out = chat.send_chat_message(session, project.id, marie.id, agent.id, "reply")
    out.status = "failed"
    session.commit()
    reads.mark_read(session, project.id, agent.id, marie.id, m.id)
    session.commit()
    unread_for_sam = [r.name for r in contacts._list_contacts(session, project.id, unread_only_for=(sam.id, mode))]
    assert unread_for_sam == (["Grace"] if mode == "by_anyone" else ["Grace", "marie"])
    stats = contacts.summary(session, project.id, sam.id, mode, project.time_zone)
    assert (stats.unread_conversations, stats.in_today, stats.out_today, stats.failed_today) == (
        len(unread_for_sam), 2, 1, 1)
    assert contacts.count_contacts(session, project.id, unread_only_for=(agent.id, mode)) == 1
    assert grace.id
