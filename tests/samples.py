"""Pastes several test modules share: real texts (examples/ and the shared example sets), a
diagnosis the store tests keep, and the lookup form as Slack submits it."""

from __future__ import annotations

from bot.messages.ids import (
    LOOKUP_EMAIL_ACTION,
    LOOKUP_EMAIL_BLOCK,
    LOOKUP_PORTAL_ACTION,
    LOOKUP_PORTAL_BLOCK,
    LOOKUP_TICKET_ACTION,
    LOOKUP_TICKET_BLOCK,
)
from knowledge import ChecklistItem, Diagnosis
from tests.fakes.slack import TEAM_ID

TICKET_ERROR = (
    "You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} in portal "
    "342871372 (requires one of [tickets-read, tickets-access]): Forbidden."
)
SLACK_MISSING_SCOPE = (
    "slack_sdk.errors.SlackApiError: The request to the Slack API failed. (url: https://slack.com/api/chat.postMessage)\n"
    "The server responded with: {'ok': False, 'error': 'missing_scope', 'needed': 'chat:write', "
    "'provided': 'channels:history'}\nAn API error occurred: missing_scope"
)
#: A fake private app token (the shape HubSpot issues; the value is made up).
PAT = "pat-na1-0123abcd-4567-89ab-cdef-0123456789ab"

#: Real chat that mentions HubSpot, tokens or limits without an error, and chatter: never answered.
ORDINARY_CHAT = [
    "hubspot seems to have a daily limit as well. I suppose we don't handle those?",
    "Do you have anything in the works for Hubspots new private app token based auth?  Their replacement to API key?",
    "`destination-hubspot` syncs longer than 30 minutes will no longer fail with expired token errors.",
    "lunch at 12? :taco:",
]

#: A diagnosis as the store keeps it (the store tests of diagnoses and of fix requests).
TICKET = Diagnosis(
    kind="user_permission",
    summary="The HubSpot user lacks ticket access.",
    alternatives=("missing_scopes",),
    object_type="TICKET",
    portal_id="342871372",
    requires=("tickets-read", "tickets-access"),
    status=403,
    secrets=("hubspot_private_app_token",),
    checklist=(ChecklistItem("Open *Users & Teams*", "<https://app.hubspot.com/|Settings> → Users"),),
)

#: An INVALID_AUTHENTICATION body as a sync job logs it.
INVALID_TOKEN = (
    'HubSpot sync failed: {"status":"error","message":"Authentication credentials not found. This API supports both '
    "API Key and OAuth 2.0 authentication and you can find more details at "
    'https://developers.hubspot.com/docs/methods/auth/oauth-overview","correlationId":'
    '"4ad3c2b9-8f0e-4d57-9a2e-6c1f0b8e5a11","category":"INVALID_AUTHENTICATION"}'
)


def lookup_form_submission(view: dict, email: str, ticket: str = "", portal: str | None = None) -> dict:
    """The lookup form submitted with these values, as Slack posts it (view_submission)."""
    values = {
        LOOKUP_EMAIL_BLOCK: {LOOKUP_EMAIL_ACTION: {"type": "plain_text_input", "value": email}},
        LOOKUP_TICKET_BLOCK: {LOOKUP_TICKET_ACTION: {"type": "plain_text_input", "value": ticket or None}},
        LOOKUP_PORTAL_BLOCK: {LOOKUP_PORTAL_ACTION: {"type": "plain_text_input", "value": portal}},
    }
    return {
        "type": "view_submission",
        "user": {"id": "U0ALICE", "username": "alice", "team_id": TEAM_ID},
        "trigger_id": "1337.42.submit",
        "view": {**view, "id": "V0LOOKUP", "state": {"values": values}},
    }
