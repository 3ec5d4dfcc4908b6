"""The dashboard's doors: the login routes and their cookies (a real uvicorn), security
headers, no open redirect, no cross-site login, and errors shown as one line with an error
id instead of a traceback (AppTest)."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from smschat import db as dbmod
from smschat.accounts import audit, auth
from smschat.config import reload_settings
from smschat.models import AuditEvent, WebSession
from smschat.web import failures, login

from .conftest import ROOT, free_port

PASSWORD = "correct horse battery"  # the `agent` fixture's
EVIL = "https://evil.example"


@pytest.fixture
def login_server(db_url):
    """The dashboard's login routes and header middleware, as dashboard_server.py mounts them,
    under a real uvicorn. (The Streamlit runtime is one per process, so the whole App runs in
    the browser tests' subprocess; these routes do not touch it.)"""
    import uvicorn
    from starlette.applications import Starlette
    from pages._scripts import INLINE_SCRIPTS

    app = Starlette(routes=login.routes(), middleware=login.middleware(login.content_security_policy(INLINE_SCRIPTS)))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as client:
        yield client
    server.should_exit = True
    thread.join(timeout=10)


def _post_login(client, username="amy", password=PASSWORD, next_path="/", origin=None, **headers):
    origin = str(client.base_url).rstrip("/") if origin is None else origin
    if origin:
        headers["Origin"] = origin
    return client.post("/login", data={"username": username, "password": password, "next": next_path},
                       headers=headers)


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def _attributes(header: str) -> set[str]:
    return {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}


def _audit_count(session, action) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


# --- logging in and out -----------------------------------------------------------------------

def test_login_sets_an_httponly_strict_session_cookie_and_a_device_cookie(login_server, session, agent):
    r = _post_login(login_server, next_path="/chat?contact=7")
    assert r.status_code == 303
    assert r.headers["location"] == "/chat?contact=7"  # the deep link survives the login
    cookies = _set_cookies(r)
    session_cookie, device_cookie = cookies["smschat_session"], cookies["smschat_device"]
    for header in (session_cookie, device_cookie):
        assert {"httponly", "path", "samesite"} <= _attributes(header)
        assert "SameSite=strict" in header.replace("Strict", "strict") and "Path=/" in header
        assert "secure" not in _attributes(header)  # plain http here: Secure would drop it
    assert "max-age" not in _attributes(session_cookie)  # gone when the browser closes
    assert "Max-Age=7776000" in device_cookie  # 90 days
    token = r.cookies["smschat_session"]
    session.expire_all()
    assert auth.live_web_session(session, token).user_id == agent.id


@pytest.mark.parametrize("variable", ["SMSCHAT_DASHBOARD_URL", "SMSCHAT_PUBLIC_URL"])
def test_cookies_are_secure_when_the_dashboard_is_served_over_https(login_server, agent, monkeypatch, variable):
    monkeypatch.setenv(variable, "https://chat.example.org")
    reload_settings()
    r = _post_login(login_server)
    assert r.status_code == 303
    for header in _set_cookies(r).values():
        assert "secure" in _attributes(header)
    logout = login_server.get("/logout", headers={"Cookie": f"smschat_session={r.cookies['smschat_session']}"})
    assert "secure" in _attributes(_set_cookies(logout)["smschat_session"])


def test_a_wrong_password_shows_one_line_sets_no_cookie_and_keeps_the_audit_row(login_server, session, agent):
    r = _post_login(login_server, password="wrong password!")
    assert r.status_code == 401
    assert "Wrong username or password." in r.text
    assert 'name="username"' in r.text  # the form again
    assert "set-cookie" not in r.headers
    assert _audit_count(session, audit.LOGIN_FAILED) == 1


def test_a_cross_site_login_post_is_refused_before_any_password_check(login_server, session, agent):
    for headers in ({"origin": EVIL}, {"origin": "null"}, {"origin": "", "Referer": f"{EVIL}/login"}, {"origin": ""}):
        r = _post_login(login_server, **headers)
        assert r.status_code == 403, headers
        assert "set-cookie" not in r.headers
        assert "Refused" in r.text
    # Not even counted as a try: a forged form cannot lock anyone out.
    assert _audit_count(session, audit.LOGIN_FAILED) == 0 and _audit_count(session, audit.LOGIN) == 0
    # The same form from this site's own page (Referer only) goes through.
    r = _post_login(login_server, origin="", Referer=str(login_server.base_url).rstrip("/") + "/login?next=%2F")
    assert r.status_code == 303


@pytest.mark.parametrize("target", [
    "//evil.example", "//evil.example/chat", "https://evil.example", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "/login?next=//evil.example", " //evil.example", "/%0d%0aSet-Cookie:x=1",
])
def test_next_never_leaves_the_site(login_server, agent, target):
    r = _post_login(login_server, next_path=target)
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/") and not location.startswith("//") and "evil" not in location.split("?")[0]
    page = login_server.get("/login", params={"next": target})
    hidden = re.search(r'name="next" value="([^"]*)"', page.text).group(1)
    assert not hidden.startswith("//") and not hidden.startswith("http")


def test_login_page_shows_every_text_literally(login_server):
    r = login_server.get("/login", params={"next": '/chat?x="><script>alert(1)</script>', "ended": "1"})
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "Your session has ended. Please log in again." in r.text
    for label in ("Username", "Password", "Log in"):
        assert label in r.text


def test_logout_ends_the_server_session_and_clears_the_cookie(login_server, session, agent):
    token = _post_login(login_server).cookies["smschat_session"]
    r = login_server.get("/logout", headers={"Cookie": f"smschat_session={token}"})
    assert r.status_code == 303 and r.headers["location"] == "/login?out=1"
    cleared = _set_cookies(r)["smschat_session"]
    assert 'smschat_session=""' in cleared or "smschat_session=;" in cleared
    assert "Max-Age=0" in cleared or "expires=Thu, 01 Jan 1970" in cleared.lower().replace("expires=thu", "expires=Thu")
    session.expire_all()
    assert auth.live_web_session(session, token) is None
    assert _audit_count(session, audit.LOGOUT) == 1
    assert "You are logged out." in login_server.get("/login?out=1").text


def test_every_response_carries_the_security_headers(login_server):
    for r in (login_server.get("/login"), _post_login(login_server, origin=EVIL), login_server.get("/logout")):
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "same-origin"
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
        script_src = re.search(r"script-src ([^;]*)", csp).group(1)
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src


def test_an_oversized_login_form_is_refused(login_server, agent):
    r = login_server.post("/login", content=b"username=" + b"a" * 100_000,
                          headers={"Origin": str(login_server.base_url).rstrip("/"),
                                   "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400 and "set-cookie" not in r.headers


def test_login_with_the_database_away_shows_one_line_and_an_error_id(monkeypatch, caplog):
    import uvicorn
    from starlette.applications import Starlette

    monkeypatch.setenv("SMSCHAT_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    reload_settings()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=login.routes()), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        base = f"http://127.0.0.1:{port}"
        with caplog.at_level(logging.ERROR, logger="smschat.dashboard"):
            r = httpx.post(f"{base}/login", data={"username": "amy", "password": PASSWORD},
                           headers={"Origin": base}, timeout=20)
        assert r.status_code == 503
        error_id = re.search(r"The database is not reachable; retrying… \(error id ([0-9a-f]{8})\)", r.text).group(1)
        assert "Traceback" not in r.text and "File " not in r.text and ".py" not in r.text
        logged = [rec for rec in caplog.records if error_id in rec.getMessage()]
        assert logged and logged[0].exc_info is not None  # the traceback is in the log, under the id
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        dbmod.dispose_engines()
        reload_settings()


@pytest.mark.parametrize("value,expected", [
    ("/", "/"), ("/chat?contact=7", "/chat?contact=7"), ("/message_log?day=today&status=failed", None),
    ("", "/"), (None, "/"), ("chat", "/"), ("//evil.example", "/"), ("/\\evil.example", "/"),
    ("https://evil.example/", "/"), ("/login", "/"), ("/logout", "/"), ("/a\nb", "/"),
])
def test_safe_next_keeps_local_paths_only(value, expected):
    assert login.safe_next(value) == (value if expected is None else expected)


# --- errors on pages: one line and an error id, never a traceback (AppTest) -----------------

def app(script: str) -> AppTest:
    return AppTest.from_file(str(ROOT / script), default_timeout=30)


def _logged_in_dashboard(session, user, project) -> AppTest:
    token = auth.start_web_session(session, user.id, project.id)
    session.commit()
    at = app("dashboard.py")
    at.session_state["token"] = token  # what the tab holds once its cookie was read
    return at


def _no_traceback(at: AppTest) -> None:
    assert not at.exception
    text = " ".join(str(e.value) for e in [*at.error, *at.markdown, *at.info, *at.text])
    assert "Traceback" not in text and 'File "' not in text and "sqlalchemy" not in text.lower()


def _error_id(at: AppTest, line: str) -> str:
    [shown] = [e.value for e in at.error]
    match = re.fullmatch(re.escape(line) + r" \(error id ([0-9a-f]{8})\)", shown)
    assert match, shown
    return match.group(1)


def _logged_with_traceback(caplog, error_id: str) -> None:
    records = [r for r in caplog.records if r.name == "smschat.dashboard" and error_id in r.getMessage()]
    assert records and records[0].exc_info is not None


def test_a_contact_id_past_any_key_reads_no_such_contact(db_url, session, project, agent):
    """Past 2**63 the id overflowed SQLite's driver and PostgreSQL's bigint: a traceback."""
    from tests.test_pages import _as

    for contact in ("99999999999999999999999", str(2**63), "-1", "0"):
        at = _as(app("pages/chat.py"), agent, project)
        at.query_params["contact"] = contact
        at.run()
        _no_traceback(at)
        assert [e.value for e in at.error] == ["No such contact in this project."], contact


def test_an_unreachable_database_shows_one_line_and_an_error_id(db_url, session, project, agent, monkeypatch, caplog):
    at = _logged_in_dashboard(session, agent, project)
    at.run()
    assert "Logged in as amy (agent)" in [t.value for t in at.sidebar.text]
    # The server goes away (a port nobody listens on).
    monkeypatch.setenv("SMSCHAT_DATABASE_URL", f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere")
    reload_settings()
    token = at.session_state["token"]
    with caplog.at_level(logging.ERROR, logger="smschat.dashboard"):
        at = app("dashboard.py")  # the same tab's next click
        at.session_state["token"] = token
        at.run()
    _no_traceback(at)
    error_id = _error_id(at, failures.UNREACHABLE)
    _logged_with_traceback(caplog, error_id)
    assert not at.dataframe


def test_a_read_only_sqlite_file_shows_one_line_and_an_error_id(sqlite_template, tmp_path, monkeypatch, caplog):
    from smschat.accounts import projects

    path = tmp_path / "ro.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    with dbmod.session_scope(url) as s:
        project = projects.create_project(s, "test", "Test Project")
        user = auth.create_user(s, "amy", PASSWORD, project=project, role="agent")
        token = auth.start_web_session(s, user.id, project.id)
        # Last seen two minutes ago: the next page run slides the session forward (a write).
        ws = s.scalar(select(WebSession))
        ws.last_seen_at -= timedelta(minutes=2)
    dbmod.dispose_engines()
    # Read-only as SQLite sees it (file permissions do not stop root, who runs CI here).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SMSCHAT_DATABASE_URL", f"sqlite:///file:{path}?mode=ro&uri=true")
    reload_settings()
    try:
        at = app("dashboard.py")
        at.session_state["token"] = token
        with caplog.at_level(logging.ERROR, logger="smschat.dashboard"):
            at.run()
        _no_traceback(at)
        error_id = _error_id(at, failures.READ_ONLY)
        _logged_with_traceback(caplog, error_id)
    finally:
        dbmod.dispose_engines()
        reload_settings()


def test_streamlit_control_flow_passes_through_the_error_wrapper(db_url, session, project, agent):
    """switch_page and rerun are not errors: a page file that ran first hands over to the
    dashboard (st.switch_page), which then opens the page (st.switch_page again)."""
    at = _logged_in_dashboard(session, agent, project)
    at.session_state["after_login"] = {"page": "chat", "params": {}}
    at.run()
    assert not at.exception and not at.error
    assert "Logged in as amy (agent)" in [t.value for t in at.sidebar.text]


def test_pages_show_no_material_icons_fetched_from_outside():
    """Page icons are emoji: a :material/...: icon loads a font from an outside server."""
    source = (ROOT / "dashboard.py").read_text() + "".join(p.read_text() for p in (ROOT / "pages").glob("*.py"))
    assert not re.search(r":material/[a-z_]+:", source)


def test_smschat_up_serves_the_dashboard_on_the_configured_address(tmp_path):
    """`smschat up` runs the dashboard App (login route, headers) on SMSCHAT_DASHBOARD_ADDRESS."""
    dash, hook = free_port(), free_port()
    env = {**os.environ, "SMSCHAT_DATABASE_URL": f"sqlite:///{tmp_path}/up.db", "SMSCHAT_DASHBOARD_ADDRESS": "127.0.0.2",
           "SMSCHAT_DASHBOARD_PORT": str(dash), "SMSCHAT_WEBHOOK_PORT": str(hook)}
    proc = subprocess.Popen([sys.executable, "-m", "smschat", "up"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        r = None
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"http://127.0.0.2:{dash}/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert r is not None and r.status_code == 200 and 'name="password"' in r.text
        assert r.headers["x-frame-options"] == "DENY"
        home = httpx.get(f"http://127.0.0.2:{dash}/", timeout=5)  # Streamlit's own page: same headers
        assert home.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in home.headers
        with pytest.raises(httpx.ConnectError):  # not on the other loopback address
            httpx.get(f"http://127.0.0.1:{dash}/login", timeout=2)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)


def test_a_rebound_name_is_refused_and_the_login_origin_is_the_configured_one(login_server, agent, monkeypatch):
    """DNS rebinding: a page on evil's name, now resolving here, sends Host and Origin alike."""
    port = login_server.base_url.port
    rebound = f"rebound.evil.example:{port}"
    r = login_server.get("/login", headers={"Host": rebound})
    assert r.status_code == 400 and "set-cookie" not in r.headers
    assert _post_login(login_server, origin=f"http://{rebound}", Host=rebound).status_code == 400
    for name in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        assert login_server.get("/login", headers={"Host": name}).status_code == 200
    monkeypatch.setenv("SMSCHAT_DASHBOARD_URL", "https://chat.example.org")
    reload_settings()
    assert _post_login(login_server, origin="https://chat.example.org").status_code == 303
    assert _post_login(login_server, origin="https://evil.example.org").status_code == 403
    assert _post_login(login_server, origin=f"http://localhost:{port}").status_code == 303
    assert _post_login(login_server, origin="http://localhost:1").status_code == 403  # another port
