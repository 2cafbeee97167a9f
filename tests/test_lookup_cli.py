"""`python -m bot lookup`: arguments parsed as the CLI parses them, run in-process against the fake
HubSpot (HUBSPOT_API_URL), with retry waits recorded instead of slept. The real subprocess
entry point is covered in tests/e2e/test_cli_process.py."""

from __future__ import annotations

import json

import pytest

from tests.fakes.hubspot import EU_PORTAL, EU_TOKEN, PORTAL, TOKEN
from tests.lookup_cli_steps import assert_clean, run_lookup


@pytest.fixture
def env(fake_hubspot):
    return {"HUBSPOT_API_URL": fake_hubspot.url, "HUBSPOT_ACCESS_TOKEN": TOKEN}


def test_text_report(env):
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 0, result.stderr
    assert "Verdict: Ann cannot view ticket 123" in result.stdout
    assert "Bob Stone" in result.stdout
    assert f"https://app.hubspot.com/settings/{PORTAL}/users" in result.stdout
    assert_clean(result)


def test_json_report_is_one_object(env):
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["can_view"] is False
    assert data["basis"] == "permitted_users"
    assert data["user"]["owner_id"] != data["user"]["user_id"]
    assert data["problems"] == []
    assert_clean(result)


def test_portal_option_picks_the_portal_token(env):
    env["HUBSPOT_PORTAL_TOKENS"] = f"{EU_PORTAL}={EU_TOKEN}"
    result = run_lookup("--email", "eva@example.eu", "--ticket", "77", "--portal", EU_PORTAL, "--json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["links"]["users_settings"] == f"https://app-eu1.hubspot.com/settings/{EU_PORTAL}/users"
    assert_clean(result)


def test_no_token_configured_is_a_one_line_usage_error(fake_hubspot):
    result = run_lookup("--email", "ann@example.com", env={"HUBSPOT_API_URL": fake_hubspot.url})
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "HUBSPOT_ACCESS_TOKEN" in result.stderr
    assert fake_hubspot.calls == []


def test_unknown_portal_is_a_usage_error(env):
    result = run_lookup("--email", "ann@example.com", "--portal", "555", env=env)
    assert result.returncode == 2
    assert "555=<token>" in result.stderr and "HUBSPOT_PORTAL_TOKENS" in result.stderr
    assert_clean(result)


def test_bad_email_is_a_usage_error(env, fake_hubspot):
    result = run_lookup("--email", "ann at example", env=env)
    assert result.returncode == 2
    assert "not an email" in result.stderr
    assert fake_hubspot.calls == []


def test_unknown_email_prints_the_report_and_exits_1(env):
    result = run_lookup("--email", "zed@example.com", "--ticket", "123", env=env)
    assert result.returncode == 1
    assert "No HubSpot user has the email zed@example.com" in result.stdout
    assert "Refund request" in result.stdout  # the ticket facts are still shown
    assert_clean(result)


def test_unknown_ticket_prints_the_report_and_exits_1(env):
    result = run_lookup("--email", "ann@example.com", "--ticket", "999", env=env)
    assert result.returncode == 1
    assert "Ticket 999 does not exist" in result.stdout
    assert_clean(result)


def test_missing_scope_names_the_scope_to_add(fake_hubspot, env):
    narrow = "pat-na1-56565656-5656-4565-8565-565656565656"
    fake_hubspot.add_token(
        narrow, PORTAL, scopes=("settings.users.read", "settings.users.teams.read", "crm.objects.owners.read")
    )
    env["HUBSPOT_ACCESS_TOKEN"] = narrow
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 1
    assert "add `tickets`" in result.stdout
    assert "Ann Lee" in result.stdout
    assert_clean(result, narrow)


def test_server_errors_and_429_exit_1_with_partial_facts(fake_hubspot, env):
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 502, times=None)
    fake_hubspot.fault(
        "/settings/v3/users/roles",
        429,
        times=None,
        headers={"Retry-After": "3600"},
        body={
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "DAILY",
        },
    )
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", "--json", env=env)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    steps = {p["step"]: p for p in data["problems"]}
    assert steps["ticket"]["kind"] == "unavailable"
    assert steps["roles"]["kind"] == "rate_limit"
    assert "midnight" in steps["roles"]["message"]
    assert data["user"]["user_id"] == "9586504"
    assert_clean(result)


def test_malformed_json_exits_1_with_a_clear_problem(fake_hubspot, env):
    fake_hubspot.fault("/settings/v3/users/ann@example.com", 200, body="<html>maintenance</html>", times=None)
    result = run_lookup("--email", "ann@example.com", "--ticket", "123", env=env)
    assert result.returncode == 1
    assert "not JSON" in result.stdout
    assert_clean(result)
