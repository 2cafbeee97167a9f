"""Redaction for everything hsperm shows or logs.

Detection patterns live in `knowledge` (the diagnosis reports secret *kinds*); this module adds
the runtime side: a logging filter so no token reaches a log line, and masking of configured
tokens that no pattern would recognise.

Secrets also travel encoded: a form post carries `Bearer+pat-…` or `hapikey%3D…`, a JSON log
field carries `\\u0070at-…` or `Bearer abc\\/def`. The patterns see literal text only, so every
text is also read through those decodings; when a decoded reading shows a secret, the decoded
reading is what comes out, masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import unquote, unquote_plus

from knowledge.secrets import find_secrets
from knowledge.secrets import redact as redact_patterns

__all__ = [
    "RedactingFilter",
    "find_secrets",
    "install_log_redaction",
    "redact",
    "redact_tree",
    "redact_values",
    "remember_secrets",
]


_JSON_ESCAPE = re.compile(r'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_JSON_SIMPLE = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
#: Encodings nest (a JSON string holding a URL-encoded header); this many rounds unwrap what real
#: logs and pastes hold without letting a crafted text keep the loop busy.
_MAX_ROUNDS = 4


def _json_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        return chr(int(match.group(1), 16)) if match.group(1) else _JSON_SIMPLE[match.group(2)]

    return _JSON_ESCAPE.sub(one, text) if "\\" in text else text


def _plain_decoded(text: str) -> str:
    """JSON escapes and %XX decoded, repeatedly. No secret pattern allows `\\` or `%` in a value,
    so this reading never breaks up a secret that was literal."""
    for _ in range(_MAX_ROUNDS):
        decoded = unquote(_json_unescape(text)) if ("%" in text or "\\" in text) else text
        if decoded == text:
            break
        text = decoded
    return text


def _readings(text: str) -> Iterator[str]:
    """The text as written (escapes decoded), then with form-encoding's `+` read as a space."""
    plain = _plain_decoded(text)
    yield plain
    if "+" in text:
        yield unquote_plus(_json_unescape(text))


def _mask_known(text: str, values: tuple[str, ...]) -> str:
    for value in values:
        text = text.replace(value, "[REDACTED]")
    return text


def redact_values(text: str, values: Iterable[str | None]) -> str:
    """Mask known secret values (our own tokens) and anything that looks like a secret, also when
    URL-encoded, JSON-escaped or `\\u`-escaped. Text without a secret comes back unchanged."""
    known = tuple(v for v in values if v and len(v) >= 8)
    if not text:
        return text
    out = redact_patterns(_mask_known(text, known))
    for _ in range(_MAX_ROUNDS):
        for reading in _readings(out):
            cleaned = redact_patterns(_mask_known(reading, known))
            if cleaned != out and cleaned != reading:
                out = cleaned
                break
        else:
            return out
    return out


#: This process's own secrets (its configured tokens), masked by `redact` wherever they appear;
#: set once at wiring time by `remember_secrets`.
_own_secrets: tuple[str, ...] = ()


def remember_secrets(values: Iterable[str | None]) -> None:
    """Make `redact` mask these values too (hsperm's settings: a paste may contain them)."""
    global _own_secrets
    _own_secrets = tuple(sorted({v for v in values if v and len(v) >= 8}, key=len, reverse=True))


def redact(text: str) -> str:
    """`text` with hsperm's own secrets and every secret the patterns recognise masked, in every
    reading (see above)."""
    return redact_values(text, _own_secrets)


def redact_tree(value: Any) -> Any:
    """Every string inside dicts, lists and tuples redacted: the last guard on what leaves hsperm
    (Slack messages, stored diagnoses), whatever path a value took to get there."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_tree(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_tree(item) for item in value)
    return value


class RedactingFilter(logging.Filter):
    """Rewrites each record's message so that tokens never reach a handler."""

    def __init__(self, known_values: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._known = tuple(v for v in known_values if v)

    def clean(self, text: str) -> str:
        return redact_values(text, self._known)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.clean(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text (e.g. a requests error with a URL) is formatted later; mask it now.
            exc = record.exc_info[1]
            text = self.clean(str(exc))
            if text != str(exc):
                record.exc_text = f"{type(exc).__name__}: {text}"
                record.exc_info = None
        return True


def install_log_redaction(known_values: Iterable[str | None] = ()) -> RedactingFilter:
    """Attach one redacting filter to every handler of the root logger."""
    flt = RedactingFilter(known_values)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(flt)
    return flt
