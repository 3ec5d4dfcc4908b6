"""Projects: every other row belongs to exactly one of them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from smschat import events
from smschat.accounts import audit, auth
from smschat.accounts.access import ROLE_ACTIONS, Action, checked, require
from smschat.accounts.actor import OPERATOR, Actor
from smschat.errors import NotFound, ProjectNotFound, ValidationError
from smschat.models import ChatSettings, Membership, Project, Role
from smschat.people.phones import to_e164, try_e164, validate_region
from smschat.text import clean

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def time_zones() -> list[str]:
    """The IANA time zones a project can use (for pickers)."""
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def validate_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"Unknown time zone {name!r}.") from None
    return name


def create_project(
    session: Session,
    slug: str,
    name: str,
    *,
    time_zone: str = "UTC",
    default_region: str = "US",
    sender_numbers: list[str] | None = None,
    help_text: str = "",
) -> Project:
    if not SLUG_RE.match(slug or ""):
        raise ValidationError("A project slug is lower-case letters, digits and dashes.")
    name = clean(name or "")
    if not name.strip():
        raise ValidationError("A project needs a name.")
    if session.scalar(select(Project.id).where(Project.slug == slug)) is not None:
        raise ValidationError(f"A project {slug!r} already exists.")
    region = validate_region(default_region)
    senders: list[str] = []
    for raw in sender_numbers or []:
        e164 = to_e164(raw, region)
        _check_sender_free(session, e164, None)
        if e164 not in senders:
            senders.append(e164)
    project = Project(
        slug=slug,
        name=name.strip(),
        time_zone=validate_time_zone(time_zone),
        default_region=region,
        sender_numbers=senders,
        help_text=clean(help_text or ""),
    )
    session.add(project)
    session.flush()
    session.add(ChatSettings(project_id=project.id, delay_automated_sms={"enabled": False}))
    session.flush()
    return project


def _check_sender_free(session: Session, e164: str, project_id: int | None) -> None:
    """A sender number belongs to one project only: inbound SMS to it must find one project."""
    owner = project_for_number(session, e164)
    if owner is not None and owner.id != project_id:
        raise ValidationError(f"{e164} is already the sender number of another project.")


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise ProjectNotFound("No such project.")
    return project


def owned(session: Session, model, project_id: int, object_id: int, what: str):
    """The project's `model` row with that id. A missing id and another project's read the
    same, so nothing tells them apart."""
    obj = session.get(model, object_id) if 0 < object_id < 2**63 else None
    if obj is None or obj.project_id != project_id:
        raise NotFound(f"No such {what} in this project.")
    return obj


def get_project_by_slug(session: Session, slug: str) -> Project:
    project = session.scalar(select(Project).where(Project.slug == slug))
    if project is None:
        raise ProjectNotFound(f"No project {slug!r}.")
    return project


def project_for_number(session: Session, e164: str) -> Project | None:
    """The project that sends from this number (the `To` of an inbound message)."""
    for project in session.scalars(select(Project)):
        if e164 in (project.sender_numbers or []):
            return project
    return None


def get_chat_settings(session: Session, project_id: int) -> ChatSettings:
    settings = session.get(ChatSettings, project_id)
    if settings is None:
        settings = ChatSettings(project_id=project_id, delay_automated_sms={"enabled": False})
        session.add(settings)
        session.flush()
    return settings


# --- checked entry points: what the Projects page (admins) calls ---------------------------
#
# Each takes the acting web user and checks Action.MANAGE_PROJECTS in the project concerned
# (admins only); every change is written to the audit trail of that project.


@dataclass(frozen=True)
class ProjectRow:
    id: int
    slug: str
    name: str
    time_zone: str
    default_region: str
    sender_numbers: list[str]


def _row(project: Project) -> ProjectRow:
    return ProjectRow(project.id, project.slug, project.name, project.time_zone, project.default_region,
                      list(project.sender_numbers or []))


def _changed(session: Session, actor: Actor, project: Project, change: str, **detail) -> None:
    audit.record(session, audit.PROJECT_CHANGED, user_id=actor.user_id, project_id=project.id,
                 detail={"project": project.slug, "change": change, **detail})


def _managed(session: Session, actor: Actor, project_id: int) -> Project:
    require(session, actor, project_id, Action.MANAGE_PROJECTS)
    return get_project(session, project_id)


def managed_project(session: Session, actor: Actor, project_id: int) -> ProjectRow:
    """One project as its admin sees it on the Projects page."""
    return _row(_managed(session, actor, project_id))


def managed_projects(session: Session, actor: Actor) -> list[ProjectRow]:
    """The projects the acting user administers (the only ones the Projects page lists); the
    operator administers them all."""

    if checked(actor).operator:
        rows = session.scalars(select(Project).order_by(Project.name, Project.id))
        return [_row(p) for p in rows]
    roles = [r.value for r in Role if Action.MANAGE_PROJECTS in ROLE_ACTIONS[r]]
    rows = session.scalars(
        select(Project)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == actor.user_id, Membership.role.in_(roles))
        .order_by(Project.name, Project.id)
    )
    return [_row(p) for p in rows]


def add_project(
    session: Session, actor: Actor, current_project_id: int, slug: str, name: str, *,
    time_zone: str = "UTC", default_region: str = "US", sender_numbers: list[str] | None = None,
) -> ProjectRow:
    """An admin (of the project they are working in) creates a project and becomes its admin."""

    require(session, actor, current_project_id, Action.MANAGE_PROJECTS)
    project = create_project(session, (slug or "").strip(), name, time_zone=time_zone,
                             default_region=default_region, sender_numbers=sender_numbers)
    record_created(session, project, actor)
    if not actor.operator:  # the command line names an admin itself (`projects add --admin`)
        auth.set_role(session, auth.get_user_by_id(session, actor.user_id), project, "admin", actor=actor)
    return _row(project)


def _set(session: Session, actor: Actor, project: Project, field: str, new: str) -> ProjectRow:
    """Change one field of the project, audited with its old and new value (nothing if equal)."""
    old = getattr(project, field)
    if new != old:
        _changed(session, actor, project, field, old=old, new=new)
        setattr(project, field, new)
        session.flush()
    return _row(project)


def rename_project(session: Session, actor: Actor, project_id: int, name: str) -> ProjectRow:
    project = _managed(session, actor, project_id)
    new = clean(name or "").strip()
    if not new:
        raise ValidationError("A project needs a name.")
    return _set(session, actor, project, "name", new)


def set_time_zone(session: Session, actor: Actor, project_id: int, time_zone: str, *,
                  now: datetime | None = None) -> ProjectRow:
    """The Projects page's change; like the Settings page's, what depends on the zone follows
    (reminders move to the same local time in the new zone)."""
    project = _managed(session, actor, project_id)
    before = project.time_zone
    row = _set(session, actor, project, "time_zone", validate_time_zone((time_zone or "").strip()))
    if row.time_zone != before:
        events.publish(events.TIME_ZONE_CHANGED, session, project_id=project.id, now=now)
    return row


def set_default_region(session: Session, actor: Actor, project_id: int, region: str) -> ProjectRow:
    project = _managed(session, actor, project_id)
    return _set(session, actor, project, "default_region", validate_region(region))


def add_sender(session: Session, project: Project, number: str, *, actor: Actor = OPERATOR) -> str:
    """Internal (the CLI; the page goes through add_sender_number): add and audit one number."""
    e164 = to_e164(number, project.default_region)
    _check_sender_free(session, e164, project.id)
    if e164 not in (project.sender_numbers or []):
        project.sender_numbers = [*(project.sender_numbers or []), e164]  # a new list: JSON columns track assignment
        _changed(session, actor, project, "sender_added", number=e164)
        session.flush()
    return e164


def remove_sender(session: Session, project: Project, number: str, *, actor: Actor = OPERATOR) -> str:
    e164 = try_e164(number, project.default_region) or (number or "").strip()
    if e164 not in (project.sender_numbers or []):
        raise NotFound(f"{e164} is not a sender number of this project.")
    project.sender_numbers = [n for n in project.sender_numbers if n != e164]
    _changed(session, actor, project, "sender_removed", number=e164)
    session.flush()
    return e164


def record_created(session: Session, project: Project, actor: Actor = OPERATOR) -> None:
    _changed(session, actor, project, "created", name=project.name, time_zone=project.time_zone,
             default_region=project.default_region, sender_numbers=", ".join(project.sender_numbers))


def add_sender_number(session: Session, actor: Actor, project_id: int, number: str) -> ProjectRow:
    """A number the project sends from (E.164); it may belong to no other project."""
    project = _managed(session, actor, project_id)
    add_sender(session, project, number, actor=actor)
    return _row(project)


def remove_sender_number(session: Session, actor: Actor, project_id: int, number: str) -> ProjectRow:
    project = _managed(session, actor, project_id)
    remove_sender(session, project, number, actor=actor)
    return _row(project)
