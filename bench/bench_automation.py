"""Automation at scale: the worker's idle automation round, a broadcast to every case, the
30-day Reminder Calendar, and one delay-rule round over a backlog, on SQLite and PostgreSQL.

    python bench/bench_automation.py [--contacts 20000 --messages 100000] [--backends sqlite,postgres]
"""

from __future__ import annotations

import time

from common import arguments, median_ms, scratch_database
from generate import generate
from report import report
from sqlalchemy import select

from smschat.accounts import projects
from smschat.accounts.actor import Actor
from smschat.automation import broadcasts, delay, reminders
from smschat.automation import runner as automation
from smschat.db import session_scope
from smschat.models import Membership, Message, utcnow


def main() -> None:
    args = arguments(contacts=20_000, messages=100_000)
    rows = []
    for backend in args.backends.split(","):
        with scratch_database(backend) as url:
            g = generate(url, contacts=args.contacts, messages=args.messages)
            pid = g.project_id
            with session_scope(url) as s:
                uid = g.user_ids[0]
                s.scalar(select(Membership).where(Membership.user_id == uid)).role = "supervisor"
                supervisor = Actor.web(uid)
                for i in range(10):
                    reminders.create_reminder(s, supervisor, pid, f"Reminder {i}", "Time for your visit",
                                              {"kind": "mobile_workers" if i % 2 else "cases"},
                                              {"kind": "weekly", "time": f"{8 + i}:00", "weekdays": [i % 7, (i + 3) % 7]})
            with session_scope(url, readonly=True) as s:
                idle = median_ms(lambda: automation.has_work(s, utcnow()), runs=25)
                calendar = median_ms(lambda: reminders.calendar(s, supervisor, pid), runs=5)
            rows.append({"figure": "idle automation round (read-only look)", "backend": backend,
                         "value": round(idle, 2), "unit": "ms"})
            rows.append({"figure": "Reminder Calendar, 10 reminders x 30 days", "backend": backend,
                         "value": round(calendar, 1), "unit": "ms"})
            started = time.perf_counter()
            with session_scope(url) as s:
                b = broadcasts.create_broadcast(s, supervisor, pid, "All cases", "Clinic closed Friday", {"kind": "cases"})
                queued = b.recipients
            seconds = time.perf_counter() - started
            rows.append({"figure": f"broadcast now to all cases: first chunk ({queued:,} queued in the page's transaction)",
                         "backend": backend, "value": round(queued / seconds), "unit": "msg/s"})
            with session_scope(url) as s:
                projects.get_chat_settings(s, pid).delay_automated_sms = {
                    "enabled": True, "conversation_minutes": 10,
                    "windows": [{"day": "every", "start": "00:00", "end": None}]}
            started = time.perf_counter()
            with session_scope(url) as s:
                done = delay.apply(s, utcnow())
            rows.append({"figure": f"delay rule round over the backlog (500 looked at, {done['held']} held)",
                         "backend": backend, "value": round((time.perf_counter() - started) * 1000, 1), "unit": "ms"})
            with session_scope(url, readonly=True) as s:
                assert s.scalar(select(Message.id).where(Message.broadcast_id == b.id).limit(1))
    report("automation", rows)


if __name__ == "__main__":
    main()
