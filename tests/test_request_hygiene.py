"""Issue 10, findings 6-8: what reaches hsperm's HTTP entry from strangers, replays and Slack's
odd deliveries, and what ends up in the log because of it.

Every request is real HTTP to the real WSGI app; logs are captured through the same set-up every
entry point uses (`bot.logs.configure_logging`), at DEBUG, as JSON lines.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from bot.config import ConfigError, load_settings
from bot.logs import configure_logging
from tests.fakes.slack import APP_ID, TEAM_ID, block_action, bot_env, message_event, sign
from tests.test_slack_events import TICKET_ERROR

MARKER = "UNSIGNED-BODY-MARKER"


@pytest.fixture
def log_lines(fake_slack) -> Iterator[io.StringIO]:
    """Every log record of the test, formatted as production formats it (JSON, scrubbed)."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, root.handlers[:]
    stream = io.StringIO()
    root.handlers = []
    settings = load_settings(bot_env(fake_slack, "sqlite:///unused.db", LOG_LEVEL="DEBUG"), dotenv=False)
    configure_logging(settings, stream=stream)
    try:
        yield stream
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)


def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def _request_lines(stream: io.StringIO) -> list[dict]:
    return [r for r in _records(stream) if r["logger"] == "hsperm.request"]


# -- finding 6: unverified bodies, log injection, bad timestamps ----------------------------------


