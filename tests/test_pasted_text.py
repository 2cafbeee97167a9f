"""What hsperm reads from a message event, on payload shapes from Slack's docs (no network here)."""

from __future__ import annotations

from bot.pasted_text import has_pasted_content, needs_whole_file, pasted_text
from knowledge import MAX_INPUT_CHARS

ERROR = '{"status":"error","message":"This app hasn\'t been granted all required scopes","category":"MISSING_SCOPES"}'


def _text(text: str, **style: bool) -> dict:
    return {"type": "text", "text": text, **({"style": style} if style else {})}


def test_a_typed_message_is_read_once_though_text_and_rich_text_both_carry_it() -> None:
    # The Slack client sends mrkdwn `text` (escaped, links wrapped) and the rich_text it came from.
    message = {
        "type": "message",
        "user": "U0ALICE",
        "text": f"sync broke again <@U0BOB>:\n```{ERROR} &lt;tickets&gt;```\n"
        "see <https://developers.hubspot.com/docs|*the docs*>",
        "blocks": [
            {
                "type": "rich_text",
                "block_id": "a1B2",
                "elements": [
                    {"type": "rich_text_section",
                     "elements": [_text("sync broke again "), {"type": "user", "user_id": "U0BOB"}, _text(":\n")]},
                    {"type": "rich_text_preformatted", "elements": [_text(f"{ERROR} <tickets>")]},
                    {"type": "rich_text_section", "elements": [
                        _text("see "), {"type": "link", "url": "https://developers.hubspot.com/docs", "text": "the docs",
                                        "style": {"bold": True}}]},
                ],
            }
        ],
    }
    text = pasted_text(message)
    assert text == message["text"]
    assert text.count("MISSING_SCOPES") == 1


def test_rich_text_sections_lists_and_quotes_are_read_in_order() -> None:
    message = {
        "text": "Incident summary",
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {"type": "rich_text_section", "elements": [_text("What we saw:", bold=True)]},
                    {"type": "rich_text_list", "style": "bullet", "indent": 0, "elements": [
                        {"type": "rich_text_section", "elements": [_text("first: 403 on /crm/v3/objects/tickets")]},
                        {"type": "rich_text_section", "elements": [_text("then: "), {"type": "emoji", "name": "fire"}]},
                    ]},
                    {"type": "rich_text_quote", "elements": [_text(ERROR)]},
                    {"type": "rich_text_preformatted", "elements": [_text("HTTP 403 Forbidden")]},
                ],
            }
        ],
    }
    assert pasted_text(message).split("\n") == [
        "Incident summary", "What we saw:", "first: 403 on /crm/v3/objects/tickets", "then: :fire:", ERROR,
        "HTTP 403 Forbidden",
    ]


def test_section_text_fields_header_and_context_of_an_app_message_are_read() -> None:
    message = {
        "text": "HubSpot sync failed",  # the notification fallback an app sends with its blocks
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "HubSpot sync failed"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "Portal *342871372*"},
             "fields": [{"type": "mrkdwn", "text": "*Status*\n403"}, {"type": "plain_text", "text": "tickets"}]},
            {"type": "context", "elements": [{"type": "image", "image_url": "https://x/i.png", "alt_text": "x"},
                                             {"type": "mrkdwn", "text": f"`{ERROR}`"}]},
            {"type": "divider"},
            {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Retry"}}]},
        ],
    }
    assert pasted_text(message).split("\n") == [
        "HubSpot sync failed", "Portal *342871372*", "*Status*", "403", "tickets", f"`{ERROR}`"
    ]


def test_attachments_read_pretext_title_text_fields_and_blocks_and_fallback_only_alone() -> None:
    message = {
        "text": "",
        "attachments": [
            {"fallback": "Deploy failed", "pretext": "Deploy #42", "title": "crm-sync", "text": "exit code 1",
             "fields": [{"title": "Error", "value": ERROR, "short": False}], "color": "danger"},
            {"fallback": "[Alert] token expired",
             "blocks": [{"type": "section",
                         "text": {"type": "mrkdwn", "text": "The OAuth token used to make this call expired"}}]},
            {"fallback": "Only a fallback here"},
        ],
    }
    assert pasted_text(message).split("\n") == [
        "Deploy #42", "crm-sync", "exit code 1", f"Error: {ERROR}", "The OAuth token used to make this call expired",
        "Only a fallback here",
    ]


