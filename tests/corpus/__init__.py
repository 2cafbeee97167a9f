"""The labelled corpus: real HubSpot error pastes and real chat, each with its source and label.

Files: `errors_*.jsonl` (one paste a line: id, source, text, kind, accept, reason, and the fields a
careful reader can see in the paste) and `chat_*.jsonl` (id, source, text, label `negative` or
`positive`; positives wrap a HubSpot error in a person's words and carry kind/accept). Tests and
benchmarks read only these files, never anything outside the repository.
"""

from __future__ import annotations

import json
from pathlib import Path

CORPUS = Path(__file__).resolve().parent


def load(pattern: str) -> list[dict]:
    """Every record of the files matching `pattern` (e.g. `errors_*.jsonl`), in file then line order."""
    records: list[dict] = []
    for path in sorted(CORPUS.glob(pattern)):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                record = json.loads(line)
                record.setdefault("file", f"{path.name}:{number}")
                records.append(record)
    return records


def errors() -> list[dict]:
    return load("errors_*.jsonl")


def chats() -> list[dict]:
    return load("chat_*.jsonl")
