"""Linear time by construction: every pattern in knowledge/ runs on RE2, save a short list of
Python substitutions each shown linear by its shape; and the whole engine, fed the runs that
made Python's `re` quadratic, answers as it does on the short text. No timing here (that is
bench/diagnose.py): the proof is structural, the battery shows the answers stay right."""

from __future__ import annotations

import functools
import random
import re
import sys
from re import _constants as C  # the parser's opcodes, stable since 3.11
from re import _parser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import diagnose
from knowledge.catalog import objects
from knowledge.linre import AnyOf, Pattern, PatternError, Text, literal_hints, translate
from knowledge.normalize import flatten, normalize
from knowledge.rules import _rule, rules, signals
from knowledge.secrets import find_secrets, redact, secret_patterns
from tests.corpus import load
from tests.strategies import FRAGMENTS, pastes

#: The only Python `re` patterns knowledge/ may hold (why: see knowledge/normalize.py).
PYTHON_ALLOWED = {
    "knowledge.normalize._SLACK_LINK",
    "knowledge.normalize._SLACK_CHANNEL",
    "knowledge.normalize._BACKSLASH_QUOTE",
    "knowledge.normalize._BACKSLASH_WS",
    "knowledge.normalize._UNICODE_ESCAPE",
    "knowledge.normalize._FENCE",
}

KB = 1024
GATE_WORD = "HTTP 401 error: if the\n"  # the paste that took 59 s at 64 KB on Python's `re`
RUNS = {
    "spaces": " ",
    "tabs": "\t",
    "newlines": "\n",
    "blank lines": " \n",
    "crlf": "\r\n",
    "braces": "{",
    "brackets": "[",
    "quotes": '"',
    "backslashes": "\\",
    "escaped quotes": '\\"',
    "entities": "&lt;",
    "mixed": ' \n{["\\&lt;\t',
}
SIZES = (KB, 16 * KB, 64 * KB)


