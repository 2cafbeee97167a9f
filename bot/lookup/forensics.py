"""Reads HubSpot's records for forensics and hands them to the pure `bot.forensics` statements.

Why a reader of its own: every read here is optional. A missing scope, an account tier without
the log, a 429 or a 5xx must turn into one "unknown, because …" line, never into a failed lookup
or diagnosis, so each read returns its records or a `Gap`. Where hsperm's token is known to
lack a scope, the read is not even sent (HubSpot counts error responses against the app).

Caching, within HubSpot's limits: the account's security log for the last week is one paged read
shared by every question for a minute (a burst of lookups and pastes costs one read), a user's
login history is kept for a minute, and the names of acting users for five minutes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.forensics import (
    AFTER_PASTE_SLACK,
    LOOKBACK,
    SEATS_SCOPE,
    SECURITY_SCOPE,
    SECURITY_TIER_NOTE,
    TOKEN_KINDS,
    USAGE_SCOPE,
    USER_EVENTS,
    ApiUsage,
    Finding,
    Forensics,
    Gap,
    LoginRecord,
    Seat,
    SecurityEvent,
    daily_usage,
    gap_for_failure,
    logged_in_since,
    missing_scope_gap,
    seat_check,
    token_forensics,
    user_forensics,
)
from bot.hubspot import (
    HubSpotAuthError,
    HubSpotClient,
    HubSpotConfigError,
    HubSpotError,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotUnavailable,
)
from bot.lookup.cache import TTLCache

if TYPE_CHECKING:
    from bot.hubspot import Owner, TokenInfo
    from bot.lookup.report import PermissionReport
    from knowledge import Diagnosis

#: How long the week's security log, a login history and the daily usage are reused.
ACTIVITY_TTL = 60.0
#: How long acting users' names are reused.
NAMES_TTL = 300.0
#: Acting users looked up by id per statement; beyond this, their emails stand in.
MAX_NAMED_ACTORS = 3
#: The shared window reaches this far before the week, so a paste a little older still fits in it.
WINDOW_MARGIN = timedelta(hours=1)

SECURITY_TOPIC = "HubSpot's security activity log"
USAGE_TOPIC = "the private apps' daily API usage"
SEATS_TOPIC = "the account's seats"


def login_topic(name: str) -> str:
    return f"{name}'s login history"


class ForensicsReader:
    """Thread-safe; one per `LookupService` (it shares the client, not the lookup's cache)."""

    def __init__(
        self,
        client: HubSpotClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        activity_ttl: float = ACTIVITY_TTL,
        names_ttl: float = NAMES_TTL,
    ) -> None:
        self.client = client
        self._now = now
        self._activity = TTLCache(activity_ttl, clock)
        self._names = TTLCache(names_ttl, clock)

    def now(self) -> datetime:
        return self._now()

    def clear_cache(self) -> None:
        self._activity.clear()
        self._names.clear()

    # -- reads that never raise -----------------------------------------------------------------

    def _read(
        self, topic: str, scope: str | None, token_scopes: Iterable[str] | None, read: Callable[[], Any], tier: str | None
    ) -> Any:
        """`read()`, or the gap that says why it could not be done."""
        if scope:
            gap = missing_scope_gap(topic, scope, token_scopes)
            if gap is not None:
                return gap
        try:
            return read()
        except HubSpotError as exc:
            return gap_from_error(topic, scope, exc, tier_note=tier)

    def security_window(
        self, portal: str | None, token_scopes: Iterable[str] | None, anchor: datetime | None = None
    ) -> tuple[list[SecurityEvent], bool] | Gap:
        """The security log for the week before `anchor` (default now), and whether it was cut short.

        Anchors within the shared window reuse it; an older anchor (a shortcut on an old message)
        reads its own week.
        """
        now = self._now()
        anchor = anchor or now
        if anchor >= now - WINDOW_MARGIN:
            key: tuple[Any, ...] = ("security", portal or "")
            start, end = now - LOOKBACK - WINDOW_MARGIN, now + AFTER_PASTE_SLACK
        else:  # the anchor's hour, so that other messages of that hour share the read
            hour = anchor.replace(minute=0, second=0, microsecond=0)
            start, end = hour - LOOKBACK, hour + timedelta(hours=1) + AFTER_PASTE_SLACK
            key = ("security", portal or "", hour.isoformat())

        def read() -> tuple[list[SecurityEvent], bool]:
            return self._activity.load(key, lambda: self.client.security_activity(start, end, portal))

        return self._read(SECURITY_TOPIC, SECURITY_SCOPE, token_scopes, read, SECURITY_TIER_NOTE)

    def logins(
        self, user_id: str, name: str, portal: str | None, token_scopes: Iterable[str] | None
    ) -> list[LoginRecord] | Gap:
        def read() -> list[LoginRecord]:
            return self._activity.load(
                ("logins", portal or "", user_id), lambda: self.client.login_history(user_id, portal)
            )

        return self._read(login_topic(name), SECURITY_SCOPE, token_scopes, read, SECURITY_TIER_NOTE)

    def names(
        self, events: Sequence[SecurityEvent], portal: str | None, known: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Acting users' names by user id (and email), best effort: a failed read leaves the email."""
        names = dict(known or {})
        wanted = list(dict.fromkeys(e.user_id for e in events if e.user_id and e.user_id not in names))
        for user_id in wanted[:MAX_NAMED_ACTORS]:
            try:
                user = self._names.load(("user", portal or "", user_id), lambda u=user_id: self.client.get_user(u, portal))
            except HubSpotError:
                continue
            names[user_id] = user.display_name
            if user.email:
                names[user.email.lower()] = user.display_name
        return names

    # -- statements -----------------------------------------------------------------------------

    def explain_paste(
        self,
        diagnosis: Diagnosis,
        token_info: Callable[[str | None], TokenInfo],
        *,
        pasted_at: datetime | None = None,
        policy: str | None = None,
    ) -> Forensics | None:
        """What HubSpot's records add to a pasted token error (or DAILY 429), or None.

        Only for a portal hsperm holds a token for: the paste's own portal, else the default
        token's. Another portal's log says nothing about this paste, so then there is nothing to add.
        """
        daily = diagnosis.kind == "rate_limit" and policy == "DAILY"
        if diagnosis.kind not in TOKEN_KINDS and not daily:
            return None
        portal = diagnosis.portal_id
        try:
            self.client.check_token(portal)
        except HubSpotConfigError:
            return None
        try:
            token: TokenInfo | None = token_info(portal)
        except HubSpotError:
            token = None
        if portal and self.client.token_is_fallback(portal) and (token is None or token.hub_id != portal):
            return None
        scopes = token.scopes if token is not None else None
        if daily:
            return self.for_daily_limit(portal, scopes)
        return self.for_token(kind=diagnosis.kind, portal=portal, token_scopes=scopes, anchor=pasted_at)

    def for_user(
        self,
        *,
        user_id: str,
        name: str,
        portal: str | None,
        token_scopes: Iterable[str] | None,
        current_teams: Sequence[str] | None = None,
        super_admin: bool | None = None,
        full_name: str | None = None,
        window: tuple[list[SecurityEvent], bool] | Gap | None = None,
        logins: list[LoginRecord] | Gap | None = None,
    ) -> Forensics:
        """Changes about the user in the last week, by whom, and their last login.

        `window` and `logins` are reads already made (the lookup starts them early, side by side);
        the ones not given are read here.
        """
        scopes = tuple(token_scopes) if token_scopes is not None else None
        if window is None:
            window = self.security_window(portal, scopes)
        if logins is None:
            logins = self.logins(user_id, name, portal, scopes)
        events, truncated = (window, False) if isinstance(window, Gap) else window
        names: dict[str, str] = {}
        if not isinstance(events, Gap):
            about = [e for e in events if e.object_id == str(user_id) and e.type in USER_EVENTS]
            names = self.names(about, portal, {str(user_id): full_name or name})
        return user_forensics(
            events,
            logins,
            user_id=str(user_id),
            name=name,
            now=self._now(),
            current_teams=current_teams,
            super_admin=super_admin,
            names=names,
            truncated=truncated,
        )

    def for_token(
        self,
        *,
        kind: str,
        portal: str | None,
        token_scopes: Iterable[str] | None,
        anchor: datetime | None = None,
        pasted: bool = True,
        app_id: str | None = None,
    ) -> Forensics:
        """What the security log says about a token failing at `anchor` (a paste's time, or now)."""
        now = self._now()
        anchor = min(anchor or now, now)
        if kind not in TOKEN_KINDS:
            return Forensics("What changed (HubSpot's security log)")
        window = self.security_window(portal, token_scopes, anchor)
        events, truncated = (window, False) if isinstance(window, Gap) else window
        names: dict[str, str] = {}
        if not isinstance(events, Gap):
            names = self.names([e for e in events if e.type in TOKEN_KINDS[kind]], portal)
        return token_forensics(
            events,
            kind=kind,
            anchor=anchor,
            now=now,
            pasted=pasted,
            names=names,
            app_id=app_id,
            truncated=truncated,
        )

    def for_daily_limit(self, portal: str | None, token_scopes: Iterable[str] | None) -> Forensics:
        """On a DAILY 429: the account's shared daily budget, used and left, and when it resets."""

        def read() -> list[ApiUsage]:
            return self._activity.load(("usage", portal or ""), lambda: self.client.daily_api_usage(portal))

        rows = self._read(USAGE_TOPIC, USAGE_SCOPE, token_scopes, read, None)
        return daily_usage(rows, now=self._now())

    def seat(self, seat_name: str, portal: str | None, token_scopes: Iterable[str] | None) -> Finding | Gap:
        """Before proposing a change that needs a paid seat: is one left? (never cached: seats move)"""

        def read() -> list[Seat]:
            return self.client.list_seats(portal)

        return seat_check(self._read(SEATS_TOPIC, SEATS_SCOPE, token_scopes, read, None), seat_name)

    def since_fix(
        self, *, user_id: str, name: str, since: datetime, portal: str | None, token_scopes: Iterable[str] | None
    ) -> Finding | Gap:
        """After an approved fix: has the user logged in since, so that it applies? (read fresh)"""

        def read() -> list[LoginRecord]:
            return self.client.login_history(user_id, portal)

        logins = self._read(login_topic(name), SECURITY_SCOPE, token_scopes, read, SECURITY_TIER_NOTE)
        return logged_in_since(logins, user_id=user_id, name=name, since=since, now=self._now())


def lookup_sections(
    reader: ForensicsReader,
    report: PermissionReport,
    *,
    portal: str | None,
    token: TokenInfo | None,
    window: tuple[list[SecurityEvent], bool] | Gap | None,
    logins: list[LoginRecord] | Gap | None,
    former_user: Callable[[], Owner | None],
    daily_limit: bool,
) -> list[Forensics]:
    """What a lookup report adds from HubSpot's records; never a problem, at worst unknowns.

    - about the user: changes in the last week and their last login; for an email with no user
      any more, the archived owner record gives the former user id, so the log can still say who
      removed or deactivated them;
    - about hsperm's own token, when a call said it lacks a scope: the app's scope changes;
    - the account's daily budget, when a call hit the DAILY limit.
    """
    scopes = token.scopes if token is not None else None
    sections: list[Forensics] = []
    user = report.user
    if user is not None and user.found and user.user_id:
        sections.append(
            reader.for_user(
                user_id=user.user_id,
                name=user.short_name,
                full_name=user.name,
                portal=portal,
                token_scopes=scopes,
                current_teams=[t.label for t in user.teams],
                super_admin=user.super_admin,
                window=window,
                logins=logins,
            )
        )
    elif user is not None and not user.found:
        gap = missing_scope_gap(SECURITY_TOPIC, SECURITY_SCOPE, scopes)
        if gap is not None:  # no call can help: say what would
            sections.append(Forensics(f"What happened to {user.email}", gaps=(gap,)))
            former = None
        else:
            try:
                former = former_user()
            except HubSpotError:
                former = None
        if former is not None and former.user_id:
            name = former.first_name or former.email or user.email
            sections.append(
                reader.for_user(
                    user_id=former.user_id,
                    name=name,
                    full_name=former.display_name,
                    portal=portal,
                    token_scopes=scopes,
                    window=window,
                )
            )
    if any(p.kind == "scope" for p in report.problems):
        app_id = token.app_id if token else None
        sections.append(
            reader.for_token(kind="missing_scopes", portal=portal, token_scopes=scopes, pasted=False, app_id=app_id)
        )
    if daily_limit:
        sections.append(reader.for_daily_limit(portal, scopes))
    return sections


def gap_from_error(topic: str, scope: str | None, exc: HubSpotError, *, tier_note: str | None = None) -> Gap:
    """A failed read as a gap: the client's exception class says which kind of failure it was."""
    kind = None
    retry_hint = None
    if isinstance(exc, HubSpotConfigError):
        kind = "not_configured"
    elif isinstance(exc, HubSpotScopeError):
        kind = "scope"
        scope = scope or exc.recommended
    elif isinstance(exc, HubSpotRateLimited):
        kind = "rate_limit"
        if exc.policy == "DAILY":
            retry_hint = "after midnight in the account's time zone (the daily limit)"
        elif exc.retry_after is not None:
            retry_hint = f"in {exc.retry_after:g} s"
    elif isinstance(exc, HubSpotAuthError):
        kind = "auth"
    elif isinstance(exc, HubSpotUnavailable):
        kind = "unavailable"
    return gap_for_failure(
        topic, scope, status=exc.status, category=exc.category, kind=kind, tier_note=tier_note, retry_hint=retry_hint
    )
