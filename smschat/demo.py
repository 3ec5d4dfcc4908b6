"""The demo project: the seed's conversation with marie, a few cases, four web users."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat.accounts import auth, projects
from smschat.accounts.actor import Actor
from smschat.automation import keywords, reminders, surveys
from smschat.chat import inbox
from smschat.errors import ValidationError
from smschat.messaging.segments import count_segments
from smschat.models import Direction, Message, Project, Role, Status, WebUser, Workflow
from smschat.people import contacts
from smschat.people.verification import thanks_text, welcome_text

DEMO_SLUG = "demo"
DEMO_USERS = [
    ("amy", "Amy", Role.AGENT),
    ("sam", "Sam", Role.SUPERVISOR),
    ("ana", "Ana", Role.ANALYST),
    ("admin", "", Role.ADMIN),
]
DEMO_CASES = [
    ("Grace Achieng", "+254712345678", {"mother_name": "Grace A.", "village": "Kisumu"}),
    ("Peter Banda", "+265991234567", {"mother_name": "Mercy B.", "village": "Zomba"}),
    ("Aisha Diallo", "+221771234567", {"mother_name": "Fatou D.", "village": "Thiès"}),
]


def load_demo(session: Session, passwords: dict[str, str] | None = None) -> dict[str, str]:
    """Create the demo project. Returns {username: password} (printed once by the CLI)."""
    if session.scalar(select(Project.id).where(Project.slug == DEMO_SLUG)) is not None:
        raise ValidationError("The demo project is already loaded.")
    project = projects.create_project(
        session, DEMO_SLUG, "Demo Project", time_zone="America/New_York",
        sender_numbers=["+15005550006"], help_text="Reply STOP to stop messages. Call 555-0100 for help.",
    )
    created: dict[str, str] = {}
    users = {}
    for username, first_name, role in DEMO_USERS:
        existing = session.scalar(select(WebUser).where(WebUser.username == username))
        if existing is not None:
            # e.g. the admin `smschat init` created: keep its password, give it a role here.
            auth.set_role(session, existing, project, role)
            users[username] = existing
            continue
        password = (passwords or {}).get(username) or auth.generate_password()
        users[username] = auth.create_user(
            session, username, password, first_name=first_name, project=project, role=role,
            site_admin=username == "admin",
        )
        created[username] = password

    marie = contacts.create_contact(session, project, "mobile_worker", "marie", username="marie", first_name="Marie")
    contacts.register_phone(session, project, marie, "17033996500", verified=True)
    for name, number, props in DEMO_CASES:
        case = contacts.create_contact(session, project, "case", name, case_properties=props)
        contacts.register_phone(session, project, case, number)

    # The seed's conversation, yesterday and early today in the project's time zone.
    tz = ZoneInfo(project.time_zone)
    today = datetime.now(UTC).astimezone(tz).date()
    yesterday = today - timedelta(days=1)

    def at(day, hh, mm):
        return datetime.combine(day, time(hh, mm), tzinfo=tz).astimezone(UTC)

    amy = users["amy"]
    history = [
        (at(yesterday, 17, 23), Direction.OUT, welcome_text(project, marie), Workflow.VERIFICATION, None),
        (at(yesterday, 17, 24), Direction.IN, "123", Workflow.VERIFICATION, None),
        (at(yesterday, 17, 24), Direction.OUT, thanks_text(project), Workflow.VERIFICATION, None),
        (at(yesterday, 18, 10), Direction.OUT, "Did you complete your supervisions today?", Workflow.CHAT, amy.id),
        (at(yesterday, 18, 11), Direction.IN, "I visited two patients, and scheduled clinic visits", Workflow.DEFAULT, None),
        (at(today, 2, 0), Direction.OUT,
         "Heads up! Your weekly meeting is at the community center tomorrow at 6 pm.", Workflow.REMINDER, None),
    ]
    for created_at, direction, body, workflow, sender in history:
        info = count_segments(body)
        session.add(Message(
            project_id=project.id, contact_id=marie.id, phone_number="+17033996500",
            direction=direction.value, body=body, created_at=created_at,
            sent_at=created_at if direction is Direction.OUT else None,
            status=Status.DELIVERED.value if direction is Direction.OUT else Status.RECEIVED.value,
            status_at=created_at, segments=info.segments, encoding=info.encoding,
            workflow=workflow.value, sent_by_id=sender, gateway="loopback",
        ))
    session.flush()
    contacts.refresh_activity(session, project.id)
    inbox.refresh_waiting(session, project.id)
    _demo_automation(session, project, users["sam"])
    return created


def _demo_automation(session: Session, project: Project, sam: WebUser) -> None:
    """A weekly reminder, a feedback survey started by the keyword FEEDBACK, and a CLINIC keyword."""

    sam_acts = Actor.web(sam.id)  # the demo's automation is the supervisor's
    reminders.create_reminder(
        session, sam_acts, project.id, "Weekly meeting",
        "Heads up! Your weekly meeting is at the community center tomorrow at 6 pm.",
        {"kind": "mobile_workers"}, {"kind": "weekly", "time": "09:00", "weekdays": [2]},  # Wednesdays
    )
    survey = surveys.create_survey(session, sam_acts, project.id, "Clinic feedback", [
        {"text": "How would you rate your last clinic visit, from 1 (poor) to 5 (excellent)?",
         "kind": "number", "min": 1, "max": 5},
        {"text": "Were you seen within an hour?", "kind": "choice", "choices": ["Yes", "No"]},
        {"text": "Anything we should improve?", "kind": "text"},
    ], max_attempts=3, timeout_minutes=60)
    keywords.create_keyword(session, sam_acts, project.id, "FEEDBACK",
                            "Thank you for helping us improve. 3 short questions follow.", survey_id=survey.id)
    keywords.create_keyword(session, sam_acts, project.id, "CLINIC", "The clinic is open Monday to Friday, 8am to 5pm.")
