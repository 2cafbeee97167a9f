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
from knowledge.model import KINDS

EVIDENCE = ("signature", "context", "report")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    priority: int
    evidence: str
    match: tuple[re.Pattern[str], ...] = ()
    also: tuple[re.Pattern[str], ...] = ()
    unless: tuple[re.Pattern[str], ...] = ()
    status_in: tuple[int, ...] = ()
    alternatives: tuple[str, ...] = ()
    status: int | None = None
    requires: tuple[str, ...] = ()
    requires_mode: str | None = None

    def fires(self, text: str, status: int | None) -> bool:
        if self.status_in and status not in self.status_in:
            return False
        if self.match and not any(p.search(text) for p in self.match):
            return False
        if not all(p.search(text) for p in self.also):
            return False
        return not any(p.search(text) for p in self.unless)


@dataclass(frozen=True)
class Signals:
    gate: re.Pattern[str]
    hubspot: tuple[re.Pattern[str], ...]
    foreign: tuple[re.Pattern[str], ...]
    report_cues: tuple[re.Pattern[str], ...]
    changelog_cues: tuple[re.Pattern[str], ...]
    error_evidence: re.Pattern[str]
    #: who made the call (private app, personal access key, …), in the order they are checked
    identities: tuple[tuple[str, tuple[re.Pattern[str], ...]], ...]


def _compile(patterns: list[str] | tuple[str, ...], flags: int = re.IGNORECASE) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, flags) for p in patterns)


def _rule(entry: dict) -> Rule:
    kind = entry["kind"]
    if kind not in KINDS:
        raise ValueError(f"rule {entry.get('id')}: unknown kind {kind!r}")
    if entry.get("evidence", "signature") not in EVIDENCE:
        raise ValueError(f"rule {entry.get('id')}: evidence must be one of {EVIDENCE}")
    if not entry.get("match") and not entry.get("status_in"):
        raise ValueError(f"rule {entry.get('id')}: needs `match` or `status_in`")
    return Rule(
        id=entry["id"],
        kind=kind,
        priority=int(entry["priority"]),
        evidence=entry.get("evidence", "signature"),
        match=_compile(entry.get("match", ())),
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


@cache
def signals() -> Signals:
    data = load_toml("catalog/signals.toml")
    multiline = re.IGNORECASE | re.MULTILINE
    return Signals(
        gate=re.compile(data["gate"], re.IGNORECASE),
        hubspot=_compile(data["hubspot"]),
        foreign=_compile(data["foreign"]),
        report_cues=_compile(data["report_cues"]),
        changelog_cues=_compile(data["changelog_cues"], multiline),
        error_evidence=re.compile(data["error_evidence"], re.IGNORECASE),
        identities=tuple((name, _compile(patterns)) for name, patterns in data["identities"].items()),
    )


@dataclass(frozen=True)
class Evidence:
    """What the text shows besides rule matches; computed lazily because most texts need none."""

    hubspot: bool
    foreign: bool
    reported: bool
    changelog: bool
    error: bool


def weigh(text: str, lines: str) -> Evidence:
    s = signals()
    return Evidence(
        hubspot=any(p.search(text) for p in s.hubspot),
        foreign=any(p.search(text) for p in s.foreign),
        reported=any(p.search(text) for p in s.report_cues),
        changelog=any(p.search(lines) for p in s.changelog_cues),
        error=bool(s.error_evidence.search(text)),
    )


def admitted(rule: Rule, evidence: Evidence) -> bool:
    """Whether a rule that matched counts, given how much the text shows it is a HubSpot error."""
    if rule.evidence == "signature":
        return True
    if rule.evidence == "context":
        return evidence.hubspot and not evidence.foreign and evidence.error and not evidence.changelog
    return evidence.reported and not evidence.changelog and not evidence.foreign
