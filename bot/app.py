"""The one place that wires Slack to hsperm's services: `create_app` (`bot/server.py` runs it).

The factory makes no network call, so tests, `check` and gunicorn workers can build apps freely;
who the bot is (`auth.test`) comes from a `SlackIdentity` that the server loads before serving
(bot/slack_identity.py), never inside an ack. Listeners are module-level functions;
a global middleware puts the `Services` and the request's origin into Bolt's context, so no
listener closes over anything and each can be called directly in a test.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk import WebClient

import bot.logs as logs
import bot.metrics as metrics
from bot.config import Settings
from bot.redact import redact, redact_tree
from bot.services import Services, build_services
from bot.slack_client import make_client
from bot.slack_identity import SlackIdentity
from handlers import actions, approvals, commands, home, lookup, messages, shortcuts, views
from handlers import context as handlers_context

log = logging.getLogger(__name__)

#: Web API methods that put something in front of a person (counted as replies).
REPLY_METHODS = frozenset({"chat.postMessage", "chat.postEphemeral", "chat.update", "views.open", "views.publish"})


def guard_replies(client: WebClient) -> WebClient:
    """Every reply sent through this client is redacted one last time, and counted.

    Redaction here catches a secret whatever path it took into a message (an engine field, a
    HubSpot answer, a template), not only the pasted text the messages module already masks.
    Bolt builds a fresh WebClient for each request from the app's, so a subclass would be lost;
    the request's client gets a guarded `api_call` instead (every Web API method goes through it).
    """
    if getattr(client, "_hsperm_counted", False):
        return client
    plain = client.api_call

    def api_call(api_method: str, **kwargs: Any) -> Any:
        if api_method not in REPLY_METHODS:
            return plain(api_method, **kwargs)
        try:
            response = plain(api_method, **redact_tree(kwargs))
        except Exception:
            metrics.reply_sent(api_method, False)
            raise
        metrics.reply_sent(api_method, True)
        return response

    client.api_call = api_call  # type: ignore[method-assign]
    client._hsperm_counted = True  # type: ignore[attr-defined]
    return client


class GuardedRespond:
    """Bolt's `respond` (a POST to the request's response_url), redacted and counted like Web API
    replies."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        via = "response_url.delete" if kwargs.get("delete_original") else "response_url"
        try:
            result = self._inner(*redact_tree(args), **redact_tree(kwargs))
        except Exception:
            metrics.reply_sent(via, False)
            raise
        metrics.reply_sent(via, getattr(result, "status_code", 200) < 400)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


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
            metrics.work_refused("event")
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


def refuse_replays(services: Services) -> Callable[..., Any]:
    """Global middleware: a signed command, click or form post runs once, however often it is sent.

    Bolt accepts any correctly signed request younger than 5 minutes, so a captured request could
    be replayed within that window. Slack does not retry these (events are retried, and deduped by
    event id above), so a second request with the same signature is a replay: the store records a
    digest of each signature with one atomic insert, and the repeat gets an empty 200. If the
    store is down the request runs (availability over a replay that needs a captured request).
    """

    def middleware(body: dict[str, Any], request: BoltRequest, next: Callable[[], Any], logger: logging.Logger) -> Any:
        signature = (request.headers.get("x-slack-signature") or [""])[0]
        if not signature or body.get("type") in ("event_callback", "url_verification", "app_rate_limited"):
            return next()
        digest = hashlib.sha256(signature.encode()).hexdigest()
        try:
            first = services.store.claim_request(digest)
        except Exception as exc:
            logger.warning("replay check skipped: the store is unavailable (%s)", type(exc).__name__)
            return next()
        if not first:
            metrics.request_rejected("replay")
            logger.warning("ignored a replayed Slack request (same signature seen before)")
            return BoltResponse(status=200, body="")
        return next()

    return middleware


