"""`python -m bot lookup` as the real process an operator runs: arguments, settings from the
environment, exit code, and no token on either stream."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.hubspot import EU_TOKEN, PORTAL, TOKEN

ROOT = Path(__file__).resolve().parents[2]


def run_lookup(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOT_", "SLACK_", "HSPERM_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", "lookup", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_lookup_command_prints_the_report_and_exits_0(fake_hubspot):
    env = {"HUBSPOT_API_URL": fake_hubspot.url, "HUBSPOT_ACCESS_TOKEN": TOKEN}
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 0, result.stderr
    assert "Verdict: Ann cannot view ticket 123" in result.stdout
    assert f"https://app.hubspot.com/settings/{PORTAL}/users" in result.stdout
    assert "Traceback" not in result.stderr
    for secret in (TOKEN, EU_TOKEN):
        assert secret not in result.stdout + result.stderr


def test_a_revoked_token_exits_1_and_debug_logs_never_show_it(fake_hubspot):
    revoked = "pat-na1-99999999-9999-4999-8999-999999999999"
    env = {"HUBSPOT_API_URL": fake_hubspot.url, "HUBSPOT_ACCESS_TOKEN": revoked, "LOG_LEVEL": "DEBUG"}
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 1
    assert "HUBSPOT_ACCESS_TOKEN" in result.stdout
    assert "/oauth/v1/access-tokens/" in result.stderr  # DEBUG logs are on, and redacted
    assert "Traceback" not in result.stderr
    assert revoked not in result.stdout + result.stderr
