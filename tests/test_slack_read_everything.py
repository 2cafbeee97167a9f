"""Errors outside `text`, over real HTTP: Block Kit, attachment blocks, whole snippets, Slack Connect files."""

from __future__ import annotations

import pytest

from tests.fakes.slack import BOT_TOKEN, BOT_USER_ID, FakeSlack, message_event
from tests.samples import ORDINARY_CHAT, TICKET_ERROR

LOG_NOISE = [f"2026-11-28T10:00:{i:02d}Z INFO worker-{i} synced 50 contacts" for i in range(7)]
#: A sync log whose error is on line 8, below Slack's five-line preview.
SYNC_LOG = "\n".join([*LOG_NOISE, f"2026-11-28T10:00:08Z ERROR {TICKET_ERROR}", "2026-11-28T10:00:09Z INFO done"])
SLACK_CONNECT_FILE = {"id": "F0EXTERNAL", "mode": "file_access", "file_access": "check_file_info", "created": 0,
                      "timestamp": 0, "user": ""}


def _answered(fake: FakeSlack) -> bool:
    return any("HubSpot user permission" in c.text for c in fake.wait_for("chat.postMessage"))


def _silent(fake: FakeSlack) -> bool:
    """The dispatching bot has finished a request's slow work when post_event returns."""
    return fake.replies() == []


def _rich_text(*elements: dict) -> dict:
    return {"type": "rich_text", "block_id": "Zx1", "elements": list(elements)}


def _section(text: str) -> dict:
    return {"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}


def test_an_alert_whose_error_is_only_in_attachment_blocks_is_answered(start_bot, fake_slack):
    bot = start_bot(HSPERM_ANSWER_BOTS="B0ALERTS")
    event = message_event("", subtype="bot_message", bot_id="B0ALERTS", user=None, username="Sync alerts")
    event["attachments"] = [
        {
            "id": 1,
            "color": "E01E5A",
            "fallback": "[Alert] HubSpot sync failed",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "HubSpot sync failed", "emoji": True}},
                {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Job:*\ntickets-nightly"}]},
                {"type": "section", "text": {"type": "mrkdwn", "text": f"```{TICKET_ERROR}```"}},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": "Triggered 2 min ago"}]},
            ],
        }
    ]
    assert bot.post_event(event).status_code == 200
    assert _answered(fake_slack)


def test_a_rich_text_message_with_the_error_in_a_code_block_is_answered(slack_bot, fake_slack):
    event = message_event("Sync report from the nightly workflow")
    event["blocks"] = [
        _rich_text(
            _section("Nightly ticket sync stopped with:\n"),
            {"type": "rich_text_preformatted", "border": 0, "elements": [{"type": "text", "text": TICKET_ERROR}]},
        )
    ]
    slack_bot.post_event(event)
    assert _answered(fake_slack)


@pytest.mark.parametrize("content_in_info", [False, True], ids=["downloaded", "files.info-content"])
def test_a_snippet_whose_error_is_on_line_8_is_read_whole(slack_bot, fake_slack, content_in_info):
    file = fake_slack.add_file("F0SYNCLOG", SYNC_LOG.encode(), content_in_info=content_in_info)
    assert "ERROR" not in file["preview"] and file["lines_more"] == 4
    event = message_event("nightly sync log", subtype="file_share", files=[file])
    assert slack_bot.post_event(event).status_code == 200
    assert _answered(fake_slack)
    [info] = fake_slack.calls("files.info")
    assert info.params["file"] == "F0SYNCLOG"
    downloads = fake_slack.calls("download")
    assert len(downloads) == (0 if content_in_info else 1)
    assert all(d.headers["Authorization"] == f"Bearer {BOT_TOKEN}" for d in downloads)


def test_a_slack_connect_file_that_cannot_be_read_gets_a_note_on_a_mention(slack_bot, fake_slack):
    mention = message_event(f"<@{BOT_USER_ID}> what is this?", type="app_mention", files=[SLACK_CONNECT_FILE])
    slack_bot.post_event(mention)
    [reply] = fake_slack.wait_for("chat.postMessage")
    assert "can't read files shared from another workspace" in reply.text
    assert "paste the error as text" in reply.text
    assert reply.params["thread_ts"] == mention["ts"]
    assert fake_slack.calls("files.info")[0].params["file"] == "F0EXTERNAL"


def test_a_slack_connect_file_that_cannot_be_read_is_silence_in_a_channel(slack_bot, fake_slack):
    event = message_event("", subtype="file_share", files=[SLACK_CONNECT_FILE])
    assert slack_bot.post_event(event).status_code == 200
    fake_slack.wait_for("files.info")
    assert _silent(fake_slack)


