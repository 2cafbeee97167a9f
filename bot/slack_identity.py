"""Who the bot is in Slack (`auth.test`), learnt at start-up and refreshed in the background.

Bolt's default single-workspace authorization calls `auth.test` inside the first request it
handles: a slow or rate-limited Slack API then makes the first ack of every worker late, or
answers it with an apology body that Slack drops. hsperm instead calls it once before serving
(a wrong token or an unreachable Slack stops the start with one clear line), hands Bolt the
cached answer through `authorize`, and refreshes it on a background thread; a failed refresh
keeps the last good answer.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

#: auth.test at start-up and in refreshes waits at most this long.
AUTH_TEST_TIMEOUT_SECONDS = 5


class SlackStartupError(RuntimeError):
    """auth.test failed at start-up; the message is one line an operator can act on."""


class SlackIdentity:
    def __init__(self, token: str, api_url: str) -> None:
        self._token = token
        # A client of its own without retries: start-up should fail in seconds, not ride out 429s.
        # Its own logger stays quiet: slack_sdk's connection-error line would duplicate ours.
        quiet = logging.getLogger(f"{__name__}.client")
        quiet.disabled = True
        self._client = WebClient(
            token=token, base_url=api_url, timeout=AUTH_TEST_TIMEOUT_SECONDS, retry_handlers=[], logger=quiet
        )
        self._api_url = api_url
        self._result: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def loaded(self) -> bool:
        return self._result is not None

    @property
    def bot_user_id(self) -> str | None:
        return (self._result or {}).get("user_id")

    def load(self) -> dict[str, Any]:
        """Call auth.test now; raise SlackStartupError (token never included) when it fails."""
        try:
            response = self._client.auth_test()
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            status = exc.response.status_code if exc.response is not None else "?"
            hint = " (check SLACK_BOT_TOKEN)" if error in ("invalid_auth", "not_authed", "account_inactive",
                                                             "token_revoked", "token_expired") else ""
            raise SlackStartupError(f"Slack auth.test failed: {error or f'HTTP {status}'}{hint}") from None
        except Exception as exc:
            raise SlackStartupError(f"cannot reach Slack at {self._api_url}: {type(exc).__name__}") from None
        data = dict(response.data) if isinstance(response.data, dict) else {}
        with self._lock:
            self._result = data
        return data

    def refresh(self) -> bool:
        """One background refresh; the last good identity stays when Slack cannot be asked."""
        try:
            self.load()
            return True
        except SlackStartupError as exc:
            log.warning("refreshing the Slack identity failed (%s); keeping the last good one", exc)
            return False

    def start_refreshing(self, interval: float) -> None:
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                self.refresh()

        self._thread = threading.Thread(target=loop, name="hsperm-slack-identity", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def authorizer(self) -> Callable[..., AuthorizeResult]:
        """Bolt's `authorize` function (Bolt passes arguments by parameter name, so not a bound method)."""

        def authorize(enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
            return self.authorize(enterprise_id, team_id, user_id)

        return authorize

    def authorize(self, enterprise_id: str | None, team_id: str | None, user_id: str | None) -> AuthorizeResult:
        """The cached auth.test answer, no network call in the request.

        Apps built without a start-up (unit tests, or a caller that skipped `load`) load it here
        once, as Bolt would have.
        """
        result = self._result
        if result is None:
            log.warning("Slack identity not loaded at start-up; calling auth.test inside a request")
            result = self.load()
        return AuthorizeResult(
            enterprise_id=result.get("enterprise_id") or enterprise_id,
            team_id=result.get("team_id") or team_id,
            bot_user_id=result.get("user_id"),
            bot_id=result.get("bot_id"),
            bot_token=self._token,
            user_id=user_id,
        )
