"""Loading the TOML rules and deciding which of them fire on a text.

A rule is data (see rules/README.md); this module only compiles it and applies the three kinds of
evidence: a HubSpot `signature` fires alone, `context` needs the text to show HubSpot and no other
product, `report` needs someone reporting the error rather than describing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from knowledge.data import load_toml, load_toml_dir
from knowledge.linre import Pattern, Text, compile_all
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

    @property
    def _match_indices(self) -> frozenset[int] | None:
        """Indices in the shared Set of the `match` patterns; None when one is not in the Set."""
        indices = [p.set_index for p in self.match]
        return None if not indices or None in indices else frozenset(indices)  # type: ignore[arg-type]

    def fires(self, text: Text, status: int | None) -> bool:
        return self.where(text, status) is not None

    def where(self, text: Text, status: int | None) -> int | None:
        """Byte offset of the text this rule matched (0 for a status-only rule), or None."""
        if self.status_in and status not in self.status_in:
            return None
        position = 0
        indices = _MATCH_INDICES.get(self.id)
        if indices is not None and indices.isdisjoint(text.hits()):
            return None  # one set operation instead of a search per pattern
        if self.match:
            for pattern in self.match:
                found = pattern.search(text)
                if found:
                    position = found.byte_span()[0]
                    break
            else:
                return None
        if not all(p.search(text) for p in self.also):
            return None
        if any(p.search(text) for p in self.unless):
            return None
        return position


@dataclass(frozen=True)
class Signals:
    #: no match means no rule can fire
    gate: Pattern
    hubspot: tuple[Pattern, ...]
    foreign: tuple[Pattern, ...]
    report_cues: tuple[Pattern, ...]
    #: multi-line: read on the normalised text with its line breaks
    changelog_cues: tuple[Pattern, ...]
    error_evidence: Pattern
    #: multi-line: source code lines, program output, discussion of an error (see signals.toml)
    code_lines: Pattern
    output_cues: Pattern
    discussion: tuple[Pattern, ...]
    person_reports: tuple[Pattern, ...]
    #: who made the call (private app, personal access key, …), in the order they are checked
    identities: tuple[tuple[str, tuple[Pattern, ...]], ...]
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


#: rule id -> the shared-Set indices of its `match` patterns (filled when the rules load)
_MATCH_INDICES: dict[str, frozenset[int] | None] = {}


@cache
def rules() -> tuple[Rule, ...]:
    """Every rule, highest priority first."""
    loaded = [_rule(entry) for document in load_toml_dir("rules") for entry in document.get("rule", ())]
    ids = [r.id for r in loaded]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    _MATCH_INDICES.update((r.id, r._match_indices) for r in loaded)
    return tuple(sorted(loaded, key=lambda r: -r.priority))


@cache
def signals() -> Signals:
    data = load_toml("catalog/signals.toml")
    where = "catalog/signals.toml"
    gate = "|".join(_escape(phrase) for phrase in data["gate"])
    return Signals(
        gate=Pattern(gate, where=f"{where} gate", prefilter=False),
        hubspot=compile_all(data["hubspot"], where=f"{where} hubspot"),
        foreign=compile_all(data["foreign"], where=f"{where} foreign"),
        report_cues=compile_all(data["report_cues"], where=f"{where} report_cues"),
        changelog_cues=compile_all(data["changelog_cues"], multiline=True, where=f"{where} changelog_cues"),
        error_evidence=Pattern(data["error_evidence"], where=f"{where} error_evidence"),
        code_lines=Pattern(data["code_lines"], multiline=True, where=f"{where} code_lines"),
        output_cues=Pattern(data["output_cues"], multiline=True, where=f"{where} output_cues"),
        discussion=compile_all(data["discussion_cues"], multiline=True, where=f"{where} discussion_cues"),
        person_reports=compile_all(data["person_reports"], where=f"{where} person_reports"),
        identities=tuple(
            (name, compile_all(patterns, where=f"{where} identities.{name}"))
            for name, patterns in data["identities"].items()
        ),
        cues=tuple((name, tuple(phrases)) for name, phrases in data["cues"].items()),
    )


def _escape(phrase: str) -> str:
    """A literal phrase as RE2 source."""
    return "".join(f"\\x{{{ord(c):x}}}" if not c.isalnum() else c for c in phrase)


@dataclass(frozen=True)
class Evidence:
    """What the text shows besides rule matches; computed lazily because most texts need none."""

    hubspot: bool
    foreign: bool
    reported: bool
    changelog: bool
    error: bool
    #: code, a diff or prose quoting an error, and nobody saying they got it
    about: bool = False


def weigh(text: Text, lines: Text) -> Evidence:
    """`text` is the flattened paste, `lines` the normalised one with its line breaks."""
    s = signals()
    return Evidence(
        hubspot=any(p.search(text) for p in s.hubspot),
        foreign=any(p.search(text) for p in s.foreign),
        reported=any(p.search(text) for p in s.report_cues),
        changelog=any(p.search(lines) for p in s.changelog_cues),
        error=s.error_evidence.search(text) is not None,
        about=about_an_error(text, lines),
    )


def about_an_error(text: Text, lines: Text) -> bool:
    """Code, a diff or prose quoting an error, with nobody saying they got it (signals.toml)."""
    s = signals()
    if any(p.search(text) for p in s.person_reports):
        return False
    if any(p.search(lines) for p in s.discussion):
        return True
    code = s.code_lines.search(lines)
    if code is None or s.code_lines.search(lines, code.byte_span()[1]) is None:
        return False
    return s.output_cues.search(lines) is None


def admitted(rule: Rule, evidence: Evidence) -> bool:
    """Whether a rule that matched counts, given how much the text shows it is a HubSpot error."""
    if evidence.about:
        return False
    if rule.evidence == "signature":
        return True
    if rule.evidence == "context":
        return evidence.hubspot and not evidence.foreign and evidence.error and not evidence.changelog
    return evidence.reported and not evidence.changelog and not evidence.foreign
