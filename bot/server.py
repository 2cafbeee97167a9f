"""`python -m bot serve` and `python -m bot check`: running the Slack app in either mode.

Kept apart from `bot/app.py` (which builds the app) and `bot/web.py` (which serves it over HTTP)
so that both can be imported without the other and neither imports this module.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bot.app import configure_logging, create_app
from bot.config import Settings
from bot.logs import record_request
from bot.redact import redact
from bot.slack_client import make_client
from bot.slack_identity import SlackIdentity

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """`python -m bot serve`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT."""
    settings.require_slack()
    configure_logging(settings)
    # Fail fast, before any worker starts: a wrong token or an unreachable Slack is one clear line
    # (SlackStartupError, printed by `python -m bot`), not late or apologising first acks.
    from bot.web import start_identity

    if settings.socket_mode:
        app = create_app(settings, identity=start_identity(settings))
        log.info("hsperm starting in Socket Mode (no public URL needed)")
        socket_mode_handler(app, settings.slack_app_token or "").start()
        return 0

    from bot.web import run_http  # gunicorn is only imported when HTTP mode runs

    # Checked once here, so a bad token stops `serve` before gunicorn starts; each worker then
    # loads (and refreshes) its own identity as it boots (bot.web.boot_worker).
    SlackIdentity(settings.slack_bot_token or "", settings.slack_api_url).load()

    log.info("hsperm starting in HTTP mode on port %s", settings.port)
    return run_http(settings)


def socket_mode_handler(app: App, app_token: str) -> Any:
    """Bolt's Socket Mode handler, plus the same per-request log line and metrics as HTTP mode."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response

    class Handler(SocketModeHandler):
        def handle(self, client: Any, req: Any) -> None:
            started, wall = time.monotonic(), time.time()
            response = run_bolt_app(self.app, req)
            send_response(client, req, response, wall)
            record_request(req.payload, response.status, started, req.retry_attempt, req.retry_reason)

    return Handler(app, app_token)


def check(settings: Settings) -> int:
    """`python -m bot check`: settings, database and Slack token, one line each; 0 when all pass."""
    failures = 0
    for what, probe in (("settings", _check_settings), ("database", _check_database), ("slack", _check_slack)):
        result = probe(settings)
        if result is None:
            continue
        ok, detail = result
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {redact(detail)}")
    if settings.hubspot_configured:
        print("ok   hubspot: credentials configured (live lookups are checked by `python -m bot lookup`)")
    else:
        print("info hubspot: no HUBSPOT_ACCESS_TOKEN; pasted errors work, live lookups are off")
    return 0 if failures == 0 else 1


def _check_settings(settings: Settings) -> tuple[bool, str]:
    from bot.config import ConfigError

    try:
        settings.require_slack()
    except ConfigError as exc:
        return False, str(exc)
    return True, "Socket Mode (SLACK_APP_TOKEN)" if settings.socket_mode else f"HTTP mode on port {settings.port}"


def _check_database(settings: Settings) -> tuple[bool, str]:
    from bot.store import StoreError, open_store

    try:
        store = open_store(settings.database_url)
        try:
            store.ping()
            return True, f"{store.url_for_logs} (schema version {store.schema_version()})"
        finally:
            store.close()
    except StoreError as exc:
        return False, str(exc)


def _check_slack(settings: Settings) -> tuple[bool, str] | None:
    from slack_sdk.errors import SlackApiError

    if not settings.slack_bot_token:
        return None
    try:
        auth = make_client(settings).auth_test()
    except SlackApiError as exc:
        return False, f"auth.test failed: {exc.response.get('error')}"
    except Exception as exc:
        return False, f"cannot reach {settings.slack_api_url}: {type(exc).__name__}"
    return True, f"bot @{auth.get('user')} in workspace {auth.get('team')} ({auth.get('team_id')})"
