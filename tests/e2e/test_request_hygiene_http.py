"""Issue 10, findings 6 and 7 over real HTTP: what strangers, forged and replayed requests reach
at hsperm's HTTP entry (`bot/web.py`), and what ends up in the log because of them.

Every request is real HTTP to the real WSGI app; logs are captured through the same set-up every
entry point uses (`bot.logs.configure_logging`), at DEBUG, as JSON lines (`log_lines`).
"""

from __future__ import annotations

import io
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest

from tests.fakes.serving import Serving
from tests.fakes.slack import APP_ID, TEAM_ID, block_action, message_event, sign
from tests.samples import TICKET_ERROR

MARKER = "UNSIGNED-BODY-MARKER"

def _records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]

def _request_lines(stream: io.StringIO) -> list[dict]:
    return [r for r in _records(stream) if r["logger"] == "hsperm.request"]

def test_unsigned_and_badly_signed_posts_are_refused_and_their_bodies_never_logged(http_bot, log_lines):
    body = (MARKER + "x" * 1000) * 500  # ~500 KB, under the size cap
    unsigned = http_bot.post_raw(body.encode(), {"Content-Type": "application/json"})
    forged = http_bot.post_signed(body.encode(), "application/json", secret="not-the-signing-secret")
    assert (unsigned.status_code, forged.status_code) == (401, 401)
    text = log_lines.getvalue()
    assert MARKER not in text
    refusals = _request_lines(log_lines)
    assert [(r["kind"], r["bytes"], r["status"]) for r in refusals] == [
        ("missing signature headers", len(body), 401),
        ("bad signature", len(body), 401),
    ]
    assert len(text) < 2000  # a size and a reason, not 1 MB of somebody else's text

def test_a_body_over_the_cap_is_refused_unread(http_bot, log_lines):
    body = b"x" * (1024 * 1024 + 1)
    answer = http_bot.post_signed(body, "application/json")  # even correctly signed
    assert answer.status_code == 413
    [line] = _request_lines(log_lines)
    assert (line["kind"], line["bytes"], line["surface"]) == ("body too large", len(body), "refused")


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "12 34", "99999999999999999999", "-5", "1²", "0x10"])
def test_a_malformed_timestamp_header_is_401_not_500(http_bot, timestamp):
    body = json.dumps({"type": "event_callback", "event": message_event(TICKET_ERROR)}).encode()
    headers = {**sign(body), "Content-Type": "application/json", "X-Slack-Request-Timestamp": timestamp}
    assert http_bot.post_raw(body, headers).status_code == 401

def test_a_stale_signed_request_is_refused(http_bot, fake_slack):
    response = http_bot.post_event(message_event(TICKET_ERROR), timestamp=1_700_000_000)
    assert response.status_code == 401
    http_bot.drain()
    assert fake_slack.replies() == []

def test_a_newline_in_a_payload_field_cannot_forge_a_log_line(http_bot, log_lines):
    forged = '\n{"ts": "2026-01-01T00:00:00Z", "level": "CRITICAL", "logger": "bot.app", "msg": "forged"}\n'
    event = message_event("hello")
    event["type"] = "reaction_added" + forged
    assert http_bot.post_event(event).status_code == 200
    records = _records(log_lines)  # every line is one whole JSON record
    assert not any(r.get("msg") == "forged" for r in records)
    [line] = [r for r in _request_lines(log_lines) if r.get("surface") == "event"]
    assert line["kind"].startswith("reaction_added\n{")  # the field, whole, inside its own record

def test_each_request_gets_one_summary_line(http_bot, fake_slack, log_lines):
    http_bot.post_event(message_event(TICKET_ERROR), event_id="Ev0SUMMARY", retry_num=2)
    http_bot.post_command("help")
    fake_slack.wait_for("chat.postMessage")
    lines = _request_lines(log_lines)
    event = next(r for r in lines if r["surface"] == "event")
    command = next(r for r in lines if r["surface"] == "command")
    assert (event["event_id"], event["team"], event["kind"], event["status"]) == ("Ev0SUMMARY", TEAM_ID, "message", 200)
    assert (event["retry_num"], event["retry_reason"]) == (2, "http_timeout")
    assert isinstance(event["latency_ms"], float)
    assert (command["kind"], command["team"], command["status"]) == ("/hsperm", TEAM_ID, 200)
    assert len([r for r in lines if r["surface"] in ("event", "command")]) == 2

