"""Benchmark of the diagnosis engine (not a test): `python bench/diagnose.py [--quick]`.

Measures, in one run and against a baseline measured in the same run:
- throughput on ordinary team chat (what a channel listener mostly sees), on chat about HubSpot
  that holds no error, and on error pastes (fresh portal and correlation ids in each), both as
  hsperm runs (a checklist rendered once per diagnosis shape is reused) and with every checklist
  rendered afresh;
- the worst time for any adversarial input up to 64 KB;
- peak RSS of the `python -m bot diagnose` CLI.

Baseline: one precompiled case-insensitive regex scan of each message for HubSpot-error words,
the cheapest filter any listener would run anyway.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from knowledge import diagnose  # noqa: E402
from knowledge.checklist import _render_shape  # noqa: E402

EXAMPLES = REPO / "tests" / "corpus"
BASELINE = re.compile(r"(?i)hubspot|hubapi|scope|permission|token|forbidden|unauthorized|\b40[13]\b")

_SUBJECTS = ["the deploy", "staging", "the sync job", "CI", "the new dashboard", "my PR", "the release", "the on-call rota",
             "the API docs", "lunch", "the retro", "the migration", "the worker", "prod", "the invoice export"]
_PREDICATES = ["is green again", "looks slow today", "needs a review", "is done", "failed on a flaky test, rerunning",
               "is blocked on design", "moved to Thursday", "has a typo on line 12", "is ready for QA", "works for me",
               "was rolled back", "needs another approval", "is at 80%", "takes 3 minutes now", "should go out at 5pm"]
_OPENERS = ["", "fyi ", "hey team, ", "quick one: ", "@here ", "thanks! ", "ok so ", ":tada: "]


def ordinary_chat(count: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(_OPENERS)}{rng.choice(_SUBJECTS)} {rng.choice(_PREDICATES)}" for _ in range(count)]


def _jsonl(name: str) -> list[dict]:
    return [json.loads(line) for line in (EXAMPLES / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def error_pastes(count: int, rng: random.Random) -> list[str]:
    """Labelled error pastes with fresh portal ids and correlation ids, so no cache helps."""
    texts = [e["text"] for e in _jsonl("errors_dev.jsonl") if e["kind"] != "not_hubspot"]
    texts += [c["text"] for c in _jsonl("chat_dev.jsonl") if c["label"] == "positive"]
    out = []
    for _ in range(count):
        text = rng.choice(texts)
        text = re.sub(r"\b\d{8,10}\b", lambda _m: str(rng.randrange(10**8, 10**9)), text)
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}", lambda _m: f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}", text)
        out.append(text)
    return out


def hubspot_talk() -> list[str]:
    return [c["text"] for c in _jsonl("chat_dev.jsonl") if c["label"] == "negative"]


def adversarial(rng: random.Random) -> list[str]:
    size = 64 * 1024
    pieces = ["requires one of [", "\\\"", "&lt;", "<https://x|", "hubspot ", "expired 9", "{\"status\":\"error\",",
              "correlationId ", "status: error, ", "Hub 1 is unknown to this Hublet ", "“", "pat-na1-", "[", "\\",
              "You do not have permissions to view object type ", "scope ", "403 ", "Bearer ", "a"]
    inputs = [(piece * (size // len(piece) + 1))[:size] for piece in pieces]
    for _ in range(20):
        inputs.append("".join(rng.choice(pieces) for _ in range(size // 8))[:size])
    return inputs


def rate(function, messages: list[str], seconds: float) -> float:
    """Messages per second, best of three timed passes of at least `seconds / 3` each."""
    best = 0.0
    for _ in range(3):
        done, start = 0, time.perf_counter()
        while True:
            for message in messages:
                function(message)
            done += len(messages)
            elapsed = time.perf_counter() - start
            if elapsed >= seconds / 3:
                break
        best = max(best, done / elapsed)
    return best


def cli_peak_rss_mb(paste: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "bot", "diagnose", "--json", str(paste)], cwd=REPO, check=True,
                   capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(before, after) / 1024  # ru_maxrss is in KiB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timings (noisier)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    seconds = 1.0 if args.quick else 3.0
    rng = random.Random(20261128)

    def diagnose_rendering_afresh(text: str):
        _render_shape.cache_clear()
        return diagnose(text)

    errors = error_pastes(2000, rng)
    streams = {
        "ordinary chat": (ordinary_chat(2000, rng), diagnose),
        "HubSpot talk, no error": (hubspot_talk(), diagnose),
        "error pastes": (errors, diagnose),
        "error pastes, no reuse": (errors, diagnose_rendering_afresh),
    }
    figures: dict[str, dict[str, float]] = {}
    for name, (messages, function) in streams.items():
        ours = rate(function, messages, seconds)
        base = rate(BASELINE.search, messages, seconds)
        figures[name] = {"per_second": round(ours), "baseline_per_second": round(base), "ratio": round(ours / base, 3)}

    worst_ms, worst_base_ms = 0.0, 0.0
    for text in adversarial(rng):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            diagnose(text)
            times.append(time.perf_counter() - start)
        start = time.perf_counter()
        BASELINE.search(text)
        worst_base_ms = max(worst_base_ms, (time.perf_counter() - start) * 1000)
        worst_ms = max(worst_ms, statistics.median(times) * 1000)
    figures["adversarial 64 KB"] = {"worst_ms": round(worst_ms, 2), "baseline_worst_ms": round(worst_base_ms, 2)}

    big = REPO / "bench" / ".big_paste.txt"
    big.write_text((REPO / "examples" / "ticket_permission_error.txt").read_text() + "x" * (64 * 1024))
    try:
        figures["CLI peak RSS"] = {
            "example_mb": round(cli_peak_rss_mb(REPO / "examples" / "ticket_permission_error.txt"), 1),
            "64_kb_paste_mb": round(cli_peak_rss_mb(big), 1),
        }
    finally:
        big.unlink()

    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"hsperm diagnose benchmark (python {sys.version.split()[0]}, one core)")
    for name in streams:
        f = figures[name]
        print(f"  {name:<24} {f['per_second']:>9,}/s   baseline {f['baseline_per_second']:>9,}/s   ratio {f['ratio']:.2f}")
    a = figures["adversarial 64 KB"]
    print(f"  {'adversarial 64 KB':<24} worst {a['worst_ms']:.1f} ms  (baseline scan worst {a['baseline_worst_ms']:.2f} ms)")
    c = figures["CLI peak RSS"]
    print(f"  {'CLI peak RSS':<24} {c['example_mb']:.1f} MB on the example, {c['64_kb_paste_mb']:.1f} MB on a 64 KB paste")
    return 0


if __name__ == "__main__":
    sys.exit(main())
