"""`python -m bot audit [--since DATE] [--json]`, run as an operator would, on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.store import open_store

REPO = Path(__file__).resolve().parents[1]


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "HSPERM_"))}
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "bot", "audit", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )


def _fill(database_url: str) -> None:
    store = open_store(database_url)
    try:
        old = datetime(2026, 11, 1, 9, 0, tzinfo=UTC).timestamp()
        new = datetime(2026, 11, 28, 9, 0, tzinfo=UTC).timestamp()
        store.audit(team_id="T1", actor_id="U0EVE", action="approve", result="refused", request_id="r1",
                    subject="ann@example.com", detail="not an approver", now=old)  # fmt: skip
        store.audit(team_id="T1", actor_id="U0BOB", action="apply", result="ok", request_id="r1",
                    subject="ann@example.com", before={"secondaryTeamIds": []},
                    after={"secondaryTeamIds": ["178588"]}, now=new)  # fmt: skip
    finally:
        store.close()


def test_audit_prints_every_entry_oldest_first(database_url):
    _fill(database_url)
    result = _run(database_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("2026-11-01T09:00:00+00:00 U0EVE approve refused request=r1 ann@example.com")
    assert "(not an approver)" in lines[0]
    assert '{"secondaryTeamIds": []} -> {"secondaryTeamIds": ["178588"]}' in lines[1]


def test_audit_since_and_json(database_url):
    _fill(database_url)
    result = _run(database_url, "--since", "2026-11-15", "--json")
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    entry = json.loads(line)
    assert entry["action"] == "apply" and entry["actor_id"] == "U0BOB"
    assert entry["after"] == {"secondaryTeamIds": ["178588"]}
    assert entry["at"] == "2026-11-28T09:00:00+00:00"


def test_a_bad_date_is_a_friendly_usage_error(tmp_path):
    result = _run(f"sqlite:///{tmp_path / 'a.db'}", "--since", "last tuesday")
    assert result.returncode == 2
    assert "is not a date: use YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr
