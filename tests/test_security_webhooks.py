"""The webhooks port as an attacker sees it: forged inbound SMS, huge bodies, slow requests.

Every server here is the real one: `python -m smschat webhooks` in its own process, so the
uvicorn protocol, the gateway choice and the settings are those a deployment gets.
"""

from __future__ import annotations

import os
import selectors
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from smschat.accounts.actor import Actor
from smschat.config import reload_settings
from smschat.errors import PermissionDenied
from smschat.messaging import simulator
from smschat.models import Message, PhoneNumber
from smschat.people import contacts, verification
from smschat.web.webserver import BODY_BACKSTOP_GRACE_SECONDS as GRACE

from .conftest import PUBLIC_URL, TWILIO_SID, TWILIO_TOKEN, free_port
from .test_pages import _logged_in

ROOT = Path(__file__).resolve().parent.parent
TWILIO_MODE = {"SMSCHAT_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": TWILIO_SID, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
               "SMSCHAT_PUBLIC_URL": PUBLIC_URL}
LOOPBACK_MODE = {"SMSCHAT_GATEWAY": "loopback"}
FORM = "application/x-www-form-urlencoded"


@contextmanager
def webhooks_process(log: Path, **env: str):
    """`smschat webhooks` on a free port; yields (base URL, pid) once /healthz answers."""
    port = free_port()
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "smschat", "webhooks", "--port", str(port)], cwd=ROOT,
                                env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"webhooks exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "webhooks did not start"
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _messages(session) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(Message))


@pytest.fixture
def bob_unverified(session, project):
    """A mobile worker whose number was asked to reply '123'."""
    bob = contacts.create_contact(session, project, "mobile_worker", "bob")
    phone = contacts.register_phone(session, project, bob, "+17035550101")
    verification.start(session, project, bob, phone)
    session.commit()
    return phone


def _loopback_post(base: str, frm: str, body: str, **kw) -> httpx.Response:
    return httpx.post(f"{base}/loopback/inbound", data={"project": "test", "From": frm, "Body": body}, **kw)


# --- forged inbound -------------------------------------------------------------------------


def test_with_twilio_the_loopback_route_is_absent_and_forges_nothing(tmp_path, session, project, marie, bob_unverified):
    before = _messages(session)
    with webhooks_process(tmp_path / "hooks.log", **TWILIO_MODE) as (base, _):
        forged = [_loopback_post(base, "+17033996500", "STOP"), _loopback_post(base, "+17035550101", "123"),
                  _loopback_post(base, "+17033996500", "hello from an attacker")]
        assert [r.status_code for r in forged] == [404, 404, 404]
        # The signed routes are there and still want a signature.
        assert httpx.post(f"{base}/twilio/inbound", data={"From": "+17033996500", "Body": "STOP"}).status_code == 403
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert _messages(session) == before
    session.rollback()  # a fresh snapshot: the server wrote in its own process
    numbers = {p.e164: p for p in session.scalars(select(PhoneNumber))}
    assert not numbers["+17033996500"].opted_out  # STOP did not opt marie out
    assert not numbers["+17035550101"].verified  # "123" did not verify bob


def test_with_loopback_the_route_works_as_before(tmp_path, session, project, marie, bob_unverified):
    before = _messages(session)
    with webhooks_process(tmp_path / "hooks.log", **LOOPBACK_MODE) as (base, _):
        assert _loopback_post(base, "+17035550101", "123").status_code == 201
        assert _loopback_post(base, "+17033996500", "STOP").status_code == 201
    session.rollback()  # a fresh snapshot: the server wrote in its own process
    numbers = {p.e164: p for p in session.scalars(select(PhoneNumber))}
    assert numbers["+17033996500"].opted_out and numbers["+17035550101"].verified
    assert _messages(session) > before + 2  # the two replies, and the system's answers


