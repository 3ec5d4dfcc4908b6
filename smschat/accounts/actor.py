"""Who is acting: a web user (their role is read per project by `access.require`), or the
operator at the command line, who holds the database itself and passes every check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    user_id: int | None  # None for the operator
    operator: bool = False

    @classmethod
    def web(cls, user_id: int) -> Actor:
        return cls(user_id=int(user_id))

    @classmethod
    def command_line(cls) -> Actor:
        return cls(user_id=None, operator=True)

    def __str__(self) -> str:
        return "(command line)" if self.operator else f"web user {self.user_id}"


OPERATOR = Actor.command_line()
