"""Projects: every other row belongs to exactly one of them."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from .errors import ProjectNotFound, ValidationError
from .models import ChatSettings, Project
from .phones import to_e164

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


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
    if not (name or "").strip():
        raise ValidationError("A project needs a name.")
    if session.scalar(select(Project.id).where(Project.slug == slug)) is not None:
        raise ValidationError(f"A project {slug!r} already exists.")
    project = Project(
        slug=slug,
        name=name.strip(),
        time_zone=validate_time_zone(time_zone),
        default_region=default_region.upper(),
        sender_numbers=[to_e164(n, default_region) for n in (sender_numbers or [])],
        help_text=help_text,
    )
    session.add(project)
    session.flush()
    session.add(ChatSettings(project_id=project.id, delay_automated_sms={"enabled": False}))
    session.flush()
    return project


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise ProjectNotFound("No such project.")
    return project


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
