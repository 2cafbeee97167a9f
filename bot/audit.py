"""`python -m bot audit`: the audit log for people and for other tools.

Exports read the same table `/hsperm audit` shows, oldest first, so the output reads like a log
and can be appended to an archive; `--json` prints one JSON object per line (JSON Lines).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import AuditEntry


class AuditInputError(ValueError):
    """A --since that is not a date; the message says what is accepted."""


def parse_since(text: str | None) -> float | None:
    """`2026-11-29` (midnight UTC) or an ISO date-time (UTC unless it names an offset) -> epoch seconds."""
    if not text:
        return None
    raw = text.strip()
    try:
        if len(raw) == 10:
            day = date.fromisoformat(raw)
            return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise AuditInputError(f"--since {raw[:40]!r} is not a date: use YYYY-MM-DD or 2026-11-29T08:00:00Z.") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def format_entry(entry: AuditEntry) -> str:
    """One line: when, who, what, result, request, subject, then the change and the detail."""
    parts = [
        entry.to_dict()["at"],
        entry.actor_id or "-",
        entry.action,
        entry.result,
        f"request={entry.request_id or '-'}",
        entry.subject or "-",
    ]
    if entry.before is not None or entry.after is not None:
        parts.append(f"{json.dumps(entry.before, sort_keys=True)} -> {json.dumps(entry.after, sort_keys=True)}")
    if entry.detail:
        parts.append(f"({entry.detail})")
    return " ".join(parts)


def run_cli(
    settings: Settings,
    *,
    since: str | None = None,
    as_json: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """0 printed (possibly nothing), 2 bad --since, 1 the database could not be read."""
    from bot.redact import redact
    from bot.store import StoreError, open_store

    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        start = parse_since(since)
    except AuditInputError as exc:
        print(f"hsperm audit: {exc}", file=err)
        return 2
    try:
        store = open_store(settings.database_url)
    except StoreError as exc:
        print(f"hsperm audit: {redact(str(exc))}", file=err)
        return 1
    try:
        entries = store.audit_entries(since=start)
    finally:
        store.close()
    for entry in entries:
        print(json.dumps(entry.to_dict(), ensure_ascii=False, sort_keys=True) if as_json else format_entry(entry), file=out)
    return 0
