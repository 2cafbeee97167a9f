"""From HubSpot's answers to the report's facts: users, tickets, links, problems, token scopes.

Pure conversions (no calls): `service` hands over what the calls returned, or the futures whose
exceptions say "not found" versus "failed".
"""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import replace
from urllib.parse import urlsplit

from bot.hubspot import (
    HubSpotAuthError,
    HubSpotBadResponse,
    HubSpotError,
    HubSpotForbiddenError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotUnavailable,
    HubSpotUser,
    Owner,
    Role,
    Team,
    Ticket,
    TokenInfo,
    scope_advice,
)
from bot.lookup.inputs import is_permission_name, ui_domain
from bot.lookup.report import NamedRef, PermissionReport, Problem, TicketFacts, TokenFacts, UserFacts
from knowledge import diagnose


def user_facts(
    email: str,
    user_f: Future[HubSpotUser],
    user: HubSpotUser | None,
    owner: Owner | None,
    owner_checked: bool,
    roles: dict[str, Role],
    teams: dict[str, Team],
) -> UserFacts | None:
    if user is None:
        exc = user_f.exception()
        if isinstance(exc, HubSpotNotFound):
            return UserFacts(email=email, found=False, owner_id=owner.id if owner else None, owner_checked=owner_checked)
        return None  # the failure is already a problem

    def team(team_id: str) -> NamedRef:
        return NamedRef(team_id, teams[team_id].name if team_id in teams else None)

    # Owner records are matched by email; make sure it is this user's (ids differ by design).
    owner_id = owner.id if owner and (owner.user_id in (None, user.id)) else None
    return UserFacts(
        email=user.email or email,
        found=True,
        user_id=user.id,
        name=user.display_name,
        first_name=user.first_name,
        super_admin=user.super_admin,
        roles=tuple(NamedRef(r, roles[r].name if r in roles else None) for r in user.role_ids),
        primary_team=team(user.primary_team_id) if user.primary_team_id else None,
        secondary_teams=tuple(team(t) for t in user.secondary_team_ids if t != user.primary_team_id),
        seats=user.seat_names,
        owner_id=owner_id,
        owner_checked=owner_checked,
    )

def ticket_facts(
    ticket_id: str,
    ticket_f: Future[Ticket] | None,
    ticket: Ticket | None,
    owner: Owner | None,
    teams: dict[str, Team],
) -> TicketFacts | None:
    if ticket is None:
        if ticket_f is not None and isinstance(ticket_f.exception(), HubSpotNotFound):
            return TicketFacts(id=ticket_id, found=False)
        return None
    team = None
    if ticket.team_id:
        team = NamedRef(ticket.team_id, teams[ticket.team_id].name if ticket.team_id in teams else None)
    return TicketFacts(
        id=ticket.id,
        found=True,
        subject=ticket.subject,
        owner_id=ticket.owner_id,
        owner_name=owner.display_name if owner else None,
        owner_email=owner.email if owner else None,
        owner_user_id=owner.user_id if owner else None,
        team=team,
        owner_teams=tuple(NamedRef(t.id, t.name) for t in owner.teams) if owner else (),
        pipeline=ticket.properties.get("hs_pipeline"),
        stage=ticket.properties.get("hs_pipeline_stage"),
        url=ticket.url,
    )

def links(portal: str | None, token: TokenInfo | None, ticket: Ticket | None, ticket_id: str | None) -> dict[str, str]:
    # The API's own record URL knows the portal's data centre best; the token's hublet is next.
    domain = None
    if ticket and ticket.url:
        domain = urlsplit(ticket.url).hostname
    domain = domain or ui_domain(token.hublet if token else None)
    links: dict[str, str] = {}
    if portal:
        links["users_settings"] = f"https://{domain}/settings/{portal}/users"
    if ticket and ticket.url:
        links["ticket"] = ticket.url
    elif portal and ticket_id and ticket is not None:
        links["ticket"] = f"https://{domain}/contacts/{portal}/record/0-5/{ticket_id}"
    return links


def portal_from_url(url: str | None) -> str | None:
    match = re.search(r"/contacts/(\d+)/", url or "")
    return match.group(1) if match else None


_PROBLEM_KINDS: tuple[tuple[type[HubSpotError], str], ...] = (
    (HubSpotAuthError, "auth"),
    (HubSpotScopeError, "scope"),
    (HubSpotForbiddenError, "forbidden"),
    (HubSpotNotFound, "not_found"),
    (HubSpotRateLimited, "rate_limit"),
    (HubSpotUnavailable, "unavailable"),
    (HubSpotBadResponse, "bad_response"),
)


def _problem_message(exc: HubSpotError) -> str:
    """The error's sentence; for a scope error whose body named no scope in HubSpot's structured
    fields, the diagnosis engine reads the body's text for them (it knows HubSpot's wordings)."""
    if not isinstance(exc, HubSpotScopeError) or exc.scopes or not exc.body:
        return exc.message
    diagnosis = diagnose(exc.body)
    if diagnosis.kind != "missing_scopes" or not diagnosis.requires:
        return exc.message
    return scope_advice(tuple(diagnosis.requires))


def add_problem(report: PermissionReport, step: str, exc: HubSpotError) -> None:
    kind = next((name for cls, name in _PROBLEM_KINDS if isinstance(exc, cls)), "other")
    # A bad token fails every call the same way: say it once, listing the steps it broke.
    if kind == "auth":
        for index, problem in enumerate(report.problems):
            if problem.kind == "auth":
                report.problems[index] = replace(problem, steps=(*problem.steps, step))
                return
    report.problems.append(Problem(step, _problem_message(exc), kind, exc.status, exc.category, exc.correlation_id, (step,)))


def token_facts(token: TokenInfo, required: tuple[str, ...]) -> TokenFacts:
    permission_names = tuple(r for r in required if is_permission_name(r))
    granted = tuple(r for r in required if r in token.scopes)
    return TokenFacts(
        kind=token.kind,
        hub_id=token.hub_id,
        scopes=token.scopes,
        required=required,
        granted=granted,
        permission_names=permission_names,
    )


