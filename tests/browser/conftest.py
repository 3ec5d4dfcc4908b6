"""A live smschat (dashboard + worker as real processes) and a real headless Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sqlalchemy import select

from smschat import db as dbmod
from smschat.demo import load_demo
from smschat.messaging import inbound
from smschat.migrate import upgrade
from smschat.models import Contact, Project

from ..conftest import ROOT, free_port
from ..waiting import wait_until

ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORDS = {"amy": "amy-password-1", "sam": "sam-password-1", "ana": "ana-password-1", "admin": "admin-password-1"}


def start_dashboard(env: dict, log: Path, port: int | None = None) -> tuple[subprocess.Popen, str]:
    """The dashboard App under uvicorn, as `smschat up` serves it; returns once it answers.
    Given the `port` of one that was stopped, it is that server restarted."""
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "dashboard_server:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/_stcore/health", timeout=1).status_code == 200, 60,
                   "the dashboard to start", interval=0.2, ignoring=(httpx.HTTPError,))
    except pytest.fail.Exception:
        proc.terminate()
        pytest.fail("the dashboard did not start: " + log.read_text())
    return proc, base


@pytest.fixture(scope="module")
def live_app(tmp_path_factory, chromium_path):
    """Yields (base_url, database_url) of a running demo; stops everything afterwards."""
    path = tmp_path_factory.mktemp("live") / "live.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    with dbmod.session_scope(url) as session:
        load_demo(session, PASSWORDS)
    env = {
        **os.environ,
        "SMSCHAT_DATABASE_URL": url,
        "SMSCHAT_CHAT_REFRESH_SECONDS": "1",
        "SMSCHAT_WORKER_POLL_SECONDS": "0.2",
    }
    logs = tmp_path_factory.mktemp("logs")
    dashboard, base = start_dashboard(env, logs / "dashboard.log")
    worker = subprocess.Popen([sys.executable, "-m", "smschat", "worker"], cwd=ROOT, env=env,
                              stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT)
    procs = [dashboard, worker]
    yield base, url
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=15)
    dbmod.dispose_engines()


@pytest.fixture(scope="module")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=chromium_path,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )
        yield b
        b.close()


# Test-only probes, in every page of a context before the app's scripts run, so tests wait on
# conditions instead of fixed times: `sent` counts the frames the page sends the server (each
# timed refresh of the chat history is one), `blinkSaw` is the history the title-blink script
# (pages/_scripts.py) last looked at, `blinking` how many blink timers run.
PROBES_JS = """
(() => {
  if (window.__probe) return;
  const probe = window.__probe = {sent: 0, blinkSaw: null, blinking: 0};
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (...args) { probe.sent += 1; return send.apply(this, args); };
  const setI = window.setInterval, clearI = window.clearInterval, blinkTimers = new Set();
  window.setInterval = function (fn, ms, ...rest) {
    const src = typeof fn === "function" ? fn.toString() : "";
    if (src.includes("smschat-history")) {
      const poll = fn;
      fn = function (...a) {
        try { return poll.apply(this, a); } finally {
          const el = document.querySelector(".smschat-history");
          probe.blinkSaw = el ? el.dataset.lastIn : null;
        }
      };
    }
    const id = setI.call(window, fn, ms, ...rest);
    if (src.includes("on = !on")) { blinkTimers.add(id); probe.blinking = blinkTimers.size; }
    return id;
  };
  window.clearInterval = function (id) {
    blinkTimers.delete(id); probe.blinking = blinkTimers.size; return clearI.call(window, id);
  };
})();
"""


def settle(page, timeout: float = 30_000) -> None:
    """Wait until no script run is under way (no stale element, no running icon) and the
    browser has painted twice since: what the page shows now is what the server sent."""
    page.wait_for_function(
        "() => !document.querySelector('[data-stale=\"true\"], [data-testid=\"stStatusWidgetRunningIcon\"]')",
        timeout=timeout)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def wait_for_refreshes(page, n: int = 2, timeout: float = 30_000) -> None:
    """Wait until the page has asked the server for `n` more runs (the chat history's timed
    refresh asks once per SMSCHAT_CHAT_REFRESH_SECONDS), then until their answers are shown."""
    start = page.evaluate("() => window.__probe.sent")
    page.wait_for_function("n => window.__probe.sent >= n", arg=start + n, timeout=timeout)
    settle(page, timeout)


def blink_has_seen_history(page, timeout: float = 30_000) -> None:
    """Wait until the title-blink script has looked at the chat history as it is now."""
    page.wait_for_function(
        "() => { const el = document.querySelector('.smschat-history');"
        " return !!el && window.__probe.blinkSaw === el.dataset.lastIn; }", timeout=timeout)


def login(page, base: str, username: str, path: str = "/") -> None:
    """Open `path` logged out: the dashboard sends the browser to the login page, whose
    form posts to the server and comes back to `path`."""
    page.context.add_init_script(PROBES_JS)
    # Not waiting for the first page's "load": it hands over to /login, which is waited for.
    page.goto(base + path, wait_until="commit")
    page.wait_for_url("**/login?**", timeout=30_000)
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[username])
    page.get_by_role("button", name="Log in").click()
    page.get_by_text(f"Logged in as {username}").wait_for(timeout=20_000)


def contact_ids(url: str) -> dict[str, int]:
    """The live app's contacts by name."""
    with dbmod.session_scope(url, readonly=True) as s:
        return {c.name: c.id for c in s.scalars(select(Contact))}


def incoming(url: str, number: str, body: str) -> None:
    """An SMS from `number` arrives, through the same inbound path a gateway uses."""
    with dbmod.session_scope(url) as s:
        inbound.receive_sms(s, s.scalar(select(Project)), number, body)


@pytest.fixture
def amy(browser, live_app):
    """Amy (an agent) logged in, in a browser context of her own: (context, page)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    login(page, live_app[0], "amy")
    yield context, page
    context.close()
