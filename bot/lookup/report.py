"""The lookup report: plain dataclasses every surface renders (CLI text, JSON, Slack blocks).

Facts come from `service`; the verdict fields (`verdict`, `can_view`, `basis`) and the verdict's
unknowns and notes come from `verdict.decide`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from bot.forensics import Forensics


@dataclass(frozen=True)
class NamedRef:
    id: str
    name: str | None = None

    @property
    def label(self) -> str:
        return self.name or f"#{self.id}"


@dataclass(frozen=True)
class UserFacts:
    email: str
    found: bool
    user_id: str | None = None
    name: str | None = None
    first_name: str | None = None
    super_admin: bool | None = None
    roles: tuple[NamedRef, ...] = ()
    primary_team: NamedRef | None = None
    secondary_teams: tuple[NamedRef, ...] = ()
    seats: tuple[str, ...] = ()
    #: CRM owner id (what `hubspot_owner_id` holds); differs from `user_id`
    owner_id: str | None = None
    #: False when the owners call failed, so "no owner id" means "unknown", not "none"
    owner_checked: bool = True

    @property
    def teams(self) -> tuple[NamedRef, ...]:
        return ((self.primary_team,) if self.primary_team else ()) + self.secondary_teams

    @property
    def short_name(self) -> str:
        return self.first_name or self.name or self.email


@dataclass(frozen=True)
class TicketFacts:
    id: str
    found: bool
    subject: str | None = None
    owner_id: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    owner_user_id: str | None = None
    team: NamedRef | None = None
    owner_teams: tuple[NamedRef, ...] = ()
    pipeline: str | None = None
    stage: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class AccessFacts:
    """HubSpot's own per-record answer (permitted-users, BETA)."""

    answered: bool
    can_view: bool | None = None
    can_edit: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class TokenFacts:
    kind: str
    hub_id: str | None
    scopes: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    #: required scopes the token has (any one of HubSpot's alternatives is enough)
    granted: tuple[str, ...] = ()
    #: required names that are user permission names, which no token scope can satisfy
    permission_names: tuple[str, ...] = ()

    @property
    def has_required(self) -> bool | None:
        scopes = [r for r in self.required if r not in self.permission_names]
        return bool(self.granted) if scopes else None


@dataclass(frozen=True)
class Problem:
    """One call that failed; the rest of the report still stands."""

    step: str
    message: str
    #: auth, scope, forbidden, not_found, rate_limit, unavailable, bad_response, other
    kind: str = "other"
    status: int | None = None
    category: str | None = None
    correlation_id: str | None = None
    steps: tuple[str, ...] = ()


@dataclass
class PermissionReport:
    email: str
    portal_id: str | None
    ticket_id: str | None
    verdict: str = ""
    #: True/False when known; None when it depends on what the API cannot show
    can_view: bool | None = None
    #: what the verdict rests on: permitted_users, super_admin, owner, team, no_team_match,
    #: unassigned, user_not_found, ticket_not_found, no_ticket, unknown
    basis: str = "unknown"
    user: UserFacts | None = None
    ticket: TicketFacts | None = None
    access: AccessFacts | None = None
    token: TokenFacts | None = None
    unknowns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    checked_at: str = ""
    #: what HubSpot's records say changed (security log, login history, API budget); a section
    #: that could not be read says so in its gaps, which are unknowns, not problems
    forensics: list[Forensics] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every call answered and the user (and ticket) exist; the CLI exits 1 otherwise."""
        return not self.problems and self.basis not in ("user_not_found", "ticket_not_found")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists); the `--json` output and what Slack code renders."""
        data = json.loads(json.dumps(asdict(replace(self, forensics=[]))))
        data["forensics"] = [section.to_dict() for section in self.forensics]
        data["ok"] = self.ok
        return data

