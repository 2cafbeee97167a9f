"""HubSpotClient against the fake HubSpot API over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import socket

import pytest
import requests

from bot.config import Settings
from bot.hubspot import (
    HubSpotAuthError,
    HubSpotBadResponse,
    HubSpotClient,
    HubSpotConfigError,
    HubSpotForbiddenError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotUnavailable,
    recommend_scope,
    redact_logs,
    scope_advice,
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
    client_for,
)

# -- typed reads --------------------------------------------------------------------------------


def test_user_by_email_uses_id_property_email_and_bearer_token(hubspot_client, fake_hubspot):
    user = hubspot_client.get_user_by_email("ann@example.com")
    assert user.id == ANN_USER
    assert user.display_name == "Ann Lee"
    assert user.role_ids == ("1234",)
    assert user.primary_team_id == "178590"
    assert user.super_admin is False
    assert user.seat_names == ("core",)
    (call,) = fake_hubspot.calls
    assert call.path == "/settings/v3/users/ann@example.com"
    assert call.query["idProperty"] == ["EMAIL"]
    assert call.token == TOKEN


@pytest.mark.parametrize("path", ["/settings/v3/users", "/settings/v3/users/", "/settings/users/v3"])
def test_fake_accepts_every_documented_users_path(fake_hubspot, path):
    response = requests.get(fake_hubspot.url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5)
    assert response.status_code == 200
    assert {u["email"] for u in response.json()["results"]} >= {"ann@example.com", "bob@example.com"}


def test_list_users_follows_paging_next_after(hubspot_client, fake_hubspot):
    fake_hubspot.page_size = 1
    users = hubspot_client.list_users()
    assert [u.email for u in users] == ["ann@example.com", "bob@example.com", "sue@example.com"]
    calls = fake_hubspot.calls_to("/settings/v3/users")
    assert len(calls) == 3
    assert "after" not in calls[0].query
    assert [c.query["after"] for c in calls[1:]] == [["1"], ["2"]]


def test_roles_and_teams_are_typed(hubspot_client):
    roles = {r.id: r for r in hubspot_client.list_roles()}
    assert roles["1234"].name == "Support Agent"
    assert roles["5678"].requires_billing_write is True
    teams = {t.id: t for t in hubspot_client.list_teams()}
    assert teams["178588"].name == "West"
    assert BOB_USER in teams["178588"].user_ids


def test_owner_id_and_user_id_are_kept_apart(hubspot_client, fake_hubspot):
    owner = hubspot_client.find_owner_by_email("ann@example.com")
    assert owner is not None
    assert (owner.id, owner.user_id) == (ANN_OWNER, ANN_USER)
    assert fake_hubspot.calls[-1].query["email"] == ["ann@example.com"]
    bob = hubspot_client.get_owner(BOB_OWNER)
    assert (bob.id, bob.user_id, bob.display_name) == (BOB_OWNER, BOB_USER, "Bob Stone")
    assert bob.teams[0].name == "West"
    assert hubspot_client.find_owner_by_email("nobody@example.com") is None


def test_ticket_properties_and_record_url(hubspot_client, fake_hubspot):
    ticket = hubspot_client.get_ticket("123")
    assert ticket.subject == "Refund request"
    assert ticket.owner_id == BOB_OWNER
    assert ticket.team_id == "178588"
    assert ticket.url == f"https://app.hubspot.com/contacts/{PORTAL}/record/0-5/123"
    asked = fake_hubspot.calls[-1].query["properties"][0].split(",")
    assert {"subject", "hubspot_owner_id", "hubspot_team_id", "hs_pipeline"} <= set(asked)


def test_permitted_users_builds_the_hcrn_and_reads_actions(hubspot_client, fake_hubspot):
    answer = hubspot_client.permitted_users(PORTAL, "123")
    assert fake_hubspot.calls[-1].query["resource"] == [f"hcrn:{PORTAL}:crm-object:0-5:123"]
    assert answer.allows(BOB_USER, "VIEW") is True
    assert answer.allows(ANN_USER, "VIEW") is False
    assert answer.allows(ANN_USER, "DELETE") is None


def test_tokens_are_chosen_per_portal(hubspot_client, fake_hubspot):
    hubspot_client.get_ticket("77", portal_id=EU_PORTAL)
    assert fake_hubspot.calls[-1].token == EU_TOKEN
    hubspot_client.get_ticket("123")
    assert fake_hubspot.calls[-1].token == TOKEN


def test_from_settings_reads_base_url_and_tokens(fake_hubspot):
    settings = Settings(
        hubspot_access_token=TOKEN, hubspot_portal_tokens={EU_PORTAL: EU_TOKEN}, hubspot_api_url=fake_hubspot.url
    )
    with HubSpotClient.from_settings(settings, timeout=(2.0, 1.0)) as c:
        assert c.get_user_by_email("bob@example.com").id == BOB_USER
        assert c.portals == (EU_PORTAL,)
        assert TOKEN not in repr(c)


# -- token info ---------------------------------------------------------------------------------


def test_private_app_token_info(hubspot_client, fake_hubspot):
    info = hubspot_client.token_info()
    assert info.kind == "private_app"
    assert info.hub_id == PORTAL
    assert "tickets" in info.scopes
    assert info.hublet == "na1"
    call = fake_hubspot.calls[-1]
    assert call.path == "/oauth/v2/private-apps/get/access-token-info"
    assert call.method == "POST"
    assert call.body == {"tokenKey": TOKEN}
    assert TOKEN not in repr(info)


def test_eu_private_app_token_reports_its_hublet(hubspot_client):
    info = hubspot_client.token_info(EU_PORTAL)
    assert (info.hub_id, info.hublet) == (EU_PORTAL, "eu1")


def test_oauth_token_info_falls_back_to_introspection(fake_hubspot, hubspot_sleeps):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth", scopes=("tickets", "oauth"), hublet="na1")
    with client_for(fake_hubspot, access_token=OAUTH_TOKEN, sleeps=hubspot_sleeps) as c:
        info = c.token_info()
    assert info.kind == "oauth"
    assert info.user_email == "installer@example.com"
    assert info.expires_in == 1200
    assert info.is_user_level is False
    assert OAUTH_TOKEN not in repr(info)
    assert fake_hubspot.calls[0].path.startswith("/oauth/v1/access-tokens/")


def test_unknown_token_kind_is_explained(fake_hubspot):
    stranger = "pat-na1-00000000-0000-4000-8000-000000000000"
    with client_for(fake_hubspot, access_token=stranger) as c, pytest.raises(HubSpotAuthError) as caught:
        c.token_info()
    assert "private app or OAuth" in str(caught.value)
    assert "pat-na1-00000000" not in str(caught.value)


# -- retries and rate limits --------------------------------------------------------------------


def test_429_honours_retry_after(hubspot_client, fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault(
        "/settings/v3/users/roles",
        429,
        headers={"Retry-After": "2"},
        body={
            "status": "error",
            "message": "You have reached your ten secondly limit.",
            "errorType": "RATE_LIMIT",
            "policyName": "TEN_SECONDLY_ROLLING",
        },
    )
    assert hubspot_client.list_roles()
    assert hubspot_sleeps == [2.0]
    assert len(fake_hubspot.calls) == 2


def test_429_without_retry_after_uses_the_rate_limit_window(hubspot_client, fake_hubspot, hubspot_sleeps):
    headers = {"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "1000"}
    fake_hubspot.fault("/settings/v3/users/teams", 429, headers=headers, body={"status": "error"})
    assert hubspot_client.list_teams()
    assert len(hubspot_sleeps) == 1
    assert 0 < hubspot_sleeps[0] <= 1.0


def test_429_with_a_long_retry_after_fails_fast_with_when_to_retry(hubspot_client, fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault("/settings/v3/users/roles", 429, headers={"Retry-After": "3600"}, times=None)
    with pytest.raises(HubSpotRateLimited) as caught:
        hubspot_client.list_roles()
    assert hubspot_sleeps == []
    assert caught.value.retry_after == 3600
    assert "3600 s" in str(caught.value)


def test_daily_limit_is_not_retried(hubspot_client, fake_hubspot, hubspot_sleeps):
    body = {
        "status": "error",
        "message": "You have reached your daily limit.",
        "errorType": "RATE_LIMIT",
        "policyName": "DAILY",
        "correlationId": "c0ffee00-0000-4000-8000-000000000000",
    }
    fake_hubspot.fault("/crm/v3/objects/tickets", 429, body=body, times=None)
    with pytest.raises(HubSpotRateLimited) as caught:
        hubspot_client.get_ticket("123")
    assert len(fake_hubspot.calls) == 1
    assert "midnight" in str(caught.value)
    assert caught.value.correlation_id == "c0ffee00-0000-4000-8000-000000000000"


def test_persistent_429_gives_up_after_bounded_attempts(hubspot_client, fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault("/settings/v3/users/roles", 429, headers={"Retry-After": "1"}, times=None)
    with pytest.raises(HubSpotRateLimited):
        hubspot_client.list_roles()
    assert len(fake_hubspot.calls) == hubspot_client.attempts
    assert hubspot_sleeps == [1.0] * (hubspot_client.attempts - 1)


def test_5xx_is_retried_with_backoff_then_succeeds(hubspot_client, fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 502, times=2)
    assert hubspot_client.get_ticket("123").id == "123"
    assert len(fake_hubspot.calls) == 3
    assert len(hubspot_sleeps) == 2 and hubspot_sleeps[1] > 0


def test_persistent_5xx_raises_unavailable_with_correlation_id(hubspot_client, fake_hubspot):
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 500, times=None)
    with pytest.raises(HubSpotUnavailable) as caught:
        hubspot_client.get_ticket("123")
    assert caught.value.status == 500
    assert "server error" in str(caught.value)
    assert caught.value.correlation_id
    assert len(fake_hubspot.calls) == hubspot_client.attempts


#: A read timeout short enough that waiting it out three times costs the suite little.
QUICK_TIMEOUT = (2.0, 0.1)


def test_slow_answer_beyond_the_read_timeout_is_retried_then_reported(fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 200, delay=1.0, times=None, body={})
    with (
        client_for(fake_hubspot, sleeps=hubspot_sleeps, timeout=QUICK_TIMEOUT) as c,
        pytest.raises(HubSpotUnavailable) as caught,
    ):
        c.get_ticket("123")
    assert "did not answer in time" in str(caught.value)
    assert len(fake_hubspot.calls_to("/tickets/123")) == c.attempts
    assert len(hubspot_sleeps) == c.attempts - 1  # backed off between attempts, without sleeping


def test_one_slow_answer_then_success(fake_hubspot, hubspot_sleeps):
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 200, delay=1.0, body={})
    with client_for(fake_hubspot, sleeps=hubspot_sleeps, timeout=QUICK_TIMEOUT) as c:
        assert c.get_ticket("123").subject == "Refund request"
    assert len(fake_hubspot.calls_to("/tickets/123")) == 2


def test_connection_refused_is_a_clear_unavailable(hubspot_sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        HubSpotClient(
            access_token=TOKEN, base_url=f"http://127.0.0.1:{port}", sleep=hubspot_sleeps.append, timeout=(1.0, 1.0)
        ) as c,
        pytest.raises(HubSpotUnavailable) as caught,
    ):
        c.get_ticket("123")
    assert "Could not reach HubSpot" in str(caught.value)
    assert TOKEN not in str(caught.value)


def test_a_spent_rate_limit_window_pauses_the_next_call(hubspot_client, fake_hubspot, hubspot_sleeps):
    spent = {"X-HubSpot-RateLimit-Remaining": "0", "X-HubSpot-RateLimit-Interval-Milliseconds": "2000"}
    fake_hubspot.fault("/settings/v3/users/roles", 200, body={"results": []}, headers=spent)
    hubspot_client.list_roles()
    assert hubspot_sleeps == []
    hubspot_client.list_teams()
    assert len(hubspot_sleeps) == 1 and 0 < hubspot_sleeps[0] <= 2.0
    hubspot_client.list_teams()  # the fake's answer had budget left again: no more waiting
    assert len(hubspot_sleeps) == 1


def test_archived_owner_is_still_found_by_owner_id(hubspot_client, fake_hubspot):
    bob = next(o for o in fake_hubspot.portal(PORTAL).owners if o["id"] == BOB_OWNER)
    bob["archived"] = True
    owner = hubspot_client.get_owner(BOB_OWNER)
    assert owner.archived is True and owner.display_name == "Bob Stone"
    assert fake_hubspot.calls[-1].query["archived"] == ["true"]


def test_rate_limit_headers_are_remembered(hubspot_client):
    hubspot_client.list_roles()
    status = hubspot_client.rate_limit()
    assert status is not None
    assert status.max == 190 and status.interval_ms == 10000 and status.remaining is not None


# -- bad bodies and HubSpot errors --------------------------------------------------------------


def test_garbage_body_on_200_is_a_bad_response(hubspot_client, fake_hubspot):
    fake_hubspot.fault("/settings/v3/users/roles", 200, body="<html>502 Bad Gateway</html>")
    with pytest.raises(HubSpotBadResponse) as caught:
        hubspot_client.list_roles()
    assert "not JSON" in str(caught.value)


def test_json_of_the_wrong_shape_is_a_bad_response(hubspot_client, fake_hubspot):
    fake_hubspot.fault("/settings/v3/users/roles", 200, body={"roles": "nope"})
    with pytest.raises(HubSpotBadResponse):
        hubspot_client.list_roles()
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 200, body={"properties": {}})
    with pytest.raises(HubSpotBadResponse):
        hubspot_client.get_ticket("123")


def test_garbage_error_body_still_gives_a_status_message(hubspot_client, fake_hubspot):
    fake_hubspot.fault("/settings/v3/users/teams", 503, body=b"\xff\xfe not json", times=None)
    with pytest.raises(HubSpotUnavailable) as caught:
        hubspot_client.list_teams()
    assert "HTTP 503" in str(caught.value)


def test_not_found_is_its_own_type(hubspot_client):
    with pytest.raises(HubSpotNotFound) as caught:
        hubspot_client.get_user_by_email("zed@example.com")
    assert caught.value.status == 404
    assert caught.value.category == "OBJECT_NOT_FOUND"


def test_revoked_token_401_names_the_setting_and_never_the_token(fake_hubspot):
    revoked = "pat-na1-99999999-9999-4999-8999-999999999999"
    with client_for(fake_hubspot, access_token=revoked) as c, pytest.raises(HubSpotAuthError) as caught:
        c.get_ticket("123")
    exc = caught.value
    assert exc.status == 401 and exc.category == "INVALID_AUTHENTICATION"
    assert "HUBSPOT_ACCESS_TOKEN" in str(exc)
    for text in (str(exc), repr(exc), str(exc.to_dict())):
        assert revoked not in text


def test_expired_oauth_token_says_expired(fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth", expired=True)
    with client_for(fake_hubspot, access_token=OAUTH_TOKEN) as c, pytest.raises(HubSpotAuthError) as caught:
        c.get_ticket("123")
    assert "expired" in str(caught.value)


def test_missing_scope_names_the_plain_scope_to_add(fake_hubspot):
    narrow = "pat-na1-12121212-1212-4121-8121-121212121212"
    fake_hubspot.add_token(narrow, PORTAL, scopes=("settings.users.read",))
    with client_for(fake_hubspot, access_token=narrow) as c, pytest.raises(HubSpotScopeError) as caught:
        c.get_ticket("123")
    exc = caught.value
    assert exc.status == 403 and exc.category == "MISSING_SCOPES"
    assert exc.recommended == "tickets"
    assert set(exc.scopes) == {"tickets", "tickets.sensitive.v2", "tickets.highly_sensitive.v2"}
    assert "add `tickets`" in str(exc)
    assert "private app" in str(exc)
    assert narrow not in str(exc)


def test_missing_scope_error_keeps_the_redacted_body_for_services_to_read(fake_hubspot):
    narrow = "pat-na1-34343434-3434-4343-8343-343434343434"
    fake_hubspot.add_token(narrow, PORTAL, scopes=("tickets",))
    with client_for(fake_hubspot, access_token=narrow) as c, pytest.raises(HubSpotScopeError) as caught:
        c.find_owner_by_email("ann@example.com")
    assert caught.value.recommended == "crm.objects.owners.read"
    assert "crm.objects.owners.read" in caught.value.body
    assert narrow not in caught.value.body


def test_other_403s_are_explained_without_scope_advice(hubspot_client, fake_hubspot):
    body = {"status": "error", "message": "USER_DOES_NOT_HAVE_PERMISSIONS", "category": "USER_DOES_NOT_HAVE_PERMISSIONS"}
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 403, body=body)
    with pytest.raises(HubSpotForbiddenError) as caught:
        hubspot_client.get_ticket("123")
    assert "rotate the token" in str(caught.value)
    fake_hubspot.fault("/crm/v3/objects/tickets/123", 403, body={"status": "error", "message": "Nope"})
    with pytest.raises(HubSpotForbiddenError) as caught:
        hubspot_client.get_ticket("123")
    assert "Nope" in str(caught.value) and "add `" not in str(caught.value)


def test_recommend_scope_prefers_plain_object_scopes():
    deals = [
        "crm.schemas.deals.read",
        "crm.objects.deals.sensitive.read.v2",
        "crm.objects.deals.read",
        "crm.objects.deals.highly_sensitive.read.v2",
    ]
    assert recommend_scope(deals) == "crm.objects.deals.read"
    assert recommend_scope(["automation", "crm.objects.owners.read"]) == "crm.objects.owners.read"
    assert recommend_scope(["settings.users.read", "crm.objects.users.read"]) == "settings.users.read"
    assert recommend_scope([]) is None


def test_scope_advice_for_oauth_says_reinstall():
    text = scope_advice(("tickets",), "oauth", "reading ticket 1")
    assert "`tickets`" in text and "reinstall" in text


# -- configuration ------------------------------------------------------------------------------


def test_no_token_configured_names_the_variable():
    with HubSpotClient(base_url="http://127.0.0.1:9") as c, pytest.raises(HubSpotConfigError) as caught:
        c.get_ticket("1")
    assert "HUBSPOT_ACCESS_TOKEN" in str(caught.value)


def test_unknown_portal_without_default_token_names_the_portal():
    with HubSpotClient(portal_tokens={PORTAL: TOKEN, EU_PORTAL: EU_TOKEN}, base_url="http://127.0.0.1:9") as c:
        with pytest.raises(HubSpotConfigError) as caught:
            c.check_token("555")
        assert "555=<token>" in str(caught.value) and "HUBSPOT_PORTAL_TOKENS" in str(caught.value)
        with pytest.raises(HubSpotConfigError) as caught:
            c.check_token(None)
        assert "Several HubSpot portals" in str(caught.value)


# -- secrecy ------------------------------------------------------------------------------------


def test_tokens_never_reach_the_logs(fake_hubspot, caplog):
    caplog.set_level(logging.DEBUG)
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth")
    revoked = "pat-na1-99999999-9999-4999-8999-999999999999"
    redact_logs([OAUTH_TOKEN, revoked])  # what wiring (build_services, the CLI) does at start-up
    with client_for(fake_hubspot, access_token=OAUTH_TOKEN) as c:
        c.token_info()  # the OAuth introspection path carries the token itself
        fake_hubspot.fault("/crm/v3/objects/tickets/123", 500, times=c.attempts)
        with pytest.raises(HubSpotUnavailable):
            c.get_ticket("123")
    with client_for(fake_hubspot, access_token=revoked) as c, pytest.raises(HubSpotAuthError):
        c.get_ticket("123")
    assert caplog.records, "the hubspot_client should log its retries and failures"
    assert "/oauth/v1/access-tokens" in caplog.text
    assert OAUTH_TOKEN not in caplog.text
    assert revoked not in caplog.text
