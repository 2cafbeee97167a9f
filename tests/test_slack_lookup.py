"""Live lookup from Slack, over real HTTP: signed requests to hsperm, a fake Slack, a fake HubSpot.

The lookup service is the real one, talking to `tests/fakes/hubspot.py` on 127.0.0.1 through the
settings an operator would set (HUBSPOT_ACCESS_TOKEN, HUBSPOT_API_URL).
"""

from __future__ import annotations

import json

import pytest

from bot.messages.ids import (
    ACTION_LOOKUP,
    LOOKUP_EMAIL_BLOCK,
    LOOKUP_MODAL_CALLBACK_ID,
    LOOKUP_PORTAL_BLOCK,
    LOOKUP_TICKET_BLOCK,
)
from tests.fakes.hubspot import PORTAL, TOKEN
from tests.fakes.slack import block_action
from tests.samples import TICKET_ERROR, lookup_form_submission

REVOKED = "pat-na1-99999999-9999-4999-8999-999999999999"


@pytest.fixture
def lookup_bot(start_bot, fake_hubspot):
    """hsperm with live lookups on, aimed at the fake HubSpot."""
    return start_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url)


def _command(bot, fake_slack, text: str):
    """Post `/hsperm <text>`; returns (the ack's JSON, the message that replaced it)."""
    response = bot.post_command(text)
    assert response.status_code == 200
    [report] = fake_slack.wait_for("webhook")
    return (response.json() if response.text else {}), report


def _slack_payloads(fake_slack) -> str:
    return json.dumps([c.params for c in fake_slack.calls()])


# -- /hsperm user ------------------------------------------------------------------------------


def test_order_of_ticket_and_portal_is_free_and_slack_escaping_is_understood(lookup_bot, fake_slack):
    text = f"user portal {PORTAL} <mailto:ann@example.com|ann@example.com> ticket 123"
    ack, report = _command(lookup_bot, fake_slack, text)
    assert "ann@example.com" in ack["text"]
    assert "Ann cannot view ticket 123" in report.text


def test_a_mention_resolves_to_the_persons_email_with_users_info(lookup_bot, fake_slack):
    fake_slack.users["U0ANN"] = {"id": "U0ANN", "name": "ann", "profile": {"email": "ann@example.com"}}
    ack, report = _command(lookup_bot, fake_slack, "user <@U0ANN|ann> ticket 123")
    assert "Looking up <@U0ANN>" in ack["text"]
    [info] = fake_slack.calls("users.info")
    assert info.params["user"] == "U0ANN"
    assert "Ann cannot view ticket 123" in report.text


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda fake: fake.error("users.info", "user_not_found"), "Slack has no user <@U0GHOST>"),
        (lambda fake: fake.error("users.info", "missing_scope"), "`users:read.email`"),
        (lambda fake: fake.users.update(U0GHOST={"id": "U0GHOST", "profile": {}}), "did not give me <@U0GHOST>'s email"),
        (lambda fake: fake.users.update(U0GHOST={"id": "U0GHOST", "is_bot": True, "profile": {}}), "is a bot"),
    ],
    ids=["user_not_found", "missing_scope", "no_email", "bot"],
)
def test_a_mention_hsperm_cannot_resolve_gets_a_clear_answer(lookup_bot, fake_slack, fake_hubspot, setup, expected):
    setup(fake_slack)
    _, answer = _command(lookup_bot, fake_slack, "user <@U0GHOST> ticket 123")
    assert expected in answer.text
    assert answer.params["replace_original"] is True
    assert fake_hubspot.calls_to("/settings/v3/users/") == []  # nothing was looked up


def test_unknown_email_is_a_clear_answer(lookup_bot, fake_slack):
    _, report = _command(lookup_bot, fake_slack, "user nobody@example.com ticket 123")
    assert "No HubSpot user has the email nobody@example.com" in report.text
    assert "Refund request" in report.text  # the ticket's facts are still shown


