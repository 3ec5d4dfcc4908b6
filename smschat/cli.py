"""The `smschat` command line (typer). SmsChatError becomes one line and exit code 1, here."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from typer._click import (
    exceptions as click_errors,  # typer's own copy of click's errors
)
from typer.core import TyperGroup

from smschat.accounts.actor import OPERATOR
from smschat.config import get_settings, variable_of
from smschat.errors import ConfigError, SmsChatError


class _ErrorsToExitCodes(TyperGroup):
    """The one place CLI errors become one line on stderr: exit 2 for usage and configuration,
    1 for everything else. No traceback and no boxed usage text reach the terminal."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:  # `smschat users`: the help screen
            typer.echo(exc.ctx.get_help())
            code = 2
        except BaseException as exc:  # noqa: BLE001 - sorted below; the rest goes on up
            message, code = _one_line(exc)
            if message is None:
                raise
            typer.echo(message, err=True)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _one_line(exc: BaseException) -> tuple[str | None, int]:
    """(message, exit code) for an error a user can cause; (None, _) for a bug (traceback)."""
    from pydantic import ValidationError as SettingsInvalid
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from smschat.db import Problem, classify, reason

    if isinstance(exc, click_errors.UsageError):
        return f"usage error: {exc.format_message()}{_try_help(exc.ctx)}", 2
    if isinstance(exc, click_errors.ClickException):
        return f"error: {exc.format_message()}", exc.exit_code
    if isinstance(exc, typer.Abort | KeyboardInterrupt):
        return "aborted", 1
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}", 2
    if isinstance(exc, SmsChatError):
        return f"error: {exc}", 1
    if isinstance(exc, SettingsInvalid):  # a setting in the environment that does not parse
        first = exc.errors()[0]
        name = variable_of(first["loc"][0]) if first["loc"] else "a setting"
        return f"configuration error: {name}: {first['msg']} (got {first.get('input')!r})", 2
    if isinstance(exc, ArgumentError | NoSuchModuleError):
        return f"configuration error: SMSCHAT_DATABASE_URL is not a database URL we can use: {exc}", 2
    problem = classify(exc)  # the one reading of database errors (smschat.db)
    if problem is not None:
        why = reason(exc)
        if "no such table" in why or "does not exist" in why and "relation" in why:
            why = "it has no tables yet (run: smschat init)"
        if problem is Problem.OTHER and not why.startswith("it has no tables"):
            return f"error: the database refused this: {why}", 1
        return f"error: cannot use the database {_safe_url()}: {why}", 1
    if isinstance(exc, UnicodeDecodeError):
        return f"error: the file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as CSV UTF-8", 1
    if isinstance(exc, OSError):
        return (f"error: {exc.filename}: {exc.strerror}" if exc.filename else f"error: {exc.strerror or exc}"), 1
    return None, 1


def _try_help(ctx) -> str:
    return f" (see: {ctx.command_path} --help)" if ctx is not None else ""


