"""`diagnose(text)`: the one entry point every hsperm surface calls.

Order of work, cheapest first: one gate scan rejects ordinary chat; then the paste is normalised,
its HTTP status read, and the rules tried from the highest priority down until one fires; only
then are the fields extracted and the checklist rendered.
"""

from __future__ import annotations

from typing import NamedTuple

import knowledge.extract as extract
from knowledge.catalog import objects
from knowledge.checklist import render
from knowledge.data import once
from knowledge.linre import SHARED, Text
from knowledge.model import Diagnosis
from knowledge.normalize import flatten, normalize
from knowledge.rules import Rule, admitted, candidates, rules, rules_by_pattern, signals, weigh
from knowledge.secrets import find_secrets, secret_patterns

#: Only the first 64 KB of a paste is read: HubSpot error bodies are far smaller, and the cap
#: bounds the time any input can take.
MAX_INPUT_CHARS = 64 * 1024
#: Fields of a long paste are read within this many characters of where the deciding rule matched.
EXTRACT_WINDOW = 4 * 1024


def prepare() -> None:
    """Compile every rule, catalogue pattern and the shared Sets now (once per process).

    Built lazily they cost the first pastes a few hundred milliseconds each, on whichever threads
    meet them first; a server calls this as it starts, before it takes any request.
    """
    rules()
    rules_by_pattern()
    signals()
    secret_patterns()
    objects()
    _places()
    SHARED.compile()


def diagnose(text: str) -> Diagnosis:
    """Classify pasted text and build the checklist. Never raises on any string input."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    raw = Text(text[:MAX_INPUT_CHARS], prefilter=False)
    gated = _gate(raw)
    if gated is None:
        return _not_hubspot(raw)
    lines, flat = gated
    status = extract.status(flat) if _may_match(flat, _places().status) else None
    found = _first_rule(flat, lines, status)
    # Secrets are looked for on the one-line text: whitespace runs are all a secret pattern's
    # `\s*`/`\s+` can meet, so it finds the same kinds there as on the lines, in one Set pass.
    if found is None:
        return _not_hubspot(flat)
    rule, position = found
    whole = flat
    if len(flat.data) > 2 * EXTRACT_WINDOW:
        # A long paste is mostly log noise; the fields belong to the error the rule matched.
        position = flat.chars(position)
        flat = Text(flat.text[max(0, position - EXTRACT_WINDOW) : position + EXTRACT_WINDOW])
    return _diagnosis(rule, flat, whole, status)


#: Characters normalising may remove or rewrite, besides single spaces: Python's whitespace,
#: entities, escapes, Slack markup, code fences. Anything beyond ASCII may be a smart quote.
_MAY_NORMALISE = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f&\\<`"


def _gate(raw: Text) -> tuple[str, Text] | None:
    """(normalised text, its one-line form) when any rule could match, else None. Rules read the
    normalised text, so when normalising could change the words (line breaks, escapes,
    entities, smart quotes), the gate reads that too."""
    gate = signals().gate
    passed = gate.search(raw) is not None
    plain = raw.ascii and "  " not in raw.text and " " in raw.text
    plain = plain and not any(char in raw.text for char in _MAY_NORMALISE)
    if not passed and plain:
        return None
    if plain:  # normalising changes nothing, and flattening only drops spaces at the ends
        lines = raw.text
        flat = Text(lines.strip(" ")) if lines[0] == " " or lines[-1] == " " else raw.prefiltered()
    else:
        lines = normalize(raw.text)
        flat = Text(flatten(lines))
    if passed or gate.search(flat) is not None:
        return lines, flat
    return None


def passes_gate(text: str) -> bool:
    """Whether any rule could match `text`: False means it is not_hubspot at the cost of a scan."""
    return _gate(Text(text, prefilter=False)) is not None


def explain(text: str) -> list[str]:
    """Ids of every rule that matches (admitted or not), for debugging rules: not used at run time."""
    lines = normalize(text[:MAX_INPUT_CHARS])
    flat = Text(flatten(lines))
    status = extract.status(flat)
    evidence = weigh(flat, lines)
    return [f"{r.id}{'' if admitted(r, evidence) else ' (not admitted)'}" for r in rules() if r.fires(flat, status)]


def _first_rule(flat: Text, lines: str, status: int | None) -> tuple[Rule, int] | None:
    """The highest-priority rule that fires and is admitted, with the byte offset it matched."""
    evidence = weigh(flat, lines)  # lazy: a fact is read only when a rule asks for it
    for rule in candidates(flat, status):
        if not rule.fires(flat, status):
            continue
        if admitted(rule, evidence):  # signature rules too: text about an error is vetoed
            return rule, rule.where(flat)
    return None


_NOT_HUBSPOT_SUMMARY = "This does not look like a HubSpot error, so hsperm has nothing to add."


#: Diagnoses are immutable, so ordinary chat (most of what a listener sees) shares one.
_NOT_HUBSPOT = Diagnosis(kind="not_hubspot", summary=_NOT_HUBSPOT_SUMMARY)


def _not_hubspot(text: Text) -> Diagnosis:
    if not _may_match(text, _places().secrets):
        return _NOT_HUBSPOT
    secrets = find_secrets(text)
    if not secrets:
        return _NOT_HUBSPOT
    return Diagnosis(kind="not_hubspot", summary=_NOT_HUBSPOT_SUMMARY, secrets=secrets)


class _Places(NamedTuple):
    """Places in SHARED of the patterns `extract.status` and `find_secrets` read; None when one
    of them is not in the Set, so that the Set's answer cannot rule them out."""

    status: frozenset[int] | None
    secrets: frozenset[int] | None


