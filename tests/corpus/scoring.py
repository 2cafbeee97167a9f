"""Scoring hsperm against the labelled corpus: shared by `bench/accuracy.py` and its floor test.

An error paste counts as *accepted* when the diagnosed kind is in its `accept` set and *exact*
when it equals its `kind`. A chat negative counts when hsperm stays silent (`not_hubspot`); a
chat positive (an error wrapped in a person's words) when it is answered with an accepted kind.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from knowledge import diagnose
from knowledge.model import KINDS

SILENT = "not_hubspot"


@dataclass(frozen=True)
class Outcome:
    """One record diagnosed: what the label says and what hsperm said."""

    id: str
    file: str
    group: str  # "error", "chat_negative" or "chat_positive"
    expected: str
    accept: tuple[str, ...]
    got: str
    rule_id: str | None
    text: str

    @property
    def accepted(self) -> bool:
        return self.got in self.accept

    @property
    def exact(self) -> bool:
        return self.got == self.expected


def _group(record: dict) -> str:
    label = record.get("label")
    if label == "negative":
        return "chat_negative"
    if label == "positive":
        return "chat_positive"
    return "error"


def outcome(record: dict, classify: Callable[[str], object] = diagnose) -> Outcome:
    group = _group(record)
    expected = SILENT if group == "chat_negative" else record["kind"]
    accept = (SILENT,) if group == "chat_negative" else tuple(record.get("accept") or (expected,))
    result = classify(record["text"])
    return Outcome(
        id=str(record.get("id", "")),
        file=str(record.get("file", "")).split(":")[0],
        group=group,
        expected=expected,
        accept=accept,
        got=result.kind,  # type: ignore[attr-defined]
        rule_id=result.rule_id,  # type: ignore[attr-defined]
        text=record["text"],
    )


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


@dataclass
class Score:
    """Every figure the bench prints, computed from a list of outcomes."""

    outcomes: list[Outcome]
    counts: dict[str, int] = field(init=False)
    rates: dict[str, float | None] = field(init=False)
    per_kind: dict[str, dict[str, float | int | None]] = field(init=False)
    confusion: dict[str, dict[str, int]] = field(init=False)

    def __post_init__(self) -> None:
        errors = [o for o in self.outcomes if o.group == "error"]
        negatives = [o for o in self.outcomes if o.group == "chat_negative"]
        positives = [o for o in self.outcomes if o.group == "chat_positive"]
        self.counts = {"errors": len(errors), "chat_negatives": len(negatives), "chat_positives": len(positives)}
        self.rates = {
            "accepted": _rate(sum(o.accepted for o in errors), len(errors)),
            "exact": _rate(sum(o.exact for o in errors), len(errors)),
            "chat_silent": _rate(sum(o.got == SILENT for o in negatives), len(negatives)),
            "wrapped_accepted": _rate(sum(o.accepted and o.got != SILENT for o in positives), len(positives)),
            "wrapped_answered": _rate(sum(o.got != SILENT for o in positives), len(positives)),
        }
        self.confusion = {}
        for o in self.outcomes:
            row = self.confusion.setdefault(o.expected, {})
            row[o.got] = row.get(o.got, 0) + 1
        predicted = Counter(o.got for o in self.outcomes)
        labelled = Counter(o.expected for o in self.outcomes)
        self.per_kind = {}
        for kind in KINDS:
            if not (predicted[kind] or labelled[kind]):
                continue
            right = self.confusion.get(kind, {}).get(kind, 0)
            self.per_kind[kind] = {
                "labelled": labelled[kind],
                "predicted": predicted[kind],
                "precision": _rate(right, predicted[kind]),
                "recall": _rate(right, labelled[kind]),
            }

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.accepted or (o.group == "chat_positive" and o.got == SILENT)]

    def to_dict(self) -> dict:
        return {
            "counts": self.counts,
            "rates": self.rates,
            "per_kind": self.per_kind,
            "confusion": self.confusion,
            "misses": [
                {"id": o.id, "file": o.file, "expected": o.expected, "accept": list(o.accept), "got": o.got,
                 "rule_id": o.rule_id, "text": o.text[:100]}
                for o in self.misses
            ],
        }


def score(records: Iterable[dict], classify: Callable[[str], object] = diagnose) -> Score:
    return Score([outcome(r, classify) for r in records])
