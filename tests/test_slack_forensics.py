"""Forensics in Slack: signed requests dispatched to hsperm, a fake Slack, a fake HubSpot.

A pasted token error gets its checklist first and then, as a second message in the thread, what
HubSpot's security log says changed; `/hsperm user` shows what changed for the user. That the
reads happen after the ack is shown over real HTTP in tests/e2e/test_forensics_http.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.fakes.hubspot import ANN_USER, BOB_USER, PORTAL, TOKEN, ago, stamp
from tests.fakes.slack import message_event, message_shortcut
from tests.samples import INVALID_TOKEN, TICKET_ERROR

MISSING_SCOPES = (
    '{"status":"error","message":"This app hasn\'t been granted all required scopes to make this call. Read more '
    'about required scopes here: https://developers.hubspot.com/scopes.","correlationId":'
    '"dc49c0a8-9952-4937-aad4-e322b1e5cee0","errors":[{"message":"One or more of the following scopes are required.",'
    '"context":{"requiredGranularScopes":["crm.objects.deals.read"]}}],"links":{"scopes":'
    '"https://developers.hubspot.com/scopes"},"category":"MISSING_SCOPES"}'
)
DAILY_LIMIT = (
    '{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT",'
    '"correlationId":"5c4f7c1e-0000-4000-8000-000000000001","policyName":"DAILY","requestId":"abc"}'
)
EXPIRED_ELSEWHERE = (
    '{"status":"error","message":"The OAuth token used to make this call expired 75 second(s) ago.",'
    '"correlationId":"x","category":"EXPIRED_AUTHENTICATION"} in portal 555000111'
)


@pytest.fixture
def world(forensics_hubspot):
    return forensics_hubspot


@pytest.fixture
def bot(start_bot, fake_hubspot):
    return start_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url)


def rotate(fake, when: datetime, type_: str = "PRIVATE_APP_ACCESS_TOKEN_ROTATE") -> None:
    fake.add_security_event(
        PORTAL, type_, stamp(when), acting_user_id=BOB_USER, acting_email="bob@example.com", object_id="3300001"
    )


def thread_posts(fake_slack, count: int):
    return fake_slack.wait_for("chat.postMessage", count)


def test_a_pasted_invalid_token_gets_the_checklist_then_who_rotated_it(bot, world, fake_slack):
    rotate(world, ago(minutes=3))
    event = message_event(INVALID_TOKEN)
    assert bot.post_event(event).status_code == 200
    checklist, follow_up = thread_posts(fake_slack, 2)
    assert "Bob Stone" not in checklist.text  # the checklist first, on its own
    assert follow_up.params["thread_ts"] == event["ts"]
    assert "A private app's access token (id 3300001) was rotated by Bob Stone at" in follow_up.text
    assert "before the paste" in follow_up.text
    assert "copy the app's current token" in follow_up.text
    assert follow_up.params["text"].startswith("hsperm: A private app's access token")
    assert len(follow_up.params["blocks"]) <= 50
    assert len(fake_slack.calls("chat.postMessage")) == 2
    assert TOKEN not in json.dumps([c.params for c in fake_slack.calls()])


def test_a_pasted_missing_scopes_error_gets_the_scope_change(bot, world, fake_slack):
    rotate(world, ago(hours=5), "PRIVATE_APP_SCOPE_GROUPS_UPDATE")
    rotate(world, ago(hours=1))  # a rotation does not explain missing scopes
    bot.post_event(message_event(MISSING_SCOPES))
    _, follow_up = thread_posts(fake_slack, 2)
    assert "A private app's scopes (id 3300001) were changed by Bob Stone at" in follow_up.text
    assert "rotated" not in follow_up.text


def test_a_quiet_log_is_said_plainly(bot, world, fake_slack):
    bot.post_event(message_event(INVALID_TOKEN))
    _, follow_up = thread_posts(fake_slack, 2)
    assert "HubSpot's security log shows no token rotation or deactivation and no app uninstall" in follow_up.text


def test_without_the_scope_the_follow_up_names_it_and_hubspot_is_not_asked(bot, fake_hubspot, fake_slack):
    bot.post_event(message_event(INVALID_TOKEN))
    _, follow_up = thread_posts(fake_slack, 2)
    assert "Unknown: HubSpot's security activity log, because hsperm's HubSpot token lacks the scope" in follow_up.text
    assert "account-info.security.read" in follow_up.text
    assert fake_hubspot.calls_to("/account-info/") == []


def test_an_account_without_the_log_is_an_unknown_line(bot, world, fake_slack):
    world.portal(PORTAL).activity_available = False
    bot.post_event(message_event(INVALID_TOKEN))
    _, follow_up = thread_posts(fake_slack, 2)
    assert "HubSpot refused the read (403)" in follow_up.text


def test_a_5xx_on_the_log_is_an_unknown_line_and_the_checklist_stands(bot, world, fake_slack):
    world.fault("/account-info/v3/activity/security", 502, times=None)
    bot.post_event(message_event(INVALID_TOKEN))
    checklist, follow_up = thread_posts(fake_slack, 2)
    assert "server error (HTTP 502)" in follow_up.text
    assert "hsperm hit a problem" not in checklist.text + follow_up.text


def test_a_daily_429_paste_gets_the_budget(bot, world, fake_slack):
    world.set_daily_usage(
        PORTAL, 249000, 250000, collected_at=stamp(ago(minutes=2)), resets_at=stamp(datetime.now(UTC) + timedelta(hours=6))
    )
    bot.post_event(message_event(DAILY_LIMIT))
    _, follow_up = thread_posts(fake_slack, 2)
    assert "used 249,000 of 250,000 daily API calls (100%)" in follow_up.text
    assert "shared by every private app in the account" in follow_up.text


@pytest.mark.parametrize("text", [TICKET_ERROR, EXPIRED_ELSEWHERE], ids=["user_permission", "other_portal"])
def test_no_follow_up_for_other_kinds_or_portals_hsperm_cannot_read(bot, world, fake_slack, text):
    bot.post_event(message_event(text))
    thread_posts(fake_slack, 1)
    bot.drain()
    assert len(fake_slack.calls("chat.postMessage")) == 1
    assert world.calls_to("/account-info/") == []


def test_no_follow_up_without_a_hubspot_token(slack_bot, fake_slack):
    slack_bot.post_event(message_event(INVALID_TOKEN))
    thread_posts(fake_slack, 1)
    slack_bot.drain()
    assert len(fake_slack.calls("chat.postMessage")) == 1


def test_slash_command_paste_gets_a_private_follow_up(bot, world, fake_slack):
    rotate(world, ago(minutes=8))
    response = bot.post_command(INVALID_TOKEN)
    assert response.status_code == 200
    checklist, follow_up = fake_slack.wait_for("webhook", 2)
    assert follow_up.params["response_type"] == "ephemeral"
    assert follow_up.params["replace_original"] is False
    assert "was rotated by Bob Stone" in follow_up.text
    assert "Bob Stone" not in checklist.text  # the checklist came first, on its own


def test_user_lookup_in_slack_shows_what_changed_for_the_user(bot, world, fake_slack):
    world.add_security_event(
        PORTAL,
        "TEAM_USER_ADDED",
        stamp(ago(minutes=40)),
        acting_user_id=BOB_USER,
        acting_email="bob@example.com",
        object_id=ANN_USER,
    )
    world.add_login(PORTAL, ANN_USER, "ann@example.com", stamp(ago(hours=2)))
    response = bot.post_command("user ann@example.com ticket 123")
    assert response.status_code == 200
    [report] = fake_slack.wait_for("webhook")
    text = report.text
    assert "What changed for Ann" in text
    assert "Ann was added to a team by Bob Stone" in text
    assert "Ann is now on team East" in text
    assert "Ann must log out and back in" in text
    assert len(report.params["blocks"]) <= 50


def test_the_shortcut_on_an_old_message_reads_the_week_before_that_message(bot, world, fake_slack):

    pasted = ago(days=3)
    rotate(world, pasted - timedelta(hours=2))
    rotate(world, ago(hours=1))  # after the message: cannot explain it
    payload = message_shortcut(fake_slack, INVALID_TOKEN)
    payload["message"]["ts"] = f"{pasted.timestamp():.6f}"
    assert bot.post_interaction(payload).status_code == 200
    _, follow_up = fake_slack.wait_for("webhook", 2)
    assert follow_up.params["replace_original"] is False
    assert follow_up.params["blocks"][0]["text"]["text"].count("was rotated by Bob Stone") == 1
    assert "2 hours before the paste" in follow_up.text
    (read,) = world.calls_to("/account-info/v3/activity/security")
    assert int(read.query["toTimestamp"][0]) < (ago(days=2)).timestamp() * 1000


# -- rendering ----------------------------------------------------------------------------------


def test_names_and_links_from_hubspot_cannot_become_slack_markup():
    from bot.forensics import Finding, Forensics, Gap
    from bot.messages.lookup import forensics_message

    part = Forensics(
        "What changed for Ann",
        findings=(
            Finding(
                "team_user_added",
                "Ann was added to a team by <!channel> *boss* <https://evil.example|x>.",
                link="https://app.hubspot.com/settings/1/users",
            ),
            Finding("remove_user", "Ann was removed by eve.", link="javascript:alert(1)"),
        ),
        gaps=(Gap("Ann's login history", "HubSpot had a server error (HTTP 503); try again shortly", "unavailable"),),
    )
    message = forensics_message(part)
    body = message.blocks[0].text.text
    assert "<!channel>" not in body and "&lt;!channel&gt;" in body
    assert "<https://evil.example|x>" not in body
    assert "<https://app.hubspot.com/settings/1/users|in HubSpot>" in body
    assert "javascript:" not in body.split("removed by eve.")[1].split("\n")[0]
    assert ":grey_question: Unknown: Ann's login history, because HubSpot had a server error (HTTP 503)" in body
    assert "<!channel>" not in message.text


def test_a_long_history_is_capped_within_block_kit_limits():
    from bot.forensics import Finding, Forensics
    from bot.messages.lookup import forensics_message

    findings = tuple(Finding("team_user_added", f"Ann was added to a team by user {n}. " + "x" * 500) for n in range(30))
    body = forensics_message(Forensics("What changed for Ann", findings=findings)).blocks[0].text.text
    assert len(body) <= 3000
    assert "…and 24 more." in body
