"""Regexes whose cost is linear in the text, whatever the text: every pattern runs on RE2.

Python's `re` backtracks. A multi-line pattern starting `^\\s*` retries the same run of blank
lines from every line start, so one paste of a few kilobytes of newlines stalled the bot for
seconds. RE2 runs a pattern as an automaton over the bytes, once, and refuses the constructs
(lookaround, backreferences) that cannot be run that way: linear time is a property of the
engine, not of each pattern's author being careful.

Three things keep ~600 patterns fast on one paste:

1. A paste is encoded to UTF-8 once (`Text`); google-re2's own wrapper encodes it again on every
   call. Groups are decoded from the bytes; offsets are bytes until someone asks for characters.
2. Every pattern is also added to one `re2.Set`, which tells in a single pass over the text which
   patterns can match at all; only those are run. Large bounded repetitions (`.{0,600}`) would
   make the Set's automaton explode, so the Set holds them relaxed to `*`: a superset, which the
   pattern itself then confirms. A run of `.` or of a broad class at the top level of a pattern
   is left out altogether: the Set holds the parts around it, which must all match (`_cut`).
3. On a text over LONG_TEXT bytes even that automaton costs too much on first sight (30-130 ms
   for 64 KB of varied text): what is left of a heavy pattern's relaxed runs keeps threads alive
   across the text, and RE2 builds states for every new combination. Such a text is pre-checked
   by a light Set, which holds for each heavy pattern only a literal every match of it contains
   (`literal_hints`; with none, the same pieces as the full Set) and is split in smaller Sets;
   where a hint is found, the pattern relaxed to `*`, run alone (a small automaton), must match;
   only then does the exact pattern run.

Patterns are written in Python's syntax as far as RE2 shares it (see rules/README.md). `\\s` keeps
Python's meaning (Unicode whitespace); `\\b`, `\\w` and `\\d` are ASCII in RE2.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from re2 import _re2

_UNANCHORED = _re2.RE2.Anchor.UNANCHORED
_ANCHOR_START = _re2.RE2.Anchor.ANCHOR_START
_ANCHOR_BOTH = _re2.RE2.Anchor.ANCHOR_BOTH

#: Repetition bounds from this size up are relaxed to `*` in the shared Set (see module docstring).
HEAVY_BOUND = 10


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message names where the pattern came from."""


def _options(max_mem: int = 8 << 20) -> _re2.RE2.Options:
    options = _re2.RE2.Options()
    options.log_errors = False  # errors are raised, with the rule's name, not logged by C++
    options.max_mem = max_mem
    return options


def _ranges(chars: list[int]) -> str:
    out, start = [], None
    for index, code in enumerate(chars):
        if start is None:
            start = code
        if index + 1 == len(chars) or chars[index + 1] != code + 1:
            out.append(f"\\x{{{start:x}}}" if start == code else f"\\x{{{start:x}}}-\\x{{{code:x}}}")
            start = None
    return "".join(out)


#: Python's `\s` (str.isspace()); RE2's own `\s` is only [\t\n\f\r ].
_SPACE_RANGES = _ranges([c for c in range(0x3001) if chr(c).isspace()])


def translate(pattern: str) -> tuple[str, str]:
    """(RE2 source, relaxed source for the shared Set). Only `\\s`/`\\S` and large repetition
    bounds are rewritten; everything else is passed to RE2, which rejects what it cannot run."""
    exact, relaxed, _pieces = _translate(pattern)
    return exact, relaxed