def test_the_loopback_route_refuses_callers_from_other_machines(tmp_path, session, project, marie):
    # A proxy on this machine passes the caller's address on; uvicorn trusts it from 127.0.0.1.
    with webhooks_process(tmp_path / "hooks.log", **LOOPBACK_MODE) as (base, _):
        r = _loopback_post(base, "+17033996500", "STOP", headers={"X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 403 and "this machine" in r.text
    assert _messages(session) == 0


def test_the_simulator_service_refuses_without_the_loopback_gateway(session, project, agent, marie, monkeypatch):
    monkeypatch.setenv("SMSCHAT_GATEWAY", "twilio")
    reload_settings()
    calls = [lambda: simulator.numbers(session, Actor.web(agent.id), project.id),
             lambda: simulator.thread(session, Actor.web(agent.id), project.id, "+17033996500"),
             lambda: simulator.reply(session, Actor.web(agent.id), project.id, "+17033996500", "STOP")]
    for call in calls:
        with pytest.raises(PermissionDenied, match="only with the loopback gateway"):
            call()
    assert _messages(session) == 0
    monkeypatch.delenv("SMSCHAT_GATEWAY")
    reload_settings()


@pytest.mark.parametrize("gateway", ["twilio", "loopback"])
def test_the_phone_simulator_page_exists_only_with_the_loopback_gateway(session, project, agent, marie, monkeypatch, gateway):
    monkeypatch.setenv("SMSCHAT_GATEWAY", gateway)
    reload_settings()
    try:
        at = _logged_in(session, agent, project).run()
        assert not at.exception
        if gateway == "twilio":
            with pytest.raises(ValueError):  # not a page of the navigation: nothing to open
                at.switch_page("pages/simulator.py")
        else:
            at.switch_page("pages/simulator.py").run()
            assert [t.value for t in at.title] == ["Phone simulator"]
    finally:
        monkeypatch.delenv("SMSCHAT_GATEWAY")
        reload_settings()


# --- body size and read deadlines -------------------------------------------------------------

READ_TIMEOUT = 2.0


@pytest.fixture
def sqlite_url(tmp_path, sqlite_template, monkeypatch):
    """One backend is enough here: no request below gets as far as the database."""
    path = tmp_path / "smschat.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("SMSCHAT_DATABASE_URL", url)
    return url


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _response(sock: socket.socket, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes (the data it sent survives a reset)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data


def _push_chunked(base: str, path: str, megabytes: int) -> tuple[bytes, int]:
    """Offer `megabytes` MiB as a chunked body (no Content-Length) until the server answers."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"a" * (1 << 20))
    sent = 0
    sock.setblocking(False)
    with selectors.DefaultSelector() as sel:
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE)
        view = memoryview(b"")
        try:
            while sent <= megabytes or view:
                events = sel.select(timeout=10)
                assert events, "the server neither read nor answered for 10 s"
                if events[0][1] & selectors.EVENT_READ:
                    break  # an answer (or a close) before the end of the body
                if not view:
                    view, sent = memoryview(chunk if sent < megabytes else b"0\r\n\r\n"), sent + 1
                view = view[sock.send(view):]
        except (BrokenPipeError, ConnectionResetError):
            pass
    sock.setblocking(True)
    with sock:
        return _response(sock), sent


def test_a_400_mb_chunked_body_gets_413_without_growing_the_process(tmp_path, sqlite_url):
    with webhooks_process(tmp_path / "hooks.log", **LOOPBACK_MODE) as (base, pid):
        _push_chunked(base, "/loopback/inbound", 1)  # warm up: imports and threads made once
        before = _rss_kib(pid)
        answer, sent_mib = _push_chunked(base, "/loopback/inbound", 400)
        growth = _rss_kib(pid) - before
        assert httpx.get(f"{base}/healthz").status_code == 200  # still up
    assert growth < 10 * 1024, f"RSS grew by {growth} KiB"
    assert sent_mib < 400, "the server read the whole body"
    assert answer.startswith(b"HTTP/1.1 413 ") and answer.endswith(b"Request body too large.")


@pytest.mark.parametrize("path, mode", [("/loopback/inbound", LOOPBACK_MODE), ("/twilio/inbound", TWILIO_MODE),
                                        ("/twilio/status", TWILIO_MODE)])
def test_a_body_over_64_kib_gets_413_before_any_signature_check(tmp_path, sqlite_url, path, mode):
    # Each route in the mode where it exists; Twilio's would check a signature after the body.
    with webhooks_process(tmp_path / "hooks.log", **mode) as (base, _):
        # Declared too large: refused at once, without waiting for the body.
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\n"
                         f"Content-Length: 400000000\r\n\r\n".encode())
            declared = _response(sock)
        # Not declared (chunked), unsigned: the size is what is refused, not the signature.
        chunked, _ = _push_chunked(base, path, 2)
    for answer in (declared, chunked):
        assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()


@pytest.mark.parametrize("route, mode", [("/loopback/inbound", LOOPBACK_MODE), ("/twilio/inbound", TWILIO_MODE)])
def test_300_slow_requests_are_cut_off_at_the_deadline_and_healthz_stays_fast(tmp_path, sqlite_url, route, mode):
    head = f"POST {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {FORM}\r\nContent-Length: 100\r\n\r\n"
    kinds = {  # what each slow client sends before it stalls, and the answer it should get
        "nothing at all": (b"", b""),  # closed without a word, as an idle kept-alive connection
        "half a request line": (head[:18].encode(), b"HTTP/1.1 408 "),
        "half the headers": (head[:60].encode(), b"HTTP/1.1 408 "),
        "part of a body": (head.encode() + b"From=%2B1", b"HTTP/1.1 408 "),
        # /healthz answers without reading its body; the server's backstop then closes it.
        "a body nobody reads": (b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\nab", b"HTTP/1.1 200 "),
        # One more header byte every 0.2 s: bytes that keep coming do not move the deadline.
        "headers a byte at a time": (b"P", b"HTTP/1.1 408 "),
    }
    trickle = head.encode()[1:]
    env = {**mode, "SMSCHAT_WEBHOOK_READ_TIMEOUT_SECONDS": str(READ_TIMEOUT)}
    with webhooks_process(tmp_path / "hooks.log", **env) as (base, _):
        host, port = base.removeprefix("http://").split(":")
        sel = selectors.DefaultSelector()
        clients = {}
        for i in range(300):
            kind = list(kinds)[i % len(kinds)]
            sock = socket.create_connection((host, int(port)))
            if kinds[kind][0]:
                sock.sendall(kinds[kind][0])
            sock.setblocking(False)
            clients[sock] = {"kind": kind, "opened": time.monotonic(), "data": b"", "closed": None}
            sel.register(sock, selectors.EVENT_READ)
        started = time.monotonic()
        health = httpx.get(f"{base}/healthz", timeout=5)
        health_seconds = time.monotonic() - started
        health_done = time.monotonic()

        give_up = time.monotonic() + READ_TIMEOUT + GRACE + 5
        next_byte, sent_bytes = time.monotonic(), 0
        while sel.get_map() and time.monotonic() < give_up:
            if time.monotonic() >= next_byte and sent_bytes < len(trickle):
                for sock, client in clients.items():
                    if client["kind"] == "headers a byte at a time" and client["closed"] is None:
                        try:
                            sock.send(trickle[sent_bytes:sent_bytes + 1])
                        except OSError:
                            pass  # closed by the server: the read below sees it
                next_byte, sent_bytes = next_byte + 0.2, sent_bytes + 1
            for key, _ in sel.select(timeout=0.1):
                client = clients[key.fileobj]
                try:
                    chunk = key.fileobj.recv(65536)
                except ConnectionResetError:
                    chunk = b""
                client["data"] += chunk
                if not chunk:
                    client["closed"] = time.monotonic()
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
        still_open = [c["kind"] for c in clients.values() if c["closed"] is None]
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()
        assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200

    assert not still_open, f"{len(still_open)} slow requests still open, e.g. {still_open[:3]}"
    assert health.status_code == 200 and health_seconds < 1.0, f"/healthz took {health_seconds:.2f} s"
    assert health_done < min(c["closed"] for c in clients.values()), "/healthz was not asked while they were open"
    wrong = [(c["kind"], c["data"][:40]) for c in clients.values()
             if not c["data"].startswith(kinds[c["kind"]][1]) or (c["data"] and not kinds[c["kind"]][1])]
    assert not wrong, wrong[:5]
    held = [c["closed"] - c["opened"] for c in clients.values()]
    # Not before the deadline; shortly after it (the backstop for unread bodies waits a second more).
    assert min(held) >= READ_TIMEOUT - 0.05
    assert max(held) < READ_TIMEOUT + GRACE + 2.5, f"the last one was closed after {max(held):.1f} s"
