"""The verdict: what the facts say about "can this user see this ticket?", and what they cannot say.

`decide` is pure: it reads a report's facts and returns a `Verdict`, never touching the report,
so every branch is testable with hand-made facts. HubSpot's own per-record answer wins; after
it, Super Admin, ownership and teams imply what they can. HubSpot's API does not expose a
permission set's access levels (All / Team only / Owned only), so most verdicts name the
level that would explain the outcome instead of guessing it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.lookup.report import PermissionReport, TicketFacts, UserFacts

LOGOUT_NOTE = "Permission changes take effect only after the user logs out of HubSpot and back in."


@dataclass(frozen=True)
class Verdict:
    text: str
    #: True/False when known; None when it depends on what the API cannot show
    can_view: bool | None = None
    #: permitted_users, super_admin, owner, team, no_team_match, unassigned, user_not_found,
    #: ticket_not_found, no_ticket, unknown
    basis: str = "unknown"
    unknowns: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def decide(facts: PermissionReport) -> Verdict:
    """The verdict for a report's facts (user, ticket, access, links); `facts` is not changed."""
    user = facts.user
    where = f" in portal {facts.portal_id}" if facts.portal_id else ""
    if user is None:
        return Verdict(
            f"hsperm could not read {facts.email}'s HubSpot user{where}, so it cannot say what they can see; "
            "see the problems below."
        )
    if not user.found:
        return Verdict(
            f"No HubSpot user has the email {user.email}{where}, so that person cannot see anything there. "
            "Check the spelling, or whether they log in to HubSpot with another email.",
            can_view=False if facts.ticket_id else None,
            basis="user_not_found",
        )
    unknowns = () if user.super_admin else (_access_levels_unknown(user, facts.links.get("users_settings")),)
    verdict = _for_user(facts, user, where)
    return Verdict(
        verdict.text,
        verdict.can_view,
        verdict.basis,
        unknowns=unknowns + verdict.unknowns,
        notes=(LOGOUT_NOTE,),
    )


def _access_levels_unknown(user: UserFacts, settings_link: str | None) -> str:
    see = f" (see {settings_link})" if settings_link else " (Settings > Users & Teams)"
    return (
        f"The object access levels of {user.short_name}'s permission set (Tickets: View and Edit as All / Team only "
        "/ Owned only, plus 'Unassigned'): HubSpot's API does not expose them. "
        "A Super Admin can see them "
        f"in Users & Teams > {user.name or user.email} > Permissions{see}."
    )


def _for_user(facts: PermissionReport, user: UserFacts, where: str) -> Verdict:
    name, tid, access = user.short_name, facts.ticket_id, facts.access
    if tid is None:
        role = _join([r.label for r in user.roles]) or "no permission set"
        admin = "a Super Admin (sees every record)" if user.super_admin else "not a Super Admin"
        return Verdict(
            f"{user.name or name} is a HubSpot user{where}: permission set {role}; "
            f"{_teams_phrase(user)}; {admin}. Name a ticket to check access to it.",
            basis="no_ticket",
        )
    ticket = facts.ticket
    answered = access is not None and access.answered and access.can_view is not None
    if ticket is None:
        if answered:
            assert access is not None  # nosec B101  # narrows the type; `answered` implies it
            return Verdict(
                f"{name} {'can' if access.can_view else 'cannot'} view ticket {tid} (HubSpot's own permission "
                "check); hsperm could not read the ticket's owner and team to say why.",
                access.can_view,
                "permitted_users",
            )
        return Verdict(f"hsperm could not read ticket {tid}, so it cannot say whether {name} can view it.")
    if not ticket.found:
        return Verdict(
            f"Ticket {tid} does not exist{where} (or was deleted): this is not a permission problem. "
            "Check the id in the ticket's URL and the portal.",
            basis="ticket_not_found",
        )
    if answered:
        return _from_permission_check(facts, user, ticket)
    inferred = _inferred(user, ticket, tid)
    if access is not None and not access.answered:
        gap = (
            f"HubSpot's per-record permission check (beta) gave no answer: {access.reason}. "
            "The verdict is inferred from the ticket's owner and team."
        )
        return Verdict(inferred.text, inferred.can_view, inferred.basis, unknowns=(gap,))
    return inferred


