"""Search conversations: the indexed search finds exactly what a plain LIKE scan finds."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from smschat.accounts import auth, projects
from smschat.accounts.actor import Actor
from smschat.chat import search
from smschat.errors import MessageNotFound, ValidationError
from smschat.log.query import body_contains
from smschat.models import ChatSettings, Message, utcnow
from smschat.people import contacts

# Few letters, so random texts share substrings; case pairs (ASCII and not), the LIKE
# wildcards and the quote that FTS5 queries treat specially.
ALPHABET = "abcABCéÉüÜ %_\"'\\"


def _message(project, contact, body, *, direction="in", workflow="default", at=None, **extra) -> Message:
    return Message(project_id=project.id, contact_id=contact and contact.id, phone_number="+17033996500",
                   direction=direction, body=body, status="received" if direction == "in" else "delivered",
                   workflow=workflow, created_at=at or utcnow(), **extra)


def _all_hits(session, actor, pid, needle) -> list[int]:
    """Every page of results, newest first."""
    ids, before = [], None
    while True:
        page = search.search_messages(session, actor, pid, needle, before_id=before, limit=search.MAX_PAGE)
        ids += [h.message_id for h in page]
        if len(page) < search.MAX_PAGE:
            return ids
        before = page[-1].message_id


def _like_scan(session, pid, needle) -> list[int]:
    """The reference: the message log's LIKE over the conversations of the project, no index."""
    return list(session.scalars(
        select(Message.id).where(Message.project_id == pid, Message.contact_id.is_not(None),
                                 body_contains(session, needle.strip())).order_by(Message.id.desc())))


@pytest.fixture
def random_world(session, project, agent, marie):
    """400 random bodies in two conversations, plus decoys: another project's message and an
    unknown sender's, which both contain every needle's letters too."""
    rng = random.Random(17)
    grace = contacts.create_contact(session, project, "case", "grace")
    other = projects.create_project(session, "other", "Other", time_zone="UTC")
    stranger = contacts.create_contact(session, other, "case", "zed")
    rows = [_message(project, rng.choice([marie, grace]),
                     "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40))),
                     direction=rng.choice(["in", "out"])) for _ in range(400)]
    decoy = ALPHABET * 3
    rows += [_message(other, stranger, decoy), _message(project, None, decoy)]
    session.add_all(rows)
    session.commit()
    bodies = [r.body for r in rows[:400]]
    return project, Actor.web(agent.id), bodies


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_search_results_match_a_plain_like_scan_on_random_data(session, random_world, data):
    project, actor, bodies = random_world
    body = data.draw(st.sampled_from([b for b in bodies if len(b) >= 5]))
    start = data.draw(st.integers(0, len(body) - 3))
    needle = data.draw(st.one_of(
        st.text(alphabet=ALPHABET, min_size=3, max_size=5),  # often in no body
        st.just(body[start:start + data.draw(st.integers(3, 8))]),  # in at least one body
        st.just(body[start:start + 4].swapcase()),  # another case
    ))
    if len(needle.strip()) < search.MIN_LENGTH:
        with pytest.raises(ValidationError, match="at least 3 characters"):
            search.search_messages(session, actor, project.id, needle)
        return
    assert _all_hits(session, actor, project.id, needle) == _like_scan(session, project.id, needle)


def test_the_search_index_follows_new_edited_and_deleted_messages(session, project, agent, marie):
    actor = Actor.web(agent.id)
    first = _message(project, marie, "Please bring the vaccine carrier")
    session.add(first)
    session.commit()
    assert [h.message_id for h in search.search_messages(session, actor, project.id, "VACCINE")] == [first.id]
    # A status update (the common write) leaves the index alone; a new body replaces the old.
    session.execute(text("UPDATE message SET status = 'delivered' WHERE id = :id"), {"id": first.id})
    session.execute(text("UPDATE message SET body = 'Bring the cool box' WHERE id = :id"), {"id": first.id})
    session.commit()
    assert search.search_messages(session, actor, project.id, "vaccine") == []
    assert [h.message_id for h in search.search_messages(session, actor, project.id, "cool box")] == [first.id]
    session.execute(text("DELETE FROM message WHERE id = :id"), {"id": first.id})
    session.commit()
    assert search.search_messages(session, actor, project.id, "cool box") == []


def test_a_hit_carries_contact_seed_time_sender_and_the_match_in_its_snippet(session, project, agent, marie):
    at = utcnow().replace(year=2026, month=7, day=8, hour=21, minute=23)  # 05:23pm in New York (EDT)
    long_body = "x" * 200 + " the <b>Vaccines</b> arrived " + "y" * 200
    session.add_all([_message(project, marie, long_body, at=at),
                     _message(project, marie, "vaccines are late", direction="out", workflow="chat",
                              sent_by_id=agent.id, at=at + timedelta(minutes=1))])
    session.commit()
    newest, older = search.search_messages(session, Actor.web(agent.id), project.id, "vaccines")
    assert (newest.contact, newest.sender, newest.timestamp) == ("marie", "Amy", "05:24pm 07/08/26")
    assert (newest.before, newest.match, newest.after) == ("", "vaccines", " are late")
    assert (older.sender, older.timestamp, older.direction) == ("marie", "05:23pm 07/08/26", "in")
    # The text as it is (the page escapes it), cut around the match.
    assert older.match == "Vaccines" and older.before.startswith("…") and older.after.endswith("…")
    assert older.before.endswith(" the <b>") and older.after.startswith("</b> arrived")
    assert len(older.before + older.match + older.after) <= search.SNIPPET + 2


