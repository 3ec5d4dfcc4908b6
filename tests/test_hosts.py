"""Host names: the webhooks and the whole dashboard (pages, health, Streamlit's websocket)
answer only to their own names; a malformed address or name stops the process with one line.
The login POST's origin rule: tests/test_security_dashboard.py."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from smschat.models import Message

from .browser.conftest import start_dashboard
from .conftest import PUBLIC_URL, ROOT, TWILIO_SID, TWILIO_TOKEN

REBOUND = "rebound.evil.example"


@pytest.mark.parametrize(("variable", "value"), [
    ("SMSCHAT_DASHBOARD_URL", "chat.example.org"), ("SMSCHAT_PUBLIC_URL", "sms.example.org"),
    ("SMSCHAT_PUBLIC_URL", "https://user@sms.example.org"), ("SMSCHAT_ALLOWED_HOSTS", "*"),
    ("SMSCHAT_ALLOWED_HOSTS", "proxy.internal:8080")])
def test_a_malformed_address_or_host_name_stops_the_cli_with_one_line_naming_it(variable, value, tmp_path):
    env = {**os.environ, "SMSCHAT_DATABASE_URL": f"sqlite:///{tmp_path}/x.db", variable: value}
    done = subprocess.run([sys.executable, "-m", "smschat", "webhooks"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and "Traceback" not in done.stderr


def _signed_inbound(base: str, host: str | None, sid: str):
    form = {"MessageSid": sid, "AccountSid": TWILIO_SID, "From": "+17033996500", "To": "+15005550006",
            "Body": "hello"}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC_URL + "/twilio/inbound", form)
    headers = {"X-Twilio-Signature": signature, **({"Host": host} if host else {})}
    return httpx.post(f"{base}/twilio/inbound", data=form, headers=headers, timeout=10)


def test_the_webhooks_refuse_any_host_but_the_public_urls_and_loopback(twilio_env, webhook_server, session, marie):
    # A correctly signed request (the signature covers the public URL) sent with another Host.
    r = _signed_inbound(webhook_server, REBOUND, "SM" + "1" * 32)
    assert r.status_code == 400
    assert httpx.get(f"{webhook_server}/healthz", headers={"Host": REBOUND}, timeout=10).status_code == 400
    assert session.scalar(select(func.count()).select_from(Message)) == 0
    assert _signed_inbound(webhook_server, "sms.example.org", "SM" + "2" * 32).status_code == 200
    assert _signed_inbound(webhook_server, None, "SM" + "3" * 32).status_code == 200  # 127.0.0.1:port
    session.rollback()  # a new snapshot: the server wrote meanwhile
    assert sorted(session.scalars(select(Message.gateway_message_id))) == ["SM" + "2" * 32, "SM" + "3" * 32]


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """The real dashboard App (Streamlit under uvicorn) with a configured dashboard URL."""
    from smschat.migrate import upgrade

    path = tmp_path_factory.mktemp("hosts") / "hosts.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    env = {**os.environ, "SMSCHAT_DATABASE_URL": url, "SMSCHAT_DASHBOARD_URL": "https://chat.example.org"}
    proc, base = start_dashboard(env, path.parent / "dashboard.log")
    yield base
    proc.terminate()
    proc.wait(15)


def test_the_dashboard_refuses_a_rebound_host_on_its_pages_and_its_websocket(dashboard):
    assert httpx.get(f"{dashboard}/", headers={"Host": REBOUND}, timeout=10).status_code == 400
    assert httpx.get(f"{dashboard}/_stcore/health", headers={"Host": REBOUND}, timeout=10).status_code == 400
    assert httpx.get(f"{dashboard}/", headers={"Host": "chat.example.org"}, timeout=10).status_code == 200
    assert httpx.get(f"{dashboard}/", timeout=10).status_code == 200
    assert _upgrade(dashboard, REBOUND).startswith("HTTP/1.1 400")
    # The same upgrade under the dashboard's own name is accepted.
    assert _upgrade(dashboard, "chat.example.org").startswith("HTTP/1.1 101")


def _upgrade(base: str, host: str) -> str:
    """The status line of a websocket upgrade to Streamlit's stream sent with this Host (by
    hand: a client library adds its own Host header beside it)."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"GET /_stcore/stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]
