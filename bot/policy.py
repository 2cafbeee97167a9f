"""Who may approve fixes, and who may read HubSpot through hsperm.

Both are checked on the server at every click and command, never trusted from a button's value:
a Slack message can be forwarded, copied or seen by people in a shared channel.

- Approvers: `HSPERM_APPROVERS` lists Slack user ids (U…/W…) and user-group ids (S…). Groups are
  resolved with `usergroups.users.list` and cached briefly, so removing someone from the group
  takes effect within a minute without a restart. The requester never approves their own request.
- Reads: `HSPERM_LOOKUP_ALLOWED` lists user ids, user-group ids, channel ids, or `everyone`.
  Unset, every member of the installing workspace may look up. Users of another workspace
  (Slack Connect: their team differs from the installing one) are always refused and get the
  checklist only: a live lookup shows a HubSpot user's roles, teams and tickets.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from bot.config import EVERYONE, SLACK_GROUP_ID

log = logging.getLogger(__name__)

#: How long a user group's members are trusted before asking Slack again.
GROUP_CACHE_SECONDS = 60.0
_GROUP = SLACK_GROUP_ID


@dataclass(frozen=True)
class Decision:
    allowed: bool
    #: why not, in words for the person who was refused
    reason: str = ""


class GroupMembers:
    """User-group members from Slack, cached for a minute; a failed lookup is never cached."""

    def __init__(
        self,
        fetch: Callable[[str], Iterable[str]],
        *,
        ttl: float = GROUP_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        #: replaceable: the Slack client is bound after the services are built
        self.fetch = fetch
        self._ttl = ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str] | None:
        """The group's user ids, or None when Slack could not say (treated as 'not a member')."""
        with self._lock:
            hit = self._cache.get(group_id)
        if hit and self._clock() - hit[0] < self._ttl:
            return hit[1]
        try:
            users = frozenset(str(u) for u in self.fetch(group_id))
        except Exception as exc:
            log.warning("could not list the members of user group %s: %s", group_id, type(exc).__name__)
            return None
        with self._lock:
            self._cache[group_id] = (self._clock(), users)
        return users

    def contains(self, group_id: str, user_id: str) -> bool:
        members = self.members(group_id)
        return bool(members) and user_id in members  # type: ignore[operator]


class ApproverPolicy:
    def __init__(self, approvers: Iterable[str], groups: GroupMembers) -> None:
        self.entries = tuple(approvers)
        self.groups = groups

    @property
    def configured(self) -> bool:
        return bool(self.entries)

    def is_approver(self, user_id: str) -> bool:
        if not user_id:
            return False
        if user_id in self.entries:
            return True
        return any(self.groups.contains(g, user_id) for g in self.entries if _GROUP.fullmatch(g))

    def may_decide(self, user_id: str, requester_id: str) -> Decision:
        """Checked at every click: an approver, and not the person who asked for the fix."""
        if not self.configured:
            return Decision(False, "No approvers are configured (HSPERM_APPROVERS), so nobody can approve fixes yet.")
        if not self.is_approver(user_id):
            return Decision(False, "Only hsperm's approvers (HSPERM_APPROVERS) can decide fix requests.")
        if user_id == requester_id:
            return Decision(False, "You asked for this fix, so another approver has to decide it.")
        return Decision(True)


class LookupPolicy:
    """Who may run live lookups and request fixes (`HSPERM_LOOKUP_ALLOWED`)."""

    def __init__(self, allowed: Iterable[str], groups: GroupMembers, approvers: ApproverPolicy | None = None) -> None:
        self.entries = tuple(allowed)
        self.groups = groups
        self.approvers = approvers

    def check(
        self, *, user_id: str, user_team_id: str | None, home_team_id: str | None, channel_id: str | None = None
    ) -> Decision:
        """Allowed, or the reason (for the person) why live HubSpot data is not shown to them."""
        if home_team_id and user_team_id and user_team_id != home_team_id:
            return Decision(
                False,
                "Live HubSpot lookups and fix requests are only for members of the workspace that installed "
                "hsperm. Paste the error after `/hsperm` for the checklist, which explains it without live data.",
            )
        if not self.entries or EVERYONE in self.entries:
            return Decision(True)
        if user_id in self.entries or (channel_id and channel_id in self.entries):
            return Decision(True)
        if self.approvers is not None and self.approvers.is_approver(user_id):
            return Decision(True)
        if any(self.groups.contains(g, user_id) for g in self.entries if _GROUP.fullmatch(g)):
            return Decision(True)
        return Decision(
            False,
            "Live HubSpot lookups are limited to the people and channels in HSPERM_LOOKUP_ALLOWED; "
            "ask an hsperm admin. The checklist still explains the error.",
        )
