"""HTTP mode: one WSGI app serving Slack (`POST /slack/events`), the load balancer (`GET /healthz`)
and Prometheus (`GET /metrics`).

gunicorn imports `bot.web:app`. It is built on the first request, inside each worker, so importing
this module needs no settings and no database connection is ever shared across a fork.

Every Slack request is checked here before Bolt sees it: size, a numeric fresh timestamp and the
signature. A request that fails gets 401 and one log line with its size and the reason, never its
body (anyone can post anything to this URL). Bolt then checks the signature again, as it always
does, and dispatches; the answer is written back with one `hsperm.request` summary line.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_sdk.signature import SignatureVerifier

import bot.metrics as metrics
from bot.app import configure_logging, create_app
from bot.config import Settings, load_settings
from bot.logs import log_request, record_request
from bot.redact import redact
from bot.services import Services, build_services
from bot.slack_identity import SlackIdentity, SlackStartupError

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
#: Slack's replay window for signed requests.
TIMESTAMP_TOLERANCE_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
#: Slack never sends more than a few hundred KB; refuse anything absurd before reading it.
MAX_BODY_BYTES = 1024 * 1024

StartResponse = Callable[..., Any]


class HsPermWsgi:
    """Routes three paths; everything else is a plain 404 (Bolt's OAuth paths are not used)."""

    def __init__(self, settings: Settings, services: Services, bolt: App) -> None:
        self.settings = settings
        self.services = services
        self.bolt = bolt
        self._verifier = SignatureVerifier(settings.slack_signing_secret or "unset")

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        method = environ.get("REQUEST_METHOD", "GET")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            return self._health(start_response, head=method == "HEAD")
        if path == METRICS_PATH and method == "GET":
            return self._metrics(environ, start_response)
        if path == EVENTS_PATH:
            if method != "POST":
                return _plain(start_response, "405 Method Not Allowed", "POST only\n", [("Allow", "POST")])
            return self._slack(environ, start_response)
        return _plain(start_response, "404 Not Found", "Not Found\n")

    # -- Slack ---------------------------------------------------------------------------------

    def _slack(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.monotonic()
        headers = _headers(environ)
        raw_length = environ.get("CONTENT_LENGTH") or "0"
        if not raw_length.isdigit():
            return self._refuse(start_response, started, "400 Bad Request", "bad content length", 0)
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            return self._refuse(start_response, started, "413 Payload Too Large", "body too large", length)
        body = environ["wsgi.input"].read(length) if length else b""
        reason = self._unverified(body, headers)
        if reason:
            return self._refuse(start_response, started, "401 Unauthorized", reason, len(body))
        try:
            request = BoltRequest(body=body.decode("utf-8"), query=environ.get("QUERY_STRING") or "", headers=headers)
        except Exception as exc:
            # Signed by Slack but not something Bolt can read: a bad request, not a server error.
            reason = f"unparseable body ({type(exc).__name__})"
            return self._refuse(start_response, started, "400 Bad Request", reason, len(body))
        response = self.bolt.dispatch(request)
        return self._answer(start_response, started, request, response)

    def _unverified(self, body: bytes, headers: Mapping[str, list[str]]) -> str | None:
        """Why this request is not provably from Slack, or None. Checked before Bolt parses or
        logs anything; a malformed header is the sender's fault (401), never a 500."""
        timestamp = (headers.get("x-slack-request-timestamp") or [""])[0].strip()
        signature = (headers.get("x-slack-signature") or [""])[0].strip()
        if not timestamp or not signature:
            return "missing signature headers"
        if not _TIMESTAMP.fullmatch(timestamp):
            return "malformed timestamp"
        if abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_SECONDS:
            return "stale timestamp"
        if not _SIGNATURE.fullmatch(signature):
            return "malformed signature"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "bad signature"
        return None

    def _refuse(
        self, start_response: StartResponse, started: float, status: str, reason: str, size: int
    ) -> list[bytes]:
        code = int(status.split()[0])
        metrics.request_rejected(reason.split(" (")[0].replace(" ", "_"))
        metrics.request_answered("refused", code, time.monotonic() - started)
        fields = {"surface": "refused", "kind": reason, "status": code, "latency_ms": _ms(started), "bytes": size}
        log_request(fields, level=logging.WARNING)
        return _plain(start_response, status, "invalid request\n" if code == 401 else status.split(" ", 1)[1].lower() + "\n")

    def _answer(
        self, start_response: StartResponse, started: float, request: BoltRequest, response: BoltResponse
    ) -> list[bytes]:
        body = response.body.encode("utf-8") if isinstance(response.body, str) else bytes(response.body or b"")
        out_headers = [(name, value) for name, values in response.headers.items() for value in values]
        if not any(name.lower() == "content-length" for name, _ in out_headers):
            out_headers.append(("Content-Length", str(len(body))))
        try:
            phrase = HTTPStatus(response.status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{response.status} {phrase}", out_headers)
        record_request(
            request.body,
            response.status,
            started,
            (request.headers.get("x-slack-retry-num") or [None])[0],
            (request.headers.get("x-slack-retry-reason") or [None])[0],
        )
        return [body]

    # -- metrics -------------------------------------------------------------------------------

    def _metrics(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        expected = self.settings.metrics_token
        if expected:
            given = str(environ.get("HTTP_AUTHORIZATION") or "")
            if not hmac.compare_digest(given.encode(), f"Bearer {expected}".encode()):
                return _plain(start_response, "401 Unauthorized", "metrics need the METRICS_TOKEN bearer token\n")
        body, content_type = metrics.exposition()
        start_response(
            "200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Cache-Control", "no-store")]
        )
        return [body]

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
) -> list[bytes]:
    body = text.encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))] + (extra or []),
    )
    return [body]