def _translate(pattern: str) -> tuple[str, str, tuple[str, ...]]:
    """`translate`, and the pieces the shared Set holds for the pattern: a pattern can match only
    if every piece does (see `_cut`)."""
    exact: list[str] = []
    relaxed: list[str] = []
    in_class = False
    index = 0
    depth = 0
    #: where in `relaxed` the last whole item at depth 0 starts, whether it is `.` or `[^…]`
    atom, broad = 0, False
    opened: list[int] = []
    alternation = bare_flags = False
    #: (start, end) in `relaxed` of each `.`/`[^…]` repeated without a small bound, at depth 0
    cuts: list[tuple[int, int]] = []
    while index < len(pattern):
        char = pattern[index]
        piece = char
        loose = None
        here = len(relaxed)
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            piece = char + escaped
            if escaped == "s":
                piece = _SPACE_RANGES if in_class else f"[{_SPACE_RANGES}]"
            elif escaped == "S" and not in_class:
                piece = f"[^{_SPACE_RANGES}]"
            elif escaped == "b" and not in_class and _beyond_ascii_word(pattern, index):
                # Python's \b sees é as a letter, RE2's does not: `é\b` would never match.
                raise PatternError(f"\\b next to a letter beyond ASCII in {pattern!r}: RE2's \\b is ASCII-only")
            index += 2
            if not in_class:
                atom, broad = here, False
        elif in_class:
            in_class = char != "]"
            index += 1
        elif char == "[":
            in_class = True
            end = index + 1 + pattern.startswith("^", index + 1)
            end += pattern.startswith("]", end)
            piece = pattern[index:end]
            atom, broad = here, _broad_class(pattern, index)
            index = end
        elif char == "{":
            end = pattern.find("}", index)
            body = pattern[index + 1 : end] if end > 0 else ""
            low, comma, high = body.partition(",")
            if comma and low.isdigit() and (not high or high.isdigit()):
                piece = pattern[index : end + 1]
                if (high and int(high) >= HEAVY_BOUND) or int(low) >= HEAVY_BOUND:
                    loose = "*"
                    if broad and depth == 0:
                        cuts.append((atom, here + 1))
            index += len(piece)
        else:
            index += 1
            if char == "(":
                opened.append(here)
                depth += 1
                flags = pattern[index + 1 : pattern.find(")", index)]
                if pattern.startswith("?", index) and flags.replace("-", "").isalpha():
                    bare_flags = True  # `(?i)`: flags for the rest, which a piece would lose
            elif char == ")" and opened:
                depth -= 1
                atom, broad = opened.pop(), False
            elif char in "*+" and broad and depth == 0:
                cuts.append((atom, here + 1))
            elif char == "?" and cuts and cuts[-1][1] == here:
                cuts[-1] = (cuts[-1][0], here + 1)  # a lazy quantifier's `?`
            elif char == "|" and depth == 0:
                alternation = True
            elif char not in "*+?":
                atom, broad = here, char == "."
        exact.append(piece)
        relaxed.append(piece if loose is None else loose)
    loose_source = "".join(relaxed)
    if not cuts or alternation or bare_flags:
        return "".join(exact), loose_source, (loose_source,)
    return "".join(exact), loose_source, _cut(relaxed, cuts) or (loose_source,)


def _broad_class(pattern: str, index: int) -> bool:
    """Whether the class opening at `index` takes in most of a sentence: `[^…]`, or one with
    spaces or word characters (`[\\w ]`), so that a run of it lasts."""
    end = index + 2
    while end < len(pattern) and pattern[end] != "]":
        end += 2 if pattern[end] == "\\" else 1
    body = pattern[index + 1 : end]
    return body.startswith("^") or " " in body or "\\w" in body or "\\s" in body


def _cut(relaxed: list[str], cuts: list[tuple[int, int]]) -> tuple[str, ...]:
    """The parts of a pattern between its `.`/`[^…]` runs of any length, at depth 0 and with no
    top-level `|`. If the pattern matches, each part matches where it sits in that match, so
    "every part matches" is a superset the Set can check. The runs themselves are left out:
    relaxed to `.*`, a run keeps a thread alive to the end of the text, and the Set's automaton
    then needs a state for every combination of such threads, which made it slow on chat."""
    parts, done = [], 0
    for start, end in cuts:
        parts.append("".join(relaxed[done:start]))
        done = end
    parts.append("".join(relaxed[done:]))
    return tuple(part for part in parts if part)


def _beyond_ascii_word(pattern: str, index: int) -> bool:
    """Whether the `\\b` at `index` touches a word character RE2 does not count as one."""
    return any(not c.isascii() and c.isalnum() for c in pattern[index - 1 : index] + pattern[index + 2 : index + 3])


