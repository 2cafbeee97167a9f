"""The one place that wires Slack to hsperm's services: `create_app` (`bot/server.py` runs it).

The factory makes no network call (token verification is deferred to the first request), so
tests, `check` and gunicorn workers can build apps freely. Listeners are module-level functions;
a global middleware puts the `Services` and the request's origin into Bolt's context, so no
listener closes over anything and each can be called directly in a test.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.config import Settings
from bot.redact import install_log_redaction, redact
from bot.services import Services, build_services
from bot.slack_client import make_client
from handlers import actions, approvals, commands, home, lookup, messages, shortcuts, views
from handlers import context as handlers_context

log = logging.getLogger(__name__)



def dedupe_events(services: Services) -> Callable[..., Any]:
    """Global middleware: the first delivery of an event id wins, on whichever instance it lands.

    Slack retries an event it thinks failed (`X-Slack-Retry-Num`); without this, a slow first
    attempt plus its retry means two replies. If the database is down we answer 503 so Slack
    retries later, rather than risk answering twice or never.
    """

    def middleware(body: dict[str, Any], next: Callable[[], Any], logger: logging.Logger) -> Any:
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if not event_id:
            return next()
        try:
            first = services.store.claim_event(str(event_id))
        except Exception as exc:
            logger.error("event %s not processed: the store is unavailable (%s)", event_id, type(exc).__name__)
            return BoltResponse(status=503, body="")
        if not first:
            logger.info("event %s already handled; ignoring the repeat delivery", event_id)
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def provide_context(services: Services) -> Callable[..., Any]:
    """Global middleware: the services and the request's origin, in Bolt's context for every listener."""

    def middleware(context: BoltContext, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        context[handlers_context.SERVICES] = services
        context[handlers_context.ORIGIN] = handlers_context.origin_from(context, body)
        return next()

    return middleware


def create_app(
    settings: Settings,
    *,
    client: WebClient | None = None,
    services: Services | None = None,
    process_before_response: bool = False,
) -> App:
    """Build the Bolt app with every hsperm listener registered; opens (and migrates) the store if needed.

    `process_before_response` runs each listener to its end before the response is returned (Bolt's
    mode for function-as-a-service hosts; tests dispatch this way). Slow work still goes to the
    work queue either way.
    """
    services = services or build_services(settings)
    app = App(
        name="hsperm",
        client=client or make_client(settings),
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        listener_executor=services.listeners,
        process_before_response=process_before_response,
    )
    app.use(dedupe_events(services))
    app.use(provide_context(services))
    services.bind_slack(app.client)
    for surface in (messages, commands, actions, lookup, approvals, shortcuts, views, home):
        surface.register(app)
    if services.lookup is not None:
        # A fix some instance was applying when it died is settled now, by reading HubSpot.
        services.work.submit(approvals.reconcile_on_start, services.fixes, services, app.client, log)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        # Listeners answer the user themselves; this only keeps the log line useful and token-free.
        kind = body.get("type") or "request"
        logger.error("unhandled %s while handling a %s: %s", type(error).__name__, kind, redact(str(error)))

    return app


def configure_logging(settings: Settings) -> None:
    """Plain log lines on stderr, with every configured token masked before any handler sees it."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=settings.log_level,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    root.setLevel(settings.log_level)
    install_log_redaction(
        [
            settings.slack_bot_token,
            settings.slack_signing_secret,
            settings.slack_app_token,
            settings.hubspot_access_token,
            *settings.hubspot_portal_tokens.values(),
        ]
    )
