"""LookupService and PermissionReport against the fake HubSpot API (real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import logging

import pytest

from bot.hubspot import HubSpotClient, HubSpotConfigError, redact_logs
from bot.lookup import (
    LookupInputError,
    LookupService,
    normalize_email,
    normalize_ticket_id,
    render_report_text,
)
from tests.fakes.hubspot import (
    ANN_OWNER,
    ANN_USER,
    BOB_OWNER,
    BOB_USER,
    EU_PORTAL,
    EU_TOKEN,
    OAUTH_TOKEN,
    PORTAL,
    TOKEN,
    WEST,
    client_for,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def service(hubspot_client, clock):
    with LookupService(hubspot_client, clock=clock, cache_ttl=300) as s:
        yield s


def service_for(fake, **client_kw) -> LookupService:
    return LookupService(client_for(fake, **client_kw), owns_client=True)


# -- the verdict --------------------------------------------------------------------------------


def test_ann_cannot_view_bobs_ticket_and_the_report_says_why(service):
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.can_view is False
    assert report.basis == "permitted_users"
    assert report.ok
    assert report.verdict.startswith("Ann cannot view ticket 123")
    for fact in ("Bob Stone", "team West", "team East", "'Team only' or 'Owned only'"):
        assert fact in report.verdict
    user, ticket = report.user, report.ticket
    assert (user.user_id, user.owner_id) == (ANN_USER, ANN_OWNER)
    assert [r.label for r in user.roles] == ["Support Agent"]
    assert user.primary_team.label == "East"
    assert user.super_admin is False
    assert user.seats == ("core",)
    assert (ticket.owner_id, ticket.owner_user_id, ticket.owner_name) == (BOB_OWNER, BOB_USER, "Bob Stone")
    assert ticket.team.label == "West"
    assert ticket.subject == "Refund request"
    assert report.access.answered and report.access.can_edit is False
    assert report.links["ticket"] == f"https://app.hubspot.com/contacts/{PORTAL}/record/0-5/123"
    assert report.links["users_settings"] == f"https://app.hubspot.com/settings/{PORTAL}/users"


def test_what_the_api_cannot_tell_is_stated_with_the_settings_link(service):
    report = service.lookup("ann@example.com", ticket_id="123")
    (unknown,) = report.unknowns
    assert "does not expose" in unknown
    assert "Team only" in unknown
    assert f"https://app.hubspot.com/settings/{PORTAL}/users" in unknown
    assert any("logs out" in note for note in report.notes)


def test_hubspots_own_answer_wins_for_the_owner(service):
    report = service.lookup("bob@example.com", ticket_id="123")
    assert report.can_view is True
    assert report.basis == "permitted_users"
    assert report.verdict.startswith("Bob can view and edit ticket 123")


def test_owner_id_and_user_id_are_used_where_each_belongs(service, fake_hubspot):
    service.lookup("ann@example.com", ticket_id="123")
    # The ticket's hubspot_owner_id is an owner id: it is read from the owners API ...
    assert fake_hubspot.calls_to(f"/crm/v3/owners/{BOB_OWNER}")
    # ... and never sent to the Settings users API, which takes user ids.
    assert not fake_hubspot.calls_to(f"/settings/v3/users/{BOB_OWNER}")
    # The user is found by email, and the user id (not the owner id) is checked against
    # HubSpot's permitted-users list; Ann's owner id would never appear there.
    assert fake_hubspot.calls_to("/settings/v3/users/ann@example.com")[0].query["idProperty"] == ["EMAIL"]


def test_an_owner_record_of_another_user_is_not_taken_for_this_one(fake_hubspot, service):
    portal = fake_hubspot.portal(PORTAL)
    ann_owner = next(o for o in portal.owners if o["id"] == ANN_OWNER)
    ann_owner["userId"] = int(BOB_USER)  # a stale record: same email, someone else's user id
    report = service.lookup("ann@example.com")
    assert report.user.owner_id is None


def test_super_admin_sees_everything_when_hubspot_gives_no_answer(service, fake_hubspot):
    fake_hubspot.portal(PORTAL).permitted_users_available = False
    report = service.lookup("sue@example.com", ticket_id="123")
    assert report.can_view is True
    assert report.basis == "super_admin"
    assert "Super Admin" in report.verdict
    assert not [u for u in report.unknowns if "does not expose" in u]


def test_without_hubspots_answer_the_verdict_is_inferred_and_says_so(service, fake_hubspot):
    fake_hubspot.portal(PORTAL).permitted_users_available = False
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.basis == "no_team_match"
    assert report.can_view is None
    assert report.access is not None and report.access.answered is False
    assert "only if Ann's ticket access is 'All'" in report.verdict
    assert any("gave no answer" in u and "inferred" in u for u in report.unknowns)
    assert report.ok  # the beta not answering is not a failure


def test_team_match_without_hubspots_answer(service, fake_hubspot):
    fake_hubspot.portal(PORTAL).permitted_users_available = False
    fake_hubspot.add_user(PORTAL, "5550001", "cara@example.com", first="Cara", role_id="1234", primary_team=WEST)
    report = service.lookup("cara@example.com", ticket_id="123")
    assert report.basis == "team"
    assert "'All' or 'Team only'" in report.verdict
    assert report.user.owner_id is None  # Cara has no CRM owner record, which is allowed


def test_owner_of_the_ticket_without_hubspots_answer(service, fake_hubspot):
    fake_hubspot.portal(PORTAL).permitted_users_available = False
    report = service.lookup("ann@example.com", ticket_id="124")
    assert report.basis == "owner"
    assert "Ann owns ticket 124" in report.verdict


def test_unassigned_ticket(service, fake_hubspot):
    fake_hubspot.portal(PORTAL).permitted_users_available = False
    report = service.lookup("ann@example.com", ticket_id="125")
    assert report.basis == "unassigned"
    assert "Unassigned" in report.verdict
    assert report.ticket.owner_id is None


def test_lookup_without_a_ticket_describes_the_user(service, fake_hubspot):
    report = service.lookup("ann@example.com")
    assert report.basis == "no_ticket"
    assert report.ticket is None and report.access is None
    assert "Support Agent" in report.verdict and "East" in report.verdict
    assert not fake_hubspot.calls_to("/resource-permissions")


def test_ticket_url_is_accepted_as_ticket_id(service):
    url = f"https://app.hubspot.com/contacts/{PORTAL}/record/0-5/123/"
    assert service.lookup("ann@example.com", ticket_id=url).ticket_id == "123"


# -- scopes ------------------------------------------------------------------------------------


def test_required_scopes_are_compared_with_the_tokens(service):
    report = service.lookup("ann@example.com", required=("tickets",))
    assert report.token.kind == "private_app"
    assert report.token.has_required is True
    assert report.token.granted == ("tickets",)
    report = service.lookup("ann@example.com", required=("crm.objects.deals.read", "crm.schemas.deals.read"))
    assert report.token.has_required is False


def test_permission_names_are_not_mistaken_for_scopes(service):
    report = service.lookup("ann@example.com", required=("tickets-read", "tickets-access"))
    assert report.token.permission_names == ("tickets-read", "tickets-access")
    assert report.token.has_required is None
    assert "not OAuth scopes" in render_report_text(report)


def test_oauth_token_is_reported_as_oauth(fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth")
    with service_for(fake_hubspot, access_token=OAUTH_TOKEN) as service:
        report = service.lookup("ann@example.com", ticket_id="123")
    assert report.token.kind == "oauth"
    assert report.can_view is False


def test_a_scope_named_only_in_the_error_text_is_still_the_one_to_add(service, fake_hubspot):
    """An older 403 shape: no structured scope list, only HubSpot's sentence naming the scope."""
    body = {
        "status": "error",
        "message": "This oauth-token (pat-na1-xx) does not have proper permissions! "
        "(requires any of [crm.objects.owners.read])",
        "category": "MISSING_SCOPES",
    }
    fake_hubspot.fault("/crm/v3/owners", 403, body=body, times=None)
    report = service.lookup("ann@example.com", ticket_id="123")
    [problem] = [p for p in report.problems if p.step == "owner"]
    assert problem.kind == "scope"
    assert "add `crm.objects.owners.read`" in problem.message


