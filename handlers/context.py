"""What every listener reads from Bolt's context, put there once per request by `bot.app`.

`services(context)` gives the settings, store, lookup and work queue; `origin(context)` gives
who asked and where (team, user, channel), parsed once from the payload instead of dug out by
hand in each listener. `defer` hands slow work to the work queue so the ack never waits on it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import BoltContext

from bot.services import Services
from bot.work import Busy

log = logging.getLogger(__name__)

SERVICES = "hsperm_services"
ORIGIN = "hsperm_origin"


@dataclass(frozen=True)
class Origin:
    """Who sent the request and from where; empty strings when the payload has no such field."""

    team_id: str
    user_id: str
    #: The conversation; for a form, the one it was opened from (carried in private_metadata).
    channel_id: str | None
    #: The workspace the person belongs to, and the one that installed hsperm: they differ for
    #: people from another organisation in a Slack Connect channel (bot/policy.py refuses them).
    user_team_id: str | None = None
    home_team_id: str | None = None


def origin_from(context: BoltContext, body: dict[str, Any]) -> Origin:
    """Bolt's own reading of the payload, plus the channel a form travels with."""
    channel = context.channel_id or form_channel(body.get("view") or {})
    if not channel:
        channel = (body.get("container") or {}).get("channel_id")
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    user_team = user.get("team_id") or body.get("team_id") or context.team_id
    result = context.authorize_result
    home = (result.team_id if result is not None else None) or context.team_id
    return Origin(
        team_id=context.team_id or "",
        user_id=context.user_id or "",
        channel_id=channel or None,
        user_team_id=user_team or None,
        home_team_id=home or None,
    )


def form_channel(view: dict[str, Any]) -> str | None:
    """The channel a form was opened from, carried in private_metadata (`{"channel": …}`)."""
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    except (ValueError, AttributeError):
        return None
    return channel if isinstance(channel, str) and channel else None


def services(context: BoltContext) -> Services:
    return context[SERVICES]


def origin(context: BoltContext) -> Origin:
    return context[ORIGIN]


def defer(context: BoltContext, job: Callable[..., Any], *args: Any, admitted: bool = False) -> bool:
    """Run `job(*args)` on the work queue; False (and a log line) when it is full.

    `admitted=True` for events, which the dedupe middleware let in only while the queue had room
    (`WorkQueue.submit_admitted`)."""
    work = services(context).work
    try:
        if admitted:
            work.submit_admitted(job, *args)
        else:
            work.submit(job, *args)
    except Busy as exc:
        log.warning("work queue full (%s): %s not run", exc, getattr(job, "__name__", "job"))
        return False
    return True