def rate_limit_notice(body: dict[str, Any], next: Callable[[], Any], logger: logging.Logger) -> Any:
    """Global middleware: Slack's `app_rate_limited` notice (events were dropped) gets 200 and a
    warning; anything but 200 counts as a failed delivery toward Slack disabling the subscription."""
    if body.get("type") != "app_rate_limited":
        return next()
    logger.warning(
        "Slack rate-limited event deliveries to this app (team %s, minute %s): some events were not delivered",
        str(body.get("team_id"))[:20],
        str(body.get("minute_rate_limited"))[:20],
    )
    metrics.request_rejected("app_rate_limited")
    return BoltResponse(status=200, body="")


def ignore_event() -> None:
    """Events no listener wants are acknowledged with 200, not Bolt's 404 (Slack counts a 404 as a
    failed delivery and disables subscriptions that fail too often)."""


def provide_context(services: Services) -> Callable[..., Any]:
    """Global middleware: the services and the request's origin, in Bolt's context for every listener."""

    def middleware(context: BoltContext, body: dict[str, Any], next: Callable[[], Any]) -> Any:
        context[handlers_context.SERVICES] = services
        guard_replies(context.client)
        if context.response_url:
            context["respond"] = GuardedRespond(context.respond)
        context[handlers_context.ORIGIN] = handlers_context.origin_from(context, body)
        return next()

    return middleware


class _OwnClientNotice(logging.Filter):
    """Drops Bolt's start-up warnings that `token` will be unused. Bolt reads SLACK_BOT_TOKEN from
    the environment even when given a client, and skips the client's token when given `authorize`;
    hsperm builds that client from the same token on purpose (retries, counted replies, background
    work outside any request) and authorizes requests from its start-up `auth.test`
    (bot/slack_identity.py), so both warnings are noise on every start."""

    MESSAGES = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg not in self.MESSAGES


def create_app(
    settings: Settings,
    *,
    client: WebClient | None = None,
    services: Services | None = None,
    process_before_response: bool = False,
    identity: SlackIdentity | None = None,
) -> App:
    """Build the Bolt app with every hsperm listener registered; opens (and migrates) the store if needed.

    `process_before_response` runs each listener to its end before the response is returned (Bolt's
    mode for function-as-a-service hosts; tests dispatch this way). Slow work still goes to the
    work queue either way. Pass a loaded `identity` (the servers do) so no request ever waits on
    auth.test; without one, the first request asks Slack, as Bolt itself would.
    """
    services = services or build_services(settings)
    identity = identity or SlackIdentity(settings.slack_bot_token or "", settings.slack_api_url)
    bolt_logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _OwnClientNotice) for f in bolt_logger.filters):
        bolt_logger.addFilter(_OwnClientNotice())
    app = App(
        name="hsperm",
        client=client or make_client(settings),
        authorize=identity.authorizer(),
        signing_secret=settings.slack_signing_secret or "",
        token_verification_enabled=False,
        listener_executor=services.listeners,
        process_before_response=process_before_response,
    )
    app.use(rate_limit_notice)
    app.use(refuse_replays(services))
    app.use(dedupe_events(services))
    app.use(provide_context(services))
    services.bind_slack(app.client)
    for surface in (messages, commands, actions, lookup, approvals, shortcuts, views, home):
        surface.register(app)
    if services.lookup is not None:
        # A fix some instance was applying when it died is settled now, by reading HubSpot.
        services.work.submit(approvals.reconcile_on_start, services.fixes, services, app.client, log)
    app.event(re.compile(r".+"))(ignore_event)  # last: only events nothing above took

    @app.error
    def on_error(error: Exception, body: dict[str, Any], logger: logging.Logger) -> None:
        # Listeners answer the user themselves; this only keeps the log line useful and token-free.
        kind = body.get("type") or "request"
        logger.error("unhandled %s while handling a %s: %s", type(error).__name__, kind, redact(str(error)))

    return app


def configure_logging(settings: Settings) -> None:
    """One scrubbed line per record on stderr (JSON unless LOG_FORMAT=text); see `bot.logs`."""
    logs.configure_logging(settings)
