"""Loading the TOML rules and deciding which of them fire on a text.

A rule is data (see rules/README.md); this module only compiles it and applies the three kinds of
evidence: a HubSpot `signature` fires alone, `context` needs the text to show HubSpot and no other
product, `report` needs someone reporting the error rather than describing it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from knowledge.data import load_toml, load_toml_dir
from knowledge.fastre import FastPattern
from knowledge.model import KINDS

EVIDENCE = ("signature", "context", "report")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    priority: int
    evidence: str
    match: tuple[FastPattern, ...] = ()
    also: tuple[FastPattern, ...] = ()
    unless: tuple[FastPattern, ...] = ()
    status_in: tuple[int, ...] = ()
    alternatives: tuple[str, ...] = ()
    status: int | None = None
    requires: tuple[str, ...] = ()
    requires_mode: str | None = None
    #: literals one of which any text this rule matches contains (None: no such guarantee)
    hints: tuple[str, ...] | None = None

    def possible(self, low: str) -> bool:
        """Cheap pre-check on the case-folded text; False means the rule cannot fire."""
        if self.hints is None:
            return True
        for hint in self.hints:  # noqa: SIM110 - a plain loop: this runs for every rule on every paste
            if hint in low:
                return True
        return False

    def fires(self, text: str, low: str, status: int | None) -> bool:
        """`low` is `text.casefold()`, shared by every pattern's literal pre-check."""
        return self.where(text, low, status) is not None

    def where(self, text: str, low: str, status: int | None) -> int | None:
        """Offset of the text this rule matched (0 for a status-only rule), or None."""
        if self.status_in and status not in self.status_in:
            return None
        position = 0
        if self.match:
            for pattern in self.match:
                found = pattern.search(text, low)
                if found:
                    position = found.start()
                    break
            else:
                return None
        if not all(p.search(text, low) for p in self.also):
            return None
        if any(p.search(text, low) for p in self.unless):
            return None
        return position


@dataclass(frozen=True)
class Signals:
    #: run on the lower-cased text: no match means no rule can fire
    gate: re.Pattern[str]
    hubspot: tuple[FastPattern, ...]
    foreign: tuple[FastPattern, ...]
    report_cues: tuple[FastPattern, ...]
    changelog_cues: tuple[FastPattern, ...]
    error_evidence: re.Pattern[str]
    code_lines: re.Pattern[str]
    output_cues: re.Pattern[str]
    discussion: tuple[FastPattern, ...]
    person_reports: tuple[FastPattern, ...]
    #: who made the call (private app, personal access key, …), in the order they are checked
    identities: tuple[tuple[str, tuple[FastPattern, ...]], ...]
    #: name -> lower-case phrases: details that pick checklist items
    cues: tuple[tuple[str, tuple[str, ...]], ...]


def _compile(patterns: list[str] | tuple[str, ...], flags: int = re.IGNORECASE) -> tuple[FastPattern, ...]:
    return tuple(FastPattern(p, flags) for p in patterns)


def _rule(entry: dict) -> Rule:
    kind = entry["kind"]
    if kind not in KINDS:
        raise ValueError(f"rule {entry.get('id')}: unknown kind {kind!r}")
    if entry.get("evidence", "signature") not in EVIDENCE:
        raise ValueError(f"rule {entry.get('id')}: evidence must be one of {EVIDENCE}")
    if not entry.get("match") and not entry.get("status_in"):
        raise ValueError(f"rule {entry.get('id')}: needs `match` or `status_in`")
    match = _compile(entry.get("match", ()))
    hints: tuple[str, ...] | None = None
    if match and not entry.get("status_in") and all(p.hints for p in match):
        hints = tuple(sorted({h for p in match for h in p.hints}, key=len, reverse=True))
    return Rule(
        hints=hints,
        id=entry["id"],
        kind=kind,
        priority=int(entry["priority"]),
        evidence=entry.get("evidence", "signature"),
        match=match,
        also=_compile(entry.get("also", ())),
        unless=_compile(entry.get("unless", ())),
        status_in=tuple(entry.get("status_in", ())),
        alternatives=tuple(entry.get("alternatives", ())),
        status=entry.get("status"),
        requires=tuple(entry.get("requires", ())),
        requires_mode=entry.get("requires_mode"),
    )


@cache
def rules() -> tuple[Rule, ...]:
    """Every rule, highest priority first."""
    loaded = [_rule(entry) for document in load_toml_dir("rules") for entry in document.get("rule", ())]
    ids = [r.id for r in loaded]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"duplicate rule ids: {sorted(duplicates)}")
    return tuple(sorted(loaded, key=lambda r: -r.priority))


def trie_pattern(phrases: list[str] | tuple[str, ...]) -> str:
    """One regex for many literal phrases, shaped as a trie so `re` tries each prefix once."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:
        if "" in node and len(node) == 1:
            return ""
        branches = [re.escape(char) + build(child) for char, child in sorted(node.items()) if char]
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return build(trie)


@cache
def signals() -> Signals:
    data = load_toml("catalog/signals.toml")
    multiline = re.IGNORECASE | re.MULTILINE
    return Signals(
        gate=re.compile(trie_pattern(data["gate"])),
        hubspot=_compile(data["hubspot"]),
        foreign=_compile(data["foreign"]),
        report_cues=_compile(data["report_cues"]),
        changelog_cues=_compile(data["changelog_cues"], multiline),
        error_evidence=re.compile(data["error_evidence"], re.IGNORECASE),
        code_lines=re.compile(data["code_lines"], multiline),
        output_cues=re.compile(data["output_cues"], multiline),
        discussion=_compile(data["discussion_cues"], multiline),
        person_reports=_compile(data["person_reports"]),
        identities=tuple((name, _compile(patterns)) for name, patterns in data["identities"].items()),
        cues=tuple((name, tuple(phrases)) for name, phrases in data["cues"].items()),
    )


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


def weigh(text: str, low: str, lines: str) -> Evidence:
    s = signals()
    return Evidence(
        hubspot=any(p.search(text, low) for p in s.hubspot),
        foreign=any(p.search(text, low) for p in s.foreign),
        reported=any(p.search(text, low) for p in s.report_cues),
        changelog=any(p.search(lines) for p in s.changelog_cues),
        error=bool(s.error_evidence.search(text)),
        about=_about_an_error(text, low, lines),
    )


def _about_an_error(text: str, low: str, lines: str) -> bool:
    s = signals()
    if any(p.search(text, low) for p in s.person_reports):
        return False
    if any(p.search(lines) for p in s.discussion):
        return True
    code = s.code_lines.search(lines)
    return bool(code and s.code_lines.search(lines, code.end()) and not s.output_cues.search(lines))


def admitted(rule: Rule, evidence: Evidence) -> bool:
    """Whether a rule that matched counts, given how much the text shows it is a HubSpot error."""
    if evidence.about:
        return False
    if rule.evidence == "signature":
        return True
    if rule.evidence == "context":
        return evidence.hubspot and not evidence.foreign and evidence.error and not evidence.changelog
    return evidence.reported and not evidence.changelog and not evidence.foreign