app = typer.Typer(
    cls=_ErrorsToExitCodes,
    help="smschat: an SMS chat window for health and field programs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
users_app = typer.Typer(help="Web users.", no_args_is_help=True)
app.add_typer(users_app, name="users")
contacts_app = typer.Typer(help="Contacts: mobile workers and cases.", no_args_is_help=True)
app.add_typer(contacts_app, name="contacts")
projects_app = typer.Typer(help="Projects and their sender numbers.", no_args_is_help=True)
app.add_typer(projects_app, name="projects")

ROOT = Path(__file__).resolve().parent.parent


def _migrate() -> None:
    from smschat.migrate import upgrade

    upgrade()


@app.command()
def init(
    project: Annotated[str, typer.Option(help="Slug of the first project (only on an empty database).")] = "main",
    project_name: Annotated[str, typer.Option(help="Name of the first project.")] = "Main project",
    time_zone: Annotated[str, typer.Option(help="Time zone of the first project.")] = "UTC",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the first admin's password from stdin.")] = False,
) -> None:
    """Create or upgrade the schema; on an empty database, create the first project and admin."""
    from sqlalchemy import func, select

    from smschat.accounts import auth, projects
    from smschat.db import session_scope
    from smschat.models import WebUser

    _migrate()
    typer.echo(f"Database ready: {_safe_url()}")
    with session_scope() as session:
        if session.scalar(select(func.count()).select_from(WebUser)):
            return
        if password_stdin:
            password, shown = _read_password(True), False
        elif sys.stdin.isatty():
            password, shown = _read_password(False), False
        else:
            password, shown = auth.generate_password(), True
        first = projects.create_project(session, project, project_name, time_zone=time_zone)
        auth.create_user(session, "admin", password, project=first, role="admin", site_admin=True, actor=OPERATOR)
    typer.echo(f"Created project {project!r} and its first web user 'admin' (a site admin).")
    if shown:
        typer.echo(f"  admin password (shown only now): {password}")


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    return make_url(get_settings().database_url).render_as_string(hide_password=True)


@app.command()
def demo(
    if_empty: Annotated[bool, typer.Option("--if-empty", help="Only load it when the database has no project.")] = False,
) -> None:
    """Load the demo project and print each web user's password (once)."""
    from sqlalchemy import func, select

    from smschat.db import session_scope
    from smschat.demo import load_demo
    from smschat.models import Project

    _migrate()
    with session_scope() as session:
        if if_empty and session.scalar(select(func.count()).select_from(Project)):
            typer.echo("The database already has a project; demo not loaded. Log in with the passwords "
                       "printed when it was loaded, or set one: smschat users passwd amy")
            return
        passwords = load_demo(session)
    typer.echo("Demo project loaded. Web users (these passwords are shown only now):")
    for username, password in passwords.items():
        typer.echo(f"  {username:<6} {password}")


@app.command()
def worker() -> None:
    """Run the send loop."""
    from smschat.messaging.worker import main

    check_config(senders=True)
    main()


@app.command()
def webhooks(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default SMSCHAT_WEBHOOK_PORT).")] = None,
) -> None:
    """Run the webhooks app under uvicorn, with its body limit and read deadlines."""
    from smschat.web.webserver import serve

    check_config()
    serve(host, port or get_settings().webhook_port)


def check_config(*, senders: bool = False) -> None:
    """Stop early, with one line naming the variable, on a missing or contradictory setting."""
    from sqlalchemy import select

    from smschat import gateways
    from smschat.db import session_scope
    from smschat.models import Project

    gateways.check_settings()
    if senders:
        with session_scope(readonly=True) as session:
            gateways.check_senders(session.execute(select(Project.slug, Project.sender_numbers)).all())


@app.command()
def up() -> None:
    """Run dashboard, webhooks and worker together; Ctrl-C or SIGTERM stops all three."""
    settings = get_settings()
    check_config()
    _migrate()
    check_config(senders=True)
    python = sys.executable
    children = {
        # The Streamlit pages plus the login routes and security headers (dashboard_server.py).
        "dashboard": [
            python, "-m", "uvicorn", "dashboard_server:app",
            "--host", settings.dashboard_address, "--port", str(settings.dashboard_port),
        ],
        "webhooks": [python, "-m", "smschat", "webhooks", "--port", str(settings.webhook_port)],
        "worker": [python, "-m", "smschat", "worker"],
    }
    procs = {name: subprocess.Popen(cmd, cwd=ROOT) for name, cmd in children.items()}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    typer.echo(f"smschat is up: dashboard http://{settings.dashboard_address}:{settings.dashboard_port}  "
               f"webhooks http://localhost:{settings.webhook_port}  gateway {settings.gateway}")
    code = 0
    try:
        while not stopping:
            for name, proc in procs.items():
                if proc.poll() is not None:
                    typer.echo(f"{name} exited with code {proc.returncode}; stopping the others.", err=True)
                    code = proc.returncode or 1
                    stopping = True
            time.sleep(0.3)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
    raise typer.Exit(code)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("add")