_SPECIAL = frozenset(".^$*+?{}[]()|\\")
#: escapes that are not one character of the text (`\\x41`, `\\pL`, backreferences): a pattern
#: holding one gets no literal hint rather than a wrong one
_OPAQUE_ESCAPES = frozenset("xuUNpPQEgk0123456789")


def _top_level_branches(pattern: str) -> list[str]:
    """`a|b(c|d)` -> ["a", "b(c|d)"]: the alternatives of the whole pattern."""
    branches, start, index = [], 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
        elif char in "([":
            index = _group_end(pattern, index)
        elif char == "|":
            branches.append(pattern[start:index])
            index = start = index + 1
        else:
            index += 1
    return [*branches, pattern[start:]]


def _skip_quantifier(branch: str, index: int) -> int:
    if branch[index : index + 1] in ("*", "+", "?"):
        index += 1
    elif branch[index : index + 1] == "{" and (close := branch.find("}", index)) > 0:
        index = close + 1
    return index + (branch[index : index + 1] == "?")  # a lazy quantifier's `?`


def _group_end(branch: str, index: int) -> int:
    """Index just past the group or class opening at `index`."""
    depth, in_class = 0, False
    while index < len(branch):
        char = branch[index]
        if char == "\\":
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 2 if branch.startswith("^]", index + 1) else int(branch.startswith("]", index + 1))
            if depth == 0:
                return _class_end(branch, index + 1)
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return index


def _class_end(branch: str, index: int) -> int:
    while index < len(branch) and branch[index] != "]":
        index += 2 if branch[index] == "\\" else 1
    return index + 1


def _required_literal(branch: str) -> str:
    """The longest literal every match of `branch` contains, read outside groups and classes."""
    runs: list[str] = []
    run: list[str] = []
    index = 0
    while index < len(branch):
        char = branch[index]
        if char in "([":
            runs.append("".join(run))
            run = []
            index = _skip_quantifier(branch, _group_end(branch, index))
            continue
        if char == "\\" and index + 1 < len(branch) and not branch[index + 1].isalnum():
            literal, step = branch[index + 1], 2
        elif char == "\\" or char in _SPECIAL:
            runs.append("".join(run))
            run = []
            index = _skip_quantifier(branch, index + (2 if char == "\\" else 1))
            continue
        else:
            literal, step = char, 1
        following = branch[index + step : index + step + 1]
        if following in ("?", "*", "{"):  # optional or repeated: not a fixed part of every match
            runs.append("".join(run))
            run = []
            index = _skip_quantifier(branch, index + step)
            continue
        run.append(literal)
        index += step
        if following == "+":
            runs.append("".join(run))
            run = []
            index += 1
    runs.append("".join(run))
    return max(runs, key=len)


def literal_hints(pattern: str) -> tuple[str, ...]:
    """Literals one of which every match contains (matched case-insensitively, which inline flags
    cannot defeat); empty when there are none of 3+ characters."""
    if pattern.startswith("(?i)"):
        pattern = pattern[4:]
    if any(pattern[i + 1 : i + 2] in _OPAQUE_ESCAPES for i, c in enumerate(pattern) if c == "\\"):
        return ()
    hints = tuple(_required_literal(branch) for branch in _top_level_branches(pattern))
    return hints if all(len(hint) >= 3 for hint in hints) else ()


def _literal(text: str) -> str:
    return "".join(c if c.isalnum() else f"\\x{{{ord(c):x}}}" for c in text)


#: a Set; the pattern each of its entries belongs to; the entries of each pattern in pieces
_Compiled = tuple[_re2.Set, tuple[int, ...], dict[int, frozenset[int]]]
#: How many Sets the light one is split into: each new long text makes RE2 build automaton states,
#: and a state of a smaller Set costs less to build (first sight of 64 KB: about half the time)
LIGHT_SHARDS = 8


