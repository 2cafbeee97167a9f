"""Benchmark of the diagnosis engine (not a test): `python bench/diagnose.py [--quick] [--json]`.

Every figure is a median of several passes, and every rate is set against a baseline measured in
the same passes: one precompiled case-insensitive regex scan for HubSpot-error words, the
cheapest filter any channel listener would run anyway. Inputs are real text from tests/corpus/:

- team chat: every negative chat message of chat_*.jsonl, real chat that talks about HubSpot,
  tokens, scopes and 403s without carrying a HubSpot error;
- channel mix: those messages among ordinary chat lines, so that about half the lines pass the
  engine's gate (what a listener in a busy integration channel sees);
- varied pastes: every error of errors_*.jsonl, with fresh portal ids, correlation ids and
  numbers on each pass, so no cache sees the same text twice;
- whole corpus: every record (errors, chat, positives), the widest variety of text: what keeps
  the shared RE2 Set's automaton from settling into a few cached states shows here;
- worst case: runs of whitespace, newlines, blank lines after a gate word (the paste that took
  59 s on Python's `re`), delimiters, mixes of those and of real corpus fragments, each up to
  64 KB, each timed on first sight (every repetition a new variant: RE2 builds its automata
  lazily, so a text seen before is cheaper); and a 40,000-character message;
- the CLI's own peak RSS (the child process's, read with wait4), on an example and a 64 KB paste.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from knowledge import diagnose  # noqa: E402
from knowledge.checklist import _render_shape  # noqa: E402
from knowledge.engine import passes_gate  # noqa: E402
from tests.corpus import load  # noqa: E402

BASELINE = re.compile(r"(?i)hubspot|hubapi|scope|permission|token|forbidden|unauthorized|\b40[13]\b")
TARGETS = {"worst_ms": 50.0, "chat_ratio": 0.5, "pastes_per_second": 5000.0}
KB = 1024

_SUBJECTS = ["the deploy", "staging", "the sync job", "CI", "the new dashboard", "my PR", "the release", "the on-call rota",
             "the API docs", "lunch", "the retro", "the migration", "the worker", "prod", "the invoice export"]
_PREDICATES = ["is green again", "looks slow today", "needs a review", "is done", "failed on a flaky test, rerunning",
               "is blocked on design", "moved to Thursday", "has a typo on line 12", "is ready for QA", "works for me",
               "was rolled back", "needs another approval", "is at 80%", "takes 3 minutes now", "should go out at 5pm"]
_OPENERS = ["", "fyi ", "hey team, ", "quick one: ", "@here ", "thanks! ", "ok so ", ":tada: "]


def ordinary_chat(count: int, rng: random.Random) -> list[str]:
    return [f"{rng.choice(_OPENERS)}{rng.choice(_SUBJECTS)} {rng.choice(_PREDICATES)}" for _ in range(count)]


def team_chat() -> list[str]:
    return [c["text"] for c in load("chat_*.jsonl") if c["label"] == "negative"]


def channel_mix(rng: random.Random) -> tuple[list[str], float]:
    """Corpus chat (negatives and positives) among ordinary lines, about half passing the gate."""
    chat = [c["text"] for c in load("chat_*.jsonl")]
    passing = sum(passes_gate(text) for text in chat)
    lines = chat + ordinary_chat(max(0, 2 * passing - len(chat)), rng)
    rng.shuffle(lines)
    return lines, sum(passes_gate(text) for text in lines) / len(lines)


def varied_pastes(rng: random.Random) -> list[str]:
    """Every labelled error, its ids and long numbers replaced by fresh ones."""
    out = []
    for record in load("errors_*.jsonl"):
        text = re.sub(r"\b\d{5,12}\b", lambda m: str(rng.randrange(10 ** (len(m.group()) - 1), 10 ** len(m.group()))),
                      record["text"])
        text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", lambda _m: "-".join(
            f"{rng.getrandbits(bits):0{bits // 4}x}" for bits in (32, 16, 16)), text)
        out.append(text)
    return out


GATE_WORD = "HTTP 401 error: if the\n"
RUNS = {"spaces": " ", "tabs": "\t", "newlines": "\n", "blank lines": " \n", "crlf": "\r\n", "braces": "{",
        "brackets": "[", "quotes": '"', "backslashes": "\\", "escaped quotes": '\\"', "entities": "&lt;",
        "mixed delimiters": ' \n{["\\&lt;\t'}
PIECES = ["requires one of [", "\\\"", "&lt;", "<https://x|", "<https://x>", "hubspot ", "expired 9",
          "{\"status\":\"error\",", "correlationId ", "status: error, ", "Hub 1 is unknown to this Hublet ", "“",
          "pat-na1-", "[", "\\", "You do not have permissions to view object type ", "scope ", "403 ", "Bearer ",
          "```", "category: ABCD ", "if the\n", "\n", " ", "a"]


def _fill(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


def _fragments() -> list[str]:
    words = [word for record in load("*.jsonl") for word in record["text"].split()]
    return [" ".join(words[i : i + 4]) for i in range(0, len(words), 3)]


def worst_inputs(rng: random.Random, fragments: list[str]) -> dict[str, str]:
    """Adversarial and realistic texts up to 64 KB. Call again for new variants: the runs get a
    random number of words in front, the mixes are drawn afresh."""
    size = 64 * KB
    salt = " ".join(rng.choice(fragments) for _ in range(rng.randrange(1, 4))) + " "
    inputs = {f"quadratic case {k} KB": GATE_WORD + _fill("\n", k * KB - len(GATE_WORD)) for k in (16, 64)}
    for name, unit in RUNS.items():
        inputs[f"{name} run"] = salt + _fill(unit, size - len(salt))
        inputs[f"gate word + {name}"] = GATE_WORD + _fill(unit, size - len(GATE_WORD) - len(salt)) + salt
    for piece in PIECES:
        inputs[f"{piece!r} repeated"] = salt + _fill(piece, size - len(salt))
    for index in range(10):
        inputs[f"random mix {index}"] = "".join(rng.choice(PIECES) for _ in range(size // 6))[:size]
    for index in range(10):
        inputs[f"corpus fragments {index}"] = " ".join(rng.choice(fragments) for _ in range(size // 12))[:size]
    return inputs


def per_second(function: Callable[[str], object], messages: list[str], seconds: float) -> float:
    """One timed pass: the whole stream, repeated until at least `seconds` have passed."""
    done, start = 0, time.perf_counter()
    while True:
        for message in messages:
            function(message)
        done += len(messages)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def stream(messages_for_pass: Callable[[], list[str]], passes: int, seconds: float,
           function: Callable[[str], object] = diagnose) -> dict[str, float]:
    """Median rates of `passes` passes, each timing the engine then the baseline on the same text."""
    ours, base = [], []
    for _ in range(passes):
        messages = messages_for_pass()
        ours.append(per_second(function, messages, seconds))
        base.append(per_second(BASELINE.search, messages, seconds))
    return {"per_second": round(statistics.median(ours)), "baseline_per_second": round(statistics.median(base)),
            "ratio": round(statistics.median(ours) / statistics.median(base), 3)}


def median_ms(function: Callable[[str], object], text: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


#: Runs `python -m bot …` (runpy is what `-m` uses) and, at exit, reports the process's own peak
#: resident set (VmHWM of its memory map since exec) on stderr. Not wait4's / RUSAGE_CHILDREN's
#: ru_maxrss: Linux carries into it the RSS of the forked benchmark before exec, so it would
#: report this benchmark's size, not the CLI's.
_PEAK_PROBE = """
import atexit, runpy, sys
def peak():
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmHWM:'):
                sys.stderr.write('PEAK_KB ' + line.split()[1] + chr(10))
