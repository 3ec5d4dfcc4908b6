import httpx
import pytest
from sqlalchemy import func, select

from smschat.models import Message


def _count(session):
    session.rollback()
    return session.scalar(select(func.count()).select_from(Message))


def test_healthz_reports_ok_with_the_database_up(webhook_server):
    r = httpx.get(f"{webhook_server}/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_loopback_inbound_stores_the_message_once(webhook_server, session, project, marie):
    form = {"project": "test", "From": "+17033996500", "Body": "hello from marie", "MessageSid": "LBin1"}
    first = httpx.post(f"{webhook_server}/loopback/inbound", data=form)
    again = httpx.post(f"{webhook_server}/loopback/inbound", data=form)
    assert (first.status_code, again.status_code) == (201, 200)
    assert _count(session) == 1
    msg = session.scalar(select(Message))
    assert (msg.contact_id, msg.body, msg.direction) == (marie.id, "hello from marie", "in")


@pytest.mark.parametrize(
    "kwargs,status",
    [
        ({"data": {"project": "test", "From": "+17033996500"}}, 400),  # no Body
        ({"json": {"project": "test", "From": "+17033996500", "Body": "x"}}, 400),
        ({"data": {"project": "nope", "From": "+17033996500", "Body": "x"}}, 404),
        ({"data": {"project": "test", "From": "garbage", "Body": "x"}}, 400),
        ({"content": b"x" * 70_000, "headers": {"content-type": "application/x-www-form-urlencoded"}}, 413),
    ],
)
def test_bad_inbound_requests_get_a_clear_error_and_store_nothing(webhook_server, session, project, kwargs, status):
    r = httpx.post(f"{webhook_server}/loopback/inbound", **kwargs)
    assert r.status_code == status and r.text
    assert _count(session) == 0