class PatternSet:
    """Every pattern, matched at once: which of them can match a text (see module docstring).

    Two RE2 Sets with the same indices: the full one, for a text up to LONG_TEXT bytes, holds each
    pattern's pieces (`_cut`); the light one, for a longer text, holds a heavy pattern's literal
    hints instead, and is split in LIGHT_SHARDS Sets (each pattern in one of them)."""

    def __init__(self) -> None:
        #: per pattern: its pieces (`_cut`), all of which match where the pattern does; and what
        #: the light Set holds for it (the same pieces, or one alternation of literal hints)
        self._sources: list[tuple[tuple[bytes, ...], tuple[bytes, ...]]] = []
        #: per Set, full and light, its shards (one tuple, so a reader never sees parts of two
        #: versions)
        self._sets: list[tuple[_Compiled, ...] | None] = [None, None]
        self._lock = threading.Lock()
        #: bumped on every add, so a Text's cached answer from an older Set is recomputed
        self.version = 0

    def add(self, *pieces: str, light: tuple[str, ...] | None = None) -> int:
        with self._lock:
            full = tuple(piece.encode() for piece in pieces)
            self._sources.append((full, full if light is None else tuple(p.encode() for p in light)))
            self._sets = [None, None]
            self.version += 1
            return len(self._sources) - 1

    def _compiled(self, which: int) -> tuple[_Compiled, ...]:
        with self._lock:
            if self._sets[which] is None:
                shards = LIGHT_SHARDS if which else 1
                self._sets[which] = tuple(self._shard(which, shard, shards) for shard in range(shards))
            return self._sets[which]  # type: ignore[return-value]

    def _shard(self, which: int, shard: int, shards: int) -> _Compiled:
        # A Set never gives up on a slow automaton; the generous memory keeps it from ever
        # running out of room for one state on adversarial text.
        compiled = _re2.Set(_UNANCHORED, _options(64 << 20))
        owners: list[int] = []
        several: dict[int, frozenset[int]] = {}
        for index in range(shard, len(self._sources), shards):
            pieces = self._sources[index][which]
            for piece in pieces:
                if compiled.Add(piece) < 0:
                    raise PatternError(f"RE2 cannot add {piece!r} to the shared set")
            if len(pieces) > 1:
                several[index] = frozenset(range(len(owners), len(owners) + len(pieces)))
            owners += [index] * len(pieces)
        if not compiled.Compile():
            raise PatternError("RE2 cannot compile the shared set of patterns")
        return compiled, tuple(owners), several

    def compile(self) -> None:
        """Build both Sets now, so that no paste pays for it."""
        self._compiled(0)
        self._compiled(1)

    def matches(self, data: bytes) -> frozenset[int]:
        shards = self._compiled(int(len(data) > LONG_TEXT))
        if len(shards) == 1:
            return self._matches(shards[0], data)
        return frozenset().union(*(self._matches(shard, data) for shard in shards))

    @staticmethod
    def _matches(shard: _Compiled, data: bytes) -> frozenset[int]:
        compiled, owners, several = shard
        entries = compiled.Match(data)
        found = frozenset(map(owners.__getitem__, entries))
        if several.keys().isdisjoint(found):  # iterates the smaller of the two
            return found
        matched = frozenset(entries)  # a pattern in pieces counts only if all of them matched
        return frozenset(index for index in found if index not in several or several[index] <= matched)

    def __len__(self) -> int:
        return len(self._sources)


#: Texts longer than this (bytes) are pre-checked by the light Set (see module docstring).
LONG_TEXT = 4 * 1024
SHARED = PatternSet()


class Text:
    """A text encoded once for every pattern run on it. Lone surrogates become `?`.

    `prefilter`: whether patterns consult the shared Set first. Worth it on a text most patterns
    are tried on (the flattened paste); not on one that only a few patterns read."""

    __slots__ = ("_hits", "_version", "ascii", "data", "prefilter", "text")

    def __init__(self, text: str, prefilter: bool = True) -> None:
        self.text = text
        self.data = text.encode("utf-8", "replace")
        self.ascii = len(self.data) == len(text)
        self.prefilter = prefilter
        self._hits: frozenset[int] = frozenset()
        self._version = -1

    def hits(self) -> frozenset[int]:
        """Indices, in SHARED, of the patterns that can match this text."""
        if self._version != SHARED.version:
            self._version = SHARED.version
            self._hits = SHARED.matches(self.data)
        return self._hits

    def prefiltered(self) -> Text:
        """The same text, pre-checked by the shared Set, without encoding it again."""
        other = Text.__new__(Text)
        other.text, other.data, other.ascii = self.text, self.data, self.ascii
        other.prefilter, other._hits, other._version = True, frozenset(), -1
        return other

    def chars(self, byte_offset: int) -> int:
        """The character offset of a byte offset."""
        if self.ascii or byte_offset <= 0:
            return byte_offset
        return len(self.data[:byte_offset].decode("utf-8"))

    def __len__(self) -> int:
        return len(self.data)