atexit.register(peak)
sys.argv = ['bot', *sys.argv[1:]]
runpy.run_module('bot', run_name='__main__', alter_sys=True)
"""


def cli_peak_rss_mb(paste: Path) -> float:
    """Peak RSS of the `python -m bot diagnose` child itself."""
    done = subprocess.run([sys.executable, "-c", _PEAK_PROBE, "diagnose", "--json", str(paste)], cwd=REPO,
                          capture_output=True, text=True, check=True)
    json.loads(done.stdout)  # the CLI answered with its JSON diagnosis
    peak = re.search(r"PEAK_KB (\d+)", done.stderr)
    if peak is None:
        raise RuntimeError("the CLI's peak RSS could not be read (Linux /proc needed)")
    return int(peak.group(1)) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter passes (noisier)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--repeat", type=int, default=5, help="variants timed per worst-case input (median)")
    args = parser.parse_args()
    passes, seconds = (3, 0.3) if args.quick else (7, 1.0)
    rng = random.Random(20261128)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})  # one core
    diagnose("warm up: HubSpot 403 MISSING_SCOPES")

    chat = team_chat()
    mix, gate_share = channel_mix(rng)
    corpus = [record["text"] for record in load("*.jsonl")]

    def rendering_afresh(text: str):
        _render_shape.cache_clear()
        return diagnose(text)

    figures: dict[str, dict] = {
        "team chat": stream(lambda: chat, passes, seconds) | {"messages": len(chat)},
        "channel mix": stream(lambda: mix, passes, seconds) | {"messages": len(mix), "gate_share": round(gate_share, 2)},
        "varied pastes": stream(lambda: varied_pastes(rng), passes, seconds) | {"messages": len(varied_pastes(rng))},
        "varied pastes, no reuse": stream(lambda: varied_pastes(rng), passes, seconds, rendering_afresh),
        "whole corpus": stream(lambda: corpus, passes, seconds) | {"messages": len(corpus)},
    }

    fragments = _fragments()
    rounds = [worst_inputs(rng, fragments) for _ in range(args.repeat)]
    worst: dict[str, float] = {}
    for name in rounds[0]:
        worst[name] = statistics.median(median_ms(diagnose, variant[name], 1) for variant in rounds)
    slowest = max(worst, key=worst.__getitem__)
    baseline_worst = max(median_ms(BASELINE.search, text, args.repeat) for text in rounds[0].values())
    figures["worst case"] = {
        "inputs": len(worst), "worst_ms": round(worst[slowest], 2), "worst_input": slowest,
        "baseline_worst_ms": round(baseline_worst, 3),
        "quadratic_case_16_kb_ms": round(worst["quadratic case 16 KB"], 2),
        "quadratic_case_64_kb_ms": round(worst["quadratic case 64 KB"], 2),
    }

    message = (" ".join(chat) * 40)[:40_000]
    known = load("errors_dev.jsonl")[0]["text"]
    with_error = message[:20_000] + "\n" + known + "\n" + message[: 20_000 - len(known) - 2]
    figures["40,000-character message"] = {
        "chat_ms": round(median_ms(diagnose, message, args.repeat), 2),
        "with_an_error_ms": round(median_ms(diagnose, with_error, args.repeat), 2),
        "kind_with_an_error": diagnose(with_error).kind,
    }

    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big_paste.txt"
        big.write_text(GATE_WORD + "\n" * (64 * KB - len(GATE_WORD)), encoding="utf-8")
        figures["CLI peak RSS"] = {
            "example_mb": round(cli_peak_rss_mb(REPO / "examples" / "ticket_permission_error.txt"), 1),
            "64_kb_paste_mb": round(cli_peak_rss_mb(big), 1),
        }

    figures["targets"] = {
        "worst_ms_under_50": figures["worst case"]["worst_ms"] < TARGETS["worst_ms"],
        "team_chat_ratio_at_least_0.5": figures["team chat"]["ratio"] >= TARGETS["chat_ratio"],
        "channel_mix_ratio_at_least_0.5": figures["channel mix"]["ratio"] >= TARGETS["chat_ratio"],
        "varied_pastes_at_least_5000_per_second":
            figures["varied pastes"]["per_second"] >= TARGETS["pastes_per_second"],
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"hsperm diagnose benchmark (python {sys.version.split()[0]}, one core, medians of {passes} passes)")
    for name in ("team chat", "channel mix", "varied pastes", "varied pastes, no reuse", "whole corpus"):
        f = figures[name]
        print(f"  {name:<24} {f['per_second']:>9,}/s   baseline {f['baseline_per_second']:>9,}/s   "
              f"ratio {f['ratio']:.2f}")
    print(f"  {'':<24} channel mix: {figures['channel mix']['gate_share']:.0%} of lines pass the gate")
    w = figures["worst case"]
    print(f"  {'worst case <= 64 KB':<24} {w['worst_ms']:.1f} ms ({w['worst_input']}, of {w['inputs']} inputs, "
          f"first sight); baseline scan worst {w['baseline_worst_ms']:.2f} ms (it stops at its first match)")
    print(f"  {'quadratic case':<24} {w['quadratic_case_16_kb_ms']:.2f} ms at 16 KB, "
          f"{w['quadratic_case_64_kb_ms']:.2f} ms at 64 KB")
    m = figures["40,000-character message"]
    print(f"  {'40,000-char message':<24} {m['chat_ms']:.2f} ms chat, {m['with_an_error_ms']:.2f} ms with an error "
          f"({m['kind_with_an_error']})")
    c = figures["CLI peak RSS"]
    print(f"  {'CLI peak RSS':<24} {c['example_mb']:.1f} MB on the example, {c['64_kb_paste_mb']:.1f} MB on a 64 KB paste")
    for target, met in figures["targets"].items():
        print(f"  target {target:<40} {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
