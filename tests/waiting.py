"""Waiting on a condition, never a fixed time: the one polling loop the tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str, *, interval: float = 0.05,
               ignoring: tuple[type[BaseException], ...] = ()) -> T:
    """The first truthy value of `condition()`, asked every `interval` seconds; the test fails
    with `what` once `timeout` seconds pass without one. An exception of a type in `ignoring`
    counts as "not yet" (a server still starting refuses connections)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = condition()
        except ignoring:
            value = None
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
