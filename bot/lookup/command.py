"""What `/hsperm user …` and the lookup form ask for, as people type it: pure, no Slack, no HubSpot.

The odd things Slack sends (`<mailto:…|…>`, `<@U…|name>`, links around a ticket URL) are parsed
here so they are tested without Slack; handlers/lookup.py only maps the results onto Slack's shapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.lookup.inputs import LookupInputError, normalize_email, normalize_portal_id, normalize_ticket_id

#: The words that take a value in `/hsperm user`; the one other word is the person.
KEYWORDS = ("ticket", "portal")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]*)?>")
#: A word, where Slack's `<…|label with spaces>` markup counts as part of one.
_WORD = re.compile(r"[^\s<]*<[^<>]*>\S*|\S+")
#: Slack's link markup around a pasted URL: `<https://…>` or `<https://…|label>`.
_SLACK_LINK = re.compile(r"<([^<>|]+)(?:\|[^<>]*)?>")
#: The portal in a ticket's record URL (`/contacts/<portal>/record/0-5/<id>`, or the legacy route).
_PORTAL_IN_TICKET_URL = re.compile(r"/contacts/(\d{1,20})/(?:record/0-5|ticket)/\d")


class UsageError(ValueError):
    """`/hsperm user …` that cannot be understood; the message says what was wrong, in user terms."""


@dataclass(frozen=True)
class UserQuery:
    """Who to look up (an email, or a Slack user whose email is read later) and where."""

    email: str | None = None
    slack_user: str | None = None
    ticket_id: str | None = None
    portal_id: str | None = None


def parse_user_command(args: str) -> UserQuery:
    """The words after `/hsperm user`: the person first or anywhere, `ticket`/`portal` in any order.

    Accepts what Slack actually sends: `<mailto:a@b|a@b>`, `<@U123|ann>`, `<https://…|…>` around a
    ticket URL, `ticket=123`, `ticket: #123`. A ticket URL also gives the portal when none is named.
    """
    person, values = _person_and_keywords(_WORD.findall(args))
    ticket_text = _unlink(values.get("ticket", "")).lstrip("#")
    portal_text = values.get("portal")
    if portal_text is None and (found := _PORTAL_IN_TICKET_URL.search(ticket_text)):
        portal_text = found.group(1)
    try:
        ticket_id = normalize_ticket_id(ticket_text or None)
        portal_id = normalize_portal_id(portal_text)
        mention = _MENTION.fullmatch(person)
        if mention:
            return UserQuery(slack_user=mention.group(1), ticket_id=ticket_id, portal_id=portal_id)
        if person.startswith("@"):
            raise UsageError(
                f"Slack sent {person} as plain text, so I can't tell who that is: pick the person from "
                "Slack's @ list, or give their email."
            )
        return UserQuery(email=normalize_email(person), ticket_id=ticket_id, portal_id=portal_id)
    except LookupInputError as exc:
        raise UsageError(str(exc)) from None


def _person_and_keywords(words: list[str]) -> tuple[str, dict[str, str]]:
    """The one word that is not a keyword or its value, and each keyword's value (`k v` or `k=v`)."""
    person: str | None = None
    values: dict[str, str] = {}
    index = 0
    while index < len(words):
        word = words[index]
        key, sep, inline = word.partition("=")
        key = key.lower().rstrip(":")
        if key not in KEYWORDS:
            if person is not None:
                raise UsageError(f"I don't know what {word!r} means here.")
            person, index = word, index + 1
            continue
        if sep and inline:
            value, index = inline, index + 1
        elif index + 1 < len(words):
            value, index = words[index + 1], index + 2
        else:
            raise UsageError(f"`{key}` needs a value after it.")
        if key in values:
            raise UsageError(f"`{key}` is given twice.")
        values[key] = value
    if person is None:
        raise UsageError("Name the person: their HubSpot login email, or a Slack @mention.")
    return person, values


def _unlink(text: str) -> str:
    link = _SLACK_LINK.fullmatch(text)
    return link.group(1) if link else text


def validate_lookup_form(email: str, ticket: str, portal: str) -> tuple[UserQuery | None, dict[str, str]]:
    """The form's fields -> a query, or one short message per bad field, keyed by `UserQuery` field.

    The messages are short enough for Slack's inline form errors; which block shows each is the
    handler's business.
    """
    errors: dict[str, str] = {}
    query: dict[str, str | None] = {}
    checks = (
        ("email", email, normalize_email, "Enter the user's HubSpot login email, e.g. ann@example.com."),
        ("ticket_id", ticket, normalize_ticket_id, "Enter a ticket id (digits) or its URL."),
        ("portal_id", portal, normalize_portal_id, "The portal is a number (Hub ID), or empty."),
    )
    for name, value, normalize, message in checks:
        try:
            query[name] = normalize((value or "").strip())
        except LookupInputError:
            errors[name] = message
    if errors:
        return None, errors
    return UserQuery(**query), {}
