"""A loopback Slack: a fake Web API that records calls, and helpers that sign requests like Slack.

`FakeSlack` answers the Web API methods hsperm uses (and `ok` for the rest), serves a `/webhook/…`
path that plays every `response_url`, and can be told to fail a method with 429 or 500 for a few
calls. `BotServer` runs hsperm's real WSGI app on 127.0.0.1 and posts v0-signed requests to it,
so tests go through signature checking, Bolt's routing and the HTTP status Slack would see.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import requests

from tests.fakes.serving import Serving

TEAM_ID = "T0HSPERM"
BOT_USER_ID = "U0HSPERM"
BOT_ID = "B0HSPERM"
APP_ID = "A0HSPERM"
BOT_TOKEN = "xoxb-1111-2222-test-bot-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
#: Fields of Web API calls that carry JSON inside a form post.
_JSON_FIELDS = ("blocks", "view", "attachments")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    headers: dict[str, str] = field(repr=False)
    #: the request path (tells response_urls apart: /webhook/<name>)
    path: str = field(default="", repr=False)
    #: answered with an injected 429/500/error instead of success (see `FakeSlack.fail`)
    failed: bool = field(default=False, repr=False)

    @property
    def text(self) -> str:
        """Fallback text plus every mrkdwn/plain text in the blocks: what a person would read."""
        parts = [str(self.params.get("text") or "")]
        blocks = self.params.get("blocks") or (self.params.get("view") or {}).get("blocks") or []
        parts.extend(_texts(blocks))
        return "\n".join(parts)

    def button_value(self, action_id: str) -> str:
        """The value of the button with this action_id (the id a click sends back)."""
        blocks = self.params.get("blocks") or []
        for element in (el for b in blocks for el in b.get("elements") or []):
            if element.get("action_id") == action_id:
                return element["value"]
        raise AssertionError(f"no {action_id} button in {self.params}")

    def action_ids(self) -> list[str]:
        blocks = self.params.get("blocks") or (self.params.get("view") or {}).get("blocks") or []
        return [el.get("action_id") for b in blocks for el in b.get("elements") or [] if el.get("action_id")]


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int = 0
    error: str | None = None


class FakeSlack:
    """Fake Slack Web API on 127.0.0.1:<random port>."""

    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        #: conversations.replies answers: (channel, thread_ts) -> messages
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        #: users.info answers by user id (others get a default profile with alice@example.com)
        self.users: dict[str, dict[str, Any]] = {}
        #: usergroups.users.list answers: user-group id -> member user ids (unknown ids: no_such_subteam)
        self.usergroups: dict[str, list[str]] = {}
        self._holds: dict[str, threading.Event] = {}
        #: files.info answers by file id (ids not here get file_not_found, as for a Slack Connect file
        #: this workspace may not read), and file bodies served under /files-pri/ by path
        self.files: dict[str, dict[str, Any]] = {}
        self.downloads: dict[str, bytes] = {}
        #: /files-pri/ paths answered with a 302 to this location instead of the file
        self.redirects: dict[str, str] = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                fake._handle(self)

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._serving: Serving | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> FakeSlack:
        self._serving = Serving(self._server, "fake-slack")
        return self

    def stop(self) -> None:
        if self._serving is not None:
            self._serving.stop()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        return self.base + "/api/"

    def webhook_url(self, name: str = "") -> str:
        return f"{self.base}/webhook/{name or uuid.uuid4().hex}"

    # -- test controls ---------------------------------------------------------------------------

    def fail(self, method: str, *, status: int = 429, times: int = 1, retry_after: int = 0) -> None:
        """The next `times` calls of `method` get HTTP `status` (429 carries Retry-After)."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(status, times, retry_after))

    def error(self, method: str, error: str, *, times: int = 1) -> None:
        """The next `times` calls of `method` get HTTP 200 with ok=false and this error code."""
        with self._lock:
            self._failures.setdefault(method, []).append(_Failure(200, times, error=error))

    def hold(self, method: str) -> threading.Event:
        """Calls of `method` are recorded, then wait for the returned event before being answered.

        Lets a test prove an order of events (the ack reached Slack while the reply was still
        in flight) without measuring time.
        """
        with self._lock:
            return self._holds.setdefault(method, threading.Event())

    def release(self, method: str) -> None:
        """Answer the calls held on `method` and stop holding it (a `hold` that can be repeated)."""
        with self._lock:
            gate = self._holds.pop(method, None)
        if gate is not None:
            gate.set()

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def replies(self) -> list[Call]:
        """Messages a person would see: posts, ephemerals and response_url messages (not deletions)."""
        return [
            c
            for c in self.calls()
            if c.method in ("chat.postMessage", "chat.postEphemeral")
            or (c.method == "webhook" and not c.params.get("delete_original"))
        ]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Poll until `count` calls of `method` arrived (async replies), or fail with what did arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"expected {count} {method} call(s), got {[c.method for c in self.calls()]}")

    # -- the fake API ----------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        path = request.path.split("?", 1)[0]
        if path.startswith("/webhook/"):
            params = json.loads(raw or b"{}")
            self._record(Call("webhook", params, dict(request.headers), path=path))
            self._wait_if_held("webhook")
            return self._send(request, 200, b"ok", "text/plain")
        if path.startswith("/files-pri/"):
            return self._download(request, path)
        if not path.startswith("/api/"):
            return self._send(request, 404, b"not found", "text/plain")
        method = path[len("/api/") :]
        params = self._params(request, raw)
        call = Call(method, params, dict(request.headers))
        self._record(call)
        self._wait_if_held(method)

        failure = self._take_failure(method)
        call.failed = failure is not None
        if failure and failure.status != 200:
            headers = {"Retry-After": str(failure.retry_after)} if failure.status == 429 else {}
            body = json.dumps({"ok": False, "error": "ratelimited"}) if failure.status == 429 else "server error"
            return self._send(request, failure.status, body.encode(), "application/json", headers)
        if failure:
            return self._json(request, {"ok": False, "error": failure.error})
        if not (request.headers.get("Authorization") or "").startswith("Bearer xoxb-"):
            return self._json(request, {"ok": False, "error": "invalid_auth"})
        return self._json(request, self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        ts = f"{1764300000 + next(self._ts)}.000100"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://hsperm-test.slack.com/",
                "team": "hsperm test",
                "user": "hsperm",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"text": params.get("text")}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method.startswith("views."):
            return {"ok": True, "view": {"id": "V0" + uuid.uuid4().hex[:8].upper(), **(params.get("view") or {})}}
        if method == "users.info":
            user = params.get("user")
            if user in self.users:
                return {"ok": True, "user": self.users[user]}
            return {"ok": True, "user": {"id": user, "name": "alice", "profile": {"email": "alice@example.com"}}}
        if method == "conversations.replies":
            messages = self.threads.get((params.get("channel"), params.get("ts")), [])
            return {"ok": True, "messages": messages, "has_more": False}
        if method == "files.info":
            answer = self.files.get(params.get("file"))
            return {"ok": True, **answer} if answer else {"ok": False, "error": "file_not_found"}
        if method == "usergroups.users.list":
            group = params.get("usergroup")
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.usergroups[group])}
        if method == "chat.getPermalink":
            channel, ts = params.get("channel"), str(params.get("message_ts") or "")
            return {
                "ok": True,
                "channel": channel,
                "permalink": f"https://hsperm-test.slack.com/archives/{channel}/p{ts.replace('.', '')}",
            }
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
        if method == "conversations.info":
            return {"ok": True, "channel": {"id": params.get("channel"), "is_member": True}}
        return {"ok": True}

    def add_file(self, file_id: str, body: bytes, *, name: str = "sync.log", content_in_info: bool = False,
                 **info: Any) -> dict[str, Any]:
        """Serve a text file like Slack: files.info describes it, /files-pri/ serves it to the bot token.

        Returns the file object a message event carries: the first 5 lines as `preview`, the count
        of the others as `lines_more`. With `content_in_info`, files.info also returns `content` (snippets).
        """
        path = f"/files-pri/{TEAM_ID}-{file_id}/download/{name}"
        lines = body.decode("utf-8", errors="replace").split("\n")
        file = {"id": file_id, "name": name, "title": name, "mimetype": "text/plain", "filetype": "text",
                "mode": "snippet", "size": len(body), "url_private": self.base + path,
                "url_private_download": self.base + path, "preview": "\n".join(lines[:5]),
                "lines": len(lines), "lines_more": max(0, len(lines) - 5), **info}
        self.files[file_id] = {"file": file, **({"content": body.decode()} if content_in_info else {})}
        self.downloads[path] = body
        return dict(file)

    def _download(self, request: BaseHTTPRequestHandler, path: str) -> None:
        self._record(Call("download", {"path": path}, dict(request.headers)))
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            # Slack answers a file request without a valid token with its sign-in page.
            return self._send(request, 200, b"<!DOCTYPE html><title>Sign in</title>", "text/html")
        if path in self.redirects:
            return self._send(request, 302, b"", "text/plain", {"Location": self.redirects[path]})
        body = self.downloads.get(path)
        if body is None:
            return self._send(request, 404, b"not found", "text/plain")
        return self._send(request, 200, body, "text/plain; charset=utf-8")

    def _wait_if_held(self, method: str) -> None:
        with self._lock:
            gate = self._holds.get(method)
        if gate is not None:
            gate.wait(timeout=15)

    def _take_failure(self, method: str) -> _Failure | None:
        with self._lock:
            queue = self._failures.get(method) or []
            while queue and queue[0].times <= 0:
                queue.pop(0)
            if not queue:
                return None
            queue[0].times -= 1
            return queue[0]

    @staticmethod
    def _params(request: BaseHTTPRequestHandler, raw: bytes) -> dict[str, Any]:
        if "json" in (request.headers.get("Content-Type") or ""):
            return json.loads(raw or b"{}")
        params: dict[str, Any] = dict(parse_qsl(raw.decode(), keep_blank_values=True))
        if "?" in request.path:
            params.update(parse_qsl(request.path.split("?", 1)[1]))
        for name in _JSON_FIELDS:
            if isinstance(params.get(name), str):
                with contextlib.suppress(ValueError):
                    params[name] = json.loads(params[name])
        return params

    def _record(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def _json(self, request: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
        self._send(request, 200, json.dumps(payload).encode(), "application/json")

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        request.send_response(status)
        request.send_header("Content-Type", content_type)
        request.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(body)


# -- signing and posting like Slack --------------------------------------------------------------


def sign(body: bytes, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    """Slack's v0 request signature headers for `body`, computed from scratch (not via slack_sdk)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


_action_ts = itertools.count(1)


def block_action(
    fake: FakeSlack, action_id: str, value: str, *, user: str = "U0ALICE", channel: str = "C0GENERAL"
) -> dict[str, Any]:
    """A click on a button of an ephemeral message in `channel`, as Slack posts it (block_actions)."""
    return {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "team_id": TEAM_ID},
        "container": {"type": "message", "message_ts": "1764300000.000200", "channel_id": channel, "is_ephemeral": True},
        "trigger_id": f"1337.42.{action_id}",
        "channel": {"id": channel, "name": "general"},
        "response_url": fake.webhook_url(action_id),
        "actions": [
            # Slack stamps each click with its own time, so no two clicks are the same request.
            {"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
             "action_ts": f"{int(time.time())}.{next(_action_ts):06d}"}
        ],
    }


def event_envelope(event: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + uuid.uuid4().hex[:10].upper(),
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


_message_ts = itertools.count(1)


def message_event(
    text: str,
    *,
    channel: str = "C0GENERAL",
    user: str | None = "U0ALICE",
    channel_type: str = "channel",
    thread_ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "text": text,
        "ts": f"{int(time.time())}.{next(_message_ts):06d}",
        "channel_type": channel_type,
        "team": TEAM_ID,
    }
    if user:
        event["user"] = user
    if thread_ts:
        event["thread_ts"] = thread_ts
    event.update(extra)
    return event


class SlackSender:
    """Posts requests to an hsperm at `url` the way Slack does: signed, with Slack's payload shapes."""

    def __init__(self, url: str, fake: FakeSlack) -> None:
        self.url = url
        self.fake = fake
        self.session = requests.Session()

    def post_raw(self, body: bytes, headers: dict[str, str]) -> requests.Response:
        return self.session.post(self.url + "/slack/events", data=body, headers=headers, timeout=10)

    def post_signed(
        self, body: bytes, content_type: str, *, extra_headers: dict[str, str] | None = None, **sign_args: Any
    ) -> requests.Response:
        headers = {"Content-Type": content_type, **sign(body, **sign_args), **(extra_headers or {})}
        return self.post_raw(body, headers)

    def post_event(
        self, event: dict[str, Any], *, event_id: str | None = None, retry_num: int | None = None, **sign_args: Any
    ) -> requests.Response:
        body = json.dumps(event_envelope(event, event_id)).encode()
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"} if retry_num else {}
        return self.post_signed(body, "application/json", extra_headers=extra, **sign_args)

    def post_command(self, text: str, *, channel: str = "C0GENERAL", user: str = "U0ALICE") -> requests.Response:
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "hsperm-test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "alice",
            "command": "/hsperm",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            # Slack gives every invocation its own response_url, so no two commands are the same request.
            "response_url": self.fake.webhook_url(),
            "trigger_id": "1337.42.abcdef",
        }
        return self.post_signed(urlencode(form).encode(), "application/x-www-form-urlencoded")

    def post_interaction(self, payload: dict[str, Any]) -> requests.Response:
        payload = {"team": {"id": TEAM_ID, "domain": "hsperm-test"}, "api_app_id": APP_ID, **payload}
        body = ("payload=" + quote(json.dumps(payload))).encode()
        return self.post_signed(body, "application/x-www-form-urlencoded")

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.url + path, timeout=10)


class BotServer(SlackSender):
    """hsperm's WSGI app served by a threaded wsgiref server on 127.0.0.1:<random port>."""

    def __init__(self, wsgi_app: Callable[..., Any], fake: FakeSlack) -> None:
        self.wsgi_app = wsgi_app

        class Server(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        self._server = make_server("127.0.0.1", 0, wsgi_app, server_class=Server, handler_class=QuietHandler)
        self._server.block_on_close = False
        self._serving = Serving(self._server, "hsperm-under-test")
        host, port = self._server.server_address[:2]
        super().__init__(f"http://{host}:{port}", fake)

    def drain(self) -> None:
        """Wait until every request sent so far is fully handled: acked, and its replies sent.

        What a test waits on before asserting that nothing (else) was sent to Slack.
        """
        assert self.wsgi_app.services.drain(timeout=10), "hsperm still busy after 10 s"

    def stop(self) -> None:
        self._serving.stop()
        self.session.close()


def bot_env(fake: FakeSlack, database_url: str, **overrides: str) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "DATABASE_URL": database_url,
    }
    env.update(overrides)
    return env


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def slack_sleeps() -> list[float]:
    """The waits hsperm's Slack client asked for before retrying (recorded, never slept)."""
    return []


@pytest.fixture
def start_bot(fake_slack: FakeSlack, tmp_path: Any, slack_sleeps: list[float]) -> Iterator[Callable[..., Any]]:
    """Factory: an hsperm driven in-process through Bolt's dispatch (see tests/fakes/dispatch.py)."""
    from bot.config import load_settings
    from tests.fakes.dispatch import DispatchBot

    bots: list[DispatchBot] = []

    def start(database_url: str | None = None, **overrides: str) -> DispatchBot:
        url = database_url or f"sqlite:///{tmp_path / 'hsperm.db'}"
        settings = load_settings(bot_env(fake_slack, url, **overrides), dotenv=False)
        bots.append(DispatchBot(settings, fake_slack, slack_sleeps))
        return bots[-1]

    yield start
    for bot in bots:
        bot.stop()


@pytest.fixture
def start_http_bot(fake_slack: FakeSlack, tmp_path: Any, slack_sleeps: list[float]) -> Iterator[Callable[..., BotServer]]:
    """Factory: an hsperm served over real HTTP (wsgiref, threads), as Slack reaches it."""
    from bot.config import load_settings
    from bot.slack_client import make_client
    from bot.web import create_wsgi_app

    servers: list[tuple[BotServer, Any]] = []

    def start(database_url: str | None = None, **overrides: str) -> BotServer:
        url = database_url or f"sqlite:///{tmp_path / 'hsperm.db'}"
        settings = load_settings(bot_env(fake_slack, url, **overrides), dotenv=False)
        wsgi = create_wsgi_app(settings, client=make_client(settings, sleep=slack_sleeps.append))
        server = BotServer(wsgi, fake_slack)
        servers.append((server, wsgi))
        return server

    yield start
    for server, wsgi in servers:
        server.stop()
        wsgi.services.close()


@pytest.fixture
def slack_bot(start_bot: Callable[..., Any]) -> Any:
    """One hsperm (dispatched in-process) on a fresh SQLite database, talking to `fake_slack`."""
    return start_bot()


@pytest.fixture
def http_bot(start_http_bot: Callable[..., BotServer]) -> BotServer:
    """One hsperm over real HTTP on a fresh SQLite database, talking to `fake_slack`."""
    return start_http_bot()


#: Slack sends the callback ids the app's manifest declares.
MANIFEST = Path(__file__).resolve().parents[2] / "manifest.json"


def message_shortcut(fake: FakeSlack, text: str) -> dict:
    """The payload Slack sends when Alice runs the message shortcut on Bob's message; its callback id
    is the one manifest.json declares."""
    callback_id = json.loads(MANIFEST.read_text(encoding="utf-8"))["features"]["shortcuts"][0]["callback_id"]
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": "1337.42.shortcut",
        "user": {"id": "U0ALICE", "username": "alice", "team_id": TEAM_ID},
        "channel": {"id": "C0GENERAL", "name": "general"},
        "message": {"type": "message", "user": "U0BOB", "ts": "1764299999.000100", "text": text},
        "response_url": fake.webhook_url("shortcut"),
    }