def as_text(text: str | Text) -> Text:
    return text if isinstance(text, Text) else Text(text)


class Match:
    """One match: groups are decoded from the bytes; offsets are characters of the text."""

    __slots__ = ("_spans", "_text", "pattern")

    def __init__(self, pattern: Pattern, text: Text, spans: list[tuple[int, int]]) -> None:
        self.pattern, self._text, self._spans = pattern, text, spans

    def _index(self, group: int | str) -> int:
        return group if isinstance(group, int) else self.pattern.groupindex[group]

    def group(self, group: int | str = 0) -> str | None:
        start, end = self._spans[self._index(group)]
        return None if start < 0 else self._text.data[start:end].decode("utf-8")

    def byte_span(self, group: int | str = 0) -> tuple[int, int]:
        return self._spans[self._index(group)]

    def start(self, group: int | str = 0) -> int:
        return self._text.chars(self._spans[self._index(group)][0])

    def end(self, group: int | str = 0) -> int:
        return self._text.chars(self._spans[self._index(group)][1])


class Pattern:
    """One RE2 pattern, pre-checked by the shared Set unless `prefilter` is False (a pattern run
    alone on a text, where computing the Set would cost more than it saves). Case-insensitive
    unless told otherwise."""

    __slots__ = ("_loose", "_regex", "groupindex", "heavy", "index", "pattern", "source")

    def __init__(
        self, pattern: str, ignore_case: bool = True, multiline: bool = False, where: str = "", prefilter: bool = True
    ) -> None:
        self.pattern = pattern
        flags = ("i" if ignore_case else "") + ("m" if multiline else "")
        name = f"{where}: " if where else ""
        try:
            exact, relaxed, pieces = _translate(pattern)
        except PatternError as error:
            raise PatternError(f"{name}{error}") from None
        prefix = f"(?{flags})" if flags else ""
        self.source = prefix + exact
        self._regex = _re2.RE2(self.source.encode(), _options())
        if not self._regex.ok():
            raise PatternError(f"{name}RE2 cannot compile {pattern!r}: {self._regex.error().decode()}")
        #: whether the Set's answer is only a superset (relaxed bounds, or pieces)
        self.heavy = relaxed != exact or len(pieces) > 1
        #: a pattern with relaxed bounds, relaxed, run alone before the exact one on a long text
        self._loose = _re2.RE2((prefix + relaxed).encode(), _options()) if relaxed != exact else None
        hints = literal_hints(pattern) if self._loose is not None else ()
        #: what the light Set holds: a literal hint, or (none found) the same pieces as the full one
        light = ("(?i)" + "|".join(map(_literal, hints)),) if hints else None
        #: this pattern's place in SHARED (None: not pre-checked)
        self.index = SHARED.add(*(prefix + piece for piece in pieces), light=light) if prefilter else None
        self.groupindex = {name.decode(): index for name, index in self._regex.NamedCapturingGroups()}

    def _spans(self, text: Text, pos: int = 0, anchor=_UNANCHORED) -> list[tuple[int, int]] | None:
        if self.index is not None and text.prefilter and self.index not in text.hits():
            return None
        if self._loose is not None and len(text.data) > LONG_TEXT and self._missed(text, pos):
            return None
        spans = self._regex.Match(anchor, text.data, pos, len(text.data))
        return None if spans[0][0] < 0 else spans

    def search(self, text: str | Text, pos: int = 0) -> Match | None:
        """The leftmost match at or after byte offset `pos`."""
        # The hottest function in hsperm (dozens of calls a paste): `_spans`, inlined.
        if not isinstance(text, Text):
            text = Text(text)
        if self.index is not None and text.prefilter:
            hits = text._hits if text._version == SHARED.version else text.hits()
            if self.index not in hits:
                return None
        if self._loose is not None and len(text.data) > LONG_TEXT and self._missed(text, pos):
            return None
        spans = self._regex.Match(_UNANCHORED, text.data, pos, len(text.data))
        return None if spans[0][0] < 0 else Match(self, text, spans)

    def _missed(self, text: Text, pos: int) -> bool:
        """Whether the relaxed form, run alone, finds nothing (so the exact one cannot)."""
        return self._loose.Match(_UNANCHORED, text.data, pos, len(text.data))[0][0] < 0  # type: ignore[union-attr]

    def found(self, text: Text) -> bool:
        """Whether the pattern matches anywhere: on a pre-checked text the Set's answer, exact for
        a pattern it holds unrelaxed, so no search runs."""
        if self.index is not None and text.prefilter and not self.heavy:
            return self.index in text.hits()
        return self.search(text) is not None

    def match(self, text: str | Text, pos: int = 0) -> Match | None:
        """A match starting exactly at byte offset `pos`."""
        text = as_text(text)
        spans = self._spans(text, pos, _ANCHOR_START)
        return None if spans is None else Match(self, text, spans)

    def fullmatch(self, text: str | Text) -> Match | None:
        text = as_text(text)
        spans = self._spans(text, 0, _ANCHOR_BOTH)
        return None if spans is None else Match(self, text, spans)

    def finditer(self, text: str | Text) -> Iterator[Match]:
        text = as_text(text)
        pos = 0
        while pos <= len(text.data):
            spans = self._spans(text, pos)
            if spans is None:
                return
            yield Match(self, text, spans)
            pos = spans[0][1] if spans[0][1] > spans[0][0] else next_char(text.data, spans[0][1])

    def sub(self, replace, text: str) -> str:
        """`text` with every match replaced by `replace(match)`."""
        encoded = as_text(text)
        pieces: list[bytes] = []
        done = 0
        for match in self.finditer(encoded):
            start, end = match.byte_span()
            pieces += [encoded.data[done:start], replace(match).encode("utf-8", "replace")]
            done = end
        if not pieces:
            return text
        pieces.append(encoded.data[done:])
        return b"".join(pieces).decode("utf-8")

    def __repr__(self) -> str:
        return f"Pattern({self.pattern!r})"


