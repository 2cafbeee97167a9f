"""The app factory, Socket Mode dispatch and `python -m bot check`."""

from __future__ import annotations

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.app import create_app
from bot.config import ConfigError, load_settings
from bot.messages.ids import ACTION_LOOKUP
from bot.server import check
from bot.services import build_services
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET, event_envelope, message_event
from tests.samples import TICKET_ERROR


@pytest.fixture
def settings(fake_slack, tmp_path):
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
    }
    return load_settings(env, dotenv=False)


def test_building_the_app_makes_no_network_call(settings, fake_slack):
    create_app(settings)
    assert fake_slack.calls() == []


def test_the_web_client_uses_the_configured_api_url_and_retries_429_and_5xx(settings):
    from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

    app = create_app(settings)
    assert app.client.base_url == settings.slack_api_url
    for kind in (RateLimitErrorRetryHandler, ServerErrorRetryHandler):
        assert any(isinstance(h, kind) for h in app.client.retry_handlers)


def test_socket_mode_deliveries_are_deduplicated_too(settings, fake_slack):
    """Socket Mode skips signatures; its retries (retry_attempt) must still be answered once."""
    socket_settings = load_settings({**_env(settings), "SLACK_APP_TOKEN": "xapp-1-A0-1-abc"}, dotenv=False)
    services = build_services(socket_settings)
    app = create_app(socket_settings, services=services)
    payload = event_envelope(message_event(TICKET_ERROR), "EvSOCKET1")
    for attempt in (0, 1, 2):
        request = SocketModeRequest(
            type="events_api", envelope_id=f"env-{attempt}", payload=payload, retry_attempt=attempt or None
        )
        assert run_bolt_app(app, request).status == 200
    fake_slack.wait_for("chat.postMessage")
    assert services.drain(timeout=10)
    assert len(fake_slack.replies()) == 1


def _env(settings) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "SLACK_API_URL": settings.slack_api_url,
        "DATABASE_URL": settings.database_url,
    }


def test_a_lookup_service_adds_the_lookup_button(settings, fake_slack):
    services = build_services(settings)
    services.lookup = object()
    app = create_app(settings, services=services)
    run_bolt_app(
        app, SocketModeRequest(type="events_api", envelope_id="e1", payload=event_envelope(message_event(TICKET_ERROR)))
    )
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert ACTION_LOOKUP in reply.action_ids()


def test_check_reports_each_part(settings, fake_slack, capsys):
    assert check(settings) == 0
    out = capsys.readouterr().out
    assert "ok   settings: HTTP mode" in out
    assert "ok   database: sqlite:///" in out
    assert "ok   slack: bot @hsperm in workspace hsperm test" in out
    assert BOT_TOKEN not in out


def test_check_fails_on_a_bad_token_or_dead_database_without_leaking_secrets(fake_slack, capsys):
    env = {
        "SLACK_BOT_TOKEN": "xoxp-user-token-not-a-bot",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "DATABASE_URL": "postgresql://hsperm:hunter2hunter2@127.0.0.1:1/hsperm",
    }
    assert check(load_settings(env, dotenv=False)) == 1
    out = capsys.readouterr().out
    assert "FAIL settings: SLACK_BOT_TOKEN must be a bot token" in out
    assert "FAIL database" in out
    assert "FAIL slack: auth.test failed: invalid_auth" in out
    assert "hunter2hunter2" not in out and "xoxp-user-token-not-a-bot" not in out


def test_serving_http_without_a_signing_secret_names_the_variable(fake_slack):
    from bot.server import serve

    settings = load_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake_slack.api_url}, dotenv=False)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        serve(settings)
