"""Retries for Slack Web API calls with a cap on `Retry-After` and a deadline per call.

slack_sdk's rate-limit handler sleeps whatever `Retry-After` says. Sixteen replies told to wait
25 s held every work thread for 25 s and delayed every other reply behind them. Here a wait
longer than the cap is not waited at all: the call fails as `ratelimited`, the reply is given
up (one log line, its claim released so a later paste is answered), and the thread moves on.
Every retry, whatever its cause, also stops once the call has been failing for `deadline`
seconds, so no reply keeps a work thread for long.

The waits go through an injectable `sleep`, so tests can record them instead of sleeping;
slack_sdk's own handlers call `time.sleep` directly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.state import RetryState

_STARTED = "hsperm_first_failure"
Sleep = Callable[[float], None]


def _within(state: RetryState, deadline: float, wait: float) -> bool:
    """True while waiting `wait` more seconds keeps this call within `deadline` of its first failure."""
    if state.custom_values is None:
        state.custom_values = {}
    started = state.custom_values.setdefault(_STARTED, time.monotonic())
    return time.monotonic() - started + wait <= deadline


def retry_after_seconds(response: Any) -> float:
    """Slack's Retry-After in seconds (1 when absent or unreadable, as slack_sdk assumes)."""
    for name, values in (response.headers or {}).items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list | tuple) else values
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


class _Bounded(RetryHandler):
    """Waits through `sleep`, and only while the call stays within its deadline; subclasses say
    how long (`wait`)."""

    deadline: float
    _sleep: Sleep

    def wait(self, state: RetryState, response: Any) -> float:
        return self.interval_calculator.calculate_sleep_duration(state.current_attempt)

    def _can_retry(self, *, state: RetryState, request: Any, response: Any = None, error: Any = None) -> bool:
        return super()._can_retry(state=state, request=request, response=response, error=error) and _within(
            state, self.deadline, self.wait(state, response)
        )

    def prepare_for_next_attempt(
        self, *, state: RetryState, request: Any, response: Any = None, error: Any = None
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(self.wait(state, response))
        state.increment_current_attempt()


class CappedRateLimitRetryHandler(_Bounded, RateLimitErrorRetryHandler):
    """429: wait what `Retry-After` says (plus jitter), unless that is longer than `cap`."""

    def __init__(self, max_retry_count: int, cap: float, deadline: float, sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.cap = cap
        self.deadline = deadline
        self._sleep = sleep

    def _can_retry(self, *, state: RetryState, request: Any, response: Any = None, error: Any = None) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = retry_after_seconds(response)
        return wait <= self.cap and _within(state, self.deadline, wait)

    def wait(self, state: RetryState, response: Any) -> float:
        # A little jitter so replies told the same Retry-After do not come back in one burst.
        return min(self.cap, retry_after_seconds(response) + random.random() * 0.5)  # noqa: S311  # nosec B311  # jitter, not security


class DeadlineServerErrorRetryHandler(_Bounded, ServerErrorRetryHandler):
    def __init__(self, max_retry_count: int, deadline: float, sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.deadline = deadline
        self._sleep = sleep


class DeadlineConnectionErrorRetryHandler(_Bounded, ConnectionErrorRetryHandler):
    def __init__(self, max_retry_count: int, deadline: float, sleep: Sleep = time.sleep) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.deadline = deadline
        self._sleep = sleep


def slack_retry_handlers(cap: float, deadline: float, sleep: Sleep = time.sleep) -> list[RetryHandler]:
    """What hsperm's WebClients retry: connection errors, 429s (capped) and 5xx, until `deadline`.

    The counts are generous on purpose: the deadline, not the count, is what bounds a reply."""
    return [
        DeadlineConnectionErrorRetryHandler(3, deadline, sleep),
        CappedRateLimitRetryHandler(10, cap, deadline, sleep),
        DeadlineServerErrorRetryHandler(3, deadline, sleep),  # backoff 0.5, 1, 2 s: a reply is not worth more
    ]