def test_missing_scope_on_hspermss_own_token_names_the_scope_and_keeps_other_facts(fake_hubspot):
    narrow = "pat-na1-56565656-5656-4565-8565-565656565656"
    fake_hubspot.add_token(narrow, PORTAL, scopes=("settings.users.read", "settings.users.teams.read"))
    with service_for(fake_hubspot, access_token=narrow) as service:
        report = service.lookup("ann@example.com", ticket_id="123")
    by_step = {p.step: p for p in report.problems}
    assert "add `tickets`" in by_step["ticket"].message
    assert by_step["ticket"].category == "MISSING_SCOPES"
    assert "add `crm.objects.owners.read`" in by_step["owner"].message
    assert report.user.user_id == ANN_USER  # the user facts still came through
    assert report.user.primary_team.label == "East"
    # HubSpot's own per-record answer still decides, even without the ticket's details.
    assert report.can_view is False
    assert "could not read the ticket's owner and team" in report.verdict
    assert "owner id unknown" in render_report_text(report)
    assert not report.ok


# -- bad input and faults -----------------------------------------------------------------------


def test_unknown_email_is_a_clear_answer_with_the_ticket_facts_kept(service):
    report = service.lookup("zed@example.com", ticket_id="123")
    assert report.basis == "user_not_found"
    assert report.user.found is False
    assert "No HubSpot user has the email zed@example.com" in report.verdict
    assert report.ticket.owner_name == "Bob Stone"
    assert not report.ok
    assert report.problems == []


