"""Pasted errors: signed Events API requests dispatched to hsperm, replies seen by a fake Slack.

Over real HTTP (retries, signatures, several instances, Slack failing): tests/e2e/test_events_http.py.
"""

from __future__ import annotations

import logging

import pytest

from tests.fakes.slack import BOT_ID, BOT_TOKEN, BOT_USER_ID, message_event
from tests.samples import ORDINARY_CHAT, PAT, SLACK_MISSING_SCOPE, TICKET_ERROR


def _user_permission_replies(fake):
    return [c for c in fake.calls("chat.postMessage") if "HubSpot user permission" in c.text]


def test_a_pasted_ticket_error_gets_one_threaded_reply_naming_the_user_permission_fix(slack_bot, fake_slack):
    event = message_event(TICKET_ERROR)
    response = slack_bot.post_event(event)
    assert response.status_code == 200

    [reply] = fake_slack.wait_for("chat.postMessage")
    assert reply.params["channel"] == "C0GENERAL"
    assert reply.params["thread_ts"] == event["ts"]
    assert reply.params["text"]  # fallback text for notifications
    assert "HubSpot user permission" in reply.text
    assert "tickets-read" in reply.text and "not OAuth scopes" in reply.text
    assert "users" in reply.text.lower() and "permission set" in reply.text.lower()
    assert len(reply.params["blocks"]) <= 50
    assert reply.headers["Authorization"] == f"Bearer {BOT_TOKEN}"
    slack_bot.drain()
    assert len(fake_slack.replies()) == 1


@pytest.mark.parametrize("text", [*ORDINARY_CHAT, SLACK_MISSING_SCOPE, "An API error occurred: missing_scope"])
def test_ordinary_chat_and_slacks_own_missing_scope_get_no_reply(slack_bot, fake_slack, text):
    assert slack_bot.post_event(message_event(text)).status_code == 200
    slack_bot.drain()
    assert fake_slack.replies() == []


def test_the_same_error_pasted_again_in_the_thread_is_not_answered_twice(slack_bot, fake_slack):
    first = message_event(TICKET_ERROR)
    slack_bot.post_event(first)
    fake_slack.wait_for("chat.postMessage")
    again = message_event("same here:\n" + TICKET_ERROR.replace("342871372", "342871372 "), thread_ts=first["ts"])
    slack_bot.post_event(again)
    # the bot is mentioned in the same message: Slack sends a message event and an app_mention
    mention = message_event(f"<@{BOT_USER_ID}> " + TICKET_ERROR, thread_ts=first["ts"], type="app_mention")
    slack_bot.post_event(mention)
    slack_bot.drain()
    assert len(fake_slack.replies()) == 1


def test_a_different_thread_gets_its_own_answer(slack_bot, fake_slack):
    slack_bot.post_event(message_event(TICKET_ERROR))
    slack_bot.post_event(message_event(TICKET_ERROR, channel="C0OTHER"))
    fake_slack.wait_for("chat.postMessage", count=2)
    slack_bot.drain()
    assert len(_user_permission_replies(fake_slack)) == 2


@pytest.mark.parametrize(
    "changes",
    [
        {"subtype": "message_changed", "message": {"text": TICKET_ERROR, "user": "U0ALICE"}},
        {"subtype": "message_deleted", "previous_message": {"text": TICKET_ERROR}},
        {"subtype": "channel_join"},
        {"bot_id": BOT_ID, "user": BOT_USER_ID},  # our own reply
        {"bot_id": "B0ALERTS", "subtype": "bot_message", "user": None},  # another bot
    ],
    ids=["edit", "delete", "join", "own-message", "other-bot"],
)
def test_edits_deletions_own_and_other_bots_messages_are_ignored(slack_bot, fake_slack, changes):
    event = message_event(TICKET_ERROR)
    event.update(changes)
    if event.get("user") is None:
        event.pop("user")
    assert slack_bot.post_event(event).status_code == 200
    slack_bot.drain()
    assert fake_slack.replies() == []


def test_a_configured_alerting_bot_is_answered_including_attachment_text(start_bot, fake_slack):
    bot = start_bot(HSPERM_ANSWER_BOTS="B0ALERTS")
    event = message_event("", subtype="bot_message", bot_id="B0ALERTS", user=None)
    event["attachments"] = [{"title": "HubSpot sync failed", "text": TICKET_ERROR, "fallback": "sync failed"}]
    assert bot.post_event(event).status_code == 200
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "HubSpot user permission" in reply.text


