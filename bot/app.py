"""The one place that wires Slack to hsperm's services: `create_app` (`bot/server.py` runs it).

The factory makes no network call, so tests, `check` and gunicorn workers can build apps freely;
who the bot is (`auth.test`) comes from a `SlackIdentity` that the server loads before serving
(bot/slack_identity.py), never inside an ack. Listeners are module-level functions;
a global middleware puts the `Services` and the request's origin into Bolt's context, so no
listener closes over anything and each can be called directly in a test.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient

from bot.config import Settings
from bot.redact import install_log_redaction, redact
from bot.services import Services, build_services
from bot.slack_identity import SlackIdentity
from bot.slack_retry import slack_retry_handlers
from handlers import actions, commands, home, lookup, messages, shortcuts, views
from handlers import context as handlers_context

log = logging.getLogger(__name__)

#: Listener threads. They parse, ack and hand slow work to `Services.work` (bot/work.py), so they
#: are busy for milliseconds; 16 absorbs a burst without starting hundreds of threads.
LISTENER_THREADS = 16
WEB_API_TIMEOUT_SECONDS = 10


def make_client(settings: Settings, *, token: str | None = "") -> WebClient:
    """A WebClient that rides out Slack's 429s and 5xx instead of failing the reply.

    `token=None` builds Bolt's token-less base client: each request's client gets the token from
    `SlackIdentity.authorize`."""
    return WebClient(
        token=settings.slack_bot_token if token == "" else token,
        base_url=settings.slack_api_url,
        timeout=WEB_API_TIMEOUT_SECONDS,
        # Retry-After capped and every retry bounded by the reply deadline (bot/slack_retry.py).
        retry_handlers=slack_retry_handlers(settings.slack_retry_after_cap_seconds, settings.reply_deadline_seconds),
    )


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
        if services.work.full:
            # Events are acknowledged before their listener queues the reply: with the queue full the
            # reply would be dropped after a 200. A 503 (nothing claimed) makes Slack deliver it again.
            logger.warning("event %s deferred: the work queue is full; Slack will retry it", event_id)
            return BoltResponse(status=503, body="")
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
    identity: SlackIdentity | None = None,
) -> App:
    """Build the Bolt app with every hsperm listener registered; opens (and migrates) the store if needed.

    Pass a loaded `identity` (the servers do) so no request ever waits on auth.test."""
    services = services or build_services(settings)
    identity = identity or SlackIdentity(settings.slack_bot_token or "", settings.slack_api_url)
    app = App(
        name="hsperm",
        client=client or make_client(settings, token=None),
        authorize=None if client is not None else identity.authorizer(),
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="hsperm-listener"),
    )
    app.use(dedupe_events(services))
    app.use(provide_context(services))
    for surface in (messages, commands, actions, lookup, shortcuts, views, home):
        surface.register(app)

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
