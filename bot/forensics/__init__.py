"""Forensics: "it worked yesterday, what changed?", answered from HubSpot's own records.

HubSpot keeps a security activity log (token rotations, scope changes, app installs, users and
teams changed), each user's login history and the private apps' daily API usage. This module
turns those records, in the shapes HubSpot documents, into sentences an admin can act on. It is
pure on purpose (no HTTP, no Slack, no clock of its own): the service reads, this decides, and
the tests feed it documented shapes without a server.

Two facts about the records shape everything here:

- In a security record, `userId` and `actingUser` name the user who *did* something; the user a
  user or team event is *about* is its `objectId`. "What happened to Ann" is therefore every
  record in a time window whose `objectId` is Ann's user id, never the `userId` filter.
- Records carry no before/after values and no team names: "Ann was added to a team" is all the
  log says, so we pair it with Ann's current teams from the users API.

Every read can fail (missing scope, account tier, 429, 5xx). A failure is a `Gap`: a line saying
what is unknown, why, and which scope would unlock it. Forensics never fails a lookup.

Layout: `records` (documented shapes, scopes), `statements` (`Finding`, `Gap`, `Forensics`),
then one module per kind of forensics: `token`, `user`, `budget`. The reads themselves are
`bot.hubspot.activity`; `bot.lookup.forensics` runs them and turns failures into gaps.
"""

from __future__ import annotations

from bot.forensics.budget import daily_usage, seat_check
from bot.forensics.records import (
    AFTER_PASTE_SLACK,
    DAILY_USAGE_NAME,
    LOGIN_HISTORY_DAYS,
    LOOKBACK,
    SEATS_SCOPE,
    SECURITY_SCOPE,
    SECURITY_TIER_NOTE,
    USAGE_SCOPE,
    ApiUsage,
    LoginRecord,
    Seat,
    SecurityEvent,
    epoch_ms,
    parse_records,
    parse_time,
)
from bot.forensics.statements import (
    Finding,
    Forensics,
    Gap,
    format_when,
    gap_for_failure,
    missing_scope_gap,
)
from bot.forensics.token import TOKEN_EVENTS, TOKEN_KINDS, token_forensics, token_window
from bot.forensics.user import RELOGIN_EVENTS, USER_EVENTS, last_successful_login, logged_in_since, user_forensics

__all__ = [
    "AFTER_PASTE_SLACK",
    "DAILY_USAGE_NAME",
    "LOGIN_HISTORY_DAYS",
    "LOOKBACK",
    "RELOGIN_EVENTS",
    "SEATS_SCOPE",
    "SECURITY_SCOPE",
    "SECURITY_TIER_NOTE",
    "TOKEN_EVENTS",
    "TOKEN_KINDS",
    "USAGE_SCOPE",
    "USER_EVENTS",
    "ApiUsage",
    "Finding",
    "Forensics",
    "Gap",
    "LoginRecord",
    "Seat",
    "SecurityEvent",
    "daily_usage",
    "epoch_ms",
    "format_when",
    "gap_for_failure",
    "last_successful_login",
    "logged_in_since",
    "missing_scope_gap",
    "parse_records",
    "parse_time",
    "seat_check",
    "token_forensics",
    "token_window",
    "user_forensics",
]
