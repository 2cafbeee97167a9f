"""Fix proposals: the changes that would let a user see a record, smallest first.

A lookup says why Ann cannot see ticket 123; this turns those facts into the changes an admin
could make, each saying what it changes (before -> after), whether HubSpot's own per-record
check will confirm it, and which scopes hsperm's token needs to apply it. What the API cannot
change (Super Admin, a permission set's access levels, an app's scopes, App Marketplace access)
becomes a manual task with exact steps instead of a button that would fail at approval time.

Pure: proposals come from a `PermissionReport` (the writes they make: `writes`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.lookup import PermissionReport

# -- the state machine --------------------------------------------------------------------------

PENDING, APPROVED, APPLYING, APPLIED, FAILED = "pending", "approved", "applying", "applied", "failed"
DENIED, EXPIRED, DONE = "denied", "expired", "done"
#: target state -> the states it may be entered from. Each transition is one conditional UPDATE.
TRANSITIONS: Mapping[str, tuple[str, ...]] = {
    APPROVED: (PENDING, FAILED),  # approve, or retry after a failed write
    APPLYING: (APPROVED,),  # the intent record is written in this same statement
    APPLIED: (APPLYING,),
    FAILED: (APPLYING,),
    DENIED: (PENDING,),
    EXPIRED: (PENDING,),
    DONE: (PENDING,),  # a manual task an approver marked done
}
FINAL_STATES = frozenset({APPLIED, DENIED, EXPIRED, DONE})
#: A request still `applying` this long after its intent was recorded was abandoned by a crash:
#: longer than any write with its retries and timeouts (hubspot client: 3 x 10 s at most).
APPLY_GRACE_SECONDS = 120.0

# -- HubSpot scopes (any one of each group; §7.1) ----------------------------------------------

USERS_READ = ("settings.users.read", "crm.objects.users.read")
USERS_WRITE = ("settings.users.write", "crm.objects.users.write")
BILLING_WRITE = ("settings.billing.write",)
TICKETS = ("tickets",)

KIND_TEAM, KIND_REASSIGN, KIND_ROLE, KIND_MANUAL = "secondary_team", "reassign_ticket", "assign_role", "manual"
MANUAL_ACCESS_LEVELS, MANUAL_SUPER_ADMIN = "access_levels", "super_admin"
MANUAL_APP_SCOPES, MANUAL_MARKETPLACE = "app_scopes", "marketplace_access"


def logout_note(name: str) -> str:
    """HubSpot applies permission changes at the next login (reference §0.7)."""
    return f"{name} may need to log out of HubSpot and back in before the change takes effect."


@dataclass(frozen=True)
class Proposal:
    """One fix: what it changes (before -> after), who must approve, what hsperm needs to apply it.

    `confirms` is True when HubSpot's own per-record check (permitted-users) is expected to show
    the user can view the ticket afterwards, False when it cannot (manual tasks), and None when it
    depends on something the API cannot read (the permission set's access levels).
    """

    key: str
    kind: str
    title: str
    summary: str
    portal_id: str | None
    user_id: str | None
    email: str
    name: str
    ticket_id: str | None = None
    before: Mapping[str, str] = field(default_factory=dict)
    after: Mapping[str, str] = field(default_factory=dict)
    #: the exact write: team id, role id, owner id...
    params: Mapping[str, str] = field(default_factory=dict)
    confirms: bool | None = None
    confirm_note: str = ""
    #: scope groups the write needs; each group is satisfied by any one of its scopes
    scopes: tuple[tuple[str, ...], ...] = ()
    #: the scope to add to hsperm's token before this can be applied (None: nothing missing/unknown)
    missing_scope: str | None = None
    warnings: tuple[str, ...] = ()
    #: the approver must confirm a side effect (a user with several roles loses the others)
    needs_confirmation: bool = False
    preferred: bool = False
    #: manual tasks: what a person does in HubSpot, and where
    manual: str | None = None
    steps: tuple[str, ...] = ()
    link: str | None = None

    @property
    def applies_by_api(self) -> bool:
        return self.kind != KIND_MANUAL

    @property
    def can_apply(self) -> bool:
        return self.applies_by_api and self.missing_scope is None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["scopes"] = [list(group) for group in self.scopes]
        data["warnings"], data["steps"] = list(self.warnings), list(self.steps)
        data["before"], data["after"], data["params"] = dict(self.before), dict(self.after), dict(self.params)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Proposal:
        values = dict(data)
        values["scopes"] = tuple(tuple(group) for group in values.get("scopes") or ())
        values["warnings"] = tuple(values.get("warnings") or ())
        values["steps"] = tuple(values.get("steps") or ())
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})

    def change_lines(self) -> list[str]:
        """'Secondary teams: none -> West' for every field the change touches."""
        labels = {
            "secondary_teams": "Secondary teams",
            "role": "Permission set",
            "owner": "Ticket owner",
            "team": "Ticket team",
        }
        return [
            f"{labels.get(k, k)}: {self.before.get(k) or 'none'} -> {self.after.get(k) or 'none'}"
            for k in self.after
            if self.before.get(k) != self.after.get(k)
        ]


def missing_scope(groups: Iterable[Sequence[str]], token_scopes: Iterable[str] | None) -> str | None:
    """The first scope to add so that every group is covered; None when all are (or scopes unknown)."""
    if token_scopes is None:
        return None
    granted = set(token_scopes)
    for group in groups:
        if group and not granted.intersection(group):
            return group[0]
    return None


def _names(refs: Iterable[Any]) -> str:
    labels = [getattr(r, "label", None) or str(r) for r in refs]
    return ", ".join(labels) or "none"


def users_settings_link(report: PermissionReport) -> str | None:
    return report.links.get("users_settings")


def propose(
    report: PermissionReport,
    *,
    roles: Sequence[Any] = (),
    token_scopes: Iterable[str] | None = None,
    diagnosis_kind: str | None = None,
) -> list[Proposal]:
    """The fixes for a lookup, smallest that works first; [] when there is nothing to fix.

    `roles` are the portal's permission sets (objects with id, name, requires_billing_write);
    `token_scopes` are hsperm's own token's scopes (None when unknown: no pre-check then);
    `diagnosis_kind` adds the manual tasks an install error calls for.
    """
    user, ticket = report.user, report.ticket
    if user is None or not user.found or not user.user_id:
        return []
    scopes = tuple(token_scopes) if token_scopes is not None else None
    if scopes is None and report.token is not None:
        scopes = tuple(report.token.scopes)
    base = {
        "portal_id": report.portal_id or (report.token.hub_id if report.token else None),
        "user_id": user.user_id,
        "email": user.email,
        "name": user.short_name,
        "ticket_id": report.ticket_id,
        "link": users_settings_link(report),
    }
    proposals: list[Proposal] = []
    blocked = ticket is not None and ticket.found and report.can_view is not True and not user.super_admin
    if blocked:
        assert ticket is not None  # nosec B101  # narrows the type for the checker
        proposals += _ticket_fixes(report, base, scopes, roles)
    if diagnosis_kind == "oauth_install_error":
        proposals.append(_manual(MANUAL_MARKETPLACE, base))
        proposals.append(_manual(MANUAL_SUPER_ADMIN, base))
    if report.token is not None and report.token.required and report.token.has_required is False:
        proposals.append(_manual(MANUAL_APP_SCOPES, base, needed=report.token.required))
    return proposals


def _ticket_fixes(
    report: PermissionReport, base: dict[str, Any], scopes: tuple[str, ...] | None, roles: Sequence[Any]
) -> list[Proposal]:
    user, ticket = report.user, report.ticket
    assert user is not None and ticket is not None  # nosec B101  # narrows the type for the checker
    name, tid = user.short_name, ticket.id
    out: list[Proposal] = []
    user_team_ids = {t.id for t in user.teams}
    team = ticket.team or next(iter(ticket.owner_teams), None)
    on_team = team is not None and team.id in user_team_ids
    confirmed_by = "HubSpot's own check (permitted-users) will confirm it"

    if team is not None and not on_team:
        current = tuple(t.label for t in user.secondary_teams)
        out.append(
            Proposal(
                key=f"team-{team.id}",
                kind=KIND_TEAM,
                title=f"Add {name} to team {team.label} (secondary)"[:75],
                summary=(
                    f"Adds {name} to team {team.label} as a secondary team, keeping their other teams. "
                    f"Fixes 'Team only' ticket access: ticket {tid} belongs to team {team.label}."
                ),
                before={"secondary_teams": ", ".join(current) or "none"},
                after={"secondary_teams": ", ".join((*current, team.label))},
                params={"team_id": team.id, "team_name": team.label},
                confirms=None,
                confirm_note=(
                    f"{confirmed_by} if {name}'s ticket access is 'Team only' or 'All'; "
                    "with 'Owned only' it will still say no."
                ),
                scopes=(USERS_WRITE,),
                missing_scope=missing_scope((USERS_WRITE,), scopes),
                preferred=True,
                **base,
            )
        )
    if user.owner_id and ticket.owner_id != user.owner_id:
        owner_before = ticket.owner_name or (f"owner {ticket.owner_id}" if ticket.owner_id else "none")
        before = {"owner": owner_before}
        after = {"owner": user.name or user.email}
        params = {"owner_id": user.owner_id, "owner_name": user.name or user.email}
        if user.primary_team and (ticket.team is None or ticket.team.id != user.primary_team.id):
            before["team"] = ticket.team.label if ticket.team else "none"
            after["team"] = user.primary_team.label
            params.update(team_id=user.primary_team.id, team_name=user.primary_team.label)
        out.append(
            Proposal(
                key="reassign",
                kind=KIND_REASSIGN,
                title=f"Reassign ticket {tid} to {name}"[:75],
                summary=(
                    f"Makes {name} the owner of ticket {tid}"
                    + (f" and moves it to team {after['team']}" if "team" in after else "")
                    + f". This changes business data: {owner_before} stops owning it."
                ),
                before=before,
                after=after,
                params=params,
                confirms=None,
                confirm_note=f"{confirmed_by} unless {name}'s permission set gives no ticket access at all.",
                scopes=(TICKETS,),
                missing_scope=missing_scope((TICKETS,), scopes),
                warnings=(f"Reassigning changes who works the ticket; {owner_before} may lose access to it.",),
                **base,
            )
        )
    if roles:
        out.append(_role_proposal(report, base, scopes, roles))
    out.append(_manual(MANUAL_ACCESS_LEVELS, base, on_team=on_team))
    return out


def _role_proposal(
    report: PermissionReport, base: dict[str, Any], scopes: tuple[str, ...] | None, roles: Sequence[Any]
) -> Proposal:
    """Assign another permission set; the approver picks it. The API keeps ONE roleId (§1.1)."""
    user = report.user
    assert user is not None  # nosec B101  # narrows the type for the checker
    name = user.short_name
    current = {r.id for r in user.roles}
    choices = [r for r in roles if r.id not in current] or list(roles)
    suggested = next((r for r in choices if not getattr(r, "requires_billing_write", False)), choices[0])
    warnings = [
        f"HubSpot's API keeps one permission set per user (roleId): the new one replaces the current {_names(user.roles)}."
    ]
    several = len(user.roles) > 1
    if several:
        warnings.append(
            f"{name} has {len(user.roles)} permission sets ({_names(user.roles)}); assigning one through the "
            "API drops the others. The approver must confirm this."
        )
    groups: tuple[tuple[str, ...], ...] = (USERS_WRITE,)
    if getattr(suggested, "requires_billing_write", False):
        groups += (BILLING_WRITE,)
        warnings.append(f"{suggested.name} has a paid seat: assigning it needs the settings.billing.write scope.")
    return Proposal(
        key="role",
        kind=KIND_ROLE,
        title=f"Give {name} another permission set"[:75],
        summary=(
            f"Assigns {name} the permission set {suggested.name} (the approver can pick another of the portal's "
            "permission sets). Use it when the current set gives the wrong ticket access."
        ),
        before={"role": _names(user.roles)},
        after={"role": suggested.name},
        params={
            "role_id": suggested.id,
            "role_name": suggested.name,
            "requires_billing_write": "yes" if getattr(suggested, "requires_billing_write", False) else "",
        },
        confirms=None,
        confirm_note=(
            "HubSpot's own check (permitted-users) will confirm it if the chosen permission set gives ticket access "
            "for this ticket (the API cannot read what a set grants)."
        ),
        scopes=groups,
        missing_scope=missing_scope(groups, scopes),
        warnings=tuple(warnings),
        needs_confirmation=several,
        **base,
    )


def with_role(proposal: Proposal, role: Any, token_scopes: Iterable[str] | None) -> Proposal:
    """The role proposal re-aimed at the permission set an approver picked (scopes re-checked)."""
    billing = bool(getattr(role, "requires_billing_write", False))
    groups: tuple[tuple[str, ...], ...] = (USERS_WRITE, BILLING_WRITE) if billing else (USERS_WRITE,)
    warnings = [w for w in proposal.warnings if "paid seat" not in w]
    if billing:
        warnings.append(f"{role.name} has a paid seat: assigning it needs the settings.billing.write scope.")
    return replace(
        proposal,
        after={"role": role.name},
        params={"role_id": role.id, "role_name": role.name, "requires_billing_write": "yes" if billing else ""},
        scopes=groups,
        missing_scope=missing_scope(groups, token_scopes),
        warnings=tuple(warnings),
    )


_MANUAL_TEXT: Mapping[str, tuple[str, str]] = {
    MANUAL_ACCESS_LEVELS: (
        "Widen {name}'s ticket access (manual)",
        "A Super Admin changes {name}'s ticket access level; the API cannot read or change a permission set's levels.",
    ),
    MANUAL_SUPER_ADMIN: (
        "Make {name} a Super Admin (manual)",
        "Only a Super Admin can make another user a Super Admin, in HubSpot itself; the API cannot.",
    ),
    MANUAL_APP_SCOPES: (
        "Add the missing scope to the app (manual)",
        "An app's scopes are changed in the app's settings in HubSpot; the API cannot change them.",
    ),
    MANUAL_MARKETPLACE: (
        "Give {name} App Marketplace Access (manual)",
        "App Marketplace Access is a user permission set in HubSpot itself; the API cannot change it.",
    ),
}


def _manual(task: str, base: dict[str, Any], *, on_team: bool = False, needed: Sequence[str] = ()) -> Proposal:
    name = base["name"]
    # Plain text (no mrkdwn links): names come from HubSpot and are escaped where they are shown.
    where = f"In HubSpot, open Settings > Users & Teams, click {base['email']}, then *Permissions*"
    if task == MANUAL_ACCESS_LEVELS:
        why = (
            f"{name} is already on the ticket's team, so their ticket access is probably 'Owned only'."
            if on_team
            else "Use this when adding them to the team is not enough (their ticket access is 'Owned only')."
        )
        steps = (
            f"{where} > *CRM* > *Tickets*.",
            "Set *View* to *Team only* (tickets their teams own) or *All*; tick *Unassigned* if they also need "
            "unassigned tickets. Or edit the permission set (role) they are assigned: that changes every user on it.",
            "Save.",
            f"{name} logs out of HubSpot and back in.",
        )
        extra = why
    elif task == MANUAL_SUPER_ADMIN:
        steps = (f"A Super Admin: {where} > *Make Super Admin*.", f"{name} logs out of HubSpot and back in.")
        extra = "Super Admin sees and changes everything in the portal: prefer a narrower fix."
    elif task == MANUAL_MARKETPLACE:
        steps = (
            f"{where} > *Account* > *App Marketplace Access*, and save.",
            f"{name} logs out and back in, then installs the app again (a Super Admin can always approve).",
        )
        extra = "Needed to install or authorise apps."
    else:
        names = ", ".join(f"`{s}`" for s in needed[:8]) or "the scope the error names"
        steps = (
            "Open the app in HubSpot (*Development > Legacy apps*, or *Settings > Integrations > Private apps*), "
            f"tab *Scopes*, and add one of {names}.",
            "Commit the change; an OAuth app must be re-authorised (installed again) to get a token with the scope.",
        )
        extra = "The app's token lacks a scope the call needs."
    title, summary = _MANUAL_TEXT[task]
    return Proposal(
        key=f"manual-{task}",
        kind=KIND_MANUAL,
        title=title.format(name=name)[:75],
        summary=summary.format(name=name) + " " + extra,
        confirms=False,
        confirm_note="A person makes this change in HubSpot; an approver marks it done.",
        manual=task,
        steps=steps,
        **base,
    )
