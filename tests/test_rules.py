"""The rule data itself: every rule loads, every kind is reachable and rendered, the fast paths
are exact."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import KINDS
from knowledge.data import PACKAGE_DIR
from knowledge.engine import explain, passes_gate
from knowledge.fastre import FastPattern, implies_literal
from knowledge.rules import rules, signals, trie_pattern
from tests.strategies import pastes


def test_rule_ids_are_unique_and_named_after_their_kind() -> None:
    ids = [rule.id for rule in rules()]
    assert len(ids) == len(set(ids))
    for rule in rules():
        assert rule.id.split(".")[0] == rule.kind, rule.id
        assert set(rule.alternatives) <= set(KINDS) - {rule.kind, "not_hubspot"}, rule.id


def test_every_hubspot_kind_has_a_rule_and_a_template() -> None:
    ruled = {rule.kind for rule in rules()}
    for kind in KINDS:
        if kind == "not_hubspot":
            continue
        assert kind in ruled, kind
        assert (PACKAGE_DIR / "templates" / f"{kind}.j2").exists(), kind


def test_rules_are_ordered_by_priority() -> None:
    priorities = [rule.priority for rule in rules()]
    assert priorities == sorted(priorities, reverse=True)


def test_trie_pattern_matches_exactly_the_phrases() -> None:
    pattern = re.compile(trie_pattern(["scope", "scopes", "scar", "x"]))
    assert pattern.fullmatch("scope") and pattern.fullmatch("scopes") and pattern.fullmatch("scar")
    assert pattern.fullmatch("x") and not pattern.fullmatch("sc") and not pattern.fullmatch("scopesx")


@settings(max_examples=300, deadline=None)
@given(pastes)
def test_gate_never_hides_a_rule(text: str) -> None:
    """A text the gate rejects is one on which no rule matches at all (admitted or not)."""
    text = text[: 64 * 1024]
    if not passes_gate(text, text.lower()):
        assert explain(text) == []


ALL_PATTERNS = [p for rule in rules() for p in (*rule.match, *rule.also, *rule.unless)]


@settings(max_examples=300, deadline=None)
@given(pastes, st.sampled_from(ALL_PATTERNS))
def test_fast_pattern_finds_what_the_plain_regex_finds(text: str, pattern: FastPattern) -> None:
    plain = pattern.regex.search(text)
    fast = pattern.search(text, text.lower())
    assert (plain is None) == (fast is None), pattern.pattern
    if plain is not None and len(text.lower()) == len(text):
        assert fast.group(0) == plain.group(0)


def test_fast_pattern_moves_leading_word_boundary_without_changing_meaning() -> None:
    pattern = FastPattern(r"\bticket already exists\b")
    assert pattern.search("A Ticket already exists.") is not None
    assert pattern.search("xTicket already exists") is None
    assert pattern.search("Ticket already existsx") is None


def test_the_gate_never_rejects_a_text_a_rule_could_match() -> None:
    """Static proof that the gate is safe.

    Signature and report rules: every match of every pattern contains a gate phrase. Context
    rules fire only with HubSpot evidence, so every HubSpot signal must contain one. Status-only
    rules need their status code in the gate.
    """
    from knowledge.data import load_toml

    phrases = load_toml("catalog/signals.toml")["gate"]

    def gated(run: str) -> bool:
        return any(phrase in run for phrase in phrases)

    for rule in rules():
        if rule.status_in:
            assert all(str(code) in phrases for code in rule.status_in), rule.id
        if rule.evidence == "context":
            continue
        for pattern in rule.match:
            assert implies_literal(pattern.pattern, gated, re.IGNORECASE), f"{rule.id}: {pattern.pattern}"
    for pattern in signals().hubspot:
        assert implies_literal(pattern.pattern, gated, re.IGNORECASE), pattern.pattern


def test_gate_reads_through_line_breaks_and_entities() -> None:
    from knowledge import diagnose

    assert diagnose("Couldn't complete\n   the connection\nInsufficient scopes were provided.").kind == "oauth_install_error"
    assert diagnose("You have reached your secondly\nlimit.").kind == "rate_limit"
    assert diagnose("hub&#115;pot 401 Unauthorized from api.hub&#97;pi.com").kind == "invalid_token"
