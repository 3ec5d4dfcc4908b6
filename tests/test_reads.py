import pytest

from smschat.accounts import projects
from smschat.chat import reads
from smschat.chat import window as chat
from smschat.errors import ValidationError
from smschat.messaging import inbound


def _incoming(session, project, n, number="+17033996500"):
    ids = [inbound.receive_sms(session, project, number, f"in {i}").message.id for i in range(n)]
    session.commit()
    return ids


def test_per_user_reading_leaves_others_unread(session, project, agent, sam, marie):
    ids = _incoming(session, project, 3)
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 3}
    reads.mark_read(session, project.id, agent.id, marie.id, ids[-1])
    session.commit()
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 0}
    assert reads.unread_counts(session, project.id, sam.id, [marie.id]) == {marie.id: 3}


def test_by_anyone_reading_reads_for_everyone(session, project, agent, sam, marie):
    projects.get_chat_settings(session, project.id).read_mode = "by_anyone"
    ids = _incoming(session, project, 2)
    reads.mark_read(session, project.id, agent.id, marie.id, ids[0])
    session.commit()
    assert reads.unread_counts(session, project.id, sam.id, [marie.id]) == {marie.id: 1}
    assert reads.last_read_id(session, project.id, sam.id, marie.id) == ids[0]


def test_read_marker_only_moves_forward(session, project, agent, marie):
    ids = _incoming(session, project, 3)
    assert reads.mark_read(session, project.id, agent.id, marie.id, ids[2]) == ids[2]
    assert reads.mark_read(session, project.id, agent.id, marie.id, ids[0]) == ids[2]
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 0}


def test_outgoing_messages_are_never_unread(session, project, agent, marie):
    chat.send_chat_message(session, project.id, marie.id, agent.id, "hi")
    session.commit()
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 0}


def test_mark_as_unread_shows_until_the_next_read(session, project, agent, sam, marie):
    ids = _incoming(session, project, 1)
    reads.mark_read(session, project.id, agent.id, marie.id, ids[0])
    reads.mark_unread(session, project.id, agent.id, marie.id)
    session.commit()
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 1}
    assert reads.unread_counts(session, project.id, sam.id, [marie.id]) == {marie.id: 1}  # sam never read it
    reads.mark_read(session, project.id, agent.id, marie.id, ids[0])
    assert reads.unread_counts(session, project.id, agent.id, [marie.id]) == {marie.id: 0}


def test_counts_cover_a_page_of_contacts_each_with_its_own_marker(session, project, agent, marie):
    from smschat.people import contacts

    grace = contacts.create_contact(session, project, "case", "Grace")
    contacts.register_phone(session, project, grace, "+254712345678")
    session.commit()
    m = _incoming(session, project, 3)
    g = _incoming(session, project, 2, "+254712345678")
    reads.mark_read(session, project.id, agent.id, marie.id, m[1])
    reads.mark_read(session, project.id, agent.id, grace.id, g[0])
    assert reads.unread_counts(session, project.id, agent.id, [marie.id, grace.id, 999]) == {
        marie.id: 1, grace.id: 1, 999: 0}


def test_too_many_contacts_at_once_is_refused(session, project, agent):
    with pytest.raises(ValidationError):
        reads.unread_counts(session, project.id, agent.id, range(reads.MAX_CONTACTS_PER_CALL + 1))