def test_unknown_ticket_is_not_a_permission_problem(service):
    report = service.lookup("ann@example.com", ticket_id="999")
    assert report.basis == "ticket_not_found"
    assert report.ticket.found is False
    assert "does not exist" in report.verdict and "not a permission problem" in report.verdict
    assert report.user.user_id == ANN_USER
    assert "ticket" not in report.links


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"email": "not-an-email"}, "not an email"),
        ({"email": "ann@example.com", "ticket_id": "abc"}, "not a ticket id"),
        ({"email": "ann@example.com", "portal_id": "acme"}, "not a portal id"),
    ],
    ids=["email", "ticket", "portal"],
)
def test_malformed_input_is_refused_before_any_call(service, fake_hubspot, kwargs, fragment):
    with pytest.raises(LookupInputError, match=fragment):
        service.lookup(**kwargs)
    assert fake_hubspot.calls == []


def test_slack_style_email_is_accepted():
    assert normalize_email("<mailto:ann@example.com|ann@example.com>") == "ann@example.com"
    assert normalize_ticket_id(f"https://app.hubspot.com/contacts/{PORTAL}/ticket/42") == "42"


def test_no_token_configured(fake_hubspot):
    service = LookupService(HubSpotClient(base_url=fake_hubspot.url), owns_client=True)
    with service, pytest.raises(HubSpotConfigError, match="HUBSPOT_ACCESS_TOKEN"):
        service.lookup("ann@example.com")
    assert fake_hubspot.calls == []


def test_unknown_portal_with_another_portals_default_token(service):
    with pytest.raises(HubSpotConfigError) as caught:
        service.lookup("ann@example.com", portal_id="555")
    assert "555=<token>" in str(caught.value)
    assert f"belongs to portal {PORTAL}" in str(caught.value)


def test_unknown_portal_without_a_default_token(fake_hubspot):
    service = service_for(fake_hubspot, access_token=None)
    with service, pytest.raises(HubSpotConfigError, match="HUBSPOT_PORTAL_TOKENS"):
        service.lookup("ann@example.com", portal_id="555")


def test_default_token_serves_its_own_portal_when_named(service):
    report = service.lookup("ann@example.com", ticket_id="123", portal_id=PORTAL)
    assert report.can_view is False


def test_revoked_token_gives_one_problem_naming_the_setting(fake_hubspot):
    revoked = "pat-na1-99999999-9999-4999-8999-999999999999"
    with service_for(fake_hubspot, access_token=revoked) as service:
        report = service.lookup("ann@example.com", ticket_id="123")
    assert len(report.problems) == 1
    (problem,) = report.problems
    assert problem.kind == "auth"
    assert "HUBSPOT_ACCESS_TOKEN" in problem.message
    assert {"user", "ticket", "roles", "teams"} <= set(problem.steps)
    assert report.user is None
    assert "could not read" in report.verdict
    assert revoked not in json.dumps(report.to_dict()) + render_report_text(report)


