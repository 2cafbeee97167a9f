"""Forensics through the real path: LookupService -> HubSpotClient -> HTTP -> the fake HubSpot.

The fake serves the security log, login history, API usage and seats in the shapes of HubSpot's
specs, pages them, checks scopes and injects faults; every degraded case (no scope, an account
without the log, 429, 5xx) must leave the lookup complete, with a line saying what is unknown.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.forensics import format_when
from bot.lookup import LookupService, render_report_text
from bot.lookup.forensics import ForensicsReader
from tests.fakes.hubspot import (
    ALL_SCOPES,
    ANN_USER,
    BOB_USER,
    FORENSICS_SCOPES,
    PORTAL,
    SUE_USER,
    TOKEN,
    ago,
    client_for,
    error_body,
    stamp,
)


@pytest.fixture
def world(forensics_hubspot):
    return forensics_hubspot


@pytest.fixture
def service(world, hubspot_sleeps):
    with LookupService(client_for(world, sleeps=hubspot_sleeps), owns_client=True) as s:
        yield s


def bob_removes_ann_from_a_team(fake, when: datetime) -> None:
    fake.add_security_event(
        PORTAL, "TEAM_USER_DELETED", stamp(when), acting_user_id=BOB_USER, acting_email="bob@example.com", object_id=ANN_USER
    )


def user_section(report):
    (section,) = [s for s in report.forensics if s.title.startswith("What changed for")]
    return section


# -- the live lookup ------------------------------------------------------------------------------


def test_lookup_says_who_changed_anns_teams_and_that_she_must_log_in_again(service, world):
    changed, last_login = ago(minutes=30), ago(hours=3)
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(last_login))
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(minutes=10)), succeeded=False)
    bob_removes_ann_from_a_team(world, changed)
    # Ann *acting* on Sue is not an event about Ann: it must not be listed.
    world.add_security_event(
        PORTAL,
        "REMOVE_USER",
        stamp(ago(minutes=20)),
        acting_user_id=ANN_USER,
        acting_email="ann@example.com",
        object_id=SUE_USER,
    )
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.ok
    now = datetime.now(UTC)
    lines = user_section(report).lines()
    assert lines == [
        f"Ann was removed from a team by Bob Stone at {format_when(changed, now)} "
        "(the log does not say which team; Ann is now on team East).",
        f"Last successful login: {format_when(last_login, now)}.",
        f"Ann's team membership changed ({format_when(changed, now)}) after Ann's last login "
        f"({format_when(last_login, now)}). HubSpot applies permission changes at the next login: "
        "Ann must log out and back in.",
    ]
    # The log is read by time window, never with the userId filter (which selects the actor).
    (security,) = world.calls_to("/account-info/v3/activity/security")
    assert "userId" not in security.query
    assert int(security.query["limit"][0]) <= 200
    window = int(security.query["toTimestamp"][0]) - int(security.query["fromTimestamp"][0])
    assert window >= 7 * 24 * 3600 * 1000
    (logins,) = world.calls_to("/account-info/v3/activity/login")
    assert logins.query["userId"] == [ANN_USER]


def test_text_json_and_exit_status_carry_the_forensics(service, world):
    bob_removes_ann_from_a_team(world, ago(minutes=5))
    report = service.lookup("ann@example.com")
    text = render_report_text(report)
    assert "What changed for Ann (HubSpot's security log and login history), the last 7 days" in text
    assert "  - Ann was removed from a team by Bob Stone" in text
    assert "Ann has no successful login in HubSpot's login history" in text
    data = json.loads(json.dumps(report.to_dict()))
    (section,) = data["forensics"]
    assert section["findings"][0]["event_type"] == "TEAM_USER_DELETED"
    assert section["findings"][0]["actor"] == "Bob Stone"
    assert data["ok"] is True


def test_without_the_scope_nothing_is_read_and_the_report_says_which_scope(fake_hubspot, hubspot_sleeps):
    # The standard token lacks account-info.security.read.
    with LookupService(client_for(fake_hubspot, sleeps=hubspot_sleeps), owns_client=True) as service:
        report = service.lookup("ann@example.com", ticket_id="123")
    assert report.ok and report.problems == []
    assert fake_hubspot.calls_to("/account-info/") == []
    gaps = [g.text for g in user_section(report).gaps]
    assert gaps == [
        "Unknown: HubSpot's security activity log, because hsperm's HubSpot token lacks the scope "
        "`account-info.security.read`. Adding the scope `account-info.security.read` to hsperm's HubSpot app would "
        "unlock it.",
        "Unknown: Ann's login history, because hsperm's HubSpot token lacks the scope `account-info.security.read`. "
        "Adding the scope `account-info.security.read` to hsperm's HubSpot app would unlock it.",
    ]


def test_an_account_without_the_log_is_an_unknown_not_a_failure(service, world):
    world.portal(PORTAL).activity_available = False
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.ok
    gaps = [g for g in user_section(report).gaps]
    assert [g.kind for g in gaps] == ["tier", "tier"]
    assert "HubSpot refused the read (403); the account's subscription may not include the security activity log" in (
        gaps[0].text
    )
    assert report.can_view is False  # the verdict is untouched


def test_scope_refused_by_hubspot_itself_is_reported_as_that_scope(service, world):
    world.tokens[TOKEN].scopes = (*ALL_SCOPES, "settings.billing.write")  # token info does not list it…
    world.fault("/account-info/v3/activity/login", 403, body=error_body("MISSING_SCOPES", "missing"), times=None)
    reader = service.forensics
    # …and with unknown token scopes the reads are tried, and HubSpot's 403 says the rest.
    section = reader.for_user(user_id=ANN_USER, name="Ann", portal=None, token_scopes=None)
    assert [g.kind for g in section.gaps] == ["scope", "scope"]
    assert all("`account-info.security.read`" in g.text for g in section.gaps)


def test_429_on_the_log_is_retried_then_becomes_an_unknown(service, world, hubspot_sleeps):
    world.fault(
        "/account-info/v3/activity/security",
        429,
        headers={"Retry-After": "1"},
        body=error_body("RATE_LIMITS", "slow"),
        times=None,
    )
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(hours=1)))
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.ok and report.problems == []
    section = user_section(report)
    assert [g.kind for g in section.gaps] == ["rate_limit"]
    assert "rate limit stopped the read; try again in 1 s" in section.gaps[0].text
    assert [f.kind for f in section.findings] == ["last_login"]  # the login history still answered
    assert len(world.calls_to("/account-info/v3/activity/security")) == 3  # the client's attempts
    assert 1.0 in hubspot_sleeps


def test_5xx_on_the_login_history_becomes_an_unknown(service, world):
    world.fault("/account-info/v3/activity/login", 503, times=None)
    bob_removes_ann_from_a_team(world, ago(minutes=5))
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.ok
    section = user_section(report)
    assert [g.kind for g in section.gaps] == ["unavailable"]
    assert "Unknown: Ann's login history, because HubSpot had a server error (HTTP 503)" in section.gaps[0].text
    assert section.findings[0].event_type == "TEAM_USER_DELETED"


def test_the_log_is_paged_and_cached_within_the_minute(service, world):
    world.page_size = 2
    for minutes in range(5, 10):
        bob_removes_ann_from_a_team(world, ago(minutes=minutes))
    first = service.lookup("ann@example.com")
    kinds = [f.kind for f in user_section(first).findings]
    assert kinds == ["team_user_deleted"] * 5 + ["no_login", "relogin_needed"]
    assert len(world.calls_to("/account-info/v3/activity/security")) == 3
    world.reset_calls()
    second = service.lookup("bob@example.com")
    assert world.calls_to("/account-info/v3/activity/security") == []  # the week's log is shared
    assert len(world.calls_to("/account-info/v3/activity/login")) == 1  # a new user's logins are read
    assert "no change to Bob's user" in user_section(second).lines()[0]


def test_paging_stops_at_the_cap_and_says_older_records_are_unread(world, hubspot_sleeps):
    world.page_size = 2
    for minutes in range(1, 8):
        bob_removes_ann_from_a_team(world, ago(minutes=minutes))
    with client_for(world, sleeps=hubspot_sleeps) as client:
        events, more = client.security_activity(ago(days=1), datetime.now(UTC), max_records=4)
    assert len(events) == 4 and more
    assert [int(c.query["limit"][0]) for c in world.calls_to("/activity/security")] == [4, 2]


def test_actors_are_named_by_the_users_api_and_unknown_ones_by_email(service, world):
    world.add_security_event(
        PORTAL,
        "DEACTIVATE_USER",
        stamp(ago(minutes=2)),
        acting_user_id="31337",
        acting_email="ex-admin@example.com",
        object_id=ANN_USER,
    )
    bob_removes_ann_from_a_team(world, ago(minutes=3))
    lines = user_section(service.lookup("ann@example.com")).lines()
    assert lines[0].startswith("Ann was deactivated by ex-admin@example.com at ")  # no such user any more
    assert lines[1].startswith("Ann was removed from a team by Bob Stone at ")


# -- hsperm's own token, the daily budget, seats, after a fix ---------------------------------------


def test_own_token_missing_a_scope_is_explained_by_the_scope_change(world, hubspot_sleeps):
    narrow = "pat-na1-56565656-5656-4565-8565-565656565656"
    world.add_token(narrow, PORTAL, scopes=("settings.users.read", "settings.users.teams.read", *FORENSICS_SCOPES))
    world.add_security_event(
        PORTAL,
        "PRIVATE_APP_SCOPE_GROUPS_UPDATE",
        stamp(ago(hours=2)),
        acting_user_id=BOB_USER,
        acting_email="bob@example.com",
        object_id="2011410",
    )
    with LookupService(client_for(world, access_token=narrow, sleeps=hubspot_sleeps), owns_client=True) as service:
        report = service.lookup("ann@example.com", ticket_id="123")
    (section,) = [s for s in report.forensics if s.title.startswith("What changed (")]
    assert section.findings[0].text.startswith("A private app's scopes (this app, id 2011410) were changed by Bob Stone at ")
    assert "2 hours before this check" in section.findings[0].text


def test_a_daily_429_reports_the_shared_budget_and_its_reset(service, world):
    daily = {
        "status": "error",
        "message": "You have reached your daily limit.",
        "errorType": "RATE_LIMIT",
        "correlationId": "c0ffee00-0000-4000-8000-000000000000",
        "policyName": "DAILY",
    }
    world.fault("/crm/v3/owners", 429, body=daily, times=None)
    resets = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=5)
    world.set_daily_usage(PORTAL, 250000, 250000, collected_at=stamp(ago(minutes=1)), resets_at=stamp(resets))
    report = service.lookup("ann@example.com", ticket_id="123")
    (budget,) = [s for s in report.forensics if s.title == "Private apps' daily API budget"]
    line = budget.lines()[0]
    assert "Private apps in this account have used 250,000 of 250,000 daily API calls (100%)" in line
    assert f"It resets at {format_when(resets, datetime.now(UTC))}" in line
    assert "429 until then" in line
    paths = [c.path for c in world.calls_to("/crm/v3/owners")]
    assert len(paths) == len(set(paths))  # DAILY is not retried


def test_the_daily_budget_without_the_oauth_scope_names_it(world):
    world.tokens[TOKEN].scopes = ("tickets",)
    with client_for(world) as client:
        section = ForensicsReader(client).for_daily_limit(None, None)
    assert section.gaps[0].text.startswith("Unknown: the private apps' daily API usage, because hsperm's HubSpot token")
    assert "`oauth`" in section.gaps[0].text


def test_seats_are_checked_before_a_seat_change(service, world):
    world.add_seat(PORTAL, "sales", 0, "Sales Hub Professional")
    world.add_seat(PORTAL, "service", 3)
    reader = service.forensics
    scopes = world.tokens[TOKEN].scopes
    none_left = reader.seat("sales", None, scopes)
    assert none_left.text == "No sales seat is left (0 remaining)."
    assert reader.seat("service", None, scopes).text == "3 service seats left."
    no_scope = reader.seat("sales", None, ALL_SCOPES)
    assert "`settings.billing.write`" in no_scope.text
    assert len(world.calls_to("/settings/users/2026-09-beta/seats")) == 2


def test_after_a_fix_has_ann_logged_in_since(service, world):
    fix = ago(hours=1)
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(hours=2)))
    reader = service.forensics
    scopes = world.tokens[TOKEN].scopes
    before = reader.since_fix(user_id=ANN_USER, name="Ann", since=fix, portal=None, token_scopes=scopes)
    assert before.text.startswith("Ann has not yet logged in since the fix")
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(minutes=1)))
    after = reader.since_fix(user_id=ANN_USER, name="Ann", since=fix, portal=None, token_scopes=scopes)
    assert after.text.startswith("Ann has logged in since the fix")  # read fresh, not from a cache


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_exits_0_when_forensics_are_unknown(fake_hubspot):
    from tests.lookup_cli_steps import assert_clean, run_lookup

    env = {"HUBSPOT_API_URL": fake_hubspot.url, "HUBSPOT_ACCESS_TOKEN": TOKEN}
    text = run_lookup("--email", "ann@example.com", "--ticket", "123", env=env)
    assert text.returncode == 0, text.stderr
    assert "Unknown: HubSpot's security activity log, because hsperm's HubSpot token lacks the scope" in text.stdout
    as_json = run_lookup("--email", "ann@example.com", "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["ok"] is True
    assert [g["scope"] for g in data["forensics"][0]["gaps"]] == ["account-info.security.read"] * 2
    assert_clean(text)
    assert_clean(as_json)


def test_cli_shows_what_changed(world):
    from tests.lookup_cli_steps import run_lookup

    bob_removes_ann_from_a_team(world, ago(minutes=5))
    result = run_lookup("--email", "ann@example.com", env={"HUBSPOT_API_URL": world.url, "HUBSPOT_ACCESS_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert "Ann was removed from a team by Bob Stone" in result.stdout
    assert "Ann must log out and back in" in result.stdout


def test_a_removed_user_is_explained_from_the_archived_owner_and_the_log(service, world):
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(days=2)))
    world.remove_user(PORTAL, ANN_USER)
    removed = ago(hours=5)
    world.add_security_event(
        PORTAL,
        "REMOVE_USER",
        stamp(removed),
        acting_user_id=BOB_USER,
        acting_email="bob@example.com",
        object_id=ANN_USER,
    )
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.basis == "user_not_found"
    lines = user_section(report).lines()
    assert lines[0] == f"Ann was removed from the account by Bob Stone at {format_when(removed, datetime.now(UTC))}."
    assert lines[1].startswith("Last successful login: ")
    (archived,) = [c for c in world.calls_to("/crm/v3/owners") if c.query.get("archived") == ["true"]]
    assert archived.query["email"] == ["ann@example.com"]


def test_a_removed_user_without_the_scope_costs_no_call_and_names_it(fake_hubspot, hubspot_sleeps):
    fake_hubspot.remove_user(PORTAL, ANN_USER)
    with LookupService(client_for(fake_hubspot, sleeps=hubspot_sleeps), owns_client=True) as service:
        report = service.lookup("ann@example.com")
    (section,) = report.forensics
    assert section.title == "What happened to ann@example.com"
    assert "`account-info.security.read`" in section.gaps[0].text
    assert [c for c in fake_hubspot.calls_to("/crm/v3/owners") if c.query.get("archived")] == []