def test_short_texts_are_refused_and_survey_traffic_hidden_from_the_chat_is_not_found(session, project, agent, marie):
    actor = Actor.web(agent.id)
    for needle in ("", "ab", "  ab  "):
        with pytest.raises(ValidationError, match="Type at least 3 characters to search."):
            search.search_messages(session, actor, project.id, needle)
    survey = _message(project, marie, "clinic was good", workflow="survey")
    chat = _message(project, marie, "clinic opens at 9")
    session.add_all([survey, chat])
    session.commit()
    assert {h.message_id for h in search.search_messages(session, actor, project.id, "clinic")} == {survey.id, chat.id}
    session.get(ChatSettings, project.id).survey_traffic = "hide_all"
    session.commit()
    assert [h.message_id for h in search.search_messages(session, actor, project.id, "clinic")] == [chat.id]


def test_the_chat_opens_at_a_found_message_with_the_lines_around_it(session, project, agent, marie):
    actor = Actor.web(agent.id)
    grace = contacts.create_contact(session, project, "case", "grace")
    rows = [_message(project, marie, f"line {i}") for i in range(20)]
    elsewhere = _message(project, grace, "not marie's")
    session.add_all([*rows, elsewhere])
    session.commit()
    around = search.window_around(session, actor, project.id, marie.id, rows[10].id)
    assert around.message_id == rows[10].id
    assert [line.body for line in around.lines] == [f"line {i}" for i in range(5, 16)]
    edge = search.window_around(session, actor, project.id, marie.id, rows[1].id, context=3)
    assert [line.body for line in edge.lines] == [f"line {i}" for i in range(0, 5)]
    # Another conversation's message, a missing one, or junk: the same words.
    for bad in (elsewhere.id, 10**6, "x", 2**63 - 1, 2**70):
        with pytest.raises(MessageNotFound, match="No such message in this project."):
            search.window_around(session, actor, project.id, marie.id, bad)


def test_searching_pages_back_from_the_oldest_hit_shown(session, project, agent, marie):
    actor = Actor.web(agent.id)
    session.add_all([_message(project, marie, f"report {i}") for i in range(7)])
    session.commit()
    first = search.search_messages(session, actor, project.id, "report", limit=3)
    second = search.search_messages(session, actor, project.id, "report", before_id=first[-1].message_id, limit=3)
    third = search.search_messages(session, actor, project.id, "report", before_id=second[-1].message_id, limit=3)
    assert [h.match for h in first + second + third] == ["report"] * 7
    assert [h.after for h in first + second + third] == [f" {i}" for i in range(6, -1, -1)]


def test_an_analyst_cannot_search_conversations(session, project, marie):
    analyst = auth.create_user(session, "ana", "long enough pw", project=project, role="analyst")
    session.commit()
    from smschat.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        search.search_messages(session, Actor.web(analyst.id), project.id, "anything")


def _search(at, needle: str) -> None:
    at.text_input(key="search_text").input(needle)
    at.button[0].click().run()  # the form's Search button


def test_the_search_page_lists_hits_as_text_with_links_to_the_chat(db_url, session, project, agent, marie):
    from tests.test_pages import _as, app

    message = _message(project, marie, "**bold** <script>x</script> vaccines")
    session.add(message)
    session.commit()
    at = _as(app("pages/search.py"), agent, project).run()
    _search(at, "VACCINES")
    assert not at.exception and not at.error
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"href='chat?contact={marie.id}&amp;at={message.id}'" in html
    assert "**bold** &lt;script&gt;x&lt;/script&gt; <mark>vaccines</mark>" in html
    _search(at, "no such text")
    assert [i.value for i in at.info] == ["No message contains this text."]
    _search(at, "ab")
    assert [e.value for e in at.error] == ["Type at least 3 characters to search."]


def test_the_chat_page_opened_at_a_message_shows_it_among_its_neighbours(db_url, session, project, agent, marie):
    from tests.test_pages import _as, app

    rows = [_message(project, marie, f"line {i}") for i in range(3)]
    session.add_all(rows)
    session.commit()
    at = _as(app("pages/chat.py"), agent, project)
    at.query_params.update(contact=str(marie.id), at=str(rows[1].id))
    at.run()
    assert not at.exception
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f"data-at='{rows[1].id}'" in html and "class='msg in found'" in html
    at.query_params["at"] = "junk"
    at.run()
    assert [e.value for e in at.error] == ["No such message in this project."]


def test_upgrading_a_database_with_messages_indexes_them(tmp_path):
    """SQLite: migration 0025 fills the FTS5 table from the messages already there (PostgreSQL
    builds its index over existing rows by itself)."""
    from smschat import db as dbmod
    from smschat.migrate import downgrade, upgrade
    from smschat.models import Project

    url = f"sqlite:///{tmp_path}/old.db"
    upgrade(url)
    with dbmod.session_scope(url) as s:
        project = projects.create_project(s, "old", "Old", time_zone="UTC")
        contact = contacts.create_contact(s, project, "case", "grace")
        s.add(_message(project, contact, "Stored before the search existed"))
    dbmod.dispose_engines()
    downgrade(url, "0024")
    upgrade(url)
    with dbmod.session_scope(url, readonly=True) as s:
        pid = s.scalar(select(Project.id))
        assert [h.match for h in search.find_messages(s, pid, "before the SEARCH")] == ["before the search"]
    dbmod.dispose_engines()
