"""The pure parts of the Slack lookup: what counts as the sub-command, the form's metadata, the report's Block Kit."""

from __future__ import annotations

import json

import pytest

from bot.lookup import (
    AccessFacts,
    LookupService,
    NamedRef,
    PermissionReport,
    Problem,
    TicketFacts,
    TokenFacts,
    UserFacts,
)
from bot.messages.help import help_message
from bot.messages.ids import LOOKUP_PORTAL_BLOCK
from bot.messages.lookup import lookup_progress_message, lookup_report_message
from bot.messages.modals import lookup_modal
from bot.messages.mrkdwn import MAX_MESSAGE_BLOCKS, MAX_MESSAGE_CHARS, MAX_SECTION_CHARS
from handlers.commands import is_subcommand
from handlers.lookup import form_metadata, form_requires
from tests.fakes.hubspot import PORTAL, TOKEN

# -- /hsperm user (the arguments themselves: test_lookup_command.py) ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user", True),
        ("user ann@example.com", True),
        ("user <@U0ANN> ticket 123", True),
        ("user ann ticket 123", True),  # a typo gets the usage line, not "no error found"
        ("User does not have permissions to view object type TICKET (requires one of [tickets-read])", False),
        ("user lacks tickets-read", False),
    ],
)
def test_what_counts_as_the_user_subcommand(text, expected):
    assert is_subcommand(text, text.split()[0].lower()) is expected


# -- the form ----------------------------------------------------------------------------------


def test_form_metadata_fits_slacks_limit_whatever_the_error_required():
    requires = tuple(f"scope-{n}-" + "x" * 40 for n in range(200))
    metadata = form_metadata("C0GENERAL", requires)
    assert len(metadata) <= 3000
    assert json.loads(metadata)["channel"] == "C0GENERAL"
    kept = form_requires({"private_metadata": metadata})
    assert 0 < len(kept) < len(requires) and kept == requires[: len(kept)]
    assert form_requires({"private_metadata": "not json"}) == ()


def test_the_modal_is_prefilled_and_valid():
    view = lookup_modal(
        portal_id=PORTAL,
        object_type="TICKET",
        requires=("tickets-read",),
        private_metadata=form_metadata("C1", ("tickets-read",)),
    ).to_dict()
    [portal] = [b for b in view["blocks"] if b.get("block_id") == LOOKUP_PORTAL_BLOCK]
    assert portal["element"]["initial_value"] == PORTAL and portal["optional"] is True
    assert "`TICKET`" in view["blocks"][0]["elements"][0]["text"]
    assert len(view["title"]["text"]) <= 24


# -- the report's blocks -----------------------------------------------------------------------


def _sections(message) -> list[str]:
    texts = []
    for block in message.kwargs()["blocks"]:
        if block.get("text"):
            texts.append(block["text"]["text"])
        texts += [f["text"] for f in block.get("fields") or []]
        texts += [e["text"] for e in block.get("elements") or [] if "text" in e]
    return texts


def test_a_real_report_leads_with_the_verdict(fake_hubspot, hubspot_client):
    with LookupService(hubspot_client) as service:
        report = service.lookup("ann@example.com", ticket_id="123", required=("tickets",))
    message = lookup_report_message(report)
    first = message.kwargs()["blocks"][0]["text"]["text"]
    assert first.startswith(":no_entry: Ann cannot view ticket 123")
    text = "\n".join(_sections(message))
    assert "Token has one of them: *yes* (`tickets`)" in text
    assert TOKEN not in json.dumps(message.kwargs())


def test_hubspot_text_is_escaped_and_the_report_stays_within_slacks_limits():
    ping = "<!channel> & <https://evil.example|click>"
    huge = [NamedRef(str(n), f"{ping} team {n}") for n in range(300)]
    report = PermissionReport(
        email="ann@example.com",
        portal_id=PORTAL,
        ticket_id="123",
        verdict=f"Ann {ping} " * 200,
        can_view=False,
        user=UserFacts(
            email="ann@example.com",
            found=True,
            user_id="1",
            name=ping,
            roles=tuple(huge),
            primary_team=huge[0],
            secondary_teams=tuple(huge[1:]),
            seats=tuple(ping for _ in range(100)),
        ),
        ticket=TicketFacts(
            id="123",
            found=True,
            subject=ping * 50,
            owner_id="2",
            owner_name=ping,
            team=huge[3],
            url="javascript:alert(1)|<!here>",
        ),
        access=AccessFacts(False, reason=ping * 30),
        token=TokenFacts("private_app", PORTAL, scopes=tuple(ping for _ in range(200)), required=(ping,)),
        unknowns=[ping * 40] * 20,
        notes=[ping * 40] * 20,
        problems=[Problem("user", ping * 40)] * 40,
        links={"users_settings": "https://app.hubspot.com/settings/342871372/users"},
    )
    message = lookup_report_message(report)
    payload = message.kwargs()
    assert len(payload["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert sum(len(str(block)) for block in payload["blocks"]) <= MAX_MESSAGE_CHARS
    for text in _sections(message):
        assert len(text) <= MAX_SECTION_CHARS
    everything = json.dumps(payload)
    assert "<!channel>" not in everything and "<!here>" not in everything
    assert "<https://evil" not in everything and "javascript:" not in everything.split("&lt;")[0]
    assert message.text and "<!channel>" not in message.text
    assert "<https://app.hubspot.com/settings/342871372/users|" in everything  # our own link stays a link


def test_a_user_that_is_not_found_and_a_ticket_that_is_not_found():
    report = PermissionReport(
        email="nobody@example.com",
        portal_id=None,
        ticket_id="9",
        verdict="No HubSpot user has the email nobody@example.com.",
        user=UserFacts(email="nobody@example.com", found=False),
        ticket=TicketFacts(id="9", found=False),
    )
    text = "\n".join(_sections(lookup_report_message(report)))
    assert "no HubSpot user has the email `nobody@example.com`" in text
    assert "*Ticket `9`:* not found" in text


def test_progress_names_the_person_portal_and_ticket():
    assert (
        "Looking up ann@example.com in portal 1 (ticket 2)…"
        in lookup_progress_message("ann@example.com", ticket_id="2", portal_id="1").kwargs()["blocks"][0]["text"]["text"]
    )
    mention = lookup_progress_message(slack_user="U0ANN").kwargs()["blocks"][0]["text"]["text"]
    assert "<@U0ANN>" in mention
    forged = lookup_progress_message("<!channel>", slack_user="U0ANN> <!channel").kwargs()
    assert "<!channel" not in json.dumps(forged)


@pytest.mark.parametrize("available", [True, False])
def test_help_lists_the_user_subcommand_escaped(available):
    text = help_message(lookup_available=available).kwargs()["blocks"][0]["text"]["text"]
    assert "`/hsperm user &lt;email|@user&gt; [ticket &lt;id|url&gt;] [portal &lt;id&gt;]`" in text
    assert ("HUBSPOT_ACCESS_TOKEN" in text) is not available
