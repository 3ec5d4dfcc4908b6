"""Contacts with numbers and queued chat messages, for the tests that run real workers."""

from smschat.chat import window as chat
from smschat.people import contacts


def people(session, project, n: int, prefix: str = "+1415555", name: str | None = None) -> list:
    """`n` case contacts with the numbers prefix0000, prefix0001, …; committed."""
    made = []
    for i in range(n):
        c = contacts.create_contact(session, project, "case", f"{name or project.slug} {i}")
        contacts.register_phone(session, project, c, f"{prefix}{i:04d}")
        made.append(c)
    session.commit()
    return made


def queue_chat(session, project, agent, to: list, per_contact: int) -> None:
    """`per_contact` chat messages to each contact, round-robin ("<name> #k"); committed."""
    for k in range(per_contact):
        for c in to:
            chat.send_chat_message(session, project.id, c.id, agent.id, f"{c.name} #{k}")
    session.commit()


def most_in_any_second(times: list[float]) -> int:
    """The most of these times (seconds) in any one-second window."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best
