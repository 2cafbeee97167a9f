"""How well hsperm reads the labelled corpus (tests/corpus/*.jsonl).

    python bench/accuracy.py [--file 'errors_*.jsonl'] [--json]

Prints, per corpus file and overall: the share of error pastes answered with an accepted kind and
with the exact kind, the share of chat negatives left silent, the share of errors wrapped in chat
answered, per-kind precision and recall, a confusion matrix and every miss. The scoring itself is
in tests/corpus/scoring.py, shared with the floor test (tests/test_accuracy.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.corpus import load
from tests.corpus.scoring import Score, score


def _pct(value: float | None) -> str:
    return "  -  " if value is None else f"{100 * value:5.1f}%"


def _print(title: str, result: Score, details: bool) -> None:
    c, r = result.counts, result.rates
    print(f"== {title}: {c['errors']} error pastes, {c['chat_negatives']} chat negatives, "
          f"{c['chat_positives']} chat positives")
    print(f"   accepted {_pct(r['accepted'])}   exact {_pct(r['exact'])}   chat silent {_pct(r['chat_silent'])}   "
          f"wrapped answered {_pct(r['wrapped_accepted'])} (at all {_pct(r['wrapped_answered'])})")
    if not details:
        return
    print("\n   kind                 labelled predicted precision recall")
    for kind, row in result.per_kind.items():
        print(f"   {kind:<20} {row['labelled']:>8} {row['predicted']:>9} {_pct(row['precision']):>9} "
              f"{_pct(row['recall']):>6}")
    kinds = list(result.per_kind)
    short = [k[:6] for k in kinds]
    print("\n   confusion (rows: label, columns: diagnosis)")
    print("   " + " " * 20 + " ".join(f"{s:>6}" for s in short))
    for kind in kinds:
        row = result.confusion.get(kind, {})
        print(f"   {kind:<20}" + " ".join(f"{row.get(k, 0) or '.':>6}" for k in kinds))
    print(f"\n   misses ({len(result.misses)})")
    for o in result.misses:
        text = o.text[:100].replace("\n", " ")
        print(f"   {o.id:<18} expected {o.expected:<20} got {o.got:<20} {o.rule_id or '-':<45} {text}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", default="*.jsonl", help="glob of corpus files under tests/corpus/")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    records = load(args.file)
    if not records:
        print(f"no corpus file matches {args.file!r}", file=sys.stderr)
        return 2
    overall = score(records)
    by_file: dict[str, Score] = {}
    for name in sorted({o.file for o in overall.outcomes}):
        by_file[name] = Score([o for o in overall.outcomes if o.file == name])
    if args.json:
        print(json.dumps({"overall": overall.to_dict(),
                          "files": {n: {"counts": s.counts, "rates": s.rates} for n, s in by_file.items()}},
                         indent=2))
        return 0
    for name, result in by_file.items():
        _print(name, result, details=False)
    print()
    _print("all files", overall, details=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
