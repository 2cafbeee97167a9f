"""The fast path gives the same diagnosis as the plain one, field for field.

The fast path is what `diagnose` runs: the shared RE2 Set says which patterns can match (a Set
holds a pattern in pieces, see linre._cut), rules are tried only when their `match` pattern or
their status was found, a plain one-line message skips normalising, and no secret is looked for
when the Set found no secret pattern. The plain path runs every pattern on the text itself, tries
every rule, and normalises everything. If a shortcut ever hid a match, a diagnosis would differ.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings

import knowledge.engine as engine
import knowledge.linre as linre
from knowledge import diagnose
from tests.corpus import load
from tests.strategies import pastes

_TEXT_INIT = linre.Text.__init__


def _unchecked_init(self: linre.Text, text: str, prefilter: bool = True) -> None:
    _TEXT_INIT(self, text, prefilter=False)


@pytest.fixture
def plain_path(monkeypatch: pytest.MonkeyPatch):
    """`diagnose` with every shortcut off: no Text is pre-checked by the Set, and every message is
    normalised (a space counts as a character normalising may change)."""

    def plain(text: str) -> dict:
        with monkeypatch.context() as patch:
            patch.setattr(linre.Text, "__init__", _unchecked_init)
            patch.setattr(linre.Text, "prefiltered", lambda self: linre.Text(self.text))
            patch.setattr(engine, "_MAY_NORMALISE", engine._MAY_NORMALISE + " ")
            return diagnose(text).to_dict()

    return plain


def _variants(text: str) -> list[str]:
    """The record, and shapes a listener sees it in: on one line, in a sentence, cut short."""
    one_line = " ".join(text.split())
    return [text, one_line, f"hey team, {one_line} any idea?", text[: len(text) // 2], text.upper()]


def test_every_corpus_record_diagnoses_the_same_on_both_paths(plain_path) -> None:
    records = load("*.jsonl")
    assert len(records) > 600
    differ = []
    for record in records:
        for text in _variants(record["text"]):
            if diagnose(text).to_dict() != plain_path(text):
                differ.append((record["file"], text[:80]))
    assert differ == []


def test_long_texts_of_corpus_fragments_diagnose_the_same_on_both_paths(plain_path) -> None:
    """Over linre.LONG_TEXT bytes the light Set answers (heavy patterns held by a literal, then
    run relaxed alone): errors of the corpus inside long stretches of other corpus fragments."""
    rng = random.Random(11)
    errors = [r["text"] for r in load("errors_*.jsonl")]
    words = [word for record in load("*.jsonl") for word in record["text"].split()]
    fragments = [" ".join(words[i : i + 4]) for i in range(0, len(words), 3)]
    kinds = set()
    for size in (5 * 1024, 16 * 1024, 64 * 1024):
        for _ in range(4):
            padding = " ".join(rng.choice(fragments) for _ in range(size // 12))
            cut = rng.randrange(len(padding))
            text = (padding[:cut] + "\n" + rng.choice(errors) + "\n" + padding[cut:])[:size]
            assert len(text.encode()) > linre.LONG_TEXT
            diagnosis = diagnose(text).to_dict()
            assert diagnosis == plain_path(text)
            kinds.add(diagnosis["kind"])
    assert len(kinds) > 2  # the texts are diagnosed as different things, not all alike


def test_the_plain_path_really_skips_the_set(plain_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above means something only if the plain path never asks the Set."""
    asked = []
    monkeypatch.setattr(linre.PatternSet, "matches", lambda self, data: asked.append(data) or frozenset())
    assert plain_path("HubSpot 403: This app hasn't been granted all required scopes")["kind"] == "missing_scopes"
    assert asked == []
    monkeypatch.undo()
    assert diagnose("HubSpot 403: This app hasn't been granted all required scopes").kind == "missing_scopes"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pastes)
def test_paste_shaped_text_diagnoses_the_same_on_both_paths(plain_path, text: str) -> None:
    assert diagnose(text).to_dict() == plain_path(text)


def test_a_pattern_cut_in_pieces_needs_every_piece() -> None:
    """A long gap (`.{0,600}`) is not in the Set: its two sides are, and both must match."""
    pattern = linre.Pattern(r"\bthis oauth[- ]token\b.{0,600}\bis expired\b")
    assert len(linre.SHARED._sources[pattern.index][0]) == 2
    assert pattern.search("This oauth-token (abc) is expired") is not None
    assert pattern.search("This oauth-token (abc) is fine; the key is expired") is not None
    assert pattern.search("is expired. This oauth-token (abc)") is None
    assert pattern.search("This oauth-token (abc) is valid") is None
    assert pattern.index not in linre.Text("This oauth-token (abc) is valid").hits()
    assert pattern.search("x" * 700 + " this oauth token " + "y" * 700 + " is expired") is None
    unbounded = linre.Pattern(r"\bfoo\b.*\bbar\b")  # cut in pieces: the Set's yes is not the answer
    assert not unbounded.found(linre.Text("bar, then foo")) and unbounded.found(linre.Text("foo, then bar"))


def test_only_runs_at_the_top_level_are_cut() -> None:
    """Inside a group or next to a top-level `|` or `(?i)`, a cut would not be a superset."""
    assert linre._translate(r"a.{0,99}b")[2] == ("a", "b")
    assert linre._translate(r"a[^x]{0,99}?b")[2] == ("a", "b")
    assert linre._translate(r"(?:a.{0,99}b)c")[2] == ("(?:a.*b)c",)
    assert linre._translate(r"a.{0,99}b|c")[2] == ("a.*b|c",)
    assert linre._translate(r"(?i)a.{0,99}b")[2] == ("(?i)a.*b",)
    assert linre._translate(r"a[a-z]{0,99}b")[2] == ("a[a-z]*b",)