@once
def _places() -> _Places:
    status = extract.status_places()
    secrets = [p.regex.index for p in secret_patterns()]
    return _Places(
        None if None in status else frozenset(status),  # type: ignore[arg-type]
        None if None in secrets else frozenset(secrets),  # type: ignore[arg-type]
    )


def _may_match(text: Text, places: frozenset[int] | None) -> bool:
    """False only when the shared Set says none of these patterns can match `text`."""
    return not text.prefilter or places is None or not places.isdisjoint(text.hits())


def _diagnosis(rule: Rule, flat: Text, whole: Text, status: int | None) -> Diagnosis:
    """`flat`: the one-line paste, or the window of it around the match; `whole`: all of it."""
    found = extract.requirements(flat)
    requires = found.names or rule.requires
    mode = found.mode if found.names else (rule.requires_mode or found.mode)
    fields = {
        "kind": rule.kind,
        "alternatives": tuple(k for k in rule.alternatives if k != rule.kind),
        "object_type": extract.object_type(flat, requires),
        "portal_id": extract.portal_id(flat),
        "requires": requires,
        "requires_mode": mode,
        "status": status,  # only what the paste shows: an implied status would be invented
        "category": extract.category(flat),
        "correlation_id": extract.correlation_id(flat),
        "hublet": extract.hublet(flat),
        "secrets": find_secrets(whole),
    }
    low = flat.text.casefold()
    facts = {
        "cues": frozenset(name for name, phrases in signals().cues if any(p in low for p in phrases)),
        "rule_id": rule.id,
        "identity": _identity(flat) if rule.kind in _KINDS_NAMING_IDENTITY else None,
        "expired_ago": extract.expired_ago(flat),
        "policy": extract.rate_limit_policy(flat),
    }
    summary, checklist = render(fields, facts)
    return Diagnosis(summary=summary, checklist=checklist, rule_id=rule.id, **fields)


#: kinds whose checklist depends on who made the call; others skip the detection
_KINDS_NAMING_IDENTITY = frozenset({"user_permission", "invalid_token", "missing_scopes", "other_hubspot"})


def _identity(text: Text) -> str | None:
    for name, patterns in signals().identities:
        if patterns.search(text):
            return name
    return None
