"""Live lookup: "why can't this user see this ticket?", answered from HubSpot's API.

A checklist says where to look; this says what is actually true right now: who the user is in
HubSpot (roles, teams, super admin, seats), who owns the ticket and on which team, what HubSpot's
own per-record check says (beta), and whether hsperm's token has the scopes in question. The
report is a plain dataclass so every surface (CLI, Slack blocks, tests) renders the same facts.

Independent calls run concurrently; role and team names, owner records and token info are cached
per portal for a few minutes, because they change rarely and a warm lookup should cost HubSpot
at most three calls (user, ticket, permitted-users). The user and the ticket are always read
fresh: after an admin fixes something, the next lookup must show it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import urlsplit

from bot.hubspot import (
    HubSpotAuthError,
    HubSpotBadResponse,
    HubSpotClient,
    HubSpotConfigError,
    HubSpotError,
    HubSpotForbiddenError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotUnavailable,
    HubSpotUser,
    Owner,
    PermittedUsers,
    Role,
    Team,
    Ticket,
    TokenInfo,
)

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

DEFAULT_CACHE_TTL = 300.0
_EMAIL = re.compile(r"^[^@\s<>|]{1,200}@[^@\s<>|]{1,200}\.[^@\s<>|.]{1,50}$")
_TICKET_IN_URL = re.compile(r"/(?:record/0-5|ticket)/(\d{1,20})(?:[/?#]|$)")
#: `tickets-read`, `contacts-base`: HubSpot *user* permission names, not OAuth scopes (DESIGN §2)
_PERMISSION_NAME = re.compile(r"^[a-z]+(?:-[a-z]+)+$")
_HYPHENATED_SCOPES = frozenset({"e-commerce"})


class LookupInputError(ValueError):
    """The question itself is malformed (bad email, ticket or portal id); the message says how."""


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


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

    @property
    def ok(self) -> bool:
        """Every call answered and the user (and ticket) exist; the CLI exits 1 otherwise."""
        return not self.problems and self.basis not in ("user_not_found", "ticket_not_found")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists); the `--json` output and what Slack code renders."""
        data = json.loads(json.dumps(asdict(self)))
        data["ok"] = self.ok
        return data


# --------------------------------------------------------------------------------------------
# Cache
# --------------------------------------------------------------------------------------------


class _TTLCache:
    """A small thread-safe TTL map; failures are never stored, so an outage is not remembered."""

    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        with self._lock:
            hit = self._data.get(key)
            if hit and self._clock() - hit[0] < self.ttl:
                return True, hit[1]
            self._data.pop(key, None)
            return False, None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[key] = (self._clock(), value)

    def load(self, key: Any, loader: Callable[[], Any]) -> Any:
        found, value = self.get(key)
        if found:
            return value
        value = loader()
        self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """Accept what people paste (`<mailto:a@b|a@b>`, spaces); refuse what cannot be an email."""
    text = (email or "").strip()
    mailto = re.fullmatch(r"<mailto:([^|>]+)(?:\|[^>]*)?>", text)
    if mailto:
        text = mailto.group(1)
    text = text.removeprefix("mailto:").strip()
    if not _EMAIL.match(text):
        raise LookupInputError(f"{text[:80]!r} is not an email address; give the user's HubSpot login email.")
    return text


def normalize_ticket_id(ticket: str | int | None) -> str | None:
    """A ticket id, or a ticket's URL (record or legacy route) -> the numeric id."""
    if ticket is None or str(ticket).strip() == "":
        return None
    text = str(ticket).strip().strip("<>")
    if text.isdigit():
        return text
    match = _TICKET_IN_URL.search(text)
    if match:
        return match.group(1)
    raise LookupInputError(f"{text[:80]!r} is not a ticket id: give the number from the ticket's URL (…/record/0-5/<id>).")


def normalize_portal_id(portal: str | int | None) -> str | None:
    if portal is None or str(portal).strip() == "":
        return None
    text = str(portal).strip()
    if not text.isdigit():
        raise LookupInputError(f"{text[:40]!r} is not a portal id: it is the number (Hub ID) in HubSpot URLs.")
    return text


