"""Every service entry point a page calls × every role × own/other project: allowed or refused.

The pages hide what a role may not use; the rule is enforced here, in the service layer.
Each entry point is called
  - in the user's own project, with objects of that project: allowed exactly when its action
    is one of the role's (smschat.access.ROLE_ACTIONS), else PermissionDenied;
  - in another project (where the user has no role): PermissionDenied, "You do not have access
    to this project." (access.NO_ACCESS), for every role;
  - in the own project but with an object id of another project (a deep link): refused with the
    very same error type and words as an id that does not exist, so nothing tells them apart.

Who acts is an Actor: a web user (`Actor.web(user_id)`, their role read per project) or the
operator at the command line (`OPERATOR`), who holds the database itself and passes every check
as an admin of every project. Anything else (a bare user id, None) is a programming error: a
TypeError, never a pass. What belongs to one person (read markers, who is viewing, a chat
message's sender) needs a web user: the operator gets NeedsWebUser there (NEEDS_WEB_USER).

HOW TO ADD AN ENTRY POINT (e.g. settings, automation, message log, exports): append one
`Entry(function, Action.X, lambda w, pid, o: (args after session and actor...))` to ENTRIES.
`w` is the World below, `pid` the project id to call with, `o` the Objects to use (the own,
foreign or missing ones: contact, worker, message, number, username). If the function takes an
object id, add `object=True` and pick it from `o` so the deep-link check runs too; if it needs a
new kind of object, add a field to Objects and create one in each project in `world`. Calls run
inside a savepoint that is rolled back, so they may write. A function that changes an account
(password, disabled flag, role) also goes into ACCOUNT_CHANGES below.

Accounts are global while admin rights are per project: an account that is also in a project
the acting admin does not administer, or a site admin's, may be changed only by a site admin
(`account` rows of the world: `shared` is an agent in both projects, `boss` a site admin).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import pytest

from smschat.accounts import projects, users
from smschat.accounts.access import NO_ACCESS, ROLE_ACTIONS, Action
from smschat.accounts.actor import OPERATOR, Actor
from smschat.accounts.auth import hash_password
from smschat.automation import broadcasts, groups, keywords, reminders, surveys
from smschat.chat import inbox, notes, quickreplies, search, settings
from smschat.chat import window as chat
from smschat.errors import NeedsWebUser, PermissionDenied, SmsChatError
from smschat.log import consent, exports, messagelog, transcript
from smschat.log.messagelog import LogFilter
from smschat.messaging import later, pricing, simulator, stuck
from smschat.models import (
    Direction,
    Membership,
    Message,
    Role,
    Status,
    WebUser,
    Workflow,
    utcnow,
)
from smschat.people import contacts, imports, number_facts, unknown_senders

_DUMMY_HASH = hash_password("not-a-real-password")  # these users never log in


@dataclass(frozen=True)
class Objects:
    contact: int  # a listed contact (verified mobile worker)
    worker: int  # a mobile worker whose number is not verified yet
    message: int  # a failed outgoing chat message (retryable)
    number: str  # the listed contact's phone number
    username: str  # a web user of the project (not one of the role users)
    unknown: str  # a number that wrote to the project without being a contact's
    survey: int = 0  # automation objects (settings and automation pages)
    reminder: int = 0
    broadcast: int = 0
    keyword: int = 0
    scheduled: int = 0  # a chat message scheduled for later (send later)
    quick_reply: int = 0


@dataclass
class World:
    own: int
    other: int
    users: dict[Role, int]
    objects: dict[str, Objects]
    site_admin: int = 0  # an admin of the own project who is also a site admin


@dataclass(frozen=True)
class Entry:
    function: Callable[..., Any]
    action: Action
    args: Callable[[World, int, Objects], tuple]
    object: bool = False  # takes an object id: check the foreign-vs-missing answer too

    @property
    def name(self) -> str:
        return f"{self.function.__module__.removeprefix('smschat.')}.{self.function.__name__}"


CSV = "type,name,phone\ncase,New Case,+254700000001\n"
EXPORT_PATH = "/tmp/smschat-entry-point-export.csv"


def record_args(pid: int) -> tuple:
    return (pid, LogFilter(), exports.ExportResult(format="csv", rows=0, path=Path(EXPORT_PATH)))

ENTRIES = [
    # Contacts page
    Entry(contacts.overview, Action.VIEW_CONTACTS, lambda w, pid, o: (pid,)),
    Entry(contacts.browse, Action.VIEW_CONTACTS, lambda w, pid, o: (pid,)),
    # Chat page
    Entry(chat.find_contacts, Action.CHAT, lambda w, pid, o: (pid, "mar")),
    Entry(chat.open_window, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(chat.window_history, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(chat.window_statuses, Action.CHAT, lambda w, pid, o: (pid, [o.message])),
    Entry(chat.window_counter, Action.CHAT, lambda w, pid, o: (pid, o.contact, 0), object=True),
    Entry(chat.reset_counter, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(chat.read_up_to, Action.CHAT, lambda w, pid, o: (pid, o.contact, o.message), object=True),
    Entry(chat.mark_unread, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(chat.viewing, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(chat.send, Action.CHAT, lambda w, pid, o: (pid, o.contact, "hello"), object=True),
    Entry(chat.retry, Action.CHAT, lambda w, pid, o: (pid, o.message), object=True),
    # Phone simulator page
    Entry(simulator.numbers, Action.SIMULATE, lambda w, pid, o: (pid,)),
    # Message log page and exports
    Entry(messagelog.count, Action.VIEW_LOG, lambda w, pid, o: (pid, LogFilter())),
    Entry(messagelog.page, Action.VIEW_LOG, lambda w, pid, o: (pid, LogFilter(text="did"))),
    Entry(messagelog.charts, Action.VIEW_LOG, lambda w, pid, o: (pid, LogFilter())),
    Entry(messagelog.contact_choices, Action.VIEW_LOG, lambda w, pid, o: (pid, "mar")),
    Entry(messagelog.user_choices, Action.VIEW_LOG, lambda w, pid, o: (pid,)),
    Entry(messagelog.message_log_dataframe, Action.VIEW_LOG, lambda w, pid, o: (pid, LogFilter())),
    Entry(exports.write_export, Action.EXPORT, lambda w, pid, o: (pid, LogFilter(), "csv", EXPORT_PATH)),
    Entry(exports.record_export, Action.EXPORT, lambda w, pid, o: record_args(pid)),
    # Settings page
    Entry(settings.load_settings, Action.CHANGE_SETTINGS, lambda w, pid, o: (pid,)),
    Entry(settings.update_settings, Action.CHANGE_SETTINGS, lambda w, pid, o: (pid, {"case_name_display": "child_name"})),
    Entry(settings.settings_history, Action.CHANGE_SETTINGS, lambda w, pid, o: (pid,)),
    # Automation pages
    Entry(reminders.create_reminder, Action.MANAGE_AUTOMATION, lambda w, pid, o: (
        pid, "Weekly", "Meeting tomorrow", {"kind": "contact", "contact_id": o.contact},
        {"kind": "daily", "time": "08:00"}), object=True),
    Entry(reminders.set_active, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.reminder, False), object=True),
    Entry(reminders.delete_reminder, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.reminder), object=True),
    Entry(reminders.list_reminders, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid,)),
    Entry(reminders.calendar, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid,)),
    Entry(broadcasts.create_broadcast, Action.MANAGE_AUTOMATION, lambda w, pid, o: (
        pid, "Now", "Vaccines arrived", {"kind": "contact", "contact_id": o.contact}), object=True),
    Entry(broadcasts.cancel, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.broadcast), object=True),
    Entry(broadcasts.list_broadcasts, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid,)),
    Entry(keywords.create_keyword, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, "FEVER", "Call the clinic")),
    Entry(keywords.delete_keyword, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.keyword), object=True),
    Entry(keywords.list_keywords, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid,)),
    Entry(surveys.create_survey, Action.MANAGE_AUTOMATION, lambda w, pid, o: (
        pid, "Feedback", [{"text": "How was the visit?", "kind": "text"}])),
    Entry(surveys.list_surveys, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid,)),
    Entry(surveys.survey_detail, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.survey), object=True),
    Entry(groups.contact_choices, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid,)),
    Entry(surveys.export_rows, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.survey), object=True),
    Entry(surveys.export_csv, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.survey), object=True),
    Entry(surveys.start_for_contact, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, o.survey, o.contact),
          object=True),
    # Unknown senders page
    Entry(unknown_senders.list_unknown_senders, Action.VIEW_CONTACTS, lambda w, pid, o: (pid,)),
    Entry(unknown_senders.thread, Action.VIEW_CONTACTS, lambda w, pid, o: (pid, o.unknown), object=True),
    Entry(simulator.thread, Action.SIMULATE, lambda w, pid, o: (pid, o.number), object=True),
    Entry(simulator.reply, Action.SIMULATE, lambda w, pid, o: (pid, o.number, "yes"), object=True),
    # Add contacts page
    Entry(imports.add_contact, Action.MANAGE_CONTACTS, lambda w, pid, o: (pid, "case", "Zoe", "+254700000002")),
    Entry(imports.import_csv, Action.MANAGE_CONTACTS, lambda w, pid, o: (pid, CSV)),
    Entry(imports.unverified_workers, Action.MANAGE_CONTACTS, lambda w, pid, o: (pid,)),
    Entry(imports.start_verification, Action.MANAGE_CONTACTS, lambda w, pid, o: (pid, o.worker), object=True),
    # Web users page
    Entry(users.project_users, Action.MANAGE_USERS, lambda w, pid, o: (pid,)),
    Entry(users.add_user, Action.MANAGE_USERS, lambda w, pid, o: (pid, "newbie", "long enough pw")),
    Entry(users.change_role, Action.MANAGE_USERS, lambda w, pid, o: (pid, o.username, "analyst"), object=True),
    Entry(users.set_active, Action.MANAGE_USERS, lambda w, pid, o: (pid, o.username, False), object=True),
    Entry(users.reset_password, Action.MANAGE_USERS, lambda w, pid, o: (pid, o.username, "another long pw"), object=True),
    Entry(users.audit_trail, Action.VIEW_AUDIT, lambda w, pid, o: (pid,)),
    Entry(users.audit_filters, Action.VIEW_AUDIT, lambda w, pid, o: (pid,)),
    # Projects page
    Entry(projects.managed_project, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid,)),
    Entry(projects.add_project, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid, "new-one", "New One")),
    Entry(projects.rename_project, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid, "Renamed")),
    Entry(projects.set_time_zone, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid, "Africa/Nairobi")),
    Entry(projects.set_default_region, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid, "KE")),
    Entry(projects.add_sender_number, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid, "+15005550009")),
    Entry(projects.remove_sender_number, Action.MANAGE_PROJECTS, lambda w, pid, o: (pid, o_sender(w, pid))),
    # Search page, and the chat opened at a found message (a foreign contact, then a foreign message)
    Entry(search.search_messages, Action.CHAT, lambda w, pid, o: (pid, "did not")),
    Entry(search.window_around, Action.CHAT, lambda w, pid, o: (pid, o.contact, o.message), object=True),
    Entry(search.window_around, Action.CHAT, lambda w, pid, o: (pid, own_contact(w, pid), o.message), object=True),
    # The chat's transcript download
    Entry(transcript.write_transcript, Action.CHAT, lambda w, pid, o: (pid, o.contact, "csv"), object=True),
    # Chat window: "Reply as" opens the Phone simulator on the contact's number
    Entry(simulator.number_of_contact, Action.SIMULATE, lambda w, pid, o: (pid, o.contact), object=True),
    # Number facts and the consent record (chat banner, message log download)
    Entry(number_facts.number_status, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(number_facts.allow_again, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(consent.consent_csv, Action.EXPORT, lambda w, pid, o: (pid,)),
    # Send later (Chat page)
    Entry(later.schedule_message, Action.CHAT, lambda w, pid, o: (pid, o.contact, "hi", TOMORROW, time(9, 0)),
          object=True),
    Entry(later.edit_scheduled, Action.CHAT, lambda w, pid, o: (pid, o.scheduled, "hi", TOMORROW, time(9, 0)),
          object=True),
    Entry(later.cancel_scheduled, Action.CHAT, lambda w, pid, o: (pid, o.scheduled), object=True),
    Entry(later.scheduled_messages, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    # Stuck messages page
    Entry(stuck.stuck_messages, Action.RETRY_STUCK, lambda w, pid, o: (pid,)),
    Entry(stuck.stuck_count, Action.RETRY_STUCK, lambda w, pid, o: (pid,)),
    Entry(stuck.retry_stuck, Action.RETRY_STUCK, lambda w, pid, o: (pid, [o.message], )),
    Entry(stuck.send_anyway, Action.RETRY_STUCK, lambda w, pid, o: (pid, [o.message])),
    Entry(stuck.cancel_expired, Action.RETRY_STUCK, lambda w, pid, o: (pid, [o.message])),
    # Waiting replies page, the chat header, the Contacts list
    Entry(inbox.list_waiting, Action.CHAT, lambda w, pid, o: (pid,)),
    Entry(inbox.assignable_users, Action.CHAT, lambda w, pid, o: (pid,)),
    Entry(inbox.assignee, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    Entry(inbox.assignees, Action.VIEW_CONTACTS, lambda w, pid, o: (pid, [o.contact])),
    Entry(inbox.assign, Action.CHAT, lambda w, pid, o: (pid, o.contact, o.username), object=True),
    Entry(inbox.assign_to_me, Action.CHAT, lambda w, pid, o: (pid, o.contact), object=True),
    # Quick replies (Settings page, the chat's picker) and notes
    Entry(quickreplies.list_quick_replies, Action.CHAT, lambda w, pid, o: (pid,)),
    Entry(quickreplies.save_quick_reply, Action.CHANGE_SETTINGS, lambda w, pid, o: (pid, "Hi", "Hello {first_name}")),
    Entry(quickreplies.delete_quick_reply, Action.CHANGE_SETTINGS, lambda w, pid, o: (pid, o.quick_reply), object=True),
    Entry(quickreplies.filled_quick_reply, Action.CHAT, lambda w, pid, o: (pid, o.quick_reply, o.contact), object=True),
    Entry(notes.add_note, Action.CHAT, lambda w, pid, o: (pid, o.contact, "Call back Monday"), object=True),
    # The composer's price and the automation pages' cost estimate
    Entry(pricing.composer_price, Action.CHAT, lambda w, pid, o: (pid,)),
    Entry(pricing.automation_estimate, Action.MANAGE_AUTOMATION, lambda w, pid, o: (pid, "Hi", {"kind": "cases"})),
]
TOMORROW = (utcnow() + timedelta(days=2)).date()


def own_contact(w: World, pid: int) -> int:
    return w.objects["own" if pid == w.own else "foreign"].contact

SENDERS = {"own": "+15005550006", "other": "+15005550007"}


def o_sender(w: World, pid: int) -> str:
    return SENDERS["own" if pid == w.own else "other"]


def _project_objects(session, project, tag: str, phone: str, worker_phone: str, unknown: str) -> Objects:
    contact = contacts.create_contact(session, project, "mobile_worker", f"marie {tag}")
    contacts.register_phone(session, project, contact, phone, verified=True)
    worker = contacts.create_contact(session, project, "mobile_worker", f"bob {tag}")
    contacts.register_phone(session, project, worker, worker_phone)
    message = Message(project_id=project.id, contact_id=contact.id, phone_number=phone, direction=Direction.OUT.value,
                      body="did not go", status=Status.FAILED.value, workflow=Workflow.CHAT.value)
    member = WebUser(username=f"member-{tag}", password_hash=_DUMMY_HASH)
    stranger = Message(project_id=project.id, contact_id=None, phone_number=unknown, direction=Direction.IN.value,
                       body="who is this?", status=Status.RECEIVED.value)
    session.add_all([message, member, stranger])
    session.flush()
    session.add(Membership(user_id=member.id, project_id=project.id, role=Role.AGENT.value))
    # Automation objects, made through the services by a project admin of their own.
    setup = WebUser(username=f"setup-{tag}", password_hash=_DUMMY_HASH)
    session.add(setup)
    session.flush()
    session.add(Membership(user_id=setup.id, project_id=project.id, role=Role.ADMIN.value))
    session.flush()
    setup = Actor.web(setup.id)
    survey = surveys.create_survey(session, setup, project.id, f"Check {tag}",
                                   [{"text": "Any fever today?", "kind": "choice", "choices": ["yes", "no"]}])
    reminder = reminders.create_reminder(session, setup, project.id, f"Daily {tag}", "How are you?",
                                         {"kind": "contact", "contact_id": contact.id}, {"kind": "daily", "time": "09:00"})
    broadcast = broadcasts.create_broadcast(session, setup, project.id, f"News {tag}", "Clinic closed Friday",
                                            {"kind": "mobile_workers"}, send_at=utcnow() + timedelta(days=2))
    keyword = keywords.create_keyword(session, setup, project.id, f"CHECK{tag.upper()}", "Thanks")
    later_on = utcnow() + timedelta(days=1)
    scheduled = Message(project_id=project.id, contact_id=contact.id, phone_number=phone, direction=Direction.OUT.value,
                        body="see you", status=Status.QUEUED.value, workflow=Workflow.CHAT.value,
                        scheduled_for=later_on, not_before=later_on, next_attempt_at=later_on)
    session.add(scheduled)
    session.flush()
    quick_reply = quickreplies.save_quick_reply(session, setup, project.id, f"Hello {tag}", "Hello {name}")
    return Objects(contact.id, worker.id, message.id, phone, member.username, unknown,
                   survey.id, reminder.id, broadcast.id, keyword.id, scheduled.id, quick_reply.id)


@pytest.fixture
def world(session) -> World:
    own = projects.create_project(session, "own", "Own", sender_numbers=[SENDERS["own"]])
    other = projects.create_project(session, "other", "Other", sender_numbers=[SENDERS["other"]])
    role_users = {}
    for role in Role:
        # Hashing is not under test here: a stored hash keeps the fixture fast.
        user = WebUser(username=f"u-{role.value}", password_hash=_DUMMY_HASH)
        session.add(user)
        session.flush()
        session.add(Membership(user_id=user.id, project_id=own.id, role=role.value))
        role_users[role] = user.id
    # Account management: a member of both projects, a site admin in the own one, and a site
    # admin acting in the own project.
    shared = WebUser(username="shared", password_hash=_DUMMY_HASH)
    boss = WebUser(username="boss", password_hash=_DUMMY_HASH, is_site_admin=True)
    site_admin = WebUser(username="site", password_hash=_DUMMY_HASH, is_site_admin=True)
    session.add_all([shared, boss, site_admin])
    session.flush()
    session.add_all([Membership(user_id=shared.id, project_id=own.id, role=Role.AGENT.value),
                     Membership(user_id=shared.id, project_id=other.id, role=Role.AGENT.value),
                     Membership(user_id=boss.id, project_id=own.id, role=Role.AGENT.value),
                     Membership(user_id=site_admin.id, project_id=own.id, role=Role.ADMIN.value)])
    objects = {
        "own": _project_objects(session, own, "own", "+17033996500", "+17035550101", "+14155550100"),
        "foreign": _project_objects(session, other, "other", "+254799999999", "+254799999998", "+254711111111"),
        "missing": Objects(contact=987654, worker=987655, message=987656, number="+16175550199", username="nobody",
                           unknown="+16175550198", survey=987657, reminder=987658, broadcast=987659, keyword=987660,
                           scheduled=987661, quick_reply=987662),
    }
    session.commit()
    return World(own.id, other.id, role_users, objects, site_admin.id)


def _outcome(session, entry: Entry, actor: Actor, args: tuple) -> SmsChatError | None:
    """Call inside a savepoint that is always rolled back; the error it raised, if any."""
    savepoint = session.begin_nested()
    try:
        entry.function(session, actor, *args)
        return None
    except SmsChatError as exc:
        return exc
    finally:
        savepoint.rollback()


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_entry_point_checks_role_and_project(session, world, entry):
    wrong = []
    for role, user_id in world.users.items():
        actor = Actor.web(user_id)
        # Own project: allowed exactly when the role has the action.
        error = _outcome(session, entry, actor, entry.args(world, world.own, world.objects["own"]))
        if entry.action in ROLE_ACTIONS[role]:
            if error is not None:
                wrong.append(f"{role.value} in own project: refused ({type(error).__name__}: {error})")
        elif not isinstance(error, PermissionDenied) or f"({role.value}) cannot" not in str(error):
            wrong.append(f"{role.value} in own project: expected 'cannot', got {error!r}")
        # Another project: no access, whatever the role.
        error = _outcome(session, entry, actor, entry.args(world, world.other, world.objects["foreign"]))
        if not isinstance(error, PermissionDenied) or str(error) != NO_ACCESS:
            wrong.append(f"{role.value} in other project: expected {NO_ACCESS!r}, got {error!r}")
    assert not wrong, f"{entry.name}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.object], ids=lambda e: e.name)
def test_deep_link_to_another_projects_object_reads_like_a_missing_one(session, world, entry):
    admin = Actor.web(world.users[Role.ADMIN])  # allowed everything in the own project
    foreign = _outcome(session, entry, admin, entry.args(world, world.own, world.objects["foreign"]))
    missing = _outcome(session, entry, admin, entry.args(world, world.own, world.objects["missing"]))
    assert foreign is not None, "another project's object was accepted"
    assert (type(foreign), str(foreign)) == (type(missing), str(missing))


ACCOUNT_CHANGES = [users.change_role, users.set_active, users.reset_password]


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.function in ACCOUNT_CHANGES], ids=lambda e: e.name)
@pytest.mark.parametrize("target,locked", [("shared", users.OTHER_PROJECT), ("boss", users.SITE_ADMIN)])
def test_an_account_beyond_the_admins_projects_is_changed_only_by_a_site_admin(session, world, entry, target, locked):
    from dataclasses import replace

    objects = replace(world.objects["own"], username=target)
    args = entry.args(world, world.own, objects)
    error = _outcome(session, entry, Actor.web(world.users[Role.ADMIN]), args)
    # The same words whichever other project it is: nothing names a project the admin cannot see.
    assert isinstance(error, PermissionDenied) and str(error) == locked
    assert _outcome(session, entry, Actor.web(world.site_admin), args) is None
    # A site admin still has only the projects they have a role in.
    error = _outcome(session, entry, Actor.web(world.site_admin), entry.args(world, world.other, world.objects["foreign"]))
    assert isinstance(error, PermissionDenied) and str(error) == NO_ACCESS


# Checked, but not scoped to one project: tested on their own (tests/test_projects.py).
# Not entry points of their own: the project list of an admin, and the log's check itself.
NOT_PROJECT_SCOPED = {projects.managed_projects}


# Entry points that open their own transactions (the table's savepoint cannot hold them): each
# is checked by a test of its own below.
OWN_TRANSACTIONS = {exports.export_messages}


def test_the_message_log_download_checks_role_and_project_in_its_own_transactions(session, world, db_url, tmp_path):
    """What the Message log page and the CLI call: a long read-only export, then its audit row."""
    wrong = []
    for role, user_id in world.users.items():
        for pid, allowed in ((world.own, Action.EXPORT in ROLE_ACTIONS[role]), (world.other, False)):
            target = tmp_path / f"{role.value}-{pid}.csv"
            try:
                exports.export_messages(Actor.web(user_id), pid, LogFilter(), "csv", target, url=db_url)
                error = None
            except SmsChatError as exc:
                error = exc
            where = f"{role.value} in {'own' if pid == world.own else 'other'} project"
            if allowed and (error is not None or not target.exists()):
                wrong.append(f"{where}: refused ({error!r})")
            if not allowed and (not isinstance(error, PermissionDenied) or target.exists()):
                wrong.append(f"{where}: expected a refusal and no file, got {error!r}")
            if pid == world.other and str(error) != NO_ACCESS:
                wrong.append(f"{where}: expected {NO_ACCESS!r}, got {error!r}")
    assert not wrong, "\n".join(wrong)


def test_every_checked_function_of_the_page_services_is_in_the_table():
    """A new checked function in these modules must be added to ENTRIES (or it goes untested)."""
    import inspect

    listed = {e.function for e in ENTRIES} | NOT_PROJECT_SCOPED | OWN_TRANSACTIONS
    modules = [chat, contacts, simulator, imports, users, projects, unknown_senders, messagelog, exports, settings,
               reminders, broadcasts, keywords, surveys, groups, search,
               transcript,
               number_facts, consent,
               later, stuck,
               inbox, quickreplies, notes, pricing]
    missing = []
    for module in modules:
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__ or name.startswith("_"):
                continue
            params = list(inspect.signature(fn).parameters)
            # Whatever the signature: an actor among the first two parameters makes an entry point.
            if {"actor", "actor_id"} & set(params[:2]) and fn not in listed:
                missing.append(f"{module.__name__}.{name}")
    assert not missing, "add to ENTRIES: " + ", ".join(missing)


# What belongs to one web user: the operator passes the check, then is told it has no web user.
NEEDS_WEB_USER = {chat.read_up_to, chat.mark_unread, chat.viewing, chat.send, later.schedule_message,
                  inbox.assign_to_me, notes.add_note}


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_the_operator_passes_every_check_in_every_project(session, world, entry):
    for pid, objects in ((world.own, world.objects["own"]), (world.other, world.objects["foreign"])):
        error = _outcome(session, entry, OPERATOR, entry.args(world, pid, objects))
        if entry.function in NEEDS_WEB_USER:
            assert isinstance(error, NeedsWebUser), error
        else:
            assert error is None, f"{entry.name} refused the operator: {error!r}"


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
@pytest.mark.parametrize("value", ["user id", None], ids=["user-id", "none"])
def test_anything_but_an_actor_is_a_programming_error_at_every_entry_point(session, world, entry, value):
    not_an_actor = world.users[Role.ADMIN] if value == "user id" else None
    savepoint = session.begin_nested()
    try:
        with pytest.raises(TypeError, match="must be an Actor"):
            entry.function(session, not_an_actor, *entry.args(world, world.own, world.objects["own"]))
    finally:
        savepoint.rollback()


def test_the_admins_project_list_takes_an_actor(session, world):
    assert {p.id for p in projects.managed_projects(session, OPERATOR)} >= {world.own, world.other}
    assert [p.id for p in projects.managed_projects(session, Actor.web(world.users[Role.ADMIN]))] == [world.own]
    with pytest.raises(TypeError, match="must be an Actor"):
        projects.managed_projects(session, world.users[Role.ADMIN])
