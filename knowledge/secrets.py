"""Finding and masking credentials in pasted text.

People paste whole curl commands and log lines; hsperm must notice the token, tell them to rotate
it, and never print it back. Patterns live in catalog/secrets.toml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge.data import load_toml
from knowledge.fastre import FastPattern


@dataclass(frozen=True)
class SecretPattern:
    kind: str
    regex: FastPattern
    rotate: str
    #: a catch-all: counts only for values no specific pattern recognised
    generic: bool = False


@cache
def secret_patterns() -> tuple[SecretPattern, ...]:
    """Specific patterns first, then the catch-alls, so masking names the precise kind."""
    entries = load_toml("catalog/secrets.toml")["secret"]
    patterns = [SecretPattern(e["kind"], FastPattern(e["pattern"], 0), e["rotate"], e.get("generic", False))
                for e in entries]
    return tuple(sorted(patterns, key=lambda p: p.generic))


def _value_span(match) -> tuple[int, int]:
    try:
        return match.span("value")
    except IndexError:  # a pattern without a "value" group masks its whole match
        return match.span()


# One cheap gate on the lower-cased text: if none of these is present, no pattern can match
# (the last branch is the bare OAuth access token: a long base64url run starting with C).
_GATE = re.compile(r"pat-|token|hapikey|bearer|xox|xapp-|secret|key|\bc[a-z0-9][a-z0-9_-]{78}")


def find_secrets(text: str, low: str | None = None) -> tuple[str, ...]:
    """Kinds of secrets in `text`, in catalogue order, each once. Never the values.

    `low` is `text.lower()` when the caller already has it.
    """
    if not text:
        return ()
    low = text.lower() if low is None else low
    if not _GATE.search(low):
        return ()
    found: list[str] = []
    specific: list[tuple[int, int]] = []
    for pattern in secret_patterns():
        if not pattern.generic:
            spans = [_value_span(m) for m in pattern.regex.finditer(text, low)]
            specific.extend(spans)
            if spans and pattern.kind not in found:
                found.append(pattern.kind)
            continue
        if pattern.kind in found:
            continue
        for match in pattern.regex.finditer(text, low):
            start, end = _value_span(match)
            if not any((s <= start and end <= e) or (start <= s and e <= end) for s, e in specific):
                found.append(pattern.kind)
                break
    order = _catalogue_order()
    return tuple(sorted(found, key=order.index))


@cache
def _catalogue_order() -> list[str]:
    return list(dict.fromkeys(e["kind"] for e in load_toml("catalog/secrets.toml")["secret"]))


def rotation_advice(kinds: tuple[str, ...]) -> tuple[str, ...]:
    by_kind = {p.kind: p.rotate for p in secret_patterns()}
    return tuple(by_kind[k] for k in kinds if k in by_kind)


def _mask(kind: str):
    def replace(match: re.Match[str]) -> str:
        start, end = _value_span(match)
        whole = match.group(0)
        offset = match.start()
        return whole[: start - offset] + f"[REDACTED {kind}]" + whole[end - offset :]

    return replace


def redact(text: str) -> str:
    """`text` with every secret value replaced by `[REDACTED <kind>]`."""
    if not text or not _GATE.search(text.lower()):
        return text
    for pattern in secret_patterns():
        text = pattern.regex.regex.sub(_mask(pattern.kind), text)
    return text
