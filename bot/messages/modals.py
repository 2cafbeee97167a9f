"""Modals: the `/hsperm` paste form and the "Check this user's access" form."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, InputBlock, PlainTextInputElement, PlainTextObject
from slack_sdk.models.views import View

from bot.messages.ids import (
    LOOKUP_EMAIL_ACTION,
    LOOKUP_EMAIL_BLOCK,
    LOOKUP_MODAL_CALLBACK_ID,
    LOOKUP_PORTAL_ACTION,
    LOOKUP_PORTAL_BLOCK,
    LOOKUP_TICKET_ACTION,
    LOOKUP_TICKET_BLOCK,
    MODAL_ACTION_ID,
    MODAL_BLOCK_ID,
    MODAL_CALLBACK_ID,
)
from bot.messages.mrkdwn import MODAL_INPUT_MAX, code, context


def diagnose_modal(private_metadata: str = "") -> View:
    return _modal(
        MODAL_CALLBACK_ID,
        "Diagnose HubSpot error",
        "Diagnose",
        private_metadata,
        [
            _text_input(
                MODAL_BLOCK_ID,
                MODAL_ACTION_ID,
                "Paste the error",
                "The whole response body or log line. Tokens are masked; rotate any you paste.",
                max_length=MODAL_INPUT_MAX,
                placeholder="You do not have permissions to view object type …",
                multiline=True,
            )
        ],
    )


def _modal(callback_id: str, title: str, submit: str, private_metadata: str, blocks: list[Block]) -> View:
    # Slack caps private_metadata at 3000 characters; callers keep theirs well under it.
    return View(
        type="modal",
        callback_id=callback_id,
        title=PlainTextObject(text=title),
        submit=PlainTextObject(text=submit),
        close=PlainTextObject(text="Cancel"),
        private_metadata=private_metadata[:3000],
        blocks=blocks,
    )

def lookup_modal(
    *,
    portal_id: str | None = None,
    object_type: str | None = None,
    requires: Sequence[str] = (),
    private_metadata: str = "",
) -> View:
    """The button's form: the error's portal filled in, the person (and optionally a ticket) to add."""
    about = ["From the error:"]
    if object_type:
        about.append(f"object {code(object_type, 80)}")
    if portal_id:
        about.append(f"in portal {code(portal_id, 40)}")
    if requires:
        about.append("requiring one of " + ", ".join(code(name, 80) for name in requires[:8]))
    blocks: list[Block] = []
    if len(about) > 1:
        blocks.append(context(" ".join(about) + "."))
    blocks += [
        _text_input(
            LOOKUP_EMAIL_BLOCK,
            LOOKUP_EMAIL_ACTION,
            "The HubSpot user's email",
            "The email they log in to HubSpot with.",
            max_length=254,
            placeholder="ann@example.com",
        ),
        _text_input(
            LOOKUP_TICKET_BLOCK,
            LOOKUP_TICKET_ACTION,
            "Ticket id or URL",
            "Optional. Without it, the report describes the user's roles and teams.",
            max_length=500,
            placeholder="123 or https://app.hubspot.com/contacts/…/record/0-5/123",
            optional=True,
        ),
        _text_input(
            LOOKUP_PORTAL_BLOCK,
            LOOKUP_PORTAL_ACTION,
            "Portal (Hub ID)",
            "Leave empty for the portal of hsperm's token.",
            max_length=20,
            initial_value=portal_id,
            optional=True,
        ),
    ]
    return _modal(LOOKUP_MODAL_CALLBACK_ID, "Check a user's access", "Look up", private_metadata, blocks)


def _text_input(
    block_id: str,
    action_id: str,
    label: str,
    hint: str,
    *,
    max_length: int,
    placeholder: str | None = None,
    initial_value: str | None = None,
    optional: bool = False,
    multiline: bool = False,
) -> InputBlock:
    return InputBlock(
        block_id=block_id,
        label=PlainTextObject(text=label),
        hint=PlainTextObject(text=hint),
        optional=optional,
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=multiline,
            max_length=max_length,
            placeholder=PlainTextObject(text=placeholder) if placeholder else None,
            initial_value=initial_value or None,
        ),
    )
