"""The rule data itself: every rule loads, every kind is reachable and rendered, the gate is
safe."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from re import _constants as C  # the parser's opcodes, stable since 3.11
from re import _parser

from hypothesis import given, settings

from knowledge import KINDS, diagnose
from knowledge.data import PACKAGE_DIR
from knowledge.engine import passes_gate
from knowledge.rules import rules, signals
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


@settings(max_examples=300, deadline=None)
@given(pastes)
def test_gate_rejected_text_is_not_hubspot(text: str) -> None:
    """What the gate rejects is ordinary chat: the diagnosis a full run would give is not_hubspot.

    (A context rule's pattern may match such text; it is never admitted, because the HubSpot
    evidence it needs is itself gated.)"""
    text = text[: 64 * 1024]
    if not passes_gate(text):
        assert _full_run(text) is None, text


def _full_run(text: str):
    """The engine's rule loop without the gate in front of it: the rule that would decide, or
    None when the text would be not_hubspot."""
    from knowledge import extract
    from knowledge.engine import _first_rule
    from knowledge.linre import Text
    from knowledge.normalize import flatten, normalize

    lines = normalize(text)
    flat = Text(flatten(lines))
    return _first_rule(flat, lines, extract.status(flat))


def implies_literal(pattern: str, accepts) -> bool:
    """Whether every match of `pattern` contains a literal run that `accepts(run)` approves
    (read with Python's parser, which reads the RE2 patterns hsperm writes)."""

    def sequence(items, prefix: str = "") -> bool:
        # `prefix` is the literal run just before a branch: `re` factors `hubspot|hub spot` into
        # `hub(?:spot| spot)`, so a branch is judged together with the run it continues.
        run: list[str] = list(prefix)
        for op, av in [*items, (None, None)]:
            if op is C.LITERAL:  # any script: the RE2 gate folds case in every script
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
    return sequence(_parser.parse(pattern, re.IGNORECASE))


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
            assert implies_literal(pattern.pattern, gated), f"{rule.id}: {pattern.pattern}"
    for pattern in signals().hubspot:
        assert implies_literal(pattern.pattern, gated), pattern.pattern


def test_gate_reads_through_line_breaks_and_entities() -> None:
    assert diagnose("Couldn't complete\n   the connection\nInsufficient scopes were provided.").kind == "oauth_install_error"
    assert diagnose("You have reached your secondly\nlimit.").kind == "rate_limit"
    assert diagnose("hub&#115;pot 401 Unauthorized from api.hub&#97;pi.com").kind == "invalid_token"



#: Run in a fresh interpreter: N threads meet their first paste at once (nothing compiled yet),
#: then print the size of the shared Set and the kinds the threads diagnosed.
_FIRST_PASTES = """
import json, sys, threading
from knowledge import diagnose
from knowledge.linre import SHARED
threads, paste = int(sys.argv[1]), sys.argv[2]
start = threading.Barrier(threads)
kinds = []
def first():
    start.wait()
    kinds.append(diagnose(paste).kind)
workers = [threading.Thread(target=first) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join()
print(json.dumps({"set": len(SHARED), "kinds": kinds}))
"""


def test_threads_meeting_their_first_paste_together_build_the_rules_once() -> None:
    # With functools.cache each such thread compiled all ~600 patterns into the shared Set, which
    # grew eightfold and was recompiled after every addition: seconds of stall on every work
    # thread of a fresh instance under load (the work queue filled), and a larger Set for good.
    paste = "This app hasn't been granted all required scopes to make this call. Required: crm.objects.deals.read"

    def first_pastes(threads: int) -> dict:
        done = subprocess.run(
            [sys.executable, "-c", _FIRST_PASTES, str(threads), paste],
            capture_output=True, text=True, check=True, cwd=PACKAGE_DIR.parent,
        )
        return json.loads(done.stdout)

    alone, together = first_pastes(1), first_pastes(8)
    assert together["set"] == alone["set"]
    assert alone["kinds"] == ["missing_scopes"]
    assert together["kinds"] == alone["kinds"] * 8