def test_unsigned_and_badly_signed_posts_are_refused_and_their_bodies_never_logged(slack_bot, log_lines):
    body = (MARKER + "x" * 1000) * 500  # ~500 KB, under the size cap
    unsigned = slack_bot.post_raw(body.encode(), {"Content-Type": "application/json"})
    forged = slack_bot.post_signed(body.encode(), "application/json", secret="not-the-signing-secret")
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    text = log_lines.getvalue()
    assert MARKER not in text
    refusals = _request_lines(log_lines)
    assert [(r["kind"], r["bytes"], r["status"]) for r in refusals] == [
        ("missing signature headers", len(body), 401),
        ("bad signature", len(body), 401),
    ]
    assert len(text) < 2000  # a size and a reason, not 1 MB of somebody else's text


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "12 34", "99999999999999999999", "-5", "1²", "0x10"])
def test_a_malformed_timestamp_header_is_401_not_500(slack_bot, timestamp):
    body = json.dumps({"type": "event_callback", "event": message_event(TICKET_ERROR)}).encode()
    headers = {**sign(body), "Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp}
    assert slack_bot.post_raw(body, headers).status_code == 401


def test_a_stale_signed_request_is_refused(slack_bot, fake_slack):
    response = slack_bot.post_event(message_event(TICKET_ERROR), timestamp=1_700_000_000)
    assert response.status_code == 401
    fake_slack.settle(quiet=0.3)
    assert fake_slack.replies() == []


def test_a_newline_in_a_payload_field_cannot_forge_a_log_line(slack_bot, log_lines):
    forged = '\n{"ts": "2026-01-01T00:00:00Z", "level": "CRITICAL", "logger": "bot.app", "msg": "forged"}\n'
    event = message_event("hello")
    event["type"] = "reaction_added" + forged
    assert slack_bot.post_event(event).status_code == 200
    records = _records(log_lines)  # every line is one whole JSON record
    assert not any(r.get("msg") == "forged" for r in records)
    [line] = [r for r in _request_lines(log_lines) if r.get("surface") == "event"]
    assert line["kind"].startswith("reaction_added\n{")  # the field, whole, inside its own record


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


def test_each_request_gets_one_summary_line(slack_bot, fake_slack, log_lines):
    slack_bot.post_event(message_event(TICKET_ERROR), event_id="Ev0SUMMARY", retry_num=2)
    slack_bot.post_command("help")
    fake_slack.wait_for("chat.postMessage")
    lines = _request_lines(log_lines)
    event = next(r for r in lines if r["surface"] == "event")
    command = next(r for r in lines if r["surface"] == "command")
    assert (event["event_id"], event["team"], event["kind"], event["status"]) == ("Ev0SUMMARY", TEAM_ID, "message", 200)
    assert (event["retry_num"], event["retry_reason"]) == (2, "http_timeout")
    assert isinstance(event["latency_ms"], float)
    assert (command["kind"], command["team"], command["status"]) == ("/hsperm", TEAM_ID, 200)
    assert len([r for r in lines if r["surface"] in ("event", "command")]) == 2


def test_debug_logs_hold_no_response_url_and_no_email(start_bot, fake_slack, log_lines):
    bot = start_bot()
    fake_slack.users["U0ALICE"] = {"id": "U0ALICE", "profile": {"email": "alice.private@example.org"}}
    bot.post_command(TICKET_ERROR + "\nreported by alice.private@example.org")
    assert "HUBSPOT_ACCESS_TOKEN" in bot.post_command("user alice.private@example.org").text
    fake_slack.wait_for("webhook")
    fake_slack.settle(quiet=0.3)
    text = log_lines.getvalue()
    assert "/webhook/" not in text  # the fake's response_url path
    assert "alice.private@example.org" not in text
    assert "response_url" not in text or "[response_url]" in text


# -- finding 7: replays ---------------------------------------------------------------------------


def _command_body(fake_slack, text: str) -> bytes:
    return urlencode({
        "team_id": TEAM_ID, "channel_id": "C0GENERAL", "user_id": "U0ALICE", "command": "/hsperm", "text": text,
        "api_app_id": APP_ID, "response_url": fake_slack.webhook_url("replay"), "trigger_id": "1.2.3",
    }).encode()


def test_a_replayed_slash_command_runs_once_on_any_instance(start_bot, fake_slack, database_url):
    first, second = start_bot(database_url), start_bot(database_url)
    body = _command_body(fake_slack, TICKET_ERROR)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    statuses = [bot.post_raw(body, headers).status_code for bot in (first, second, first)]
    assert statuses == [200, 200, 200]  # a replay is not an error Slack should see
    fake_slack.wait_for("webhook")
    fake_slack.settle(quiet=0.4)
    assert len(fake_slack.calls("webhook")) == 1
    # A new request (new signature) with the same text is of course answered.
    assert first.post_command(TICKET_ERROR).status_code == 200
    fake_slack.wait_for("webhook", count=2)


def test_a_replayed_button_click_runs_once(slack_bot, fake_slack):
    slack_bot.post_command(TICKET_ERROR)
    [answer] = fake_slack.wait_for("webhook")
    value = answer.button_value("hsperm_share")
    payload = {"team": {"id": TEAM_ID}, "api_app_id": APP_ID, **block_action(fake_slack, "hsperm_share", value)}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    assert [slack_bot.post_raw(body, headers).status_code for _ in range(3)] == [200, 200, 200]
    fake_slack.wait_for("webhook", count=2)
    fake_slack.settle(quiet=0.4)
    shares = [c for c in fake_slack.calls("webhook") if c.params.get("response_type") == "in_channel"]
    assert len(shares) == 1


# -- finding 8: Slack's odd deliveries, start-up, binding -------------------------------------------


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



# -- SSRF: URLs in payloads are never fetched --------------------------------------------------------


def test_file_and_link_urls_in_a_message_are_never_fetched(slack_bot, fake_slack, httpserver):
    """hsperm reads a snippet's `preview` only: a file's `url_private` (or any URL in a paste) could
    point inside the network hsperm runs in, so fetching it would be a server-side request forgery."""
    httpserver.expect_request("/", method="GET").respond_with_data("internal")
    internal = httpserver.url_for("/internal/admin")
    event = message_event(f"{TICKET_ERROR}\nsee {internal} and <{internal}|the logs>", subtype="file_share")
    event["files"] = [{
        "id": "F0SSRF", "mode": "snippet", "filetype": "text", "preview": TICKET_ERROR,
        "url_private": internal + "/private", "url_private_download": internal + "/download",
        "permalink": internal + "/permalink", "thumb_360": internal + "/thumb",
    }]
    assert slack_bot.post_event(event).status_code == 200
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "HubSpot user permission" in reply.text
    fake_slack.settle(quiet=0.3)
    assert httpserver.log == []


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
