"""Time as a value: the worker, and the rate limits and schedules it applies, read the time and
wait through a Clock, so tests drive them with a ManualClock instead of waiting on the real one."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for durations."""

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        """Wait `seconds`, or less if `stop` is set meanwhile; returns whether it is set."""


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        if stop is not None:
            return stop.wait(max(0.0, seconds))
        time.sleep(max(0.0, seconds))
        return False


SYSTEM = SystemClock()


class ManualClock:
    """A clock that moves only when told to, or when someone sleeps on it (at once, by the
    time slept). Starts at the real time of its first reading unless given a start."""

    def __init__(self, start: datetime | None = None):
        self._start = start
        self._elapsed = 0.0
        self._lock = threading.Lock()
        self.sleeps: list[float] = []  # every sleep asked for, in order

    def now(self) -> datetime:
        with self._lock:
            if self._start is None:
                self._start = datetime.now(UTC)
            return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        self.now()  # pin the start before moving on from it
        with self._lock:
            self._elapsed += max(0.0, seconds)

    def sleep(self, seconds: float, stop: threading.Event | None = None) -> bool:
        self.sleeps.append(seconds)
        self.advance(seconds)
        return stop is not None and stop.is_set()
