"""/hsperm, its form, the Share button, the message shortcut and App Home, over real HTTP."""

from __future__ import annotations

import json

from bot.messages.ids import ACTION_SHARE, MODAL_ACTION_ID, MODAL_BLOCK_ID, MODAL_CALLBACK_ID
from tests.fakes.slack import BOT_USER_ID, TEAM_ID, block_action, message_event, message_shortcut
from tests.samples import PAT, TICKET_ERROR


def _share_value(call) -> str:
    for block in call.params["blocks"]:
        for element in block.get("elements") or []:
            if element.get("action_id") == ACTION_SHARE:
                return element["value"]
    raise AssertionError(f"no share button in {call.params}")


def _header(call) -> str:
    return next(b["text"]["text"] for b in call.params["blocks"] if b["type"] == "header")


def _block_action(fake, value: str, user: str = "U0ALICE", channel: str = "C0GENERAL") -> dict:
    return block_action(fake, ACTION_SHARE, value, user=user, channel=channel)


def _diagnose_by_command(slack_bot, fake_slack, text: str = TICKET_ERROR):
    assert slack_bot.post_command(text).status_code == 200
    [answer] = fake_slack.wait_for("webhook")
    return answer


def test_hsperm_masks_a_pasted_token_and_says_to_rotate_it(slack_bot, fake_slack):
    answer = _diagnose_by_command(slack_bot, fake_slack, f"Authorization: Bearer {PAT}\n{TICKET_ERROR}")
    assert PAT not in json.dumps(answer.params)
    assert "[REDACTED" in answer.text
    assert "contains a secret" in answer.text


def test_hsperm_help(slack_bot, fake_slack):
    response = slack_bot.post_command("help")
    assert response.status_code == 200
    body = response.json()
    assert "/hsperm" in json.dumps(body) and "Diagnose HubSpot error" in json.dumps(body)
    assert body["text"]


def test_hsperm_on_ordinary_text_says_no_error_was_found(slack_bot, fake_slack):
    answer = _diagnose_by_command(slack_bot, fake_slack, "why is hubspot so slow today <!channel>")
    assert "couldn't find a HubSpot error" in answer.text
    assert "<!channel>" not in json.dumps(answer.params)  # pasted text is escaped, never a ping


def test_hsperm_user_without_hubspot_names_the_setting_to_add(slack_bot, fake_slack):
    response = slack_bot.post_command("user alice@example.com ticket 123")
    assert response.status_code == 200
    body = response.json()
    assert "HUBSPOT_ACCESS_TOKEN" in body["text"]
    assert "HUBSPOT_ACCESS_TOKEN" in json.dumps(body["blocks"])


def test_a_paste_that_starts_with_user_is_diagnosed_not_taken_for_a_subcommand(slack_bot, fake_slack):
    answer = _diagnose_by_command(slack_bot, fake_slack, "User " + TICKET_ERROR)
    assert "HubSpot user permission" in answer.text


def test_hsperm_alone_opens_the_form(slack_bot, fake_slack):
    response = slack_bot.post_command("")
    assert response.status_code == 200
    [opened] = fake_slack.wait_for("views.open")
    assert opened.params["trigger_id"] == "1337.42.abcdef"
    view = opened.params["view"]
    assert view["callback_id"] == MODAL_CALLBACK_ID
    assert json.loads(view["private_metadata"]) == {"channel": "C0GENERAL"}
    [element] = [b["element"] for b in view["blocks"] if b.get("block_id") == MODAL_BLOCK_ID]
    assert element["multiline"] is True


def test_when_the_form_cannot_open_the_user_is_told(slack_bot, fake_slack):
    fake_slack.error("views.open", "expired_trigger_id")
    slack_bot.post_command("")
    [answer] = fake_slack.wait_for("webhook")
    assert "couldn't open the form" in answer.text


def _submission(text: str, channel: str = "C0GENERAL") -> dict:
    return {
        "type": "view_submission",
        "user": {"id": "U0ALICE", "username": "alice", "team_id": TEAM_ID},
        "trigger_id": "1337.42.submit",
        "view": {
            "id": "V0FORM",
            "type": "modal",
            "callback_id": MODAL_CALLBACK_ID,
            "private_metadata": json.dumps({"channel": channel}),
            "state": {"values": {MODAL_BLOCK_ID: {MODAL_ACTION_ID: {"type": "plain_text_input", "value": text}}}},
        },
    }


def test_the_form_answers_with_an_ephemeral_message_in_its_channel(slack_bot, fake_slack):
    response = slack_bot.post_interaction(_submission(TICKET_ERROR))
    assert response.status_code == 200
    assert response.text == ""  # the modal closes
    [answer] = fake_slack.wait_for("chat.postEphemeral")
    assert (answer.params["channel"], answer.params["user"]) == ("C0GENERAL", "U0ALICE")
    assert "HubSpot user permission" in answer.text
    assert ACTION_SHARE in answer.action_ids()