def test_unknown_ticket_is_not_a_permission_problem(lookup_bot, fake_slack):
    _, report = _command(lookup_bot, fake_slack, "user ann@example.com ticket 999")
    assert "Ticket 999 does not exist" in report.text
    assert "not a permission problem" in report.text


def test_without_a_ticket_the_report_describes_the_user(lookup_bot, fake_slack):
    _, report = _command(lookup_bot, fake_slack, "user bob@example.com")
    assert "Sales Manager" in report.text and "West" in report.text
    assert "Name a ticket" in report.text


@pytest.mark.parametrize(
    ("path", "status", "step"),
    [
        ("/settings/v3/users/teams", 500, "teams"),
        ("/crm/v3/owners", 429, "owner"),
    ],
    ids=["teams_500", "owners_429"],
)
def test_hubspot_faults_still_give_a_report_with_a_warning(lookup_bot, fake_slack, fake_hubspot, path, status, step):
    # Retry-After: 0 keeps the client's retries instant; every attempt fails.
    fake_hubspot.fault(path, status, headers={"Retry-After": "0"}, times=None)
    _, report = _command(lookup_bot, fake_slack, "user ann@example.com ticket 123")
    text = report.text
    assert "Ann cannot view ticket 123" in text  # HubSpot's own answer still decides
    assert "Refund request" in text and "Support Agent" in text  # partial facts
    assert ":warning: *Some facts are missing" in text
    assert f"*{step}" in text


def test_a_revoked_token_is_reported_without_leaking_it(start_bot, fake_slack, fake_hubspot):
    bot = start_bot(HUBSPOT_ACCESS_TOKEN=REVOKED, HUBSPOT_API_URL=fake_hubspot.url)
    ack, report = _command(bot, fake_slack, "user ann@example.com ticket 123")
    assert "could not read" in report.text
    assert "HUBSPOT_ACCESS_TOKEN" in report.text  # the setting to fix is named
    assert REVOKED not in json.dumps(ack) + _slack_payloads(fake_slack)


def test_a_portal_without_a_token_names_the_setting(lookup_bot, fake_slack):
    _, report = _command(lookup_bot, fake_slack, "user ann@example.com portal 999999")
    assert "no token for portal 999999" in report.text
    assert "HUBSPOT_PORTAL_TOKENS" in report.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user", "Name the person"),
        ("user ann@example.com ticket abc", "is not a ticket id"),
        ("user ann@example.com portal", "`portal` needs a value"),
        ("user ann ticket 123", "is not an email address"),
        ("user @ann ticket 123", "as plain text"),
    ],
)
def test_bad_input_gets_a_usage_line_in_the_ack(lookup_bot, fake_slack, fake_hubspot, text, expected):
    response = lookup_bot.post_command(text)
    assert response.status_code == 200
    body = json.dumps(response.json())
    assert expected in body
    assert "Usage:" in body and "/hsperm user &lt;email|@user&gt;" in body
    lookup_bot.drain()
    assert fake_slack.calls("webhook") == [] and fake_hubspot.calls == []


def test_help_mentions_the_lookup_when_it_is_on(lookup_bot):
    body = json.dumps(lookup_bot.post_command("help").json())
    assert "/hsperm user &lt;email|@user&gt; [ticket &lt;id|url&gt;] [portal &lt;id&gt;]" in body
    assert "Check this user's access" in body


# -- the button and its form -------------------------------------------------------------------


def _click_lookup(fake_slack, value: str) -> dict:
    return block_action(fake_slack, ACTION_LOOKUP, value)


def _open_form(bot, fake_slack) -> dict:
    """Diagnose the ticket error, click its lookup button; returns the opened view."""
    _, checklist = _command(bot, fake_slack, TICKET_ERROR)
    assert bot.post_interaction(_click_lookup(fake_slack, checklist.button_value(ACTION_LOOKUP))).status_code == 200
    [opened] = fake_slack.wait_for("views.open")
    assert opened.params["trigger_id"] == f"1337.42.{ACTION_LOOKUP}"
    return opened.params["view"]