def test_a_snippet_upload_is_read_from_its_preview(slack_bot, fake_slack):
    event = message_event("sync log", subtype="file_share")
    event["files"] = [{"id": "F0LOG", "mode": "snippet", "filetype": "text", "preview": TICKET_ERROR}]
    slack_bot.post_event(event)
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "HubSpot user permission" in reply.text


def test_a_dm_is_answered_inline_and_ordinary_dm_text_gets_a_hint(slack_bot, fake_slack):
    slack_bot.post_event(message_event(TICKET_ERROR, channel="D0ALICE", channel_type="im"))
    slack_bot.post_event(message_event("hi there", channel="D0ALICE", channel_type="im"))
    calls = fake_slack.wait_for("chat.postMessage", count=2)
    slack_bot.drain()
    assert all("thread_ts" not in c.params for c in calls)
    assert any("HubSpot user permission" in c.text for c in calls)
    assert any("couldn't find a HubSpot error" in c.text for c in calls)


def test_mentioning_hsperm_under_a_paste_diagnoses_the_thread_parent(slack_bot, fake_slack):
    parent = message_event(TICKET_ERROR, channel="C0QUIET", user="U0BOB")
    fake_slack.threads[("C0QUIET", parent["ts"])] = [parent]
    mention = message_event(f"<@{BOT_USER_ID}> what does this mean?", channel="C0QUIET", thread_ts=parent["ts"])
    mention["type"] = "app_mention"
    assert slack_bot.post_event(mention).status_code == 200
    reply = next(c for c in fake_slack.wait_for("chat.postMessage") if c.method == "chat.postMessage")
    assert fake_slack.calls("conversations.replies")[0].params["ts"] == parent["ts"]
    assert reply.params["thread_ts"] == parent["ts"]
    assert "HubSpot user permission" in reply.text


def test_a_mention_without_an_error_gets_a_hint_not_silence(slack_bot, fake_slack):
    mention = message_event(f"<@{BOT_USER_ID}> hello!")
    mention["type"] = "app_mention"
    slack_bot.post_event(mention)
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "couldn't find a HubSpot error" in reply.text
    assert reply.params["thread_ts"] == mention["ts"]


def test_a_pasted_token_is_flagged_for_rotation_and_never_echoed_or_logged(start_bot, fake_slack, caplog):
    from bot.app import configure_logging
    from bot.config import load_settings
    from tests.fakes.slack import bot_env

    root = logging.getLogger()
    level = root.level
    configure_logging(load_settings(bot_env(fake_slack, "sqlite:///unused.db", LOG_LEVEL="DEBUG"), dotenv=False))
    caplog.set_level(logging.DEBUG)
    try:
        bot = start_bot()
        paste = f"curl -H 'Authorization: Bearer {PAT}' https://api.hubapi.com/crm/v3/objects/tickets\n{TICKET_ERROR}"
        bot.post_event(message_event(paste))
        [reply] = fake_slack.wait_for("chat.postMessage")
        bot.drain()
    finally:
        root.setLevel(level)
    assert "contains a secret" in reply.text and "rotate" in reply.text.lower()
    assert PAT not in str(reply.params)
    assert PAT not in caplog.text
    assert BOT_TOKEN not in caplog.text


def test_a_40kb_message_is_answered_within_block_kit_limits(slack_bot, fake_slack):
    noise = "\n".join(f"2026-11-28T10:00:{i % 60:02d}Z DEBUG worker-{i} polling queue, nothing to do" for i in range(700))
    paste = noise + "\nERROR HubSpot sync failed: " + TICKET_ERROR + "\n" + noise
    assert len(paste) > 40_000
    assert slack_bot.post_event(message_event(paste)).status_code == 200
    [reply] = fake_slack.wait_for("chat.postMessage")
    blocks = reply.params["blocks"]
    assert len(blocks) <= 50
    assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in blocks)
    assert len(reply.params["text"]) <= 3000


@pytest.mark.parametrize(
    "garbage",
    ["\x00\x01\x02\ufffd" * 500, "<<<&&&>>>" * 2000, "{" * 10_000, "`" * 5000, "𝕳𝖚𝖇𝕾𝖕𝖔𝖙 " * 1000],
    ids=["control", "entities", "braces", "backticks", "unicode"],
)
def test_garbage_is_acknowledged_quietly(slack_bot, fake_slack, garbage):
    assert slack_bot.post_event(message_event(garbage)).status_code == 200
    slack_bot.drain()
    assert fake_slack.replies() == []


