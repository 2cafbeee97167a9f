"""Regexes made cheap for hsperm's many patterns over one paste.

Python's `re` scans a case-insensitive pattern that starts with `\\b` character by character;
with ~250 patterns that was most of a diagnosis' time. Two exact tricks fix it:

1. Every pattern first checks, with `in`, one of the literal strings it cannot match without
   (found by walking the parsed pattern) on the lower-cased text. Most patterns stop there.
2. A pattern that does run is searched case-sensitively on the lower-cased text, rewritten to
   lower case and with a leading `\\b` moved behind its literal prefix (`\\bfoo` becomes
   `foo(?<!\\wfoo)`), so `re` can use its fast literal search. Groups are read back from the
   original text at the same offsets.

Both are exact for any text whose lower-casing keeps its length (all but a handful of exotic
code points); for the others the original case-insensitive regex runs on the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from re import _constants as C  # the parser's opcodes, stable since 3.11
from re import _parser

Hints = frozenset[str]

_LEADING_WORD = re.compile(r"\\b(\(\?P<\w+>)?([A-Za-z0-9][A-Za-z0-9 ',:=_-]{2,})")


def _sequence_hints(items) -> Hints | None:
    """The best set of literals one of which every match of this sequence contains."""
    candidates: list[Hints] = []
    run: list[str] = []

    def close_run() -> None:
        if run:
            candidates.append(frozenset(["".join(run)]))
            run.clear()

    for op, av in items:
        if op is C.LITERAL and av < 128:
            run.append(chr(av).lower())
            continue
        close_run()
        found: Hints | None = None
        if op is C.SUBPATTERN:
            found = _sequence_hints(av[-1])
        elif op is C.BRANCH:
            branches = [_sequence_hints(branch) for branch in av[1]]
            if branches and all(branches):
                found = frozenset().union(*branches)  # type: ignore[arg-type]
        elif op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1:
            found = _sequence_hints(av[2])
        if found:
            candidates.append(found)
    close_run()
    if not candidates:
        return None
    # The most selective set: the one whose shortest literal is longest.
    return max(candidates, key=lambda hints: (min(len(h) for h in hints), -len(hints)))


def literal_hints(pattern: str, flags: int = 0) -> Hints:
    """Lower-case literals, one of which any match must contain; empty when there is none."""
    hints = _sequence_hints(_parser.parse(pattern, flags))
    if not hints or min(len(h) for h in hints) < 2:
        return frozenset()
    return hints


def _boundary_moved(pattern: str) -> str:
    """`\\bfoo…` (or `\\b(?P<name>foo…`) as `foo(?<!\\wfoo)…`: same matches, but `re` can search
    for the literal `foo` instead of testing a word boundary at every position."""
    match = _LEADING_WORD.match(pattern)
    if not match:
        return pattern
    group, word = match.group(1) or "", match.group(2)
    if pattern[match.end() : match.end() + 1] in ("?", "*", "+", "{"):
        word = word[:-1]  # the last character is quantified: it is not a fixed literal
    if len(word) < 3 or not word[0].isalnum():
        return pattern
    literal = re.escape(word)
    return group + literal + f"(?<!\\w{literal})" + pattern[2 + len(group) + len(word) :]


def implies_literal(pattern: str, accepts, flags: int = 0) -> bool:
    """Whether every match of `pattern` contains a literal run that `accepts(run)` approves.

    Lets tests prove that a cheap pre-filter (the gate) can never hide a match.
    """

    def sequence(items, prefix: str = "") -> bool:
        # `prefix` is the literal run just before a branch: `re` factors `hubspot|hub spot` into
        # `hub(?:spot| spot)`, so a branch is judged together with the run it continues.
        run: list[str] = list(prefix)
        for op, av in [*items, (None, None)]:
            if op is C.LITERAL:  # any script: the gate reads the lower-cased text, not hints
                run.append(chr(av).lower())
                continue
            if run and accepts("".join(run)):
                return True
            if op is C.BRANCH and all(sequence(branch, "".join(run)) for branch in av[1]):
                return True
            run.clear()
            if op is C.SUBPATTERN and sequence(av[-1]):
                return True
            if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT) and av[0] >= 1 and sequence(av[2]):
                return True
        return False

    if pattern.startswith("(?i)"):
        pattern = pattern[4:]
    return sequence(_parser.parse(pattern, flags))


def _lowered(pattern: str) -> str | None:
    """The pattern for case-sensitive use on lower-cased text, or None if that is not exact.

    Letters are lowered except right after a backslash (`\\S`, `\\W`, `\\D`, `\\B` keep their
    meaning); patterns with inline flag groups or named escapes are left alone.
    """
    if "(?-i" in pattern or "(?i" in pattern or "\\N" in pattern or "\\p" in pattern or "(?P=" in pattern:
        return None
    out: list[str] = []
    escaped = False
    in_name = False
    for index, char in enumerate(pattern):
        if pattern.startswith("(?P<", index):
            in_name = True
        elif in_name and char == ">":
            in_name = False
        out.append(char if escaped or in_name else char.lower())
        escaped = not escaped and char == "\\"
    return _boundary_moved("".join(out))


class _Match:
    """A match found on the lower-cased text, reporting groups of the original text."""

    __slots__ = ("_match", "_text")

    def __init__(self, match: re.Match[str], text: str) -> None:
        self._match, self._text = match, text

    def group(self, index: int = 0) -> str | None:
        start, end = self._match.span(index)
        return None if start < 0 else self._text[start:end]

    def span(self, index: int = 0) -> tuple[int, int]:
        return self._match.span(index)

    def start(self, index: int = 0) -> int:
        return self._match.start(index)

    def end(self, index: int = 0) -> int:
        return self._match.end(index)


class FastPattern:
    """A regex with a literal pre-check and a fast lower-case search path (see module docstring)."""

    __slots__ = ("fast", "hints", "one_hint", "pattern", "regex")

    def __init__(self, pattern: str, flags: int = re.IGNORECASE) -> None:
        self.pattern = pattern
        if pattern.startswith("(?i)"):
            pattern, flags = pattern[4:], flags | re.IGNORECASE
        self.hints = tuple(sorted(literal_hints(pattern, flags), key=len, reverse=True))
        #: the common case of a single hint, checked without a loop
        self.one_hint = self.hints[0] if len(self.hints) == 1 else None
        lowered = _lowered(pattern) if flags & re.IGNORECASE else None
        self.fast = re.compile(lowered, flags & ~re.IGNORECASE) if lowered is not None else None
        #: the original regex (case-sensitive ones with their leading `\b` moved, same matches)
        self.regex = re.compile(pattern if flags & re.IGNORECASE else _boundary_moved(pattern), flags)

    def possible(self, low: str) -> bool:
        for hint in self.hints:
            if hint in low:
                return True
        return not self.hints

    def search(self, text: str, low: str | None = None) -> re.Match[str] | _Match | None:
        if low is None:
            low = text.lower()
        if self.one_hint is not None:
            if self.one_hint not in low:
                return None
        elif self.hints:
            for hint in self.hints:  # `possible`, inlined: the hottest loop in hsperm
                if hint in low:
                    break
            else:
                return None
        if self.fast is not None and len(low) == len(text):
            match = self.fast.search(low)
            return _Match(match, text) if match else None
        return self.regex.search(text)

    def finditer(self, text: str, low: str | None = None) -> Iterator[re.Match[str] | _Match]:
        if low is None:
            low = text.lower()
        if self.one_hint is not None and self.one_hint not in low:
            return iter(())
        if self.hints and not self.possible(low):
            return iter(())
        if self.fast is not None and len(low) == len(text):
            return (_Match(m, text) for m in self.fast.finditer(low))
        return self.regex.finditer(text)

    def __repr__(self) -> str:
        return f"FastPattern({self.pattern!r}, hints={self.hints!r})"