def test_a_readable_slack_connect_file_is_diagnosed(slack_bot, fake_slack):
    fake_slack.add_file("F0SHARED", SYNC_LOG.encode())
    slack_bot.post_event(message_event("", subtype="file_share", files=[SLACK_CONNECT_FILE | {"id": "F0SHARED"}]))
    assert _answered(fake_slack)


def test_a_download_url_on_another_host_is_not_fetched_and_gets_no_token(slack_bot, fake_slack):
    elsewhere = FakeSlack().start()
    try:
        file = fake_slack.add_file("F0AWAY", SYNC_LOG.encode())
        fake_slack.files["F0AWAY"]["file"]["url_private_download"] = elsewhere.base + "/files-pri/T0-F0AWAY/x.log"
        fake_slack.files["F0AWAY"]["file"]["url_private"] = elsewhere.base + "/files-pri/T0-F0AWAY/x.log"
        slack_bot.post_event(message_event(f"<@{BOT_USER_ID}> ?", type="app_mention", files=[file]))
        [reply] = fake_slack.wait_for("chat.postMessage")
        assert elsewhere.calls() == []  # no request at all, so no token either
        assert fake_slack.calls("download") == []
        assert "HubSpot user permission" not in reply.text  # the error below the preview stayed unread
    finally:
        elsewhere.stop()


def test_a_redirect_to_another_host_is_not_followed(slack_bot, fake_slack):
    elsewhere = FakeSlack().start()
    try:
        file = fake_slack.add_file("F0MOVED", SYNC_LOG.encode())
        fake_slack.redirects[file["url_private_download"].removeprefix(fake_slack.base)] = elsewhere.base + "/files-pri/x"
        slack_bot.post_event(message_event("", subtype="file_share", files=[file]))
        fake_slack.wait_for("download")
        assert _silent(fake_slack)
        assert elsewhere.calls() == []
    finally:
        elsewhere.stop()


def test_a_40kb_snippet_is_read_within_the_cap(slack_bot, fake_slack):
    noise = "\n".join(f"2026-11-28T10:{i // 60 % 60:02d}:{i % 60:02d}Z DEBUG worker polling queue {i}" for i in range(800))
    body = f"{noise}\n2026-11-28T11:00:00Z ERROR {TICKET_ERROR}\n"
    assert 40_000 < len(body) < 64 * 1024
    file = fake_slack.add_file("F0BIG", body.encode())
    slack_bot.post_event(message_event("", subtype="file_share", files=[file]))
    assert _answered(fake_slack)
    assert len(fake_slack.calls("download")) == 1


@pytest.mark.parametrize(
    ("body", "info"),
    [(b"PK\x03\x04\x00\x01\n" + SYNC_LOG.encode(), {}), (SYNC_LOG.encode(), {"size": 50 * 1024 * 1024})],
    ids=["binary", "huge"],
)
def test_binary_and_huge_files_are_skipped(slack_bot, fake_slack, body, info):
    file = fake_slack.add_file("F0SKIP", body, **info)
    slack_bot.post_event(message_event("", subtype="file_share", files=[file]))
    fake_slack.wait_for("files.info")
    assert _silent(fake_slack)
    assert len(fake_slack.calls("download")) == (0 if info else 1)


@pytest.mark.parametrize("chat", ORDINARY_CHAT)
def test_chat_in_blocks_and_snippets_without_an_error_stays_silent(slack_bot, fake_slack, chat):
    event = message_event(chat, blocks=[_rich_text(_section(chat), {"type": "rich_text_quote", "elements": [
        {"type": "text", "text": chat}]})])
    slack_bot.post_event(event)
    chat_log = "\n".join([*LOG_NOISE, chat, "done"]).encode()
    slack_bot.post_event(message_event("", subtype="file_share", files=[fake_slack.add_file("F0CHAT", chat_log)]))
    fake_slack.wait_for("download")
    assert _silent(fake_slack)


def test_when_files_info_keeps_failing_the_preview_is_still_diagnosed(slack_bot, fake_slack):
    fake_slack.fail("files.info", status=500, times=5)
    body = "\n".join([TICKET_ERROR, *LOG_NOISE]).encode()  # the error is in the preview this time
    slack_bot.post_event(message_event("", subtype="file_share", files=[fake_slack.add_file("F0FLAKY", body)]))
    assert _answered(fake_slack)
    assert fake_slack.calls("download") == []
