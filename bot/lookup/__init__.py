"""Live lookup: who a HubSpot user is, who owns a ticket, and whether the one can see the other.

Layout: `inputs` (what a lookup accepts), `command` (`/hsperm user …` and the form, as typed),
`report` (the facts, plain dataclasses), `service` (the HubSpot calls and the facts they give),
`verdict` (pure: facts -> `Verdict`), `text` (terminal rendering), `cli` (`python -m bot lookup`).
Slack rendering is `bot.messages.lookup`.
"""

from __future__ import annotations

from bot.lookup.inputs import LookupInputError, normalize_email, normalize_portal_id, normalize_ticket_id, ui_domain
from bot.lookup.report import (
    AccessFacts,
    NamedRef,
    PermissionReport,
    Problem,
    TicketFacts,
    TokenFacts,
    UserFacts,
)
from bot.lookup.service import LookupService
from bot.lookup.text import render_report_text
from bot.lookup.verdict import Verdict, decide

__all__ = [
    "AccessFacts",
    "LookupInputError",
    "LookupService",
    "NamedRef",
    "PermissionReport",
    "Problem",
    "TicketFacts",
    "TokenFacts",
    "UserFacts",
    "Verdict",
    "decide",
    "normalize_email",
    "normalize_portal_id",
    "normalize_ticket_id",
    "render_report_text",
    "ui_domain",
]
