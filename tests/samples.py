"""Pastes several test modules share: real texts (examples/ and the shared example sets)."""

from __future__ import annotations

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
