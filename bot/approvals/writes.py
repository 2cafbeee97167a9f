"""The HubSpot write for an approved fix, planned from what HubSpot holds right now.

Read-modify-write, because the users API has no PATCH (§1.1): the PUT carries only the fields a
fix changes, built from the user as just read, so adding a secondary team keeps every existing
one and a team change never touches (and drops) roles. `change_visible` is the same comparison
used to verify a write and to settle one a crash interrupted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.approvals.proposals import KIND_REASSIGN, KIND_ROLE, KIND_TEAM, Proposal


@dataclass(frozen=True)
class Write:
    """The exact HubSpot call a fix makes; stored as the intent record before it is sent."""

    method: str
    path: str
    body: Mapping[str, Any]
    #: the fields as read just before (for the audit log's before/after)
    before: Mapping[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "body": dict(self.body), "before": dict(self.before)}


def plan_write(proposal: Proposal, current: Any) -> Write:
    """The write for `proposal` given the user (HubSpotUser) or ticket (Ticket) as just read.

    The user PUT sends only the fields it changes, built from what HubSpot holds now: adding a
    secondary team keeps every existing one (and the primary); a role change sends one roleId.
    """
    if proposal.kind == KIND_TEAM:
        team_id = proposal.params["team_id"]
        existing = tuple(current.secondary_team_ids)
        body: dict[str, Any] = {"secondaryTeamIds": list(dict.fromkeys((*existing, team_id)))}
        if current.primary_team_id:
            body["primaryTeamId"] = current.primary_team_id
        before = {"primaryTeamId": current.primary_team_id, "secondaryTeamIds": list(existing)}
        return Write("PUT", f"/settings/v3/users/{proposal.user_id}", body, before)
    if proposal.kind == KIND_ROLE:
        before = {"roleId": current.role_id, "roleIds": list(current.role_ids)}
        return Write("PUT", f"/settings/v3/users/{proposal.user_id}", {"roleId": proposal.params["role_id"]}, before)
    if proposal.kind == KIND_REASSIGN:
        props = {"hubspot_owner_id": proposal.params["owner_id"]}
        if proposal.params.get("team_id"):
            props["hubspot_team_id"] = proposal.params["team_id"]
        before = {name: current.properties.get(name) for name in props}
        return Write("PATCH", f"/crm/v3/objects/tickets/{proposal.ticket_id}", {"properties": props}, before)
    raise ValueError(f"a {proposal.kind} proposal is not applied through the API")


def change_visible(proposal: Proposal, current: Any) -> bool:
    """Does HubSpot (user or ticket as read now) already hold the change? Used to verify and to reconcile."""
    if proposal.kind == KIND_TEAM:
        return proposal.params["team_id"] in current.team_ids
    if proposal.kind == KIND_ROLE:
        return current.role_id == proposal.params["role_id"]
    if proposal.kind == KIND_REASSIGN:
        team_ok = not proposal.params.get("team_id") or current.team_id == proposal.params["team_id"]
        return current.owner_id == proposal.params["owner_id"] and team_ok
    return False


def reads_ticket(proposal: Proposal) -> bool:
    return proposal.kind == KIND_REASSIGN
