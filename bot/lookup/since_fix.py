"""After an approved fix: has the user logged in since? (HubSpot applies permission changes at
the next login, so "applied" is not yet "working" for them.)

The store says which fix hsperm applied to this user in this portal and when; the login history,
read fresh, says whether a login followed. Both reads are optional: a store that cannot be read
or a login history hsperm cannot see becomes one "Unknown: …, because …" line, never a failure.
Fixes are matched by user and portal, not by Slack workspace: the answer is a fact about the
HubSpot user, the same on every surface.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.forensics import Forensics, Gap, format_when

if TYPE_CHECKING:
    from bot.lookup.forensics import ForensicsReader
    from bot.store import FixRequest, Store

log = logging.getLogger(__name__)

#: Older fixes are not followed up: the lookup's own facts then say what is true.
FOLLOW_UP = timedelta(days=30)


def latest_applied_fix(
    store: Store, *, email: str, user_id: str | None, portal: str | None, now: datetime
) -> FixRequest | None:
    """The newest fix hsperm applied to this user in this portal within `FOLLOW_UP`.

    A request names the user by email (its subject) and, in its proposal, by user id: when both
    ids are known they must agree, so an email now held by another user does not match.
    """
    since = (now - FOLLOW_UP).timestamp()
    for fix in store.applied_fixes(email, since=since):
        fixed_user = fix.proposal.get("user_id")
        if (fix.portal_id or None) != (portal or None):
            continue
        if user_id and fixed_user and str(fixed_user) != str(user_id):
            continue
        return fix
    return None


def since_fix_section(
    reader: ForensicsReader,
    store: Store,
    *,
    email: str,
    user_id: str,
    name: str,
    portal: str | None,
    hub_id: str | None,
    token_scopes: Iterable[str] | None,
) -> Forensics | None:
    """The "has (not yet) logged in since the fix" section, or None when no recent fix applies.

    `portal` is the one asked for (it picks the token); `hub_id` the one the lookup found, which
    is what a fix request records.
    """
    now = reader.now()
    try:
        fix = latest_applied_fix(store, email=email, user_id=user_id, portal=hub_id, now=now)
    except Exception as exc:  # the store is optional here: the lookup's facts stand without it
        log.warning("could not read applied fixes for a lookup: %s", type(exc).__name__)
        gap = Gap(f"whether hsperm applied a fix to {name} recently", "hsperm's database could not be read")
        return Forensics(f"After an approved fix for {name}", gaps=(gap,))
    if fix is None:
        return None
    applied_at = datetime.fromtimestamp(fix.updated_at, UTC)
    title = f"After the approved fix for {name}: {fix.proposal.get('title') or fix.kind}"
    note = f"applied {format_when(applied_at, now)} (request {fix.id})"
    answer = reader.since_fix(user_id=user_id, name=name, since=applied_at, portal=portal, token_scopes=token_scopes)
    if isinstance(answer, Gap):
        answer = replace(answer, topic=f"whether {name} has logged in since the fix")
        return Forensics(title, gaps=(answer,), scope_note=note)
    return Forensics(title, findings=(answer,), scope_note=note)
