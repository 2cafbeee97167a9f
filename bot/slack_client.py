"""The Slack Web API client hsperm replies with, and its retry policy (bot/slack_retry.py).

Slack answers 429 with `Retry-After` and occasionally 5xx; a reply should ride those out rather
than be lost, within bounds: `Retry-After` is honoured up to a cap, and every retry stops at the
reply deadline. The waits go through an injectable `sleep`, so tests can record them instead of
sleeping.
"""

from __future__ import annotations

import time

from slack_sdk import WebClient

from bot.config import Settings
from bot.slack_retry import Sleep, slack_retry_handlers

WEB_API_TIMEOUT_SECONDS = 10


def make_client(settings: Settings, *, sleep: Sleep = time.sleep) -> WebClient:
    """A WebClient that rides out Slack's 429s and 5xx instead of failing the reply."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_SECONDS,
        retry_handlers=slack_retry_handlers(
            settings.slack_retry_after_cap_seconds, settings.reply_deadline_seconds, sleep=sleep
        ),
    )