def _run(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _module_patterns():
    """(name, object) for every compiled regex held by a knowledge module."""
    for name, module in sorted(sys.modules.items()):
        if name == "knowledge" or name.startswith("knowledge."):
            for attr, value in vars(module).items():
                for item in value if isinstance(value, (list, tuple, AnyOf)) else (value,):
                    if isinstance(item, (re.Pattern, Pattern)):
                        yield f"{name}.{attr}", item


def all_patterns() -> list[tuple[str, Pattern]]:
    """Every RE2 pattern the engine runs: the TOML data's and the modules' own."""
    found = [(name, p) for name, p in _module_patterns() if isinstance(p, Pattern)]
    for rule in rules():
        found += [(rule.id, p) for p in (*rule.match, *rule.also, *rule.unless)]
    s = signals()
    found += [("signals", p) for p in (s.gate, s.error_evidence, *s.hubspot, *s.foreign, *s.report_cues)]
    found += [("signals.changelog", p) for p in s.changelog_cues]
    found += [(f"identity {name}", p) for name, ps in s.identities for p in ps]
    found += [(f"secret {sp.kind}", p) for sp in secret_patterns() for p in (sp.regex, *sp.value_unless)]
    found += [(f"object {o.name}", p) for o in objects() for p in o.keywords]
    return found


def test_every_compiled_pattern_is_re2_or_an_allowed_python_substitution() -> None:
    diagnose("warm every lazy loader: HubSpot 403 private app pat-na1- hapikey=x")
    python = {name for name, p in _module_patterns() if isinstance(p, re.Pattern)}
    assert python == PYTHON_ALLOWED
    assert len(all_patterns()) > 250


def _unbounded_repeats(items, inside: int = 0):
    """Yields, for each unbounded repetition, how many unbounded repetitions enclose it."""
    for op, av in items:
        if op in (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT):
            unbounded = av[1] == C.MAXREPEAT
            if unbounded:
                yield inside
            yield from _unbounded_repeats(av[2], inside + unbounded)
        elif op is C.SUBPATTERN:
            yield from _unbounded_repeats(av[-1], inside)
        elif op is C.BRANCH:
            for branch in av[1]:
                yield from _unbounded_repeats(branch, inside)


@pytest.mark.parametrize("name", sorted(PYTHON_ALLOWED))
def test_allowed_python_patterns_have_no_shape_that_backtracks_far(name: str) -> None:
    """No line anchor to restart from, no nested unbounded repetition, and any unbounded
    repetition is a run of backslashes that only starts where a run starts."""
    module, attr = name.rsplit(".", 1)
    pattern = getattr(sys.modules[module], attr)
    parsed = _parser.parse(pattern.pattern, pattern.flags)
    assert not any(op is C.AT for op, _ in parsed.data), name
    depths = list(_unbounded_repeats(parsed.data))
    assert all(depth == 0 for depth in depths), name
    if depths:
        assert pattern.pattern.startswith(r"(?<!\\)\\+"), name


NORMALISED = {
    "spaces": "", "tabs": "", "newlines": "", "blank lines": "", "crlf": "",
    "braces": "{" * 8, "brackets": "[" * 8, "quotes": '"' * 8, "backslashes": "\\" * 8,
    "escaped quotes": '"' * 4, "entities": "<" * 2, "mixed": '{["\\<',
}


@pytest.mark.parametrize("name", list(RUNS))
def test_allowed_python_substitutions_on_long_runs(name: str) -> None:
    """Each run normalises to what a few of its units do, scaled: nothing is lost or doubled."""
    unit = RUNS[name]
    few = flatten(normalize(unit * (8 // len(unit) or 1)))
    assert few == NORMALISED[name]
    pairs = 32 * KB // len(unit)
    assert normalize(unit * 2 * pairs) == normalize(unit * 2) * pairs
    assert normalize("\\" * 64 * KB + '"') == '"'
    assert normalize("<https://x>" * 5000) == "https://x" * 5000
    assert normalize("```json\n" * 8000) == " \n" * 8000


@functools.cache  # patterns live as long as the catalogue: compile each reference form once, not per example
def _without_prefilter(pattern: Pattern) -> Pattern:
    flags = pattern.source[: pattern.source.index(")") + 1] if pattern.source.startswith("(?") else ""
    return Pattern(pattern.pattern, ignore_case="i" in flags, multiline="m" in flags, prefilter=False)


def _same(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a.byte_span() == b.byte_span() and a.group(0) == b.group(0)


def test_every_pattern_on_long_runs_answers_as_without_the_shared_set() -> None:
    """The shared Set only skips patterns that cannot match (its relaxed forms are supersets):
    on every run, alone and after a gate word, each pattern finds what it finds alone."""
    patterns = all_patterns()
    direct = {id(p): _without_prefilter(p) for _, p in patterns}
    texts = [_run(unit, size) for unit in RUNS.values() for size in SIZES]
    texts += [GATE_WORD + _run(unit, 64 * KB - len(GATE_WORD)) for unit in RUNS.values()]
    texts.append(GATE_WORD + "\n" * (64 * KB) + "expired 3 hours ago 403 scope hubspot")
    rng = random.Random(7)  # long texts of real fragments: the light Set and the relaxed forms
    texts += [" ".join(rng.choice(FRAGMENTS) for _ in range(12_000))[: 64 * KB] for _ in range(2)]
    for text in map(Text, texts):
        for name, pattern in patterns:
            alone = direct[id(pattern)].search(text)
            assert _same(pattern.search(text), alone), (name, pattern.pattern)
            assert pattern.found(text) == (alone is not None), (name, pattern.pattern)
        _assert_any_of_agrees(text)


def _assert_any_of_agrees(text: Text) -> None:
    """Each group of signals answers as its patterns one by one, pre-checked or in one pass."""
    s = signals()
    groups = [s.hubspot, s.foreign, s.report_cues, s.changelog_cues, *(patterns for _, patterns in s.identities)]
    unchecked = Text(text.text, prefilter=False)
    for group in groups:
        expected = any(_without_prefilter(p).search(text) is not None for p in group)
        assert group.search(text) == expected == group.search(unchecked), [p.pattern for p in group]


@settings(max_examples=300, deadline=None)
@given(pastes, st.integers(min_value=0, max_value=10_000))
def test_shared_set_never_hides_a_match(text: str, which: int) -> None:
    name, pattern = ALL[which % len(ALL)]
    encoded = Text(flatten(normalize(text)))
    alone = _without_prefilter(pattern).search(encoded)
    assert _same(pattern.search(encoded), alone), (name, pattern.pattern)
    assert pattern.found(encoded) == (alone is not None), (name, pattern.pattern)
    _assert_any_of_agrees(encoded)


ALL = all_patterns()

KNOWN = (
    "HTTP 401 error from api.hubapi.com: {\"status\":\"error\",\"message\":\"Authentication credentials not found.\","
    "\"correlationId\":\"3f0e1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b\",\"category\":\"INVALID_AUTHENTICATION\"}"
)


@pytest.mark.parametrize("unit", list(RUNS.values()), ids=list(RUNS))
def test_diagnose_on_runs_up_to_64_kb(unit: str) -> None:
    """Runs alone are not HubSpot errors; a run after a real error leaves its diagnosis as is."""
    short = diagnose(KNOWN)
    assert short.kind == "invalid_token"
    for size in SIZES:
        assert diagnose(_run(unit, size)).kind == "not_hubspot"
        padded = diagnose(KNOWN + " " + _run(unit, size - len(KNOWN) - 1))
        assert (padded.kind, padded.status, padded.correlation_id) == (short.kind, short.status, short.correlation_id)
        after = diagnose(_run(unit, size - len(KNOWN) - 1) + " " + KNOWN)
        assert (after.kind, after.status) == (short.kind, short.status)


@pytest.mark.parametrize("size", SIZES)
def test_the_paste_that_was_quadratic(size: int) -> None:
    """A gate word, then blank lines: diagnosed as the same words without the blank lines."""
    for blank in ("\n", " \n", "\r\n", "\n\t"):
        text = GATE_WORD + _run(blank, size - len(GATE_WORD))
        assert diagnose(text) == diagnose(GATE_WORD.strip())


def test_a_40000_character_slack_message() -> None:
    chat = "fyi the deploy is green again, thanks! " * 1000
    assert diagnose(chat[:40_000]).kind == "not_hubspot"
    message = chat[:20_000] + KNOWN + chat[:20_000 - len(KNOWN)]
    assert diagnose(message).kind == "invalid_token"


def test_secrets_on_long_runs() -> None:
    token = "pat-na1-" + "0" * 8 + "-" + "0" * 4 + "-" + "0" * 4 + "-" + "0" * 4 + "-" + "0" * 12
    for unit in RUNS.values():
        text = _run(unit, 32 * KB) + " Authorization: Bearer " + "x" * 40 + " " + token + _run(unit, 32 * KB)
        assert find_secrets(text) == ("hubspot_private_app_token", "bearer_token")
        assert "x" * 40 not in redact(text) and token not in redact(text)


def test_refused_values_are_retried_further_on_as_a_lookahead_would() -> None:
    """`value_unless` stands for the `(?!…)` RE2 lacks: a Bearer value that is a HubSpot OAuth
    token is not a generic bearer token, but a later Bearer in the same text still is."""
    oauth = "C" + "a" * 60
    assert find_secrets(f"bearer {oauth}") == ("hubspot_oauth_token",)
    assert find_secrets(f"bearer {oauth} and bearer {'z' * 30}") == ("hubspot_oauth_token", "bearer_token")
    assert redact(f"Bearer pat-na1-abc Bearer {'z' * 30}") == "Bearer pat-na1-abc Bearer [REDACTED bearer_token]"


def test_a_rule_re2_cannot_compile_is_named_when_rules_load() -> None:
    base = {"id": "missing_scopes.example", "kind": "missing_scopes", "priority": 1}
    with pytest.raises(PatternError, match=r"rule missing_scopes\.example match.*invalid perl operator"):
        _rule({**base, "match": [r"(?<!x)scope"]})
    with pytest.raises(PatternError, match=r"rule missing_scopes\.example unless.*repetition"):
        _rule({**base, "match": ["scope"], "unless": [r"a.{0,2000}b"]})
    with pytest.raises(PatternError, match=r"rule missing_scopes\.example also.*invalid escape"):
        _rule({**base, "match": ["scope"], "also": [r"(a)\1"]})


def test_a_word_boundary_next_to_a_letter_beyond_ascii_is_refused() -> None:
    """RE2's \\b is ASCII: `não é\\b` would never match, so the loader says so."""
    base = {"id": "oauth_install_error.example", "kind": "oauth_install_error", "priority": 1}
    with pytest.raises(PatternError, match=r"rule oauth_install_error\.example match.*ASCII"):
        _rule({**base, "match": [r"\bo app não é\b"]})
    with pytest.raises(PatternError, match="ASCII"):
        Pattern(r"\bélan")
    assert Pattern(r"\bdéveloppeur\b").search("le développeur de") is not None


def test_translation_keeps_pythons_whitespace_and_relaxes_only_large_bounds() -> None:
    exact, relaxed = translate(r"a\s{0,600}b[^\s]{2,5}c\{0,99}")
    assert "\\x{a0}" in exact and "\\x{3000}" in exact and "{0,600}" in exact
    assert "{0,600}" not in relaxed and "{2,5}" in relaxed and "\\{0,99}" in relaxed
    nbsp = Pattern(r"bearer\s+x", prefilter=False)
    assert nbsp.search("Bearer\u00a0\u3000x") is not None and nbsp.search("Bearerx") is None


def test_literal_hints_are_literals_every_match_contains() -> None:
    """What the light Set holds for a heavy pattern on a long text: a literal outside any
    optional part, or nothing (then the pattern is always tried)."""
    assert literal_hints(r"\bcorrelationId\b.{0,600}x") == ("correlationId",)
    assert literal_hints(r"\brequires? (one|all) of \[([^\]]{0,600})\]") == ("require",)
    assert literal_hints(r"\bhubspot\.crm\.|crm\.objects\.x{0,20}") == ("hubspot.crm.", "crm.objects.")
    assert literal_hints(r"ab{2,3}cdef") == ("cdef",)
    assert literal_hints(r"a{0,20}b|cde") == ()  # one alternative has no literal
    assert literal_hints(r"(?:abc|def)\d{1,20}") == ()  # inside a group: not read
    assert literal_hints(r"\x41bcdef.{0,20}") == ()  # an escape that is not its own letters
    checked = 0
    for name, pattern in ALL:
        hints = literal_hints(pattern.pattern)
        if pattern.heavy and hints:
            alone = _without_prefilter(pattern)
            for text in CORPUS_TEXTS:
                if alone.search(text):
                    checked += 1
                    assert any(h.lower() in text.lower() for h in hints), (name, pattern.pattern)
    assert checked > 100


CORPUS_TEXTS = [flatten(normalize(record["text"])) for record in load("*.jsonl")]