class AnyOf:
    """Whether any of several patterns matches, as one question: on a pre-checked text, the Set
    answers for the patterns it holds exactly (those without relaxed bounds) in one lookup; on
    another text, one RE2 pass runs all of them as a single alternation."""

    __slots__ = ("_combined", "_exact", "_relaxed", "patterns")

    def __init__(self, patterns: tuple[Pattern, ...]) -> None:
        self.patterns = patterns
        self._exact = frozenset(p.index for p in patterns if p.index is not None and not p.heavy)
        self._relaxed = tuple(p for p in patterns if p.index is None or p.heavy)
        alternation = "|".join(f"(?:{p.source})" for p in patterns) or "[^\\x00-\\x{10ffff}]"
        self._combined = Pattern(alternation, ignore_case=False, prefilter=False)

    def search(self, text: Text) -> bool:
        if not text.prefilter:
            return self._combined.search(text) is not None
        hits = text.hits()
        if not self._exact.isdisjoint(hits):
            return True
        return any(p.search(text) is not None for p in self._relaxed)

    def which(self, text: Text) -> list[Pattern]:
        """The patterns that may match, in order: all of them unless the text is pre-checked."""
        if not text.prefilter:
            return list(self.patterns)
        hits = text.hits()
        return [p for p in self.patterns if p.index is None or p.index in hits]

    def __iter__(self):
        return iter(self.patterns)

    def __len__(self) -> int:
        return len(self.patterns)


def next_char(data: bytes, pos: int) -> int:
    pos += 1
    while pos < len(data) and data[pos] & 0xC0 == 0x80:
        pos += 1
    return pos


def compile_all(
    patterns, ignore_case: bool = True, multiline: bool = False, where: str = "", prefilter: bool = True
) -> tuple[Pattern, ...]:
    return tuple(Pattern(p, ignore_case, multiline, where, prefilter) for p in patterns)