def test_debug_logs_hold_no_response_url_and_no_email(start_http_bot, fake_slack, log_lines):
    bot = start_http_bot()
    fake_slack.users["U0ALICE"] = {"id": "U0ALICE", "profile": {"email": "alice.private@example.org"}}
    bot.post_command(TICKET_ERROR + "\nreported by alice.private@example.org")
    assert "HUBSPOT_ACCESS_TOKEN" in bot.post_command("user alice.private@example.org").text
    fake_slack.wait_for("webhook")
    bot.drain()
    text = log_lines.getvalue()
    assert "/webhook/" not in text  # the fake's response_url path
    assert "alice.private@example.org" not in text
    assert "response_url" not in text or "[response_url]" in text

def _command_body(fake_slack, text: str) -> bytes:
    return urlencode({
        "team_id": TEAM_ID, "channel_id": "C0GENERAL", "user_id": "U0ALICE", "command": "/hsperm", "text": text,
        "api_app_id": APP_ID, "response_url": fake_slack.webhook_url("replay"), "trigger_id": "1.2.3",
    }).encode()

def test_a_replayed_slash_command_runs_once_on_any_instance(start_http_bot, fake_slack, database_url):
    first, second = start_http_bot(database_url), start_http_bot(database_url)
    body = _command_body(fake_slack, TICKET_ERROR)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    statuses = [bot.post_raw(body, headers).status_code for bot in (first, second, first)]
    assert statuses == [200, 200, 200]  # a replay is not an error Slack should see
    fake_slack.wait_for("webhook")
    first.drain()
    second.drain()
    assert len(fake_slack.calls("webhook")) == 1
    # A new request (new signature) with the same text is of course answered.
    assert first.post_command(TICKET_ERROR).status_code == 200
    fake_slack.wait_for("webhook", count=2)

def test_a_replayed_button_click_runs_once(http_bot, fake_slack):
    http_bot.post_command(TICKET_ERROR)
    [answer] = fake_slack.wait_for("webhook")
    value = answer.button_value("hsperm_share")
    payload = {"team": {"id": TEAM_ID}, "api_app_id": APP_ID, **block_action(fake_slack, "hsperm_share", value)}
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    assert [http_bot.post_raw(body, headers).status_code for _ in range(3)] == [200, 200, 200]
    fake_slack.wait_for("webhook", count=2)
    http_bot.drain()
    shares = [c for c in fake_slack.calls("webhook") if c.params.get("response_type") == "in_channel"]
    assert len(shares) == 1

def test_file_and_link_urls_in_a_message_are_never_fetched(http_bot, fake_slack):
    """URLs in a payload are never fetched: a file's `url_private` (or any link in a paste) could point
    inside the network hsperm runs in. The whole file is read through `files.info`, from Slack's
    own host (tests/test_slack_read_everything.py covers where downloads may go)."""
    hits: list[str] = []

    class Internal(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Internal)
    serving = Serving(server, "internal-service")
    internal = f"http://127.0.0.1:{server.server_address[1]}/internal/admin"
    try:
        event = message_event(f"sync failed, see {internal} and <{internal}|the logs>", subtype="file_share")
        noise = "\n".join(f"12:00:{i:02d} INFO sync step {i}" for i in range(20))
        real = fake_slack.add_file("F0SSRF", (noise + "\n" + TICKET_ERROR).encode())  # Slack's own file
        event["files"] = [{
            **real, "url_private": internal + "/private", "url_private_download": internal + "/download",
            "permalink": internal + "/permalink", "thumb_360": internal + "/thumb",
        }]
        assert http_bot.post_event(event).status_code == 200
        [reply] = fake_slack.wait_for("chat.postMessage")
        assert "HubSpot user permission" in reply.text  # found beyond the preview: the file was read
        http_bot.drain()
    finally:
        serving.stop()
    assert hits == []
    [download] = fake_slack.calls("download")  # from Slack's host, as files.info said
    assert real["url_private_download"].endswith(download.params["path"])