def test_the_form_falls_back_to_a_dm_where_the_bot_cannot_post(slack_bot, fake_slack):
    fake_slack.error("chat.postEphemeral", "channel_not_found")
    slack_bot.post_interaction(_submission(TICKET_ERROR, channel="D0SOMEONE"))
    [dm] = fake_slack.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U0ALICE"
    assert "HubSpot user permission" in dm.text
    assert ACTION_SHARE not in dm.action_ids()  # sharing into a DM with the bot makes no sense


def test_an_empty_form_is_refused_in_the_form(slack_bot, fake_slack):
    response = slack_bot.post_interaction(_submission("   "))
    assert response.status_code == 200
    assert response.json() == {"response_action": "errors", "errors": {MODAL_BLOCK_ID: "Paste the error text first."}}


def test_share_posts_the_checklist_to_the_channel_without_the_paste(slack_bot, fake_slack):
    paste = f"Bearer {PAT}\n{TICKET_ERROR}"
    private = _diagnose_by_command(slack_bot, fake_slack, paste)
    response = slack_bot.post_interaction(_block_action(fake_slack, _share_value(private)))
    assert response.status_code == 200
    calls = fake_slack.wait_for("webhook", count=3)
    shared, deleted = calls[1], calls[2]
    assert shared.params["response_type"] == "in_channel"
    assert "<@U0ALICE> shared" in shared.text
    assert _header(shared) == _header(private)  # the same diagnosis the user saw
    assert "What you pasted" not in shared.text and PAT not in json.dumps(shared.params)
    assert deleted.params["delete_original"] is True


def test_someone_elses_share_value_is_refused(slack_bot, fake_slack):
    value = _share_value(_diagnose_by_command(slack_bot, fake_slack))
    slack_bot.post_interaction(_block_action(fake_slack, value, user="U0MALLORY"))
    calls = fake_slack.wait_for("webhook", count=2)
    slack_bot.drain()
    assert "can't find that diagnosis" in calls[1].text
    assert all(c.params.get("response_type") != "in_channel" for c in fake_slack.calls("webhook"))


def test_the_message_shortcut_answers_privately_and_shares_into_the_thread(slack_bot, fake_slack):
    assert slack_bot.post_interaction(message_shortcut(fake_slack, TICKET_ERROR)).status_code == 200
    [answer] = fake_slack.wait_for("webhook")
    assert answer.params["response_type"] == "ephemeral"
    assert "HubSpot user permission" in answer.text

    slack_bot.post_interaction(_block_action(fake_slack, _share_value(answer)))
    [posted] = fake_slack.wait_for("chat.postMessage")
    assert posted.params["channel"] == "C0GENERAL"
    assert posted.params["thread_ts"] == "1764299999.000100"


def test_the_shortcut_on_an_ordinary_message_says_so(slack_bot, fake_slack):
    slack_bot.post_interaction(message_shortcut(fake_slack, "standup in 5"))
    [answer] = fake_slack.wait_for("webhook")
    assert "couldn't find a HubSpot error" in answer.text


def test_app_home_shows_how_to_use_and_recent_diagnoses(slack_bot, fake_slack):
    slack_bot.post_event(message_event(TICKET_ERROR, channel="C0HELP"))
    fake_slack.wait_for("chat.postMessage")
    home = {"type": "app_home_opened", "user": "U0CAROL", "channel": "D0CAROL", "tab": "home"}
    assert slack_bot.post_event(home).status_code == 200
    [published] = fake_slack.wait_for("views.publish")
    assert published.params["user_id"] == "U0CAROL"
    view = published.params["view"]
    assert view["type"] == "home"
    text = published.text
    assert "/hsperm" in text and "Diagnose HubSpot error" in text
    assert "Recent diagnoses" in text
    assert "HubSpot user permission" in text and "<#C0HELP>" in text and "<!date^" in text


def test_app_home_hides_other_peoples_private_diagnoses(slack_bot, fake_slack):
    _diagnose_by_command(slack_bot, fake_slack)  # Alice's private /hsperm
    slack_bot.post_event({"type": "app_home_opened", "user": "U0CAROL", "channel": "D0CAROL", "tab": "home"})
    slack_bot.post_event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home"})
    views = {c.params["user_id"]: c.text for c in fake_slack.wait_for("views.publish", count=2)}
    assert "HubSpot user permission" not in views["U0CAROL"]
    assert "HubSpot user permission" in views["U0ALICE"]


def test_the_messages_tab_does_not_publish_a_home(slack_bot, fake_slack):
    event = {"type": "app_home_opened", "user": "U0CAROL", "channel": "D0CAROL", "tab": "messages"}
    assert slack_bot.post_event(event).status_code == 200
    slack_bot.drain()
    assert fake_slack.calls("views.publish") == []


def test_the_bot_user_is_never_answered_even_when_mentioned(slack_bot, fake_slack):
    event = message_event(TICKET_ERROR, user=BOT_USER_ID)
    slack_bot.post_event(event)
    slack_bot.drain()
    assert fake_slack.replies() == []
