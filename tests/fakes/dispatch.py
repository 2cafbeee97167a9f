"""hsperm's Bolt app driven in-process: signed requests go to `App.dispatch`, no socket to hsperm.

The fast layer for handler behaviour. Requests are still signed like Slack's (the signature
middleware runs), Bolt still routes them, and replies still go over HTTP to the fake Slack; only
the HTTP hop into hsperm is skipped. Each request runs its listener to the end
(`process_before_response`) and then waits for its slow work, so a test can assert "nothing was
sent" right after posting. Real HTTP (gunicorn, wsgiref, concurrency, retries) is in tests/e2e/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.request import BoltRequest

from bot.app import create_app
from bot.config import Settings
from bot.services import build_services
from bot.slack_client import make_client
from bot.slack_identity import SlackIdentity
from tests.fakes.slack import FakeSlack, SlackSender


@dataclass
class Answer:
    """What Slack would receive from hsperm: the status and body of its HTTP response."""

    status_code: int
    text: str
    headers: dict[str, Any] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.text)


class DispatchBot(SlackSender):
    def __init__(self, settings: Settings, fake: FakeSlack, sleeps: list[float]) -> None:
        super().__init__("dispatch://hsperm", fake)
        self.services = build_services(settings)
        # Who the bot is, asked once before any request, as the servers do (bot/slack_identity.py).
        identity = SlackIdentity(settings.slack_bot_token or "", settings.slack_api_url)
        identity.load()
        self.app = create_app(
            settings,
            client=make_client(settings, sleep=sleeps.append),
            services=self.services,
            process_before_response=True,
            identity=identity,
        )

    def post_raw(self, body: bytes, headers: dict[str, str]) -> Answer:  # type: ignore[override]
        response = self.app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        self.drain()
        return Answer(response.status, response.body, dict(response.headers))

    def drain(self) -> None:
        """Wait until the slow work of every request posted so far is done."""
        assert self.services.drain(timeout=10), "hsperm still busy after 10 s"

    def stop(self) -> None:
        self.session.close()
        self.services.close()
