"""The Slack Web API client hsperm replies with, and its retry policy.

Slack answers 429 with `Retry-After` and occasionally 5xx; a reply should ride those out rather
than be lost, within bounds (two retries each). The waits go through an injectable `sleep`, so
tests can record them instead of sleeping; slack_sdk's own handlers call `time.sleep` directly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import Settings

WEB_API_TIMEOUT_SECONDS = 10
Sleep = Callable[[float], None]


class _InjectedSleep(RetryHandler):
    """Waits through `sleep`; subclasses say how long (`wait`) and when (`_can_retry`)."""

    def __init__(self, sleep: Sleep, max_retry_count: int) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self._sleep = sleep

    def wait(self, state: RetryState, response: HttpResponse | None) -> float:
        return self.interval_calculator.calculate_sleep_duration(state.current_attempt)

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        self._sleep(self.wait(state, response))
        state.increment_current_attempt()


class ConnectionErrors(_InjectedSleep, ConnectionErrorRetryHandler):
    """Connection reset or refused: retry with slack_sdk's backoff."""


class ServerErrors(_InjectedSleep, ServerErrorRetryHandler):
    """500/503 from Slack: retry with slack_sdk's backoff."""


class RateLimits(_InjectedSleep, RateLimitErrorRetryHandler):
    """429: wait what `Retry-After` says (plus jitter, so many replies do not return at once)."""

    def wait(self, state: RetryState, response: HttpResponse | None) -> float:
        headers = {k.lower(): v for k, v in (response.headers if response else {}).items()}
        values = headers.get("retry-after") or ["1"]
        try:
            seconds = float(values[0])
        except (TypeError, ValueError):
            seconds = 1.0
        return seconds + random.random()  # noqa: S311  # nosec B311  # jitter, not security


def make_client(settings: Settings, *, sleep: Sleep = time.sleep) -> WebClient:
    """A WebClient that rides out Slack's 429s and 5xx instead of failing the reply."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_SECONDS,
        retry_handlers=[
            ConnectionErrors(sleep, max_retry_count=1),
            RateLimits(sleep, max_retry_count=2),
            ServerErrors(sleep, max_retry_count=2),
        ],
    )
