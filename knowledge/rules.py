"""Loading the TOML rules and deciding which of them fire on a text.

A rule is data (see rules/README.md); this module only compiles it and applies the three kinds of
evidence: a HubSpot `signature` fires alone, `context` needs the text to show HubSpot and no other
product, `report` needs someone reporting the error rather than describing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from knowledge.data import load_toml, load_toml_dir, once
from knowledge.linre import AnyOf, Pattern, Text, compile_all
from knowledge.model import KINDS

EVIDENCE = ("signature", "context", "report")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    priority: int
    evidence: str
    match: tuple[Pattern, ...] = ()
    also: tuple[Pattern, ...] = ()
    unless: tuple[Pattern, ...] = ()
    status_in: tuple[int, ...] = ()
    alternatives: tuple[str, ...] = ()
    status: int | None = None
    requires: tuple[str, ...] = ()
    requires_mode: str | None = None

    def fires(self, text: Text, status: int | None) -> bool:
        if self.status_in and status not in self.status_in:
            return False
        if self.match and not any(p.found(text) for p in self.match):
            return False
        return all(p.found(text) for p in self.also) and not any(p.found(text) for p in self.unless)

    def where(self, text: Text) -> int:
        """Byte offset of the text this rule matched, for a rule that fires (0: status only)."""
        for pattern in self.match:
            found = pattern.search(text)
            if found:
                return found.byte_span()[0]
        return 0


@dataclass(frozen=True)
class Signals:
    #: no match means no rule can fire
    gate: Pattern
    hubspot: AnyOf
    foreign: AnyOf
    report_cues: AnyOf
    #: multi-line: read on the normalised text with its line breaks
    changelog_cues: AnyOf
    error_evidence: Pattern
    #: text about an error rather than an error (see signals.toml): multi-line ones read `lines`
    code_lines: Pattern
    output_cues: Pattern
    discussion: AnyOf
    person_reports: AnyOf
    #: who made the call (private app, personal access key, …), in the order they are checked
    identities: tuple[tuple[str, AnyOf], ...]
    #: name -> lower-case phrases: details that pick checklist items
    cues: tuple[tuple[str, tuple[str, ...]], ...]


def _rule(entry: dict) -> Rule:
    kind = entry["kind"]
    if kind not in KINDS:
        raise ValueError(f"rule {entry.get('id')}: unknown kind {kind!r}")
    if entry.get("evidence", "signature") not in EVIDENCE:
        raise ValueError(f"rule {entry.get('id')}: evidence must be one of {EVIDENCE}")
    if not entry.get("match") and not entry.get("status_in"):
        raise ValueError(f"rule {entry.get('id')}: needs `match` or `status_in`")
    where = f"rule {entry.get('id')}"
    return Rule(
        id=entry["id"],
        kind=kind,
        priority=int(entry["priority"]),
        evidence=entry.get("evidence", "signature"),
        match=compile_all(entry.get("match", ()), where=f"{where} match"),
        also=compile_all(entry.get("also", ()), where=f"{where} also"),
        unless=compile_all(entry.get("unless", ()), where=f"{where} unless"),
        status_in=tuple(entry.get("status_in", ())),
        alternatives=tuple(entry.get("alternatives", ())),
        status=entry.get("status"),
        requires=tuple(entry.get("requires", ())),
        requires_mode=entry.get("requires_mode"),
    )


@once
def rules() -> tuple[Rule, ...]:
    """Every rule, highest priority first."""
    loaded = [_rule(entry) for document in load_toml_dir("rules") for entry in document.get("rule", ())]
    ids = [r.id for r in loaded]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return tuple(sorted(loaded, key=lambda r: -r.priority))


@once
def rules_by_pattern() -> tuple[dict[int, tuple[int, ...]], dict[int, tuple[int, ...]]]:
    """Place in SHARED of each `match` pattern -> ranks (in `rules()`) of the rules it belongs to;
    and HTTP status -> ranks of the status-only rules it may fire (the only ones that can fire
    with no `match` pattern found)."""
    by_pattern: dict[int, list[int]] = {}
    by_status: dict[int, list[int]] = {}
    for rank, rule in enumerate(rules()):
        for pattern in rule.match:
            by_pattern.setdefault(pattern.index, []).append(rank)  # type: ignore[arg-type]
        if not rule.match:
            for code in rule.status_in:
                by_status.setdefault(code, []).append(rank)
    return {i: tuple(r) for i, r in by_pattern.items()}, {c: tuple(r) for c, r in by_status.items()}


def candidates(text: Text, status: int | None) -> Iterator[Rule]:
    """The rules that may fire on `text` (whose HTTP status is `status`), highest priority first:
    those with a `match` pattern the shared Set found, and the status-only ones for `status`
    (`Rule.fires` refuses any other status). Ordinary chat has none, out of hundreds."""
    if not text.prefilter:  # no Set to ask: every rule may fire
        yield from rules()
        return
    by_pattern, by_status = rules_by_pattern()
    found = set(by_status.get(status, ())) if status is not None else set()
    for index in by_pattern.keys() & text.hits():
        found.update(by_pattern[index])
    every = rules()
    for rank in sorted(found):
        yield every[rank]


@once
def signals() -> Signals:
    data = load_toml("catalog/signals.toml")
    where = "catalog/signals.toml"
    gate = "|".join(_escape(phrase) for phrase in data["gate"])
    return Signals(
        gate=Pattern(gate, where=f"{where} gate", prefilter=False),
        hubspot=AnyOf(compile_all(data["hubspot"], where=f"{where} hubspot")),
        foreign=AnyOf(compile_all(data["foreign"], where=f"{where} foreign")),
        report_cues=AnyOf(compile_all(data["report_cues"], where=f"{where} report_cues")),
        changelog_cues=AnyOf(
            compile_all(data["changelog_cues"], multiline=True, where=f"{where} changelog_cues", prefilter=False)
        ),
        error_evidence=Pattern(data["error_evidence"], where=f"{where} error_evidence"),
        code_lines=Pattern(data["code_lines"], multiline=True, where=f"{where} code_lines", prefilter=False),
        output_cues=Pattern(data["output_cues"], multiline=True, where=f"{where} output_cues", prefilter=False),
        discussion=AnyOf(
            compile_all(data["discussion_cues"], multiline=True, where=f"{where} discussion_cues", prefilter=False)
        ),
        person_reports=AnyOf(compile_all(data["person_reports"], where=f"{where} person_reports")),
        identities=tuple(
            (name, AnyOf(compile_all(patterns, where=f"{where} identities.{name}")))
            for name, patterns in data["identities"].items()
        ),
        cues=tuple((name, tuple(phrases)) for name, phrases in data["cues"].items()),
    )


def _escape(phrase: str) -> str:
    """A literal phrase as RE2 source."""
    return "".join(f"\\x{{{ord(c):x}}}" if not c.isalnum() else c for c in phrase)


class Evidence:
    """What the text shows besides rule matches. Each fact is read when first asked for, because
    most texts need none and most rules need two or three."""

    __slots__ = ("_facts", "_lines", "_text")

    def __init__(self, text: Text, lines: str) -> None:
        self._text, self._lines = text, lines
        self._facts: dict[str, bool] = {}

    def _fact(self, name: str) -> bool:
        if name not in self._facts:
            s = signals()
            if name == "changelog":
                self._facts[name] = s.changelog_cues.search(Text(self._lines, prefilter=False))
            elif name == "error":
                self._facts[name] = s.error_evidence.search(self._text) is not None
            elif name == "about":
                self._facts[name] = about_an_error(self._text, self._lines)
            else:
                self._facts[name] = getattr(s, name).search(self._text)
        return self._facts[name]

    hubspot = property(lambda self: self._fact("hubspot"))
    foreign = property(lambda self: self._fact("foreign"))
    reported = property(lambda self: self._fact("report_cues"))
    changelog = property(lambda self: self._fact("changelog"))
    error = property(lambda self: self._fact("error"))
    #: code, a diff or prose quoting an error, and nobody saying they got it
    about = property(lambda self: self._fact("about"))


def about_an_error(text: Text, lines: str) -> bool:
    """Code, a diff or prose quoting an error, with nobody saying they got it (signals.toml)."""
    s = signals()
    if s.person_reports.search(text):
        return False
    lined = Text(lines, prefilter=False)
    if s.discussion.search(lined):
        return True
    code = s.code_lines.search(lined)
    if code is None or s.code_lines.search(lined, code.byte_span()[1]) is None:
        return False
    return s.output_cues.search(lined) is None


def weigh(text: Text, lines: str) -> Evidence:
    """`text` is the flattened paste, `lines` the normalised one with its line breaks."""
    return Evidence(text, lines)


def admitted(rule: Rule, evidence: Evidence) -> bool:
    """Whether a rule that matched counts, given how much the text shows it is a HubSpot error."""
    if evidence.about:
        return False
    if rule.evidence == "signature":
        return True
    if rule.evidence == "context":
        return evidence.hubspot and not evidence.foreign and evidence.error and not evidence.changelog
    return evidence.reported and not evidence.changelog and not evidence.foreign
