"""Fix proposals and the fix-request state machine.

A lookup says why Ann cannot see ticket 123; this module turns those facts into the changes an
admin could make, smallest first, each saying what it changes, whether HubSpot's own per-record
check will confirm it, and which scopes hsperm's token needs to apply it. What the API cannot
change (Super Admin, a permission set's access levels, an app's scopes, App Marketplace access)
becomes a manual task with exact steps instead of a button that would fail at approval time.

Everything here is pure: proposals are built from a `PermissionReport`, write bodies from the
user or ticket as just read, and verification compares what HubSpot answers afterwards. The
service that runs a request (store + HubSpot) is `FixService` at the bottom; it gets both from
its caller, so tests drive it with fakes and several instances can share one database.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.lookup import PermissionReport
    from bot.store import FixRequest, Store

log = logging.getLogger(__name__)

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
        assert ticket is not None
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
    assert user is not None and ticket is not None
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
    assert user is not None
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


# -- writes, read-modify-write ------------------------------------------------------------------


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


# -- the service --------------------------------------------------------------------------------


class HubSpotWrites(Protocol):
    """What FixService needs from the HubSpot client."""

    def get_user(self, user_id: str, portal_id: str | None = None) -> Any: ...
    def get_ticket(self, ticket_id: str, portal_id: str | None = None) -> Any: ...
    def update_user(self, user_id: str, body: Mapping[str, Any], portal_id: str | None = None) -> Any: ...
    def update_ticket(self, ticket_id: str, properties: Mapping[str, Any], portal_id: str | None = None) -> Any: ...
    def permitted_users(self, portal_id: str, object_id: str) -> Any: ...
    def token_info(self, portal_id: str | None = None) -> Any: ...


@dataclass(frozen=True)
class Outcome:
    """What a click or a run achieved, for the handler to render. `ok` False = refused/failed."""

    ok: bool
    request: FixRequest | None
    message: str
    #: refused clicks: why (shown to the clicker only)
    refusal: str | None = None


class FixService:
    """Runs fix requests: every state change is one conditional update; HubSpot is written once.

    `approve` wins the request for one clicker; `apply` records the intent, writes, verifies and
    finishes; `reconcile` settles requests a crashed instance left in `applying` by reading
    HubSpot, never by writing again.
    """

    def __init__(
        self,
        store: Store,
        hubspot: HubSpotWrites | None,
        *,
        ttl_hours: float,
        clock: Callable[[], float] = time.time,
        grace_seconds: float = APPLY_GRACE_SECONDS,
    ) -> None:
        self.store = store
        self.hubspot = hubspot
        self.ttl_seconds = ttl_hours * 3600.0
        self.clock = clock
        self.grace_seconds = grace_seconds

    # -- creating -----------------------------------------------------------------------------

    def request(self, *, team_id: str, requester_id: str, proposal: Proposal) -> FixRequest:
        record = self.store.create_fix_request(
            team_id=team_id,
            kind=proposal.kind,
            requester_id=requester_id,
            subject_email=proposal.email,
            proposal=proposal.to_dict(),
            ttl_seconds=self.ttl_seconds,
            portal_id=proposal.portal_id,
            ticket_id=proposal.ticket_id,
            now=self.clock(),
        )
        self._audit(record, requester_id, "request", "ok", after=proposal.to_dict()["after"] or None)
        return record

    # -- deciding -----------------------------------------------------------------------------

    def refuse(self, record: FixRequest | None, team_id: str, actor: str, action: str, reason: str) -> Outcome:
        """A click that changes nothing: audited, and the reason goes back to the clicker."""
        self.store.audit(
            team_id=team_id,
            actor_id=actor,
            action=action,
            result="refused",
            request_id=record.id if record else None,
            subject=record.subject_email if record else None,
            detail=reason,
            now=self.clock(),
        )
        return Outcome(False, record, reason, refusal=reason)

    def expire_if_due(self, record: FixRequest) -> FixRequest:
        """Expire a pending request past its TTL (one conditional update; a no-op if someone won first)."""
        now = self.clock()
        if record.state == PENDING and record.expires_at <= now:
            if self.store.transition_fix(record.id, TRANSITIONS[EXPIRED], EXPIRED, now=now, expired=True):
                self._audit(record, None, "expire", "ok")
            fresh = self.store.get_fix_request(record.id)
            return fresh or record
        return record

    def decide(self, record: FixRequest, actor: str, action: str, *, proposal: Proposal | None = None) -> Outcome:
        """approve / deny / retry / done for an already-authorised actor; loses cleanly to a faster click."""
        record = self.expire_if_due(record)
        now = self.clock()
        target = {"approve": APPROVED, "retry": APPROVED, "deny": DENIED, "done": DONE}[action]
        sources = (FAILED,) if action == "retry" else (PENDING,)
        fields: dict[str, Any] = {"decided_by": actor, "decided_at": now}
        if proposal is not None:
            fields["proposal_json"] = proposal.to_dict()
        won = self.store.transition_fix(record.id, sources, target, now=now, unexpired=(sources == (PENDING,)), **fields)
        fresh = self.store.get_fix_request(record.id) or record
        if not won:
            return self.refuse(fresh, record.team_id, actor, action, self.why_not(fresh, action))
        self._audit(fresh, actor, action, "ok")
        return Outcome(True, fresh, f"{action} by {actor}")

    def why_not(self, record: FixRequest, action: str) -> str:
        """Why a click on this request changes nothing now (its state moved on)."""
        by = f" by <@{record.decided_by}>" if record.decided_by else ""
        if record.state == EXPIRED:
            return "This request has expired: nothing was changed. Run the lookup again to request the fix anew."
        if record.state == PENDING and action == "retry":
            return "This request has not been decided yet."
        if record.state == FAILED and action != "retry":
            return f"This request was approved{by} and the change failed; use its Retry button."
        return f"This request was already {record.state}{by}: nothing was changed."

    # -- applying -----------------------------------------------------------------------------

    def apply(self, request_id: str) -> Outcome:
        """approved -> applying (intent recorded) -> write -> applied/failed, then verify."""
        record = self.store.get_fix_request(request_id)
        if record is None or record.state != APPROVED:
            return Outcome(False, record, "not approved")
        proposal = Proposal.from_dict(record.proposal)
        if self.hubspot is None:
            return self._fail_before_write(record, "hsperm has no HubSpot token configured, so it cannot apply fixes.")
        try:
            self._check_scopes(proposal)
            current = self._read(proposal)
            write = plan_write(proposal, current)
        except Exception as exc:
            return self._fail_before_write(record, _say(exc))
        if change_visible(proposal, current):
            write = replace(write, body={})  # nothing to send: HubSpot already holds the change
        now = self.clock()
        if not self.store.transition_fix(
            record.id,
            TRANSITIONS[APPLYING],
            APPLYING,
            now=now,
            count_attempt=True,
            intent_json=write.to_dict(),
            intent_at=now,
        ):
            return Outcome(False, self.store.get_fix_request(record.id), "another instance is applying this request")
        self._audit(record, record.decided_by, "intent", "ok", before=dict(write.before), after=dict(write.body) or None)
        error: str | None = None
        if write.body:
            try:
                self._send(proposal, write)
            except Exception as exc:
                error = _say(exc)
        return self._finish(record.id, proposal, write, error)

    def _finish(self, request_id: str, proposal: Proposal, write: Write, error: str | None) -> Outcome:
        """Read HubSpot back: the change is applied only if HubSpot shows it (even after an error)."""
        try:
            current = self._read(proposal)
            visible = change_visible(proposal, current)
        except Exception as exc:
            current, visible = None, False
            error = error or f"could not read the change back: {_say(exc)}"
        result: dict[str, Any] = {"verified": visible}
        if visible:
            result.update(self._verify(proposal))
            target = APPLIED
        else:
            result["error"] = error or "HubSpot does not show the change after the write."
            target = FAILED
        result["after"] = _snapshot(proposal, current) if current is not None else None
        result["message"] = self.result_message(proposal, result)
        now = self.clock()
        if not self.store.transition_fix(request_id, TRANSITIONS[target], target, now=now, result_json=result):
            return Outcome(False, self.store.get_fix_request(request_id), "the request was settled elsewhere")
        record = self.store.get_fix_request(request_id)
        assert record is not None
        self._audit(
            record,
            record.decided_by,
            "apply",
            "ok" if visible else "failed",
            before=dict(write.before),
            after=result["after"],
            detail=result["message"],
        )
        return Outcome(visible, record, result["message"])

    def _verify(self, proposal: Proposal) -> dict[str, Any]:
        """HubSpot's own per-record check after the change (when there is a ticket and it answers)."""
        if not proposal.ticket_id or not proposal.portal_id or not proposal.user_id:
            return {}
        assert self.hubspot is not None
        try:
            permitted = self.hubspot.permitted_users(proposal.portal_id, proposal.ticket_id)
            return {"can_view": permitted.allows(proposal.user_id, "VIEW")}
        except Exception as exc:
            return {"can_view": None, "check_error": _say(exc)}

    @staticmethod
    def result_message(proposal: Proposal, result: Mapping[str, Any]) -> str:
        name, tid = proposal.name, proposal.ticket_id
        change = "; ".join(proposal.change_lines()) or proposal.title
        if not result.get("verified"):
            return f"Not applied: {result.get('error') or 'HubSpot does not show the change'}. Nothing else was changed."
        can_view = result.get("can_view")
        logout = logout_note(name)
        if not tid:
            return f"Applied and read back ({change}). {logout}"
        if can_view is True:
            return f"verified: {name} can now view ticket {tid} (HubSpot's own check). {logout}"
        if can_view is False:
            return (
                f"Applied ({change}), but HubSpot's own check still says {name} cannot view ticket {tid}: "
                f"{proposal.confirm_note} {logout}"
            )
        why = result.get("check_error") or "HubSpot's per-record check gave no answer"
        return f"Applied and read back ({change}); {why}, so access to ticket {tid} is not confirmed. {logout}"

    # -- crash recovery -----------------------------------------------------------------------

    def reconcile(self, *, now: float | None = None) -> list[Outcome]:
        """Settle requests left `applying` by a crashed instance: read HubSpot, never write again."""
        now = self.clock() if now is None else now
        outcomes = []
        for record in self.store.stale_applying(now - self.grace_seconds):
            outcomes.append(self.reconcile_one(record))
        return outcomes

    def stale(self, record: FixRequest) -> bool:
        """Left `applying` longer than any live write takes: its instance is gone."""
        return record.state == APPLYING and (record.intent_at or 0) < self.clock() - self.grace_seconds

    def reconcile_one(self, record: FixRequest) -> Outcome:
        proposal = Proposal.from_dict(record.proposal)
        intent = record.intent or {}
        write = Write(intent.get("method", ""), intent.get("path", ""), intent.get("body") or {}, intent.get("before") or {})
        if self.hubspot is None:
            return Outcome(False, record, "no HubSpot token to check with")
        log.warning("fix request %s was left applying (a crash?); reading HubSpot to settle it", record.id)
        return self._finish(
            record.id, proposal, write, "hsperm stopped while applying it and HubSpot does not show the change"
        )

    # -- helpers ------------------------------------------------------------------------------

    def _check_scopes(self, proposal: Proposal) -> None:
        assert self.hubspot is not None
        info = self.hubspot.token_info(proposal.portal_id)
        lacking = missing_scope(proposal.scopes, getattr(info, "scopes", None))
        if lacking:
            raise ScopeMissing(f"hsperm's HubSpot token lacks the `{lacking}` scope: add it to hsperm's app, then retry")

    def _read(self, proposal: Proposal) -> Any:
        assert self.hubspot is not None
        if reads_ticket(proposal):
            return self.hubspot.get_ticket(proposal.ticket_id or "", proposal.portal_id)
        return self.hubspot.get_user(proposal.user_id or "", proposal.portal_id)

    def _send(self, proposal: Proposal, write: Write) -> None:
        assert self.hubspot is not None
        if write.method == "PATCH":
            self.hubspot.update_ticket(proposal.ticket_id or "", write.body["properties"], proposal.portal_id)
        else:
            self.hubspot.update_user(proposal.user_id or "", write.body, proposal.portal_id)

    def _fail_before_write(self, record: FixRequest, reason: str) -> Outcome:
        """Nothing was sent: approved -> applying -> failed, so the Retry path is the same."""
        now = self.clock()
        message = f"Not applied: {reason}. Nothing was changed."
        if self.store.transition_fix(record.id, TRANSITIONS[APPLYING], APPLYING, now=now, intent_json={}, intent_at=now):
            self.store.transition_fix(
                record.id,
                TRANSITIONS[FAILED],
                FAILED,
                now=now,
                result_json={"verified": False, "error": reason, "message": message},
            )
        fresh = self.store.get_fix_request(record.id) or record
        self._audit(fresh, record.decided_by, "apply", "failed", detail=reason)
        return Outcome(False, fresh, message)

    def _audit(
        self,
        record: FixRequest,
        actor: str | None,
        action: str,
        result: str,
        *,
        before: Any = None,
        after: Any = None,
        detail: str | None = None,
    ) -> None:
        try:
            self.store.audit(
                team_id=record.team_id,
                actor_id=actor,
                action=action,
                result=result,
                request_id=record.id,
                subject=record.subject_email,
                before=before,
                after=after,
                detail=detail,
                now=self.clock(),
            )
        except Exception:
            log.exception("could not write the audit entry for %s %s", action, record.id)


class ScopeMissing(Exception):
    """hsperm's token cannot make this write; the message names the scope to add."""


def _say(exc: Exception) -> str:
    """An exception as a sentence for Slack: HubSpot errors are already friendly and token-free."""
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__


def _snapshot(proposal: Proposal, current: Any) -> dict[str, Any]:
    if reads_ticket(proposal):
        return {"hubspot_owner_id": current.owner_id, "hubspot_team_id": current.team_id}
    return {
        "roleId": current.role_id,
        "roleIds": list(current.role_ids),
        "primaryTeamId": current.primary_team_id,
        "secondaryTeamIds": list(current.secondary_team_ids),
    }
