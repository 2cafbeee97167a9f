"""The ack reaches Slack before the answer: the answer's response_url is held open by the fake
Slack, so the ack can only have arrived first. Over real HTTP, because dispatching in-process
runs a listener to its end before returning."""

from __future__ import annotations

import json

import pytest

from bot.messages.ids import ACTION_SHARE
from tests.fakes.hubspot import PORTAL, TOKEN
from tests.fakes.slack import message_event
from tests.samples import TICKET_ERROR


@pytest.fixture
def lookup_http_bot(start_http_bot, fake_hubspot):
    """hsperm over HTTP with live lookups on, aimed at the fake HubSpot."""
    return start_http_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url)


def test_hsperm_with_a_paste_acks_before_the_answer_and_answers_privately(http_bot, fake_slack):
    # The response_url is held open: the ack must reach "Slack" while the answer is still in flight.
    gate = fake_slack.hold("webhook")
    try:
        response = http_bot.post_command(TICKET_ERROR)
        assert response.status_code == 200
        assert response.text == ""  # empty ack: nothing shown twice
        [answer] = fake_slack.wait_for("webhook")
    finally:
        gate.set()
    assert answer.params["response_type"] == "ephemeral"
    assert "HubSpot user permission" in answer.text
    assert "What you pasted" in answer.text and "tickets-read" in answer.text
    assert ACTION_SHARE in answer.action_ids()
    assert "hsperm_lookup" not in answer.action_ids()  # no lookup service in this deployment


def test_user_command_acks_with_progress_then_replaces_it_with_the_report(lookup_http_bot, fake_slack):
    # The response_url is held: the progress ack must reach Slack while the report is in flight.
    gate = fake_slack.hold("webhook")
    try:
        response = lookup_http_bot.post_command(f"user ann@example.com ticket 123 portal {PORTAL}")
        assert response.status_code == 200
        ack = response.json()
        [report] = fake_slack.wait_for("webhook")
    finally:
        gate.set()
    assert f"Looking up ann@example.com in portal {PORTAL} (ticket 123)" in ack["text"]
    assert ack["response_type"] == "ephemeral"
    assert report.params["replace_original"] is True
    assert report.params["response_type"] == "ephemeral"
    assert report.params["text"].startswith("hsperm lookup: Ann cannot view ticket 123")
    first = report.params["blocks"][0]["text"]["text"]
    assert "Ann cannot view ticket 123" in first  # the verdict comes first
    text = report.text
    for fact in ("Support Agent", "East", "Bob Stone", "West", "Refund request", "can view: *no*"):
        assert fact in text
    assert "What the API cannot tell" in text
    assert f"https://app.hubspot.com/settings/{PORTAL}/users" in text
    assert len(report.params["blocks"]) <= 50
    assert TOKEN not in json.dumps(ack) + json.dumps([c.params for c in fake_slack.calls()])


def test_a_snippet_is_read_whole_after_the_event_is_acked(http_bot, fake_slack):
    # files.info is held: the event's 200 must reach "Slack" while the file is still being read.
    log_lines = [f"2026-11-28T10:00:{i:02d}Z INFO worker-{i} synced 50 contacts" for i in range(7)]
    body = "\n".join([*log_lines, f"2026-11-28T10:00:08Z ERROR {TICKET_ERROR}"]).encode()
    gate = fake_slack.hold("files.info")
    try:
        event = message_event("log", subtype="file_share", files=[fake_slack.add_file("F0HELD", body)])
        assert http_bot.post_event(event).status_code == 200
        assert fake_slack.calls("chat.postMessage") == []
    finally:
        gate.set()
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "HubSpot user permission" in reply.text