def test_a_failing_teams_call_leaves_the_other_facts(service, fake_hubspot):
    fake_hubspot.fault("/settings/v3/users/teams", 500, times=None)
    report = service.lookup("ann@example.com", ticket_id="123")
    assert [p.step for p in report.problems] == ["teams"]
    assert "server error" in report.problems[0].message
    assert report.problems[0].correlation_id
    assert report.user.primary_team.id == "178590" and report.user.primary_team.name is None
    assert report.can_view is False  # HubSpot's answer still decides
    assert "#178590" in render_report_text(report)


def test_a_timed_out_ticket_call_leaves_the_user_facts(fake_hubspot):
    fake_hubspot.portal(PORTAL).permitted_users_available = False
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 200, delay=1.0, times=None, body={})
    with service_for(fake_hubspot, timeout=(2.0, 0.1)) as service:
        report = service.lookup("ann@example.com", ticket_id="123")
    assert [p.step for p in report.problems] == ["ticket"]
    assert "did not answer in time" in report.problems[0].message
    assert report.user.user_id == ANN_USER
    assert report.verdict.startswith("hsperm could not read ticket 123")


def test_malformed_json_from_hubspot_is_a_problem_not_a_crash(service, fake_hubspot):
    fake_hubspot.fault("/settings/v3/users/ann@example.com", 200, body="<html>oops</html>", times=None)
    report = service.lookup("ann@example.com", ticket_id="123")
    assert [p.step for p in report.problems] == ["user"]
    assert "not JSON" in report.problems[0].message
    assert report.user is None
    assert report.ticket.owner_name == "Bob Stone"


