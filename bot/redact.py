"""Redaction for everything hsperm shows or logs.

Detection patterns live in `knowledge` (the diagnosis reports secret *kinds*); this module adds
the runtime side: a logging filter so no token reaches a log line, and masking of configured
tokens that no pattern would recognise.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from knowledge.secrets import find_secrets, redact

__all__ = ["RedactingFilter", "find_secrets", "install_log_redaction", "redact", "redact_values"]


def redact_values(text: str, values: Iterable[str | None]) -> str:
    """Mask known secret values (our own tokens), then anything that looks like a secret."""
    for value in values:
        if value and len(value) >= 8:
            text = text.replace(value, "[REDACTED]")
    return redact(text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message so that tokens never reach a handler."""

    def __init__(self, known_values: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._known = tuple(v for v in known_values if v)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact_values(message, self._known)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text (e.g. a requests error with a URL) is formatted later; mask it now.
            exc = record.exc_info[1]
            text = redact_values(str(exc), self._known)
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
