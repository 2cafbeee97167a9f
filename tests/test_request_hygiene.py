"""Issue 10, findings 6 and 8 through Bolt: Slack's odd deliveries, start-up, settings and the log
format (the HTTP entry's own checks are in tests/e2e/test_request_hygiene_http.py).
"""

from __future__ import annotations

import io
import json
import logging

import pytest

from bot.config import ConfigError, load_settings
from bot.logs import configure_logging
from tests.fakes.slack import APP_ID, TEAM_ID, bot_env, message_event
from tests.samples import TICKET_ERROR


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]

def _request_lines(stream: io.StringIO) -> list[dict]:
    return [r for r in _records(stream) if r["logger"] == "hsperm.request"]

def test_the_text_format_keeps_one_record_per_line(fake_slack):
    stream = io.StringIO()
    logger = logging.getLogger("hsperm.test.text")
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = []
    try:
        settings = load_settings(bot_env(fake_slack, "sqlite:///unused.db", LOG_FORMAT="text"), dotenv=False)
        configure_logging(settings, stream=stream)
        logger.warning("user said: %s", "ok\n2026-01-01 00:00:00 CRITICAL bot.app: forged\r\x1b[2J")
        try:
            raise ValueError("line one\nline two")
        except ValueError:
            logger.exception("boom")
    finally:
        root.handlers = saved
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert "forged" in lines[0] and "\\n2026-01-01" in lines[0] and "\\x1b" in lines[0]
    assert "Traceback" in lines[1] and "line one\\nline two" in lines[1]

def test_app_rate_limited_gets_200_and_a_warning(slack_bot, log_lines):
    notice = {"token": "x", "type": "app_rate_limited", "team_id": TEAM_ID, "minute_rate_limited": 1518467820,
              "api_app_id": APP_ID}
    response = slack_bot.post_signed(json.dumps(notice).encode(), "application/json")
    assert response.status_code == 200
    assert any("rate-limited event deliveries" in r["msg"] and r["level"] == "WARNING" for r in _records(log_lines))

@pytest.mark.parametrize("event_type", ["reaction_added", "channel_created", "team_join"])
def test_events_nobody_listens_to_get_200(slack_bot, event_type):
    event = {"type": event_type, "user": "U0ALICE", "event_ts": "1764300000.000100"}
    assert slack_bot.post_event(event).status_code == 200

def test_start_up_does_not_warn_that_the_token_will_be_unused(fake_slack, monkeypatch, caplog):
    from bot.app import create_app

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1111-2222-test-bot-token")  # as in every deployment
    settings = load_settings(bot_env(fake_slack, "sqlite:///:memory:"), dotenv=False)
    caplog.set_level(logging.WARNING)
    create_app(settings)
    assert not [r for r in caplog.records if "unused" in r.getMessage()]

def test_host_defaults_to_loopback_and_is_validated(fake_slack):
    assert load_settings(bot_env(fake_slack, "sqlite:///x.db"), dotenv=False).host == "127.0.0.1"
    assert load_settings(bot_env(fake_slack, "sqlite:///x.db", HOST="10.1.2.3"), dotenv=False).host == "10.1.2.3"
    with pytest.raises(ConfigError, match="HOST"):
        load_settings(bot_env(fake_slack, "sqlite:///x.db", HOST="0.0.0.0; rm -rf /"), dotenv=False)

def test_socket_mode_requests_get_the_same_summary_line(fake_slack, log_lines):
    from types import SimpleNamespace

    from slack_sdk.socket_mode.request import SocketModeRequest

    from bot.app import create_app
    from bot.server import socket_mode_handler
    from tests.fakes.slack import event_envelope

    settings = load_settings({**bot_env(fake_slack, "sqlite:///:memory:"), "SLACK_APP_TOKEN": "xapp-1-A0-1-abc"},
                             dotenv=False)
    handler = socket_mode_handler(create_app(settings), settings.slack_app_token)
    sent: list = []
    client = SimpleNamespace(logger=logging.getLogger("hsperm.test.socket"), send_socket_mode_response=sent.append)
    request = SocketModeRequest(type="events_api", envelope_id="env-1",
                                payload=event_envelope(message_event(TICKET_ERROR), "EvSOCKETLOG"), retry_attempt=1,
                                retry_reason="timeout")
    try:
        handler.handle(client, request)
    finally:
        handler.close()
    assert [r.envelope_id for r in sent] == ["env-1"]  # acknowledged over the socket
    [line] = [r for r in _request_lines(log_lines) if r.get("event_id") == "EvSOCKETLOG"]
    assert (line["surface"], line["kind"], line["status"], line["retry_num"]) == ("event", "message", 200, 1)
    fake_slack.wait_for("chat.postMessage")


def test_bolts_own_signature_check_never_logs_the_body(slack_bot, log_lines):
    """Behind the HTTP entry's check, Bolt checks signatures again and logs the whole body of a
    failure at INFO; that line is rewritten, so a body can never reach the log by that path."""
    marker = "BOLT-BODY-MARKER"
    answer = slack_bot.post_raw(json.dumps({"type": "event_callback", "x": marker}).encode(),
                                {"Content-Type": "application/json"})
    assert answer.status_code == 401
    text = log_lines.getvalue()
    assert "Invalid request signature detected (body not logged)" in text
    assert marker not in text
