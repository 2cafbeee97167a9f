"""`python -m bot audit [--since DATE] [--json]`: arguments parsed as the CLI parses them, run
in-process on both databases. The real process is covered in tests/e2e/test_cli_process.py."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.__main__ import build_parser
from bot.audit import run_cli
from bot.config import load_settings
from bot.store import open_store


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def _run(database_url: str, *args: str) -> Result:
    parsed = build_parser().parse_args(["audit", *args])
    settings = load_settings({"DATABASE_URL": database_url}, dotenv=False)
    out, err = io.StringIO(), io.StringIO()
    code = run_cli(settings, since=parsed.since, as_json=parsed.json, stdout=out, stderr=err)
    return Result(code, out.getvalue(), err.getvalue())


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