def _relation(user: UserFacts, ticket: TicketFacts) -> tuple[bool, bool]:
    """(owns the ticket, shares a team with it or its owner)."""
    team_ids = {t.id for t in user.teams}
    shares_team = bool((ticket.team and ticket.team.id in team_ids) or team_ids & {t.id for t in ticket.owner_teams})
    owns = bool(user.owner_id and ticket.owner_id and user.owner_id == ticket.owner_id)
    return owns, shares_team


def _from_permission_check(facts: PermissionReport, user: UserFacts, ticket: TicketFacts) -> Verdict:
    access, name, tid = facts.access, user.short_name, facts.ticket_id
    assert access is not None  # nosec B101  # narrows the type; the caller checked it
    if access.can_view:
        edit = " and edit" if access.can_edit is True else ""
        suffix = "" if access.can_edit is not False else f"; {name} cannot edit it"
        text = f"{name} can view{edit} ticket {tid}: HubSpot's own permission check says so{suffix}."
        return Verdict(text, True, "permitted_users")
    owns, shares_team = _relation(user, ticket)
    why = _why_not(user, _ticket_place(ticket), owns, shares_team)
    return Verdict(f"{name} cannot view ticket {tid} (HubSpot's own permission check): {why}", False, "permitted_users")


def _inferred(user: UserFacts, ticket: TicketFacts, tid: str) -> Verdict:
    name, place = user.short_name, _ticket_place(ticket)
    owns, shares_team = _relation(user, ticket)
    if user.super_admin:
        return Verdict(
            f"{name} can view ticket {tid}: {name} is a Super Admin, and Super Admins see every record.",
            True,
            "super_admin",
        )
    if owns:
        return Verdict(
            f"{name} owns ticket {tid}, so {name} can view it unless {name}'s permission set gives no ticket access at all.",
            basis="owner",
        )
    if not ticket.owner_id:
        return Verdict(
            f"Ticket {tid} {place.removeprefix('it ')}; {_teams_phrase(user)}. {name} sees it with ticket "
            "access 'All'; with 'Team only' or 'Owned only' only if 'Unassigned' is also ticked"
            + (" (and, for Team only, the ticket's team is one of hers)." if ticket.team else "."),
            basis="unassigned",
        )
    if shares_team:
        return Verdict(
            f"{name} can view ticket {tid} if {name}'s ticket access is 'All' or 'Team only', not if it is "
            f"'Owned only': {place}, and {_teams_phrase(user)}.",
            basis="team",
        )
    return Verdict(
        f"{name} can view ticket {tid} only if {name}'s ticket access is 'All': {place}; "
        f"{_teams_phrase(user)}. If {name}'s ticket access is 'Team only' or 'Owned only', that explains it.",
        basis="no_team_match",
    )


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _teams_phrase(user: UserFacts) -> str:
    names = [t.label for t in user.teams]
    if not names:
        return f"{user.short_name} is on no team"
    return f"{user.short_name} is on team{'s' if len(names) > 1 else ''} {_join(names)}"


def _ticket_place(ticket: TicketFacts) -> str:
    owner = ticket.owner_name or (f"owner {ticket.owner_id}" if ticket.owner_id else None)
    team = ticket.team.label if ticket.team else None
    if not team and ticket.owner_teams:
        team = ticket.owner_teams[0].label  # HubSpot lists the owner's primary team first
    if owner and team:
        return f"it is owned by {owner} on team {team}"
    if owner:
        return f"it is owned by {owner}, with no team set"
    if team:
        return f"it has no owner and is on team {team}"
    return "it has no owner and no team"


def _why_not(user: UserFacts, place: str, owns: bool, shares_team: bool) -> str:
    name = user.short_name
    if owns:
        return (
            f"{place}, which is {name}, so {name}'s permission set probably gives no ticket access at all "
            "(or the user is deactivated)."
        )
    if shares_team:
        return f"{place}, and {_teams_phrase(user)}; so {name}'s ticket access is probably 'Owned only' (or none)."
    return f"{place}; {_teams_phrase(user)}; if {name}'s ticket access is 'Team only' or 'Owned only' that explains it."

