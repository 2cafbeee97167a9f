"""`python -m bot serve` and `python -m bot check`: running the Slack app in either mode.

Kept apart from `bot/app.py` (which builds the app) and `bot/web.py` (which serves it over HTTP)
so that both can be imported without the other and neither imports this module.
"""

from __future__ import annotations

import logging

from bot.app import configure_logging, create_app, make_client
from bot.config import Settings
from bot.redact import redact

log = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """`python -m bot serve`: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT."""
    settings.require_slack()
    configure_logging(settings)
    # Fail fast, before any worker starts: a wrong token or an unreachable Slack is one clear line
    # (SlackStartupError, printed by `python -m bot`), not late or apologising first acks.
    from bot.web import start_identity

    identity = start_identity(settings)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        app = create_app(settings, identity=identity)
        log.info("hsperm starting in Socket Mode (no public URL needed)")
        SocketModeHandler(app, settings.slack_app_token).start()
        return 0

    from bot.web import run_http  # gunicorn is only imported when HTTP mode runs

    log.info("hsperm starting in HTTP mode on port %s", settings.port)
    return run_http(settings)


def check(settings: Settings) -> int:
    """`python -m bot check`: settings, database and Slack token, one line each; 0 when all pass."""
    from slack_sdk.errors import SlackApiError

    from bot.config import ConfigError
    from bot.store import StoreError, open_store

    failures = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}: {redact(detail)}")

    try:
        settings.require_slack()
        mode = "Socket Mode (SLACK_APP_TOKEN)" if settings.socket_mode else f"HTTP mode on port {settings.port}"
        report(True, "settings", mode)
    except ConfigError as exc:
        report(False, "settings", str(exc))

    try:
        store = open_store(settings.database_url)
        try:
            store.ping()
            report(True, "database", f"{store.url_for_logs} (schema version {store.schema_version()})")
        finally:
            store.close()
    except StoreError as exc:
        report(False, "database", str(exc))

    if settings.slack_bot_token:
        try:
            auth = make_client(settings).auth_test()
            report(
                True,
                "slack",
                f"bot @{auth.get('user')} in workspace {auth.get('team')} ({auth.get('team_id')})",
            )
        except SlackApiError as exc:
            report(False, "slack", f"auth.test failed: {exc.response.get('error')}")
        except Exception as exc:
            report(False, "slack", f"cannot reach {settings.slack_api_url}: {type(exc).__name__}")

    if settings.hubspot_configured:
        report(True, "hubspot", "credentials configured (live lookups are checked by `python -m bot lookup`)")
    else:
        print("info hubspot: no HUBSPOT_ACCESS_TOKEN; pasted errors work, live lookups are off")
    return 0 if failures == 0 else 1