def test_429_is_retried_after_retry_after_and_the_lookup_completes(service, fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault("/crm/v3/owners", 429, headers={"Retry-After": "1"}, body={"status": "error"})
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.ok
    assert 1.0 in hubspot_sleeps


def test_without_token_info_the_portal_comes_from_the_ticket_url(service, fake_hubspot):
    fake_hubspot.fault("/oauth/v2/private-apps/get/access-token-info", 500, times=None)
    report = service.lookup("ann@example.com", ticket_id="123", required=("tickets",))
    assert [p.step for p in report.problems] == ["token"]
    assert report.token is None
    assert any("token info could not be read" in u for u in report.unknowns)
    assert report.portal_id == PORTAL
    assert report.basis == "permitted_users" and report.can_view is False
    assert report.links["users_settings"] == f"https://app.hubspot.com/settings/{PORTAL}/users"


def test_persistent_5xx_everywhere_still_returns_a_report(service, fake_hubspot):
    fake_hubspot.fault("/", 503, times=None)
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.problems
    assert all(p.status == 503 for p in report.problems)
    assert report.verdict


# -- caching and concurrency --------------------------------------------------------------------


def test_warm_lookup_makes_at_most_three_calls(service, fake_hubspot):
    service.lookup("ann@example.com", ticket_id="123")
    cold = len(fake_hubspot.calls)
    fake_hubspot.reset_calls()
    service.lookup("ann@example.com", ticket_id="123")
    warm = sorted(c.path for c in fake_hubspot.calls)
    assert cold >= 7
    assert warm == [
        "/crm/v3/objects/tickets/123",
        "/resource-permissions/v3/permitted-users",
        "/settings/v3/users/ann@example.com",
    ]


def test_cache_expires_after_its_ttl(service, fake_hubspot, clock):
    service.lookup("ann@example.com", ticket_id="123")
    fake_hubspot.reset_calls()
    clock.now += 301
    service.lookup("ann@example.com", ticket_id="123")
    assert fake_hubspot.calls_to("/settings/v3/users/roles")
    assert fake_hubspot.calls_to("/settings/v3/users/teams")
    assert fake_hubspot.calls_to("/oauth/v2/private-apps/get/access-token-info")


def test_user_and_ticket_are_always_read_fresh(service, fake_hubspot):
    service.lookup("ann@example.com", ticket_id="123")
    fake_hubspot.portal(PORTAL).users[ANN_USER]["primaryTeamId"] = WEST
    fake_hubspot.portal(PORTAL).tickets["123"]["subject"] = "Renamed"
    report = service.lookup("ann@example.com", ticket_id="123")
    assert report.user.primary_team.label == "West"
    assert report.ticket.subject == "Renamed"


def test_failures_are_not_cached(service, fake_hubspot):
    fake_hubspot.fault("/settings/v3/users/roles", 500, times=3)
    first = service.lookup("ann@example.com")
    assert [p.step for p in first.problems] == ["roles"]
    second = service.lookup("ann@example.com")
    assert second.ok
    assert second.user.roles[0].label == "Support Agent"


def test_caches_are_per_portal(service, fake_hubspot):
    service.lookup("ann@example.com", ticket_id="123")
    report = service.lookup("eva@example.eu", ticket_id="77", portal_id=EU_PORTAL)
    assert report.user.roles[0].label == "Agent"
    assert report.ticket.team.label == "Berlin"
    assert {c.token for c in fake_hubspot.calls_to("/settings/v3/users/teams")} == {TOKEN, EU_TOKEN}


def test_independent_calls_run_concurrently(service, fake_hubspot):
    fake_hubspot.latency = 0.2
    service.lookup("ann@example.com", ticket_id="123")
    assert fake_hubspot.max_in_flight >= 4


def test_one_service_serves_many_threads(service):
    from concurrent.futures import ThreadPoolExecutor

    emails = ["ann@example.com", "bob@example.com", "sue@example.com", "zed@example.com"] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        reports = list(pool.map(lambda e: service.lookup(e, ticket_id="123"), emails))
    assert [r.basis for r in reports[:4]] == ["permitted_users", "permitted_users", "permitted_users", "user_not_found"]
    assert all(not r.problems for r in reports)


# -- hublets, rendering, secrecy ------------------------------------------------------------------


def test_eu_portal_links_use_the_eu_app_domain(service):
    report = service.lookup("eva@example.eu", ticket_id="77", portal_id=EU_PORTAL)
    assert report.links["users_settings"] == f"https://app-eu1.hubspot.com/settings/{EU_PORTAL}/users"
    assert report.links["ticket"].startswith("https://app-eu1.hubspot.com/contacts/")
    assert report.can_view is True and report.access.can_edit is False


def test_eu_links_come_from_the_token_when_the_api_gives_no_url(service, fake_hubspot):
    fake_hubspot.portal(EU_PORTAL).ticket_urls = False
    report = service.lookup("eva@example.eu", ticket_id="77", portal_id=EU_PORTAL)
    assert report.links["users_settings"] == f"https://app-eu1.hubspot.com/settings/{EU_PORTAL}/users"
    assert report.links["ticket"] == f"https://app-eu1.hubspot.com/contacts/{EU_PORTAL}/record/0-5/77"


def test_report_is_json_safe_and_complete(service):
    report = service.lookup("ann@example.com", ticket_id="123", required=("tickets",))
    data = json.loads(json.dumps(report.to_dict()))
    assert set(data) >= {
        "verdict",
        "can_view",
        "basis",
        "user",
        "ticket",
        "access",
        "token",
        "unknowns",
        "problems",
        "links",
        "portal_id",
        "checked_at",
    }
    assert data["user"]["roles"] == [{"id": "1234", "name": "Support Agent"}]
    assert data["token"]["required"] == ["tickets"]


def test_text_rendering_leads_with_the_verdict(service):
    text = render_report_text(service.lookup("ann@example.com", ticket_id="123"))
    lines = text.splitlines()
    assert lines[0] == f"hsperm lookup: ann@example.com, ticket 123, portal {PORTAL}"
    assert lines[2].startswith("Verdict: Ann cannot view ticket 123")
    assert "owner id 41629779" in text and "user id 9586504" in text
    assert "What the API cannot tell" in text


def test_tokens_never_appear_in_reports_or_logs(fake_hubspot, caplog):
    caplog.set_level(logging.DEBUG)
    fake_hubspot.fault("/settings/v3/users/teams", 500, times=None)
    narrow = "pat-na1-78787878-7878-4787-8787-787878787878"
    fake_hubspot.add_token(narrow, PORTAL, scopes=("settings.users.read",))
    redact_logs([TOKEN, narrow])  # what wiring (build_services, the CLI) does at start-up
    outputs = []
    for token in (TOKEN, narrow):
        with service_for(fake_hubspot, access_token=token) as service:
            report = service.lookup("ann@example.com", ticket_id="123", required=("tickets",))
        outputs.append(json.dumps(report.to_dict()) + render_report_text(report))
    blob = "".join(outputs) + caplog.text
    assert "add `tickets`" in blob
    for token in (TOKEN, narrow, EU_TOKEN):
        assert token not in blob