def _portal_prefill(view: dict) -> str | None:
    [block] = [b for b in view["blocks"] if b.get("block_id") == LOOKUP_PORTAL_BLOCK]
    return block["element"].get("initial_value")


def test_the_lookup_button_opens_a_form_prefilled_from_the_error(lookup_bot, fake_slack):
    view = _open_form(lookup_bot, fake_slack)
    assert view["callback_id"] == LOOKUP_MODAL_CALLBACK_ID
    assert _portal_prefill(view) == PORTAL
    text = json.dumps(view)
    assert "TICKET" in text and "tickets-read" in text  # the object and what the error required
    assert {b.get("block_id") for b in view["blocks"]} >= {LOOKUP_EMAIL_BLOCK, LOOKUP_TICKET_BLOCK}
    assert json.loads(view["private_metadata"]) == {"channel": "C0GENERAL", "requires": ["tickets-read", "tickets-access"]}


def test_submitting_the_form_posts_the_report_to_the_submitter(lookup_bot, fake_slack):
    view = _open_form(lookup_bot, fake_slack)
    response = lookup_bot.post_interaction(lookup_form_submission(view, "ann@example.com", "123", _portal_prefill(view)))
    assert response.status_code == 200
    assert response.text == ""  # the form closes at once
    [posted] = fake_slack.wait_for("chat.postEphemeral")
    assert (posted.params["channel"], posted.params["user"]) == ("C0GENERAL", "U0ALICE")
    assert "Ann cannot view ticket 123" in posted.text
    # The error's `requires` went to the lookup: the report explains they are not token scopes.
    assert "Required by the error" in posted.text and "not OAuth scopes" in posted.text
    assert TOKEN not in _slack_payloads(fake_slack)


def test_the_report_comes_as_a_dm_where_the_bot_cannot_post(lookup_bot, fake_slack):
    view = _open_form(lookup_bot, fake_slack)
    fake_slack.error("chat.postEphemeral", "channel_not_found")
    lookup_bot.post_interaction(lookup_form_submission(view, "ann@example.com", "123"))
    [dm] = fake_slack.wait_for("chat.postMessage")
    assert dm.params["channel"] == "U0ALICE"
    assert "Ann cannot view ticket 123" in dm.text


@pytest.mark.parametrize(
    ("email", "ticket", "portal", "block"),
    [
        ("not an email", "123", PORTAL, LOOKUP_EMAIL_BLOCK),
        ("ann@example.com", "12x", PORTAL, LOOKUP_TICKET_BLOCK),
        ("ann@example.com", "", "hub-one", LOOKUP_PORTAL_BLOCK),
    ],
)
def test_invalid_form_input_is_refused_in_the_form(lookup_bot, fake_slack, fake_hubspot, email, ticket, portal, block):
    view = _open_form(lookup_bot, fake_slack)
    response = lookup_bot.post_interaction(lookup_form_submission(view, email, ticket, portal))
    assert response.status_code == 200
    body = response.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [block]
    lookup_bot.drain()
    assert fake_slack.calls("chat.postEphemeral") == [] and fake_hubspot.calls == []


def test_a_lookup_button_for_a_missing_diagnosis_says_so(lookup_bot, fake_slack):
    lookup_bot.post_interaction(_click_lookup(fake_slack, "no-such-record"))
    [answer] = fake_slack.wait_for("webhook")
    assert "can't find that diagnosis" in answer.text
    assert answer.params["replace_original"] is False
    assert fake_slack.calls("views.open") == []


def test_when_the_lookup_form_cannot_open_the_user_is_told(lookup_bot, fake_slack):
    _, checklist = _command(lookup_bot, fake_slack, TICKET_ERROR)
    fake_slack.error("views.open", "expired_trigger_id")
    lookup_bot.post_interaction(_click_lookup(fake_slack, checklist.button_value(ACTION_LOOKUP)))
    answers = fake_slack.wait_for("webhook", count=2)
    assert "couldn't open the form" in answers[1].text