def users_add(
    username: str,
    project: Annotated[str, typer.Option(help="Project slug.")],
    role: Annotated[str, typer.Option(help="agent, supervisor, analyst or admin.")] = "agent",
    first_name: Annotated[str, typer.Option(help="Shown as the sender of their chat messages.")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
    site_admin: Annotated[bool, typer.Option("--site-admin", help="May manage every account, in every project.")] = False,
) -> None:
    """Add a web user with a role in a project."""
    from smschat.accounts import auth
    from smschat.accounts.projects import get_project_by_slug
    from smschat.db import session_scope

    password = _read_password(password_stdin)
    with session_scope() as session:
        proj = get_project_by_slug(session, project)
        auth.create_user(session, username, password, first_name=first_name, project=proj, role=role,
                         site_admin=site_admin, actor=OPERATOR)
    typer.echo(f"Added {username} ({role} in {project}{', site admin' if site_admin else ''}).")


@users_app.command("passwd")
def users_passwd(
    username: str,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin.")] = False,
) -> None:
    """Set a web user's password."""
    from smschat.accounts import auth
    from smschat.db import session_scope

    password = _read_password(password_stdin)
    with session_scope() as session:
        auth.set_password(session, username, password, actor=OPERATOR)
    typer.echo(f"Password of {username} changed.")


@users_app.command("disable")
def users_disable(username: str) -> None:
    """Stop a web user from logging in."""
    from smschat.accounts import auth
    from smschat.db import session_scope

    with session_scope() as session:
        auth.set_active(session, username, False, actor=OPERATOR)
    typer.echo(f"{username} disabled.")


@users_app.command("site-admin")
def users_site_admin(
    username: str,
    revoke: Annotated[bool, typer.Option("--revoke", help="Take site admin rights back.")] = False,
) -> None:
    """Let a web user manage every account, in every project (or, with --revoke, no longer)."""
    from smschat.accounts import auth
    from smschat.db import session_scope

    with session_scope() as session:
        auth.set_site_admin(session, username, not revoke, actor=OPERATOR)
    typer.echo(f"{username} is {'no longer' if revoke else 'now'} a site admin.")


@users_app.command("list")
def users_list() -> None:
    """List web users and their roles."""
    from smschat.accounts import auth
    from smschat.db import session_scope

    with session_scope(readonly=True) as session:
        for user, roles in auth.list_users(session):
            state = (" (site admin)" if user.is_site_admin else "") + ("" if user.is_active else " (disabled)")
            where = ", ".join(f"{role} in {slug}" for slug, role in roles) or "no project"
            typer.echo(f"{user.username}{state}: {where}")


@contacts_app.command("import")
def contacts_import(
    file: Annotated[Path, typer.Argument(help="CSV with columns type, name, phone (+ case properties).", exists=True, dir_okay=False)],
    project: Annotated[str, typer.Option(help="Project slug.")],
) -> None:
    """Import contacts from a CSV file; bad rows are listed with their line numbers."""
    from smschat.accounts.projects import get_project_by_slug
    from smschat.db import session_scope
    from smschat.people.imports import import_csv

    with session_scope() as session, file.open(newline="", encoding="utf-8-sig") as handle:
        report = import_csv(session, OPERATOR, get_project_by_slug(session, project).id, handle)
    typer.echo(report.summary)
    for line, error in report.errors:
        typer.echo(f"  line {line}: {error}", err=True)
    if report.errors:
        raise typer.Exit(1)


@contacts_app.command("add")
def contacts_add(
    name: str,
    phone: Annotated[str, typer.Option(help="Phone number (E.164 or national in the project's region).")],
    project: Annotated[str, typer.Option(help="Project slug.")],
    kind: Annotated[str, typer.Option("--type", help="mobile_worker or case.")] = "case",
    verified: Annotated[bool, typer.Option(help="Mark a mobile worker's number verified.")] = False,
) -> None:
    """Add one mobile worker or case."""
    from smschat.accounts.projects import get_project_by_slug
    from smschat.db import session_scope
    from smschat.people.contacts import create_contact, register_phone

    with session_scope() as session:
        proj = get_project_by_slug(session, project)
        contact = create_contact(session, proj, kind, name)
        register_phone(session, proj, contact, phone, verified=verified)
    typer.echo(f"Added {name}.")


@projects_app.command("add")
def projects_add(
    slug: Annotated[str, typer.Argument(help="Lower-case letters, digits and dashes.")],
    name: Annotated[str, typer.Option(help="The project's name.")],
    time_zone: Annotated[str, typer.Option(help="IANA time zone, e.g. Africa/Nairobi.")] = "UTC",
    region: Annotated[str, typer.Option(help="Two-letter region national numbers are read in.")] = "US",
    sender: Annotated[list[str] | None, typer.Option(help="A sender number (repeat for several).")] = None,
    admin: Annotated[str | None, typer.Option(help="Make this web user the project's admin.")] = None,
) -> None:
    """Create a project (audited as a command-line change)."""
    from smschat.accounts import auth, projects
    from smschat.db import session_scope

    with session_scope() as session:
        project = projects.create_project(session, slug, name, time_zone=time_zone, default_region=region,
                                          sender_numbers=sender or [])
        projects.record_created(session, project, OPERATOR)
        if admin:
            auth.set_role(session, auth.get_user(session, admin), project, "admin", actor=OPERATOR)
        numbers = ", ".join(project.sender_numbers) or "no sender number"
    typer.echo(f"Added project {slug!r} ({time_zone}, {region.upper()}, {numbers}).")


@projects_app.command("list")
def projects_list() -> None:
    """List projects: slug, name, time zone, region, sender numbers."""
    from sqlalchemy import select

    from smschat.db import session_scope
    from smschat.models import Project

    with session_scope(readonly=True) as session:
        for p in session.scalars(select(Project).order_by(Project.slug)):
            numbers = ", ".join(p.sender_numbers or []) or "-"
            typer.echo(f"{p.slug}\t{p.name}\t{p.time_zone}\t{p.default_region}\t{numbers}")


@projects_app.command("senders")
def projects_senders(
    slug: str,
    add: Annotated[list[str] | None, typer.Option(help="Add a sender number (repeat for several).")] = None,
    remove: Annotated[list[str] | None, typer.Option(help="Remove a sender number.")] = None,
) -> None:
    """Show a project's sender numbers; --add / --remove change them (a number belongs to one project)."""
    from smschat.accounts import projects
    from smschat.db import session_scope

    with session_scope() as session:
        project = projects.get_project_by_slug(session, slug)
        for number in remove or []:
            projects.remove_sender(session, project, number, actor=OPERATOR)
        for number in add or []:
            projects.add_sender(session, project, number, actor=OPERATOR)
        numbers = list(project.sender_numbers or [])
    for number in numbers:
        typer.echo(number)
    if not numbers:
        typer.echo(f"{slug} has no sender number.", err=True)


@app.command()
def export(
    output: Annotated[Path, typer.Option(help="File to write (replaced if it exists).", dir_okay=False)],
    project: Annotated[str | None, typer.Option(help="Project slug (may be left out when there is one project).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or parquet.")] = "csv",
    since: Annotated[str | None, typer.Option(help="First local day included (YYYY-MM-DD), project's time zone.")] = None,
    until: Annotated[str | None, typer.Option(help="First local day NOT included (YYYY-MM-DD).")] = None,
    direction: Annotated[str | None, typer.Option(help="in or out.")] = None,
    message_type: Annotated[list[str] | None, typer.Option("--type", help="chat, reminder, broadcast, keyword, survey, verification or default; repeat for several.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="A status; repeat for several.")] = None,
    search: Annotated[str, typer.Option(help="Only messages whose body contains this text (any case).")] = "",
) -> None:
    """Export the message log (the same rows and columns as the Message log page)."""
    import getpass

    from smschat.accounts.projects import get_project_by_slug
    from smschat.db import session_scope
    from smschat.errors import ValidationError
    from smschat.log.exports import export_messages, parse_format
    from smschat.log.messagelog import LogFilter

    if not output.parent.is_dir():  # say so rather than create folders from a typo
        raise typer.BadParameter(f"there is no folder {output.parent}", param_hint="'--output'")
    fmt = parse_format(fmt)
    filt = LogFilter(since=since, until=until, direction=direction, workflows=tuple(message_type or ()),
                     statuses=tuple(status or ()), text=search)
    with session_scope(readonly=True) as session:
        if project is None:
            from sqlalchemy import select

            from smschat.models import Project

            slugs = list(session.scalars(select(Project.slug).order_by(Project.slug).limit(2)))
            if len(slugs) != 1:
                raise ValidationError("Name the project with --project." if slugs else "There is no project yet.")
            project = slugs[0]
        project_id = get_project_by_slug(session, project).id
    try:
        operator = getpass.getuser()
    except (KeyError, OSError):
        operator = None
    if sys.stderr.isatty():
        # A progress bar for people at a terminal only; scripts and pipes get the summary line.
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        with Progress(TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=_stderr_console(), transient=True) as bar:
            task = bar.add_task("export", total=None)
            result = export_messages(OPERATOR, project_id, filt, fmt, output, username=operator,
                                     progress=lambda done, total: bar.update(task, completed=done, total=total))
    else:
        result = export_messages(OPERATOR, project_id, filt, fmt, output, username=operator)
    typer.echo(f"Exported {result.rows:,} messages to {output}.")


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    app()