def _is_permission_name(name: str) -> bool:
    return bool(_PERMISSION_NAME.match(name)) and name not in _HYPHENATED_SCOPES


def ui_domain(hublet: str | None) -> str:
    """HubSpot's app domain for a data centre: app.hubspot.com (na1) or app-eu1.hubspot.com."""
    if not hublet or hublet in ("na1", "na", "us"):
        return "app.hubspot.com"
    return f"app-{hublet}.hubspot.com"


# --------------------------------------------------------------------------------------------
# The service
# --------------------------------------------------------------------------------------------


class LookupService:
    """Runs lookups against one `HubSpotClient`; safe to share across threads (Slack handlers)."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        max_workers: int = 8,
        owns_client: bool = False,
    ) -> None:
        self.client = client
        self._owns_client = owns_client
        self._cache = _TTLCache(cache_ttl, clock)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hsperm-lookup")

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> LookupService:
        """A service with its own client built from `Settings` (closed with the service)."""
        return cls(HubSpotClient.from_settings(settings), owns_client=True, **kwargs)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        if self._owns_client:
            self.client.close()

    def __enter__(self) -> LookupService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def clear_cache(self) -> None:
        self._cache.clear()

    # -- cached reads ---------------------------------------------------------------------------

    def _key(self, portal_id: str | None) -> str:
        return portal_id or ""

    def token_info(self, portal_id: str | None = None) -> TokenInfo:
        return self._cache.load(("token", self._key(portal_id)), lambda: self.client.token_info(portal_id))

    def _roles(self, portal_id: str | None) -> dict[str, Role]:
        return self._cache.load(
            ("roles", self._key(portal_id)), lambda: {r.id: r for r in self.client.list_roles(portal_id)}
        )

    def _teams(self, portal_id: str | None) -> dict[str, Team]:
        return self._cache.load(
            ("teams", self._key(portal_id)), lambda: {t.id: t for t in self.client.list_teams(portal_id)}
        )

    def _owner_by_email(self, email: str, portal_id: str | None) -> Owner | None:
        owner = self._cache.load(
            ("owner-email", self._key(portal_id), email.lower()),
            lambda: self.client.find_owner_by_email(email, portal_id),
        )
        if owner is not None:
            self._cache.put(("owner-id", self._key(portal_id), owner.id), owner)
        return owner

    def _owner_by_id(self, owner_id: str, portal_id: str | None) -> Owner:
        return self._cache.load(
            ("owner-id", self._key(portal_id), owner_id), lambda: self.client.get_owner(owner_id, portal_id)
        )

    # -- the lookup -----------------------------------------------------------------------------

    def lookup(
        self,
        email: str,
        ticket_id: str | int | None = None,
        portal_id: str | int | None = None,
        required: Iterable[str] = (),
    ) -> PermissionReport:
        """Gather the facts and the verdict. One failed call becomes a `Problem`, never an exception.

        Raises `LookupInputError` for a malformed email/ticket/portal and `HubSpotConfigError`
        when hsperm has no token for the portal (nothing can be looked up at all).
        """
        email = normalize_email(email)
        ticket = normalize_ticket_id(ticket_id)
        portal = normalize_portal_id(portal_id)
        required_names = tuple(dict.fromkeys(r.strip() for r in required if r and r.strip()))
        self.client.check_token(portal)  # a config problem is raised before any thread starts

        report = PermissionReport(
            email=email,
            portal_id=portal,
            ticket_id=ticket,
            checked_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        pool = self._pool
        token_f = pool.submit(self.token_info, portal)
        if portal and self.client.token_is_fallback(portal):
            self._check_fallback_token(token_f, portal)

        user_f = pool.submit(self.client.get_user_by_email, email, portal)
        owner_f = pool.submit(self._owner_by_email, email, portal)
        roles_f = pool.submit(self._roles, portal)
        teams_f = pool.submit(self._teams, portal)
        ticket_f = pool.submit(self.client.get_ticket, ticket, portal) if ticket else None

        # Second wave: each dependent call starts as soon as what it needs arrives. They are
        # submitted from this thread, never from a worker (waiting workers could starve the pool).
        token: TokenInfo | None = None
        ticket_obj: Ticket | None = None
        hub_id = portal
        permitted_f: Future[PermittedUsers] | None = None
        ticket_owner_f: Future[Owner] | None = None
        if ticket and hub_id:
            permitted_f = pool.submit(self.client.permitted_users, hub_id, ticket)
        for done in as_completed([f for f in (token_f, ticket_f) if f is not None]):
            if done is token_f:
                token = self._result(report, "token", token_f)
                hub_id = hub_id or (token.hub_id if token else None)
            else:
                ticket_obj = self._result(report, "ticket", ticket_f)
                if ticket_obj and ticket_obj.owner_id:
                    ticket_owner_f = pool.submit(self._owner_by_id, ticket_obj.owner_id, portal)
            if ticket and permitted_f is None and hub_id:
                permitted_f = pool.submit(self.client.permitted_users, hub_id, ticket)
        if ticket and permitted_f is None and ticket_obj is not None:
            # The token could not say which portal it serves; the record URL can.
            hub_id = _portal_from_url(ticket_obj.url)
            if hub_id:
                permitted_f = pool.submit(self.client.permitted_users, hub_id, ticket)

        user = self._result(report, "user", user_f)
        owner = self._result(report, "owner", owner_f)
        roles = self._result(report, "roles", roles_f) or {}
        teams = self._result(report, "teams", teams_f) or {}
        ticket_owner = self._result(report, "ticket owner", ticket_owner_f) if ticket_owner_f else None
        permitted, permitted_reason = None, None
        if permitted_f is not None:
            try:
                permitted = permitted_f.result()
            except HubSpotError as exc:
                permitted_reason = self._beta_reason(exc)
        elif ticket:
            permitted_reason = "hsperm could not tell which portal the ticket is in"

        portal_for_links = hub_id
        report.portal_id = portal_for_links
        report.user = self._user_facts(email, user_f, user, owner, owner_f.exception() is None, roles, teams)
        if ticket:
            report.ticket = self._ticket_facts(ticket, ticket_f, ticket_obj, ticket_owner, teams)
        if ticket and report.user and report.user.found and report.user.user_id:
            if permitted is not None:
                report.access = AccessFacts(
                    True,
                    permitted.allows(report.user.user_id, "VIEW"),
                    permitted.allows(report.user.user_id, "EDIT"),
                )
            elif report.ticket and report.ticket.found:
                report.access = AccessFacts(False, reason=permitted_reason)
        if token is not None:
            report.token = _token_facts(token, required_names)
        elif required_names:
            report.unknowns.append(
                f"Whether hsperm's token has {', '.join(required_names)}: its token info could not be read."
            )
        report.links = self._links(portal_for_links, token, ticket_obj, ticket)
        _decide(report)
        return report

    def _check_fallback_token(self, token_f: Future[TokenInfo], portal: str) -> None:
        """A portal without its own token is served by the default one only if it is that portal's."""
        try:
            info = token_f.result()
        except HubSpotError:
            return  # the report will say the token could not be read; calls will tell the rest
        if info.hub_id and info.hub_id != portal:
            configured = ", ".join(self.client.portals) or "none"
            raise HubSpotConfigError(
                f"hsperm has no token for portal {portal}: HUBSPOT_ACCESS_TOKEN belongs to portal "
                f"{info.hub_id}. Add `{portal}=<token>` to HUBSPOT_PORTAL_TOKENS (portals with their "
                f"own token: {configured}).",
                portal_id=portal,
            )

    @staticmethod
    def _beta_reason(exc: HubSpotError) -> str:
        if isinstance(exc, HubSpotNotFound) or exc.status in (400, 404, 405):
            return "it is not available for this portal or app"
        if isinstance(exc, HubSpotScopeError | HubSpotAuthError) or exc.status == 403:
            return "it refused hsperm's token (HubSpot does not document the scope it needs)"
        return f"it failed: {exc.message}"

    @staticmethod
    def _result(report: PermissionReport, step: str, future: Future[Any] | None) -> Any:
        if future is None:
            return None
        try:
            return future.result()
        except HubSpotNotFound:
            return None  # "does not exist" is a fact the caller states in its own words
        except HubSpotError as exc:
            _add_problem(report, step, exc)
            return None

    def _user_facts(
        self,
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

    @staticmethod
    def _ticket_facts(
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

    @staticmethod
    def _links(portal: str | None, token: TokenInfo | None, ticket: Ticket | None, ticket_id: str | None) -> dict[str, str]:
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


def _portal_from_url(url: str | None) -> str | None:
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


def _add_problem(report: PermissionReport, step: str, exc: HubSpotError) -> None:
    kind = next((name for cls, name in _PROBLEM_KINDS if isinstance(exc, cls)), "other")
    # A bad token fails every call the same way: say it once, listing the steps it broke.
    if kind == "auth":
        for index, problem in enumerate(report.problems):
            if problem.kind == "auth":
                report.problems[index] = replace(problem, steps=(*problem.steps, step))
                return
    report.problems.append(Problem(step, exc.message, kind, exc.status, exc.category, exc.correlation_id, (step,)))


def _token_facts(token: TokenInfo, required: tuple[str, ...]) -> TokenFacts:
    permission_names = tuple(r for r in required if _is_permission_name(r))
    granted = tuple(r for r in required if r in token.scopes)
    return TokenFacts(
        kind=token.kind,
        hub_id=token.hub_id,
        scopes=token.scopes,
        required=required,
        granted=granted,
        permission_names=permission_names,
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


def _decide(report: PermissionReport) -> None:
    """Write the verdict: HubSpot's own answer first, then what owner, team and super admin imply."""
    user, ticket, portal = report.user, report.ticket, report.portal_id
    where = f" in portal {portal}" if portal else ""
    settings = report.links.get("users_settings")
    see = f" (see {settings})" if settings else " (Settings > Users & Teams)"

    if user is None:
        report.verdict = (
            f"hsperm could not read {report.email}'s HubSpot user{where}, so it cannot say what they "
            "can see; "
            "see the problems below."
        )
        report.basis = "unknown"
        return
    if not user.found:
        report.can_view = False if report.ticket_id else None
        report.basis = "user_not_found"
        report.verdict = (
            f"No HubSpot user has the email {user.email}{where}, so that person cannot see anything there. "
            "Check the spelling, or whether they log in to HubSpot with another email."
        )
        return

    name = user.short_name
    report.notes.append("Permission changes take effect only after the user logs out of HubSpot and back in.")
    if not user.super_admin:
        report.unknowns.append(
            f"The object access levels of {name}'s permission set (Tickets: View and Edit as All / Team only "
            "/ Owned only, plus 'Unassigned'): HubSpot's API does not expose them. "
            "A Super Admin can see them "
            f"in Users & Teams > {user.name or user.email} > Permissions{see}."
        )

    if report.ticket_id is None:
        role = _join([r.label for r in user.roles]) or "no permission set"
        admin = "a Super Admin (sees every record)" if user.super_admin else "not a Super Admin"
        report.basis = "no_ticket"
        report.verdict = (
            f"{user.name or name} is a HubSpot user{where}: permission set {role}; "
            f"{_teams_phrase(user)}; {admin}. "
            "Name a ticket to check access to it."
        )
        return

    tid = report.ticket_id
    access = report.access
    if ticket is None:
        if access is not None and access.answered and access.can_view is not None:
            report.basis, report.can_view = "permitted_users", access.can_view
            report.verdict = (
                f"{name} {'can' if access.can_view else 'cannot'} view ticket {tid} (HubSpot's own permission "
                "check); hsperm could not read the ticket's owner and team to say why."
            )
            return
        report.basis = "unknown"
        report.verdict = f"hsperm could not read ticket {tid}, so it cannot say whether {name} can view it."
        return
    if not ticket.found:
        report.basis = "ticket_not_found"
        report.verdict = (
            f"Ticket {tid} does not exist{where} (or was deleted): this is not a permission problem. "
            "Check the id in the ticket's URL and the portal."
        )
        return

    place = _ticket_place(ticket)
    team_ids = {t.id for t in user.teams}
    shares_team = bool((ticket.team and ticket.team.id in team_ids) or team_ids & {t.id for t in ticket.owner_teams})
    owns = bool(user.owner_id and ticket.owner_id and user.owner_id == ticket.owner_id)

    if access is not None and access.answered and access.can_view is not None:
        report.basis = "permitted_users"
        report.can_view = access.can_view
        edit = ""
        if access.can_edit is True:
            edit = " and edit"
        if access.can_view:
            suffix = "" if access.can_edit is not False else f"; {name} cannot edit it"
            report.verdict = f"{name} can view{edit} ticket {tid}: HubSpot's own permission check says so{suffix}."
            return
        why = _why_not(user, place, owns, shares_team)
        report.verdict = f"{name} cannot view ticket {tid} (HubSpot's own permission check): {why}"
        return

    if access is not None and not access.answered:
        report.unknowns.append(
            f"HubSpot's per-record permission check (beta) gave no answer: {access.reason}. "
            "The verdict is inferred from the ticket's owner and team."
        )
    if user.super_admin:
        report.basis, report.can_view = "super_admin", True
        report.verdict = f"{name} can view ticket {tid}: {name} is a Super Admin, and Super Admins see every record."
        return
    if owns:
        report.basis, report.can_view = "owner", None
        report.verdict = (
            f"{name} owns ticket {tid}, so {name} can view it unless {name}'s permission set gives no ticket access at all."
        )
        return
    if not ticket.owner_id:
        report.basis = "unassigned"
        report.verdict = (
            f"Ticket {tid} {place.removeprefix('it ')}; {_teams_phrase(user)}. {name} sees it with ticket "
            "access 'All'; with 'Team only' or 'Owned only' only if 'Unassigned' is also ticked"
            + (" (and, for Team only, the ticket's team is one of hers)." if ticket.team else ".")
        )
        return
    if shares_team:
        report.basis = "team"
        report.verdict = (
            f"{name} can view ticket {tid} if {name}'s ticket access is 'All' or 'Team only', not if it is "
            f"'Owned only': {place}, and {_teams_phrase(user)}."
        )
        return
    report.basis = "no_team_match"
    report.verdict = (
        f"{name} can view ticket {tid} only if {name}'s ticket access is 'All': {place}; "
        f"{_teams_phrase(user)}. If {name}'s ticket access is 'Team only' or 'Owned only', that explains it."
    )


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


# --------------------------------------------------------------------------------------------
# Terminal rendering and the CLI
# --------------------------------------------------------------------------------------------


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "unknown"}[value]


def render_report_text(report: PermissionReport) -> str:
    """The report for a terminal: verdict first, then the facts behind it, then the gaps."""
    head = f"hsperm lookup: {report.email}"
    if report.ticket_id:
        head += f", ticket {report.ticket_id}"
    if report.portal_id:
        head += f", portal {report.portal_id}"
    lines = [head, "", f"Verdict: {report.verdict}"]

    def row(label: str, value: object) -> None:
        lines.append(f"  {label + ':':<16}{value}")

    user = report.user
    if user and user.found:
        lines += ["", "User"]
        if user.owner_id:
            owner = f", owner id {user.owner_id}"
        else:
            owner = ", no CRM owner record" if user.owner_checked else ", owner id unknown"
        row("Name", f"{user.name} <{user.email}> (user id {user.user_id}{owner})")
        row("Super Admin", _yes_no(user.super_admin))
        row("Permission set", ", ".join(r.label for r in user.roles) or "none")
        teams = [f"{t.label} (primary)" if t is user.primary_team else t.label for t in user.teams]
        row("Teams", ", ".join(teams) or "none")
        row("Seats", ", ".join(user.seats) or "none")
    elif user:
        lines += ["", f"User: no HubSpot user with email {user.email}"]

    ticket = report.ticket
    if ticket and ticket.found:
        lines += ["", f"Ticket {ticket.id}"]
        row("Subject", ticket.subject or "(none)")
        if ticket.owner_id:
            extra = f", user id {ticket.owner_user_id}" if ticket.owner_user_id else ""
            row("Owner", f"{ticket.owner_name or 'unknown name'} (owner id {ticket.owner_id}{extra})")
        else:
            row("Owner", "none (unassigned)")
        row("Team", ticket.team.label if ticket.team else "none")
        if ticket.url:
            row("Link", ticket.url)
    elif ticket:
        lines += ["", f"Ticket {ticket.id}: not found"]

    access = report.access
    if access is not None:
        lines += ["", "HubSpot's per-record check (beta)"]
        if access.answered:
            row("Can view", _yes_no(access.can_view))
            row("Can edit", _yes_no(access.can_edit))
        else:
            row("No answer", access.reason)

    token = report.token
    if token is not None:
        lines += ["", "hsperm's token"]
        kind = {"private_app": "private app / service key", "oauth": "OAuth access token"}.get(token.kind, token.kind)
        row("Kind", f"{kind}, portal {token.hub_id or 'unknown'}")
        row("Scopes", ", ".join(token.scopes) or "none")
        if token.required:
            row("Required", ", ".join(token.required))
            if token.permission_names:
                row(
                    "",
                    f"{', '.join(token.permission_names)}: HubSpot user permission names, not OAuth scopes; "
                    "no token scope grants them.",
                )
            if token.has_required is not None:
                row("Has one", f"yes ({', '.join(token.granted)})" if token.has_required else "no")

    for title, items in (("What the API cannot tell", report.unknowns), ("Notes", report.notes)):
        if items:
            lines += ["", title]
            lines += [f"  - {item}" for item in items]
    if report.problems:
        lines += ["", "Problems (facts above are partial)"]
        for problem in report.problems:
            steps = ", ".join(problem.steps or (problem.step,))
            lines.append(f"  - [{steps}] {problem.message}")
    if report.links:
        lines += ["", "Links"]
        labels = {"users_settings": "Users & Teams settings", "ticket": "Ticket"}
        lines += [f"  {labels.get(k, k)}: {v}" for k, v in report.links.items()]
    return "\n".join(lines)


def run_cli(
    settings: Settings,
    *,
    email: str,
    ticket_id: str | None = None,
    portal_id: str | None = None,
    as_json: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """`python -m bot lookup`: 0 report printed, 1 HubSpot/lookup failure, 2 usage or config problem."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    tokens = [settings.hubspot_access_token, *dict(settings.hubspot_portal_tokens).values()]

    def fail(message: str, code: int) -> int:
        from bot.redact import redact_values

        print(f"hsperm lookup: {redact_values(message, tokens)}", file=err)
        return code

    if not settings.hubspot_configured:
        return fail(
            "no HubSpot token is configured: set HUBSPOT_ACCESS_TOKEN to hsperm's private app token "
            "(or HUBSPOT_PORTAL_TOKENS=portalId=token,...).",
            2,
        )
    _quiet_logging(settings, tokens)
    service = LookupService.from_settings(settings)
    try:
        report = service.lookup(email, ticket_id=ticket_id, portal_id=portal_id)
    except (LookupInputError, HubSpotConfigError) as exc:
        return fail(str(exc), 2)
    except HubSpotError as exc:
        return fail(str(exc), 1)
    except Exception as exc:  # a CLI prints one line, never a traceback
        log.debug("lookup failed", exc_info=True)
        return fail(f"unexpected error: {type(exc).__name__}: {exc}", 1)
    finally:
        service.close()
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), file=out)
    else:
        print(render_report_text(report), file=out)
    return 0 if report.ok else 1


def _quiet_logging(settings: Any, tokens: list[str | None]) -> None:
    """The report already states every failure; logs on stderr only when LOG_LEVEL=DEBUG asks."""
    from bot.redact import install_log_redaction

    root = logging.getLogger()
    if not root.handlers:
        level = logging.DEBUG if str(settings.log_level).upper() == "DEBUG" else logging.ERROR
        logging.basicConfig(level=level, format="hsperm: %(levelname)s %(name)s: %(message)s")
    install_log_redaction(tokens)
