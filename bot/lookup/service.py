"""Live lookup: "why can't this user see this ticket?", answered from HubSpot's API.

A checklist says where to look; this says what is actually true right now: who the user is in
HubSpot (roles, teams, super admin, seats), who owns the ticket and on which team, what HubSpot's
own per-record check says (beta), and whether hsperm's token has the scopes in question.

Independent calls run concurrently; role and team names, owner records and token info are cached
per portal for a few minutes, because they change rarely and a warm lookup should cost HubSpot
at most three calls (user, ticket, permitted-users). The user and the ticket are always read
fresh: after an admin fixes something, the next lookup must show it.

This module orchestrates the calls (two waves, concurrent); `facts` turns the answers into the
report's facts and `verdict` decides what they mean. About 410 lines because the waves and the
forensics reads they start share one `_Calls` and one pool, which is clearer kept together.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import bot.metrics as metrics
from bot.forensics import Forensics
from bot.hubspot import (
    HubSpotAuthError,
    HubSpotClient,
    HubSpotConfigError,
    HubSpotError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotTokenUnknown,
    HubSpotUser,
    Owner,
    PermittedUsers,
    Role,
    Team,
    Ticket,
    TokenInfo,
)
from bot.lookup.cache import TTLCache
from bot.lookup.facts import add_problem, links, portal_from_url, ticket_facts, token_facts, user_facts
from bot.lookup.forensics import ForensicsReader, lookup_sections
from bot.lookup.inputs import normalize_email, normalize_portal_id, normalize_ticket_id
from bot.lookup.report import AccessFacts, PermissionReport
from bot.lookup.since_fix import since_fix_section
from bot.lookup.verdict import decide

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store import Store
    from knowledge import Diagnosis

log = logging.getLogger(__name__)

DEFAULT_CACHE_TTL = 300.0

@dataclass
class _Calls:
    """One lookup's HubSpot calls in flight, and what the first answers told the second wave."""

    email: str
    ticket: str | None
    portal: str | None
    token: Future[TokenInfo]
    user: Future[HubSpotUser]
    owner: Future[Owner | None]
    roles: Future[dict[str, Role]]
    teams: Future[dict[str, Team]]
    ticket_call: Future[Ticket] | None
    hub_id: str | None = None
    token_info: TokenInfo | None = None
    ticket_obj: Ticket | None = None
    permitted: Future[PermittedUsers] | None = None
    ticket_owner: Future[Owner] | None = None
    #: forensics reads, started as soon as what they need arrives (they never raise)
    security: Future[Any] | None = None
    logins: Future[Any] | None = None
    since_fix: Future[Forensics | None] | None = None


