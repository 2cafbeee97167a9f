"""`python -m bot lookup` and `python -m bot audit` as the real processes an operator runs:
arguments, settings from the environment, exit code, and no token on either stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.store import open_store
from tests.fakes.hubspot import EU_TOKEN, PORTAL, TOKEN

ROOT = Path(__file__).resolve().parents[2]


def run_bot(command: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "SLACK_", "HSPERM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", command, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_lookup_command_prints_the_report_and_exits_0(fake_hubspot):
    env = {"HUBSPOT_API_URL": fake_hubspot.url, "HUBSPOT_ACCESS_TOKEN": TOKEN}
    result = run_bot("lookup", "--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 0, result.stderr
    assert "Verdict: Ann cannot view ticket 123" in result.stdout
    assert f"https://app.hubspot.com/settings/{PORTAL}/users" in result.stdout
    assert "Traceback" not in result.stderr
    for secret in (TOKEN, EU_TOKEN):
        assert secret not in result.stdout + result.stderr


def test_a_revoked_token_exits_1_and_debug_logs_never_show_it(fake_hubspot):
    revoked = "pat-na1-99999999-9999-4999-8999-999999999999"
    env = {"HUBSPOT_API_URL": fake_hubspot.url, "HUBSPOT_ACCESS_TOKEN": revoked, "LOG_LEVEL": "DEBUG"}
    result = run_bot("lookup", "--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 1
    assert "HUBSPOT_ACCESS_TOKEN" in result.stdout
    assert "/oauth/v1/access-tokens/" in result.stderr  # DEBUG logs are on, and redacted
    assert "Traceback" not in result.stderr
    assert revoked not in result.stdout + result.stderr


def test_the_audit_command_exports_json_lines_from_the_database_it_is_given(tmp_path):
    url = f"sqlite:///{tmp_path / 'hsperm.db'}"
    store = open_store(url)
    try:
        store.audit(team_id="T1", actor_id="U0BOB", action="apply", result="ok", request_id="r1",
                    subject="ann@example.com", after={"secondaryTeamIds": ["178588"]})  # fmt: skip
    finally:
        store.close()
    result = run_bot("audit", "--json", env={"DATABASE_URL": url})
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.splitlines()
    entry = json.loads(line)
    assert (entry["action"], entry["actor_id"], entry["request_id"]) == ("apply", "U0BOB", "r1")
    assert entry["after"] == {"secondaryTeamIds": ["178588"]}
