"""Who is acting: a web user (their role is read per project by `access.require`), or the
operator at the command line, who holds the database itself and passes every check."""

from __future__ import annotations

from dataclasses import dataclass

from smschat.errors import NeedsWebUser


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

    def web_user_id(self) -> int:
        """The web user's id, for what belongs to one person (read markers, who is viewing,
        a chat message's sender); the operator has none."""
        if self.user_id is None:
            raise NeedsWebUser("The command line has no web user: this is done in the dashboard.")
        return self.user_id

    def __str__(self) -> str:
        return "(command line)" if self.operator else f"web user {self.user_id}"


OPERATOR = Actor.command_line()
