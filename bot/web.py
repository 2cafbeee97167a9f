"""HTTP mode: one WSGI app serving Slack (`POST /slack/events`) and the load balancer (`GET /healthz`).

gunicorn imports `bot.web:app`. It is built on the first request, inside each worker, so importing
this module needs no settings and no database connection is ever shared across a fork.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.app import configure_logging, create_app
from bot.config import Settings, load_settings
from bot.redact import redact
from bot.services import Services, build_services
from bot.slack_identity import SlackIdentity

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
#: Slack never sends more than a few hundred KB; refuse anything absurd before reading it.
MAX_BODY_BYTES = 1024 * 1024

StartResponse = Callable[..., Any]


class HsPermWsgi:
    """Routes the two paths; everything else is a plain 404 (Bolt's OAuth paths are not used)."""

    def __init__(self, settings: Settings, services: Services, slack: SlackRequestHandler) -> None:
        self.settings = settings
        self.services = services
        self.slack = slack

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._health(start_response, head=method == "HEAD")
        if path == EVENTS_PATH:
            if method != "POST":
                return _plain(start_response, "405 Method Not Allowed", "POST only\n", [("Allow", "POST")])
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > MAX_BODY_BYTES:
                return _plain(start_response, "413 Payload Too Large", "request too large\n")
            try:
                return self.slack(environ, start_response)
            except Exception as exc:
                # Bolt parses the body before checking the signature, so anyone can send a body it
                # cannot parse. That is a bad request, not a server error worth a traceback.
                log.warning("rejected an unparseable request to %s: %s", EVENTS_PATH, type(exc).__name__)
                return _plain(start_response, "400 Bad Request", "bad request\n", exc_info=sys.exc_info())
        return _plain(start_response, "404 Not Found", "Not Found\n")

    def _health(self, start_response: StartResponse, *, head: bool) -> Iterable[bytes]:
        try:
            self.services.store.ping()
            status, payload = "200 OK", {"status": "ok", "database": "ok"}
        except Exception as exc:
            log.warning("health check failed: database unavailable (%s)", type(exc).__name__)
            status, payload = "503 Service Unavailable", {"status": "unavailable", "database": "unreachable"}
        payload["mode"] = "http"
        body = json.dumps(payload).encode()
        start_response(
            status,
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [] if head else [body]


def _plain(
    start_response: StartResponse,
    status: str,
    text: str,
    extra: list[tuple[str, str]] | None = None,
    exc_info: Any = None,
) -> list[bytes]:
    body = text.encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))] + (extra or []),
        *([exc_info] if exc_info else []),
    )
    return [body]


def create_wsgi_app(settings: Settings, *, services: Services | None = None, client: Any = None) -> HsPermWsgi:
    """The WSGI app for `settings`: asks Slack who the bot is, builds the store and the Bolt app now.

    Raises `SlackStartupError` (one line, no token) when auth.test fails: a wrong token or an
    unreachable Slack API is found before the first request, not inside its ack."""
    identity = start_identity(settings)
    services = services or build_services(settings)
    bolt = create_app(settings, client=client, services=services, identity=identity)
    return HsPermWsgi(settings, services, SlackRequestHandler(bolt, path=EVENTS_PATH))


def start_identity(settings: Settings) -> SlackIdentity:
    """auth.test now (fails fast), then refreshed in the background for as long as the process lives."""
    identity = SlackIdentity(settings.slack_bot_token or "", settings.slack_api_url)
    identity.load()
    identity.start_refreshing(settings.slack_auth_refresh_seconds)
    return identity


class LazyWsgi:
    """Builds the real app from the environment on first use (once per gunicorn worker)."""

    def __init__(self, factory: Callable[[], HsPermWsgi]) -> None:
        self._factory = factory
        self._app: HsPermWsgi | None = None
        self._lock = threading.Lock()

    def get(self) -> HsPermWsgi:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._factory()
        return self._app

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            wsgi = self.get()
        except Exception as exc:
            # Typically the database is down at start-up: say so (503) and try again next request.
            log.error("hsperm cannot start: %s: %s", type(exc).__name__, redact(str(exc)))
            body = json.dumps({"status": "unavailable", "error": type(exc).__name__}).encode()
            start_response(
                "503 Service Unavailable",
                [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
            )
            return [body]
        return wsgi(environ, start_response)


def _from_environment() -> HsPermWsgi:
    settings = load_settings()
    settings.require_slack()
    configure_logging(settings)
    return create_wsgi_app(settings)


#: gunicorn entry point: `gunicorn bot.web:app`.
app = LazyWsgi(_from_environment)


def run_http(settings: Settings) -> int:
    """`python -m bot serve` in HTTP mode: the same app under gunicorn (gthread), bound to PORT."""
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"0.0.0.0:{settings.port}")
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("loglevel", settings.log_level.lower())

        def load(self) -> LazyWsgi:
            # Built in the worker after the fork, like `gunicorn bot.web:app`.
            return LazyWsgi(lambda: create_wsgi_app(settings))

    # gunicorn reads WEB_CONCURRENCY for the worker count, as Heroku sets it.
    _Server().run()
    return 0
