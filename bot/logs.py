"""Logging for every entry point: one line per record, nothing secret or personal in it.

Log lines are read by machines (a JSON line per record by default, `LOG_FORMAT=text` for people)
and by attackers who can put text in them: a paste, a button value, a header. So:

- every record is one physical line: JSON escapes control characters, the text format escapes
  them by hand, so a newline inside a field cannot start a forged record;
- every record is scrubbed before any handler sees it: configured tokens and anything that looks
  like a secret (also URL-encoded or JSON-escaped, see `bot.redact`), people's email addresses,
  and Slack `response_url`s (a response_url lets whoever holds it post into the conversation for
  30 minutes);
- each Slack request gets one summary line (`hsperm.request`) with its event id, team, surface,
  kind, status, latency and retry number, whether it was served over HTTP or Socket Mode.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

import bot.metrics as metrics
from bot.config import Settings
from bot.redact import RedactingFilter, redact_values

REQUEST_LOGGER = "hsperm.request"
#: Bolt's signature check logs the whole unverified body at INFO; see `_BoltBodyFilter`.
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}\b")
#: response_url values in JSON, dict reprs and form posts, and Slack's webhook hosts anywhere.
_RESPONSE_URL = re.compile(
    r"""(?i)(response_url["']?\s*[:=]\s*["']?|response_url%22%3A%22|response_url=)[^\s"'&,}]+"""
    r"""|https?:(?:\\?/){2}hooks\.slack\.com(?:\\?/)[^\s"'<>]+"""
)
WEBHOOK_LOGGER = "slack_sdk.webhook"
_WEBHOOK_URL = re.compile(r"url: \S+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
#: Fields of `hsperm.request` lines, in the order the text format prints them.
REQUEST_FIELDS = ("surface", "kind", "event_id", "team", "status", "latency_ms", "retry_num", "retry_reason", "bytes")


def scrub(text: str, known: Iterable[str] = ()) -> str:
    """`text` without secrets, email addresses or response URLs."""
    text = redact_values(text, known)
    if "@" in text:
        text = _EMAIL.sub("[email]", text)
    if "hooks.slack.com" in text or "response_url" in text:
        text = _RESPONSE_URL.sub(lambda m: (m.group(1) or "") + "[response_url]", text)
    return text


def escape_controls(text: str) -> str:
    """Newlines and other control characters as visible escapes: one record, one line."""
    return _CONTROL.sub(lambda m: "\\n" if m.group() == "\n" else f"\\x{ord(m.group()):02x}", text)


class ScrubFilter(RedactingFilter):
    """Runs on every handler: message, exception text and request fields, scrubbed."""

    def clean(self, text: str) -> str:
        return scrub(text, self._known)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith(WEBHOOK_LOGGER) and "url:" in str(record.msg):
            # slack_sdk's webhook client logs the URL it posts to: always a response_url here.
            record.msg, record.args = _WEBHOOK_URL.sub("url: [response_url]", record.getMessage()), None
        if record.exc_info and record.exc_info[1] is not None:
            # The whole traceback, not only the exception's message: frames can hold values too.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if isinstance(value, str):
                setattr(record, name, self.clean(value))
        return super().filter(record)


class _BoltBodyFilter(logging.Filter):
    """Bolt logs `Invalid request signature detected (signature, timestamp, body)` at INFO: anyone
    can fill the log with unsigned posts. hsperm checks signatures before Bolt sees a request, so
    this only fires if that check is bypassed; even then the body never reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "Invalid request signature" in str(record.msg):
            record.msg, record.args = "Invalid request signature detected (body not logged)", None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; `json.dumps` escapes every control character. Times in UTC."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=True, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value…`, with control characters escaped."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{n}={getattr(record, n)}" for n in REQUEST_FIELDS if getattr(record, n, None) is not None]
        if extras:
            line += " " + " ".join(extras)
        return escape_controls(line)


def formatter_for(log_format: str) -> logging.Formatter:
    return TextFormatter() if log_format == "text" else JsonFormatter()


def configure_logging(settings: Settings, *, stream: Any = None) -> ScrubFilter:
    """Root handler on stderr (unless one exists; always on `stream` when given), the chosen
    format, and scrubbing on every root handler."""
    root = logging.getLogger()
    if stream is not None or not root.handlers:
        root.addHandler(logging.StreamHandler(stream or sys.stderr))
    root.setLevel(settings.log_level)
    flt = ScrubFilter(settings.secret_values)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, ScrubFilter)]:
            handler.removeFilter(old)
        handler.addFilter(flt)
        handler.setFormatter(formatter_for(settings.log_format))
    bolt = logging.getLogger(BOLT_VERIFICATION_LOGGER)
    if not any(isinstance(f, _BoltBodyFilter) for f in bolt.filters):
        bolt.addFilter(_BoltBodyFilter())
    return flt


def log_request(fields: Mapping[str, Any], *, level: int = logging.INFO) -> None:
    """The one summary line for a Slack request (fields: see REQUEST_FIELDS)."""
    shown = {k: v for k, v in fields.items() if k in REQUEST_FIELDS and v not in (None, "")}
    logging.getLogger(REQUEST_LOGGER).log(
        level, "%s %s -> %s", shown.get("surface", "request"), shown.get("kind", "-"), shown.get("status", "-"), extra=shown
    )


def record_request(
    body: Mapping[str, Any] | None, status: int, started: float, retry_num: Any = None, retry_reason: Any = None
) -> None:
    """The summary line and the request metrics for one answered Slack request (HTTP or Socket
    Mode); `started` is the `time.monotonic()` at which it arrived."""
    seconds = time.monotonic() - started
    fields = describe(body)
    retry = str(retry_num) if retry_num is not None else ""
    fields.update(
        status=status,
        latency_ms=round(seconds * 1000, 1),
        retry_num=int(retry) if retry.isdigit() else None,
        retry_reason=retry_reason,
    )
    metrics.request_answered(fields["surface"], status, seconds)
    log_request(fields, level=logging.INFO if status < 500 else logging.WARNING)


def describe(body: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a Slack payload is: surface (event, command, action, view, shortcut, options, other),
    kind (event type, command, action or callback id), event id and team."""
    body = body if isinstance(body, Mapping) else {}
    kind: Any = None
    event_id = None
    if body.get("command"):
        surface, kind = "command", body.get("command")
    elif body.get("type") == "event_callback":
        event = body.get("event") if isinstance(body.get("event"), Mapping) else {}
        surface, kind, event_id = "event", event.get("type"), body.get("event_id")
        if event.get("subtype"):
            kind = f"{kind}.{event.get('subtype')}"
    elif body.get("type") == "block_actions":
        actions = body.get("actions") if isinstance(body.get("actions"), list) else []
        first = actions[0] if actions and isinstance(actions[0], Mapping) else {}
        surface, kind = "action", first.get("action_id")
    elif body.get("type") in ("view_submission", "view_closed"):
        view = body.get("view") if isinstance(body.get("view"), Mapping) else {}
        surface, kind = "view", f"{body.get('type')}:{view.get('callback_id')}"
    elif body.get("type") in ("shortcut", "message_action"):
        surface, kind = "shortcut", body.get("callback_id")
    elif body.get("type") == "block_suggestion":
        surface, kind = "options", body.get("action_id")
    else:
        surface, kind = "other", body.get("type")
    team = body.get("team_id") or body.get("team")
    if isinstance(team, Mapping):
        team = team.get("id")
    return {
        "surface": surface,
        "kind": str(kind)[:80] if kind is not None else None,
        "event_id": str(event_id)[:40] if event_id else None,
        "team": str(team)[:20] if team else None,
    }
