"""What a lookup accepts: emails, ticket ids or URLs, portal ids, as people paste them.

Each normaliser returns the canonical value or raises `LookupInputError` whose message says how
to write it; nothing here calls HubSpot.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s<>|]{1,200}@[^@\s<>|]{1,200}\.[^@\s<>|.]{1,50}$")
_TICKET_IN_URL = re.compile(r"/(?:record/0-5|ticket)/(\d{1,20})(?:[/?#]|$)")
#: `tickets-read`, `contacts-base`: HubSpot *user* permission names, not OAuth scopes (DESIGN §2)
_PERMISSION_NAME = re.compile(r"^[a-z]+(?:-[a-z]+)+$")
_HYPHENATED_SCOPES = frozenset({"e-commerce"})


class LookupInputError(ValueError):
    """The question itself is malformed (bad email, ticket or portal id); the message says how."""



def normalize_email(email: str) -> str:
    """Accept what people paste (`<mailto:a@b|a@b>`, spaces); refuse what cannot be an email."""
    text = (email or "").strip()
    mailto = re.fullmatch(r"<mailto:([^|>]+)(?:\|[^>]*)?>", text)
    if mailto:
        text = mailto.group(1)
    text = text.removeprefix("mailto:").strip()
    if not _EMAIL.match(text):
        raise LookupInputError(f"{text[:80]!r} is not an email address; give the user's HubSpot login email.")
    return text


def normalize_ticket_id(ticket: str | int | None) -> str | None:
    """A ticket id, or a ticket's URL (record or legacy route) -> the numeric id."""
    if ticket is None or str(ticket).strip() == "":
        return None
    text = str(ticket).strip().strip("<>")
    if text.isdigit():
        return text
    match = _TICKET_IN_URL.search(text)
    if match:
        return match.group(1)
    raise LookupInputError(f"{text[:80]!r} is not a ticket id: give the number from the ticket's URL (…/record/0-5/<id>).")


def normalize_portal_id(portal: str | int | None) -> str | None:
    if portal is None or str(portal).strip() == "":
        return None
    text = str(portal).strip()
    if not text.isdigit():
        raise LookupInputError(f"{text[:40]!r} is not a portal id: it is the number (Hub ID) in HubSpot URLs.")
    return text


def is_permission_name(name: str) -> bool:
    return bool(_PERMISSION_NAME.match(name)) and name not in _HYPHENATED_SCOPES


def ui_domain(hublet: str | None) -> str:
    """HubSpot's app domain for a data centre: app.hubspot.com (na1) or app-eu1.hubspot.com."""
    if not hublet or hublet in ("na1", "na", "us"):
        return "app.hubspot.com"
    return f"app-{hublet}.hubspot.com"