def test_a_file_is_read_from_its_whole_text_when_given_else_from_its_preview() -> None:
    files = [{"id": "F1", "mode": "snippet", "preview": "line 1\nline 2", "lines_more": 6},
             {"id": "F2", "mode": "snippet", "preview": "short preview"}]
    message = {"text": "logs", "files": files}
    assert pasted_text(message) == "logs\nline 1\nline 2\nshort preview"
    assert pasted_text(message, {"F1": "line 1\nline 2\n...\nline 8: " + ERROR}).endswith(ERROR + "\nshort preview")


def test_everything_read_stays_within_the_engine_cap() -> None:
    big = "x" * 50_000
    message = {"text": big, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 50_000}}],
               "files": [{"id": "F1", "preview": "z" * 10}]}
    text = pasted_text(message, {"F1": "w" * 100_000})
    assert len(text) == MAX_INPUT_CHARS
    assert text.startswith(big) and "y" * 1000 in text


def test_malformed_payloads_are_read_without_crashing() -> None:
    message = {"text": None, "blocks": ["x", {"type": "section", "text": "not an object", "fields": [None, 3]},
                                        {"type": "rich_text", "elements": [{"type": "rich_text_list", "elements": "x"}]}],
               "attachments": {"not": "a list"}, "files": [None, {"id": 7, "preview": ["no"]}]}
    assert pasted_text(message) == ""
    deep: dict = {"type": "rich_text_section", "elements": [_text("bottom")]}
    for _ in range(50):
        deep = {"type": "rich_text_list", "elements": [deep]}
    assert pasted_text({"blocks": [{"type": "rich_text", "elements": [deep]}]}) == ""


def test_which_files_need_reading_whole() -> None:
    assert needs_whole_file({"id": "F1", "mode": "snippet", "preview": "a", "lines_more": 3})
    assert needs_whole_file({"id": "F2", "filetype": "text", "mimetype": "text/plain"})  # no preview at all
    assert needs_whole_file({"id": "F3", "mode": "file_access", "file_access": "check_file_info"})  # Slack Connect
    assert not needs_whole_file({"id": "F4", "mode": "snippet", "preview": "all of it", "lines_more": 0})
    assert not needs_whole_file({"id": "F5", "filetype": "png", "mimetype": "image/png"})
    assert not needs_whole_file({"id": "F6", "filetype": "gdoc", "mode": "external", "mimetype": "text/html"})


def test_only_messages_with_something_to_read_pass_the_cheap_check() -> None:
    assert has_pasted_content({"text": "hi"})
    assert has_pasted_content({"text": "", "blocks": [{"type": "rich_text", "elements": []}]})
    assert has_pasted_content({"text": "", "files": [{"id": "F3", "file_access": "check_file_info"}]})
    assert not has_pasted_content({"text": "  ", "files": [{"id": "F5", "filetype": "png", "mimetype": "image/png"}]})



def test_the_bot_token_goes_only_to_the_slack_host_and_its_subdomains() -> None:
    from bot.slack_files import SlackFiles

    files = SlackFiles("https://slack.com/api/")
    try:
        assert files.is_slack_url("https://files.slack.com/files-pri/T0-F1/download/sync.log")
        assert files.is_slack_url("https://slack.com/files-pri/T0-F1/download/sync.log")
        for url in (
            "https://slack.com.example.net/files-pri/T0-F1/sync.log",
            "https://slack.com@example.net/files-pri/T0-F1/sync.log",
            "https://evilslack.com/files-pri/T0-F1/sync.log",
            "http://files.slack.com/files-pri/T0-F1/sync.log",
            "https://files.slack.com:8443/files-pri/T0-F1/sync.log",
            "https://[::1/broken",
            "",
        ):
            assert not files.is_slack_url(url), url
    finally:
        files.close()