class LookupService:
    """Runs lookups against one `HubSpotClient`; safe to share across threads (Slack handlers)."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        cache_ttl: float = DEFAULT_CACHE_TTL,
        max_workers: int = 10,
        owns_client: bool = False,
        forensics: bool = True,
        fixes: Store | None = None,
    ) -> None:
        self.client = client
        self._owns_client = owns_client
        self._cache = TTLCache(cache_ttl, clock)
        #: HubSpot's records of what changed (security log, logins, API budget); `forensics=False`
        #: leaves them out of lookups (the bench compares both)
        self.forensics = ForensicsReader(client, clock=clock)
        self._with_forensics = forensics
        #: where approved fixes are recorded: with it, a lookup says whether the user logged in since
        self.fixes = fixes
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
        self.forensics.clear_cache()

    # -- cached reads ---------------------------------------------------------------------------

    def _key(self, portal_id: str | None) -> str:
        return portal_id or ""

    def token_info(self, portal_id: str | None = None) -> TokenInfo:
        return self._cache.load(("token", self._key(portal_id)), lambda: self.client.token_info(portal_id))

    def _roles(self, portal_id: str | None) -> dict[str, Role]:
        return self._cache.load(
            ("roles", self._key(portal_id)), lambda: {r.id: r for r in self.client.list_roles(portal_id)}
        )

    def roles(self, portal_id: str | None = None) -> list[Role]:
        """The portal's permission sets (cached like every lookup's), for fix proposals."""
        return list(self._roles(portal_id).values())

    def token_scopes(self, portal_id: str | None = None) -> tuple[str, ...]:
        return tuple(self.token_info(portal_id).scopes)

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
        try:
            calls = self._first_wave(email, ticket, portal)
            self._second_wave(report, calls)
            self._fill(report, calls, required_names)
            if self._with_forensics:
                self._add_forensics(report, calls)
        except Exception:
            metrics.lookup_done("failed")
            raise
        metrics.lookup_done("answered" if not report.problems else "answered_with_problems")
        return _with_verdict(report)

    def _first_wave(self, email: str, ticket: str | None, portal: str | None) -> _Calls:
        """Every call that needs nothing but the question, started at once."""
        pool = self._pool
        token_f = pool.submit(self.token_info, portal)
        if portal and self.client.token_is_fallback(portal):
            self._check_fallback_token(token_f, portal)
        calls = _Calls(
            email=email,
            ticket=ticket,
            portal=portal,
            token=token_f,
            user=pool.submit(self.client.get_user_by_email, email, portal),
            owner=pool.submit(self._owner_by_email, email, portal),
            roles=pool.submit(self._roles, portal),
            teams=pool.submit(self._teams, portal),
            ticket_call=pool.submit(self.client.get_ticket, ticket, portal) if ticket else None,
            hub_id=portal,
        )
        if ticket and portal:
            calls.permitted = pool.submit(self.client.permitted_users, portal, ticket)
        if self._with_forensics:
            # Each waits only on a call submitted before it, so the pool cannot starve.
            calls.security = pool.submit(self._read_security, calls.token, portal)
            calls.logins = pool.submit(self._read_logins, calls.user, calls.token, portal)
            if self.fixes is not None:
                calls.since_fix = pool.submit(self._read_since_fix, email, calls.user, calls.token, portal)
        return calls

    @staticmethod
    def _scopes(token_f: Future[TokenInfo]) -> tuple[str, ...] | None:
        """hsperm's token scopes once known; None (try the read anyway) when token info failed."""
        try:
            return token_f.result().scopes
        except HubSpotError:
            return None

    def _read_security(self, token_f: Future[TokenInfo], portal: str | None) -> Any:
        return self.forensics.security_window(portal, self._scopes(token_f))

    def _read_logins(self, user_f: Future[HubSpotUser], token_f: Future[TokenInfo], portal: str | None) -> Any:
        try:
            user = user_f.result()
        except HubSpotError:
            return None
        return self.forensics.logins(user.id, user.first_name or user.display_name, portal, self._scopes(token_f))

    def _read_since_fix(
        self, email: str, user_f: Future[HubSpotUser], token_f: Future[TokenInfo], portal: str | None
    ) -> Forensics | None:
        try:
            user, hub_id = user_f.result(), portal or token_f.result().hub_id
        except HubSpotError:
            return None
        assert self.fixes is not None  # nosec B101  # submitted only with a store
        name = user.first_name or user.display_name
        return since_fix_section(
            self.forensics, self.fixes, email=email, user_id=user.id, name=name,
            portal=portal, hub_id=hub_id, token_scopes=self._scopes(token_f),
        )  # fmt: skip

    def _second_wave(self, report: PermissionReport, calls: _Calls) -> None:
        """Each dependent call starts as soon as what it needs arrives.

        They are submitted from this thread, never from a worker (waiting workers could starve the pool).
        """
        pool, ticket = self._pool, calls.ticket
        for done in as_completed([f for f in (calls.token, calls.ticket_call) if f is not None]):
            if done is calls.token:
                calls.token_info = self._result(report, "token", calls.token)
                calls.hub_id = calls.hub_id or (calls.token_info.hub_id if calls.token_info else None)
            else:
                calls.ticket_obj = self._result(report, "ticket", calls.ticket_call)
                if calls.ticket_obj and calls.ticket_obj.owner_id:
                    calls.ticket_owner = pool.submit(self._owner_by_id, calls.ticket_obj.owner_id, calls.portal)
            if ticket and calls.permitted is None and calls.hub_id:
                calls.permitted = pool.submit(self.client.permitted_users, calls.hub_id, ticket)
        if ticket and calls.permitted is None and calls.ticket_obj is not None:
            # The token could not say which portal it serves; the record URL can.
            calls.hub_id = portal_from_url(calls.ticket_obj.url)
            if calls.hub_id:
                calls.permitted = pool.submit(self.client.permitted_users, calls.hub_id, ticket)

    def _fill(self, report: PermissionReport, calls: _Calls, required_names: tuple[str, ...]) -> None:
        """The answers, as facts in the report; a failed call becomes a problem."""
        user = self._result(report, "user", calls.user)
        owner = self._result(report, "owner", calls.owner)
        roles = self._result(report, "roles", calls.roles) or {}
        teams = self._result(report, "teams", calls.teams) or {}
        ticket_owner = self._result(report, "ticket owner", calls.ticket_owner)
        report.portal_id = calls.hub_id
        owner_checked = calls.owner.exception() is None
        report.user = user_facts(calls.email, calls.user, user, owner, owner_checked, roles, teams)
        if calls.ticket:
            report.ticket = ticket_facts(calls.ticket, calls.ticket_call, calls.ticket_obj, ticket_owner, teams)
        report.access = self._access(report, calls)
        if calls.token_info is not None:
            report.token = token_facts(calls.token_info, required_names)
        elif required_names:
            report.unknowns.append(
                f"Whether hsperm's token has {', '.join(required_names)}: its token info could not be read."
            )
        report.links = links(calls.hub_id, calls.token_info, calls.ticket_obj, calls.ticket)

    def explain_paste(
        self, diagnosis: Diagnosis, *, pasted_at: datetime | None = None, policy: str | None = None
    ) -> Forensics | None:
        """What HubSpot's records add to a pasted token error (or DAILY 429), or None."""
        return self.forensics.explain_paste(diagnosis, self.token_info, pasted_at=pasted_at, policy=policy)

    def _add_forensics(self, report: PermissionReport, calls: _Calls) -> None:
        """What HubSpot's records say changed (`bot.lookup.forensics.lookup_sections`)."""

        def former_user() -> Owner | None:
            """A gone user's archived owner record still holds their user id."""
            owner = calls.owner.result()
            if owner is None or not owner.user_id:
                owner = self.client.find_owner_by_email(calls.email, calls.portal, archived=True)
            return owner

        sections = lookup_sections(
            self.forensics,
            report,
            portal=calls.portal,
            token=calls.token_info,
            window=calls.security.result() if calls.security else None,
            logins=calls.logins.result() if calls.logins else None,
            former_user=former_user,
            daily_limit=_hit_daily_limit(calls),
        )
        after_fix = calls.since_fix.result() if calls.since_fix else None
        if after_fix is not None:  # next to what changed for the user, which comes first
            sections.insert(1 if sections else 0, after_fix)
        report.forensics.extend(sections)

    def _access(self, report: PermissionReport, calls: _Calls) -> AccessFacts | None:
        """HubSpot's per-record answer for this user, or why there is none."""
        user = report.user
        if not calls.ticket or user is None or not user.found or not user.user_id:
            return None
        reason = "hsperm could not tell which portal the ticket is in"
        if calls.permitted is not None:
            try:
                permitted = calls.permitted.result()
            except HubSpotError as exc:
                reason = self._beta_reason(exc)
            else:
                return AccessFacts(True, permitted.allows(user.user_id, "VIEW"), permitted.allows(user.user_id, "EDIT"))
        if report.ticket and report.ticket.found:
            return AccessFacts(False, reason=reason)
        return None

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
        except HubSpotTokenUnknown as exc:
            report.unknowns.append(exc.message)  # not a problem: the token may be fine
            return None
        except HubSpotError as exc:
            add_problem(report, step, exc)
            return None

def _hit_daily_limit(calls: _Calls) -> bool:
    futures = (calls.token, calls.user, calls.owner, calls.roles, calls.teams, calls.ticket_call, calls.ticket_owner)
    for future in futures:
        if future is not None and future.done():
            exc = future.exception()
            if isinstance(exc, HubSpotRateLimited) and exc.policy == "DAILY":
                return True
    return False


def _with_verdict(report: PermissionReport) -> PermissionReport:
    verdict = decide(report)
    report.verdict, report.can_view, report.basis = verdict.text, verdict.can_view, verdict.basis
    report.unknowns.extend(verdict.unknowns)
    report.notes.extend(verdict.notes)
    return report
