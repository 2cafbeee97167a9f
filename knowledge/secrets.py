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


@cache
def secret_patterns() -> tuple[SecretPattern, ...]:
    entries = load_toml("catalog/secrets.toml")["secret"]
    return tuple(SecretPattern(e["kind"], FastPattern(e["pattern"], 0), e["rotate"]) for e in entries)


# One cheap gate on the lower-cased text: if none of these is present, no pattern can match.
_GATE = re.compile(r"pat-|token|hapikey|bearer|xox|xapp-|secret|key")


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
    for pattern in secret_patterns():
        if pattern.kind not in found and pattern.regex.search(text, low):
            found.append(pattern.kind)
    return tuple(found)


def rotation_advice(kinds: tuple[str, ...]) -> tuple[str, ...]:
    by_kind = {p.kind: p.rotate for p in secret_patterns()}
    return tuple(by_kind[k] for k in kinds if k in by_kind)


def _mask(kind: str):
    def replace(match: re.Match[str]) -> str:
        start, end = match.span("value") if "value" in match.re.groupindex else match.span()
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
