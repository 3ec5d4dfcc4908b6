"""Every module that subscribes to `smschat.events`, imported once by the first publish."""

from smschat.automation import reminders  # noqa: F401  (a project's time zone: reschedule its reminders)
