"""Finding and masking credentials in pasted text.

People paste whole curl commands and log lines; hsperm must notice the token, tell them to rotate
it, and never print it back. Patterns live in catalog/secrets.toml.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from knowledge.data import load_toml, once
from knowledge.linre import Match, Pattern, Text, compile_all, next_char


@dataclass(frozen=True)
class SecretPattern:
    kind: str
    regex: Pattern
    rotate: str
    #: a match whose value starts with one of these is not this kind (RE2 has no lookahead)
    value_unless: tuple[Pattern, ...] = ()

    def finditer(self, text: Text) -> Iterator[Match]:
        """Matches as Python's `re` would find them with `(?!unless)` before the value: a match
        refused is retried one character further on, as a backtracking search would."""
        named = "value" in self.regex.groupindex
        pos = 0
        while pos <= len(text.data):
            match = self.regex.search(text, pos)
            if match is None:
                return
            start, end = match.byte_span()
            value = match.byte_span("value")[0] if named else start
            if any(p.match(text, value) for p in self.value_unless):
                pos = next_char(text.data, start)
                continue
            yield match
            pos = end if end > start else next_char(text.data, end)


@once
def secret_patterns() -> tuple[SecretPattern, ...]:
    entries = load_toml("catalog/secrets.toml")["secret"]
    return tuple(
        SecretPattern(
            e["kind"],
            Pattern(e["pattern"], ignore_case=False, where=f"secret {e['kind']}"),
            e["rotate"],
            # the value's own flags, as a lookahead inside the pattern would have had
            compile_all(
                e.get("value_unless", ()),
                ignore_case=e["pattern"].startswith("(?i)"),
                where=f"secret {e['kind']} value_unless",
                prefilter=False,
            ),
        )
        for e in entries
    )


#: One cheap gate: if none of these is present, no pattern can match (the last branch is a bare
#: OAuth access token: a long base64url run starting with C).
_GATE = Pattern(
    r"pat-|token|hapikey|bearer|xox|xapp-|secret|key|\bc[a-z0-9][a-z0-9_-]{78}", where="secrets gate", prefilter=False
)


def find_secrets(text: str | Text) -> tuple[str, ...]:
    """Kinds of secrets in `text`, in catalogue order, each once. Never the values."""
    text = text if isinstance(text, Text) else Text(text, prefilter=False)
    patterns = secret_patterns()  # first: loading them adds them to the shared Set
    if text.prefilter:  # the shared Set already knows which patterns can match
        hits = text.hits()
        possible = [p for p in patterns if p.regex.index is None or p.regex.index in hits]
    elif text.data and _GATE.search(text) is not None:
        possible = list(patterns)
    else:
        return ()
    # several patterns can share a kind: each kind once
    return tuple(dict.fromkeys(p.kind for p in possible if next(p.finditer(text), None) is not None))


def rotation_advice(kinds: tuple[str, ...]) -> tuple[str, ...]:
    by_kind = {p.kind: p.rotate for p in secret_patterns()}
    return tuple(by_kind[k] for k in kinds if k in by_kind)


def redact(text: str) -> str:
    """`text` with every secret value replaced by `[REDACTED <kind>]`."""
    if not text or _GATE.search(text) is None:
        return text
    for pattern in secret_patterns():
        encoded = Text(text, prefilter=False)
        pieces: list[bytes] = []
        done = 0
        for match in pattern.finditer(encoded):
            start, end = match.byte_span("value") if "value" in pattern.regex.groupindex else match.byte_span()
            pieces += [encoded.data[done:start], f"[REDACTED {pattern.kind}]".encode()]
            done = end
        if pieces:
            text = b"".join([*pieces, encoded.data[done:]]).decode("utf-8")
    return text