def _headers(environ: Mapping[str, Any]) -> dict[str, list[str]]:
    """Request headers as Bolt wants them: lower-case names, lists of values."""
    headers = {key[5:].replace("_", "-").lower(): [str(value)] for key, value in environ.items() if key.startswith("HTTP_")}
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = [str(environ[key])]
    return headers


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


def create_wsgi_app(settings: Settings, *, services: Services | None = None, client: Any = None) -> HsPermWsgi:
    """The WSGI app for `settings`: asks Slack who the bot is, builds the store and the Bolt app now.

    Raises `SlackStartupError` (one line, no token) when auth.test fails: a wrong token or an
    unreachable Slack API is found before the first request, not inside its ack."""
    identity = start_identity(settings)
    try:
        services = services or build_services(settings)
    except BaseException:
        identity.stop()  # the database is down: the next attempt starts its own refresher
        raise
    bolt = create_app(settings, client=client, services=services, identity=identity)
    return HsPermWsgi(settings, services, bolt)


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


#: gunicorn's exit status for "worker failed to boot": the master stops instead of respawning it.
WORKER_BOOT_ERROR = 3


def boot_worker(worker: Any) -> None:
    """gunicorn `post_worker_init` hook: build the app before the worker takes its first request.

    So auth.test runs at start, never inside an ack, under plain `gunicorn bot.web:app` as under
    `python -m bot serve`; a wrong token or an unreachable Slack stops gunicorn with one line. A
    database that is down at boot is not fatal: the first request tries again and answers 503.
    """
    wsgi = getattr(worker, "wsgi", None)
    if not isinstance(wsgi, LazyWsgi):
        return
    try:
        wsgi.get()
    except SlackStartupError as exc:
        log.error("hsperm cannot start: %s", exc)
        sys.exit(WORKER_BOOT_ERROR)
    except Exception as exc:
        log.error("hsperm cannot start yet (%s: %s); the next request tries again", type(exc).__name__, redact(str(exc)))


def check_slack_before_workers(server: Any) -> None:
    """gunicorn `on_starting` hook (master, before any worker): one auth.test, so a token Slack
    rejects stops plain `gunicorn bot.web:app` with one line and status 1, as `serve` does, rather
    than every worker failing to boot. Settings that do not load are left to the workers to report."""
    try:
        settings = load_settings()
        settings.require_slack()
    except Exception:  # reported by each worker, with the app's own message
        return
    try:
        SlackIdentity(settings.slack_bot_token or "", settings.slack_api_url).load()
    except SlackStartupError as exc:
        server.log.error("hsperm cannot start: %s", exc)
        sys.exit(1)


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

    made: list[str] = []

    class _Server(BaseApplication):
        def load_config(self) -> None:
            self.cfg.set("bind", f"{_bind_host(settings.host)}:{settings.port}")
            self.cfg.set("worker_class", "gthread")
            self.cfg.set("threads", 8)
            self.cfg.set("timeout", 30)
            self.cfg.set("graceful_timeout", 20)
            self.cfg.set("loglevel", settings.log_level.lower())
            # Workers' metrics in one directory, so /metrics sums them (see bot/metrics.py).
            self.cfg.set("on_starting", lambda server: made.append(metrics.prepare_multiprocess_dir()))
            self.cfg.set("child_exit", lambda server, worker: metrics.worker_exited(worker.pid))
            self.cfg.set("on_exit", lambda server: [metrics.remove_multiprocess_dir(path) for path in made])
            self.cfg.set("post_worker_init", boot_worker)

        def load(self) -> LazyWsgi:
            # Built in the worker after the fork, like `gunicorn bot.web:app`.
            return LazyWsgi(lambda: create_wsgi_app(settings))

    # gunicorn reads WEB_CONCURRENCY for the worker count, as Heroku sets it.
    _Server().run()
    return 0


def _bind_host(host: str) -> str:
    """gunicorn wants IPv6 addresses in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
