"""Accuracy on the labelled corpus never regresses: floors a little under what bench/accuracy.py
measures, computed by the same scoring code (tests/corpus/scoring.py)."""

from __future__ import annotations

import pytest

from tests.corpus import load
from tests.corpus.scoring import SILENT, score

#: file pattern -> the rates it must keep (see bench/accuracy.py for the figures)
FLOORS = {
    # All files, including the held-out ones below: their blind figures pull the total down.
    "*.jsonl": {"accepted": 0.96, "exact": 0.905, "chat_silent": 0.97, "wrapped_accepted": 0.91},
    # Collected blind (by someone who never ran hsperm or read its rules) after the rules were
    # written, and added as measured: the honest estimate for text hsperm has never seen.
    "errors_heldout.jsonl": {"accepted": 0.76, "exact": 0.76},
    "chat_heldout.jsonl": {"chat_silent": 0.93, "wrapped_accepted": 0.44},
    "errors_code.jsonl": {"accepted": 0.95, "exact": 0.94},
    "errors_dev.jsonl": {"accepted": 0.98, "exact": 0.89},
    "errors_github.jsonl": {"accepted": 0.96, "exact": 0.88},
    "errors_web.jsonl": {"accepted": 0.98, "exact": 0.96},
    "chat_dev.jsonl": {"chat_silent": 0.98, "wrapped_accepted": 0.98},
    "chat_real.jsonl": {"chat_silent": 0.97, "wrapped_accepted": 0.96},
}

@pytest.mark.parametrize("pattern", FLOORS)
def test_accuracy_keeps_its_floor(pattern: str) -> None:
    result = score(load(pattern))
    for rate, floor in FLOORS[pattern].items():
        assert result.rates[rate] is not None, f"{pattern} has no records for {rate}"
        assert result.rates[rate] >= floor, (pattern, rate, result.rates[rate], [m.id for m in result.misses])


def test_scoring_counts_what_it_says() -> None:
    """The scorer itself: a silent answer to an error is a miss, to a negative a hit."""

    class Said:
        def __init__(self, kind: str) -> None:
            self.kind, self.rule_id = kind, None

    records = [
        {"id": "e1", "text": "a", "kind": "missing_scopes", "accept": ["missing_scopes", "user_permission"]},
        {"id": "e2", "text": "b", "kind": "expired_token", "accept": ["expired_token"]},
        {"id": "n1", "text": "c", "label": "negative"},
        {"id": "p1", "text": "d", "label": "positive", "kind": "rate_limit", "accept": ["rate_limit"]},
    ]
    answers = {"a": "user_permission", "b": SILENT, "c": SILENT, "d": "rate_limit"}
    result = score(records, lambda text: Said(answers[text]))
    assert result.rates == {"accepted": 0.5, "exact": 0.0, "chat_silent": 1.0, "wrapped_accepted": 1.0,
                            "wrapped_answered": 1.0}
    assert [m.id for m in result.misses] == ["e2"]
    assert result.confusion["missing_scopes"] == {"user_permission": 1}
    assert result.per_kind["user_permission"]["precision"] == 0.0
