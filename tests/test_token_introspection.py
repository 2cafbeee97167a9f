"""Issue 10, finding 9: telling what hsperm's own HubSpot token is, once v1 introspection is gone.

`GET /oauth/v1/access-tokens/{token}` is deprecated (sunset 2027-02-16); its successor,
`POST /oauth/v3/token/introspect`, needs the app's client id and secret. When no endpoint can say
what the token is, the report says "unknown"; it says "revoked" only when HubSpot said so.
"""

from __future__ import annotations

import json
import logging

import pytest

from bot.config import ConfigError, load_settings
from bot.hubspot import HubSpotAuthError, HubSpotTokenUnknown
from bot.lookup import LookupService, render_report_text
from tests.fakes.hubspot import OAUTH_TOKEN, PORTAL, client_for
from tests.fakes.slack import bot_env

CLIENT_ID = "7f1c2d3e-aaaa-4bbb-8ccc-111122223333"
CLIENT_SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _v1_sunset(fake) -> None:
    """HubSpot retires v1: every token, valid or not, now gets 404 there."""
    fake.fault("/oauth/v1/access-tokens/", 404, times=None)


def _service(fake, **kw) -> LookupService:
    return LookupService(client_for(fake, access_token=OAUTH_TOKEN, **kw), owns_client=True)


def test_without_v1_and_client_secret_a_working_token_is_unknown_not_revoked(fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth")
    _v1_sunset(fake_hubspot)
    with _service(fake_hubspot) as service:
        report = service.lookup("ann@example.com", ticket_id="123", portal_id=PORTAL)
    text = render_report_text(report)
    assert [p for p in report.problems if p.kind == "auth"] == []
    assert "revoked" not in text.lower() and "not valid" not in text
    assert report.user is not None and report.user.found  # every other call worked with the token
    assert any("HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET" in u for u in report.unknowns)
    assert OAUTH_TOKEN not in text + json.dumps(report.to_dict())


def test_with_client_credentials_v3_introspection_identifies_the_token(fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth", scopes=("tickets", "oauth"), hublet="eu1")
    fake_hubspot.apps[CLIENT_ID] = CLIENT_SECRET
    _v1_sunset(fake_hubspot)
    with client_for(fake_hubspot, access_token=OAUTH_TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as c:
        info = c.token_info()
    assert (info.kind, info.hub_id, info.scopes, info.hublet) == ("oauth", PORTAL, ("tickets", "oauth"), "eu1")
    [call] = [c for c in fake_hubspot.calls if c.path.startswith("/oauth/")]
    assert call.path == "/oauth/v3/token/introspect" and call.method == "POST"
    assert call.headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in call.headers  # the client credentials authenticate, in the body


def test_v3_saying_inactive_is_reported_as_invalid(fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth", expired=True)
    fake_hubspot.apps[CLIENT_ID] = CLIENT_SECRET
    client = client_for(fake_hubspot, access_token=OAUTH_TOKEN, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with client as c, pytest.raises(HubSpotAuthError) as caught:
        c.token_info()
    assert "not active" in caught.value.message and "HUBSPOT_ACCESS_TOKEN" in caught.value.message


def test_a_wrong_client_secret_is_named_and_never_taken_for_a_bad_token(fake_hubspot, caplog):
    caplog.set_level(logging.DEBUG)
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth")
    fake_hubspot.apps[CLIENT_ID] = "the-real-secret-0000"
    _v1_sunset(fake_hubspot)
    with _service(fake_hubspot, client_id=CLIENT_ID, client_secret=CLIENT_SECRET) as service:
        with pytest.raises(HubSpotTokenUnknown) as caught:
            service.client.token_info()
        report = service.lookup("ann@example.com", portal_id=PORTAL)
    assert "HUBSPOT_CLIENT_SECRET" in caught.value.message
    assert [p for p in report.problems if p.kind == "auth"] == []
    assert any("HUBSPOT_CLIENT_SECRET" in u for u in report.unknowns)
    assert CLIENT_SECRET not in render_report_text(report) + caplog.text
    shown = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert "revoked" not in shown  # the log blames the client credentials, not the token
    assert "refused HUBSPOT_CLIENT_ID / HUBSPOT_CLIENT_SECRET" in shown


def test_with_v1_still_there_a_wrong_client_secret_falls_back_to_it(fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth")
    with client_for(fake_hubspot, access_token=OAUTH_TOKEN, client_id=CLIENT_ID, client_secret="wrong-secret-1") as c:
        assert c.token_info().kind == "oauth"


def test_client_id_and_secret_are_settings_that_go_together(fake_slack):
    env = bot_env(fake_slack, "sqlite:///x.db", HUBSPOT_CLIENT_ID=CLIENT_ID, HUBSPOT_CLIENT_SECRET=CLIENT_SECRET)
    settings = load_settings(env, dotenv=False)
    assert (settings.hubspot_client_id, settings.hubspot_client_secret) == (CLIENT_ID, CLIENT_SECRET)
    assert CLIENT_SECRET not in repr(settings)
    with pytest.raises(ConfigError, match="HUBSPOT_CLIENT_SECRET"):
        load_settings(bot_env(fake_slack, "sqlite:///x.db", HUBSPOT_CLIENT_ID=CLIENT_ID), dotenv=False)


def test_slack_report_says_unknown_when_the_token_cannot_be_identified(start_bot, fake_slack, fake_hubspot):
    fake_hubspot.add_token(OAUTH_TOKEN, PORTAL, kind="oauth")
    _v1_sunset(fake_hubspot)
    bot = start_bot(HUBSPOT_ACCESS_TOKEN=OAUTH_TOKEN, HUBSPOT_API_URL=fake_hubspot.url)
    bot.post_command(f"user ann@example.com ticket 123 portal {PORTAL}")
    [report] = fake_slack.wait_for("webhook")
    assert "revoked" not in report.text.lower()
    assert "HUBSPOT_CLIENT_ID" in report.text
