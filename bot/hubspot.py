"""HubSpot API client for hsperm's live lookups (and, later, approved fixes).

Why a client of our own rather than the official SDK: hsperm must say *why* a call failed in
words an admin can act on (which scope to add to which token, which portal has no token), must
never leak a token into a log line or an exception, and must stay inside HubSpot's rate limits
while running several calls at once. Everything here speaks `requests` through one `Session`.

Facts about endpoints, shapes and scopes come from `reference/hubspot_api.md`; section numbers
in comments point there.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from bot.redact import RedactingFilter, redact_values
from knowledge import Diagnosis, catalog, diagnose

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)

#: (connect, read) seconds. A lookup answers a person waiting in Slack: fail fast, retry a little.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
#: Attempts per call, counting the first. Bounded so a HubSpot outage costs seconds, not minutes.
DEFAULT_ATTEMPTS = 3
#: Longest single wait we accept before a retry (Retry-After, rate-limit window, backoff).
DEFAULT_MAX_RETRY_WAIT = 10.0
#: Page size for paged lists; HubSpot's default is 100 for owners and users.
PAGE_LIMIT = 100
#: Safety stop for paging loops (a cursor that never ends would otherwise spin forever).
MAX_PAGES = 200

TICKET_OBJECT_TYPE_ID = "0-5"
TICKET_PROPERTIES = ("subject", "hs_pipeline", "hs_pipeline_stage", "hubspot_owner_id", "hubspot_team_id")

_RETRY_STATUSES = frozenset({423, 500, 502, 503, 504, 521, 522, 523, 524})


# --------------------------------------------------------------------------------------------
# Typed results
# --------------------------------------------------------------------------------------------


def _str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _str_tuple(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(v) for v in value if v is not None and v != "")


@dataclass(frozen=True)
class HubSpotUser:
    """A Settings user (§1.2). `id` is the *user* id, not the owner id."""

    id: str
    email: str
    first_name: str | None = None
    last_name: str | None = None
    role_id: str | None = None
    role_ids: tuple[str, ...] = ()
    primary_team_id: str | None = None
    secondary_team_ids: tuple[str, ...] = ()
    seat_names: tuple[str, ...] = ()
    super_admin: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> HubSpotUser:
        role_ids = _str_tuple(data.get("roleIds"))
        role_id = _str_or_none(data.get("roleId"))
        if role_id and role_id not in role_ids:
            role_ids = (role_id, *role_ids)
        return cls(
            id=str(data["id"]),
            email=str(data.get("email") or ""),
            first_name=_str_or_none(data.get("firstName")),
            last_name=_str_or_none(data.get("lastName")),
            role_id=role_id,
            role_ids=role_ids,
            primary_team_id=_str_or_none(data.get("primaryTeamId")),
            secondary_team_ids=_str_tuple(data.get("secondaryTeamIds")),
            seat_names=_str_tuple(data.get("seatNames")),
            super_admin=data.get("superAdmin") is True,
        )

    @property
    def team_ids(self) -> tuple[str, ...]:
        primary = (self.primary_team_id,) if self.primary_team_id else ()
        return primary + tuple(t for t in self.secondary_team_ids if t != self.primary_team_id)

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.email


@dataclass(frozen=True)
class Role:
    """A permission set as the API shows it (§1.2): a name only, never what it grants."""

    id: str
    name: str
    requires_billing_write: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Role:
        name = str(data.get("name") or data["id"])
        return cls(str(data["id"]), name, data.get("requiresBillingWrite") is True)


@dataclass(frozen=True)
class Team:
    id: str
    name: str
    user_ids: tuple[str, ...] = ()
    secondary_user_ids: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Team:
        return cls(
            str(data["id"]),
            str(data.get("name") or data["id"]),
            _str_tuple(data.get("userIds")),
            _str_tuple(data.get("secondaryUserIds")),
        )


@dataclass(frozen=True)
class OwnerTeam:
    id: str
    name: str
    primary: bool = False


@dataclass(frozen=True)
class Owner:
    """A CRM owner (§2). `id` goes in `hubspot_owner_id`; `user_id` is the Settings user id."""

    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    user_id: str | None = None
    type: str = "PERSON"
    archived: bool = False
    teams: tuple[OwnerTeam, ...] = ()

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Owner:
        teams = tuple(
            OwnerTeam(str(t["id"]), str(t.get("name") or t["id"]), t.get("primary") is True)
            for t in data.get("teams") or ()
            if isinstance(t, Mapping) and t.get("id") is not None
        )
        user_id = data.get("userId")
        if user_id is None:
            user_id = data.get("userIdIncludingInactive")
        return cls(
            id=str(data["id"]),
            email=_str_or_none(data.get("email")),
            first_name=_str_or_none(data.get("firstName")),
            last_name=_str_or_none(data.get("lastName")),
            user_id=_str_or_none(user_id),
            type=str(data.get("type") or "PERSON"),
            archived=data.get("archived") is True,
            teams=teams,
        )

    @property
    def display_name(self) -> str:
        full = " ".join(p for p in (self.first_name, self.last_name) if p)
        return full or self.email or f"owner {self.id}"


@dataclass(frozen=True)
class Ticket:
    id: str
    properties: Mapping[str, str | None] = field(default_factory=dict)
    url: str | None = None
    archived: bool = False

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Ticket:
        props = data.get("properties") or {}
        if not isinstance(props, Mapping):
            props = {}
        return cls(
            id=str(data["id"]),
            properties={str(k): _str_or_none(v) for k, v in props.items()},
            url=_str_or_none(data.get("url")),
            archived=data.get("archived") is True,
        )

    @property
    def subject(self) -> str | None:
        return self.properties.get("subject")

    @property
    def owner_id(self) -> str | None:
        return self.properties.get("hubspot_owner_id")

    @property
    def team_id(self) -> str | None:
        return self.properties.get("hubspot_team_id")


@dataclass(frozen=True)
class PermittedUsers:
    """HubSpot's own answer (BETA, §6.4): which user ids may do what with one record."""

    resource: str
    #: action ("VIEW", "EDIT", ...) -> user ids as strings
    actions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def allows(self, user_id: str, action: str = "VIEW") -> bool | None:
        """True/False when HubSpot listed the action, None when it said nothing about it."""
        if action not in self.actions:
            return None
        return str(user_id) in self.actions[action]


@dataclass(frozen=True)
class TokenInfo:
    """What a token is and may do. Never holds the token itself."""

    #: "private_app" (also service keys answered by the same endpoint) or "oauth"
    kind: str
    hub_id: str | None
    scopes: tuple[str, ...] = ()
    app_id: str | None = None
    #: private app: the user who created the token; OAuth: the installing user
    user_id: str | None = None
    user_email: str | None = None
    hublet: str | None = None
    expires_in: int | None = None
    is_user_level: bool | None = None

    @property
    def kind_label(self) -> str:
        return {"private_app": "private app / service key token", "oauth": "OAuth access token"}.get(self.kind, self.kind)

    def has_any(self, scopes: Iterable[str]) -> bool:
        granted = set(self.scopes)
        return any(s in granted for s in scopes)


@dataclass(frozen=True)
class RateLimitStatus:
    """The last `X-HubSpot-RateLimit-*` headers seen for a token (§5.5)."""

    max: int | None = None
    remaining: int | None = None
    interval_ms: int | None = None
    daily: int | None = None
    daily_remaining: int | None = None


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class HubSpotError(Exception):
    """A HubSpot call failed. `str()` is a friendly, token-free sentence for people.

    `status`, `category` and `correlation_id` are HubSpot's own (the correlation id is what
    HubSpot support asks for); `diagnosis` is our engine's reading of the error body.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        category: str | None = None,
        correlation_id: str | None = None,
        endpoint: str | None = None,
        portal_id: str | None = None,
        hubspot_message: str | None = None,
        diagnosis: Diagnosis | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.endpoint = endpoint
        self.portal_id = portal_id
        self.hubspot_message = hubspot_message
        self.diagnosis = diagnosis

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}(status={self.status!r}, category={self.category!r}, message={self.message!r})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": type(self).__name__,
            "message": self.message,
            "status": self.status,
            "category": self.category,
            "correlation_id": self.correlation_id,
        }


class HubSpotConfigError(HubSpotError):
    """hsperm has no usable token for the portal asked for: an operator fixes the settings."""


class HubSpotAuthError(HubSpotError):
    """401: the token is invalid, revoked or expired."""


class HubSpotScopeError(HubSpotError):
    """403 MISSING_SCOPES: hsperm's own token lacks a scope. `scopes` are HubSpot's alternatives."""

    def __init__(self, message: str, *, scopes: tuple[str, ...] = (), recommended: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.scopes = scopes
        self.recommended = recommended


class HubSpotForbiddenError(HubSpotError):
    """403 for another reason (e.g. the private app's creator was removed)."""


class HubSpotNotFound(HubSpotError):
    """404: the user, ticket or owner does not exist (not a permission problem)."""


class HubSpotRateLimited(HubSpotError):
    """429 after the retries we allow ourselves; `retry_after` says when to try again."""

    def __init__(self, message: str, *, retry_after: float | None = None, policy: str | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.policy = policy


class HubSpotUnavailable(HubSpotError):
    """5xx, timeouts and connection failures, after bounded retries."""


class HubSpotBadResponse(HubSpotError):
    """HubSpot answered with something we cannot read (not JSON, or not the documented shape)."""


# --------------------------------------------------------------------------------------------
# Scope advice
# --------------------------------------------------------------------------------------------


def recommend_scope(scopes: Iterable[str]) -> str | None:
    """The one scope to advise from HubSpot's any-one-of list (the catalogue's ranking)."""
    best = catalog.recommended_scopes(tuple(scopes), "any")
    return best[0] if best else None


def scopes_from_body(body: Any) -> tuple[str, ...]:
    """Scopes named in a MISSING_SCOPES body's structured context (§5.2), in HubSpot's order."""
    found: list[str] = []
    if not isinstance(body, Mapping):
        return ()
    contexts = [body.get("context")]
    contexts += [e.get("context") for e in body.get("errors") or () if isinstance(e, Mapping)]
    for context in contexts:
        if not isinstance(context, Mapping):
            continue
        for key in ("requiredGranularScopes", "requiredScopes", "missingScopes"):
            values = context.get(key)
            if isinstance(values, list):
                found.extend(str(v) for v in values if isinstance(v, str))
    return tuple(dict.fromkeys(found))


def scope_advice(scopes: tuple[str, ...], token_kind: str | None = None, what: str = "this call") -> str:
    """The sentence that tells an admin exactly what to change on hsperm's token."""
    best = recommend_scope(scopes)
    if not best:
        return (
            f"hsperm's HubSpot token is missing a scope for {what}, and HubSpot did not say which; "
            "compare the token's scopes with the README's scope list."
        )
    others = [s for s in scopes if s != best]
    if token_kind == "oauth":  # noqa: S105 (a kind, not a password)
        where = "to hsperm's OAuth app and reinstall it, so that a new token carries the scope"
    else:
        where = (
            "to hsperm's private app (Development > Legacy apps, or Settings > Integrations > Private apps; "
            "tab Scopes) and commit the change"
        )
    text = f"hsperm's HubSpot token lacks the scope for {what}: add `{best}` {where}."
    if others:
        listed = ", ".join(f"`{s}`" for s in scopes)
        text += f" HubSpot accepts any one of {listed}; `{best}` is the least privilege."
    return text


# --------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(str(raw).strip()) if raw is not None else None
    except ValueError:
        return None


def parse_retry_after(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now())


class HubSpotClient:
    """One `requests.Session` shared by every portal and thread.

    Tokens are resolved per portal: `HUBSPOT_PORTAL_TOKENS` first, then `HUBSPOT_ACCESS_TOKEN`.
    A default token used for a portal it was not configured for is flagged (`token_is_fallback`)
    so callers can check the token's hub id before trusting the answers.
    """

    def __init__(
        self,
        *,
        access_token: str | None = None,
        portal_tokens: Mapping[str, str] | None = None,
        base_url: str = "https://api.hubapi.com",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        pool_size: int = 16,
    ) -> None:
        self._default_token = access_token or None
        self._portal_tokens = {str(k): v for k, v in (portal_tokens or {}).items() if v}
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self._sleep = sleep
        #: token -> (monotonic time seen, last rate-limit headers); in memory only, never logged
        self._rate: dict[str, tuple[float, RateLimitStatus]] = {}
        self._clock = clock
        self._rate_lock = threading.Lock()
        self._calls = 0
        self._calls_lock = threading.Lock()
        self._session = session or requests.Session()
        # Our own retry loop reads Retry-After and HubSpot's headers; urllib3 must not retry too.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "hsperm (+https://github.com/hsperm)"
        self._session.headers["Accept"] = "application/json"
        # urllib3 logs request lines at DEBUG; the OAuth introspection path carries the token.
        self._log_filter = RedactingFilter(self._secrets())
        for name in (__name__, "urllib3.connectionpool"):
            logging.getLogger(name).addFilter(self._log_filter)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> HubSpotClient:
        """Build from `bot.config.Settings`; keyword arguments override timeouts, retries, etc."""
        return cls(
            access_token=settings.hubspot_access_token,
            portal_tokens=dict(settings.hubspot_portal_tokens),
            base_url=settings.hubspot_api_url,
            **kwargs,
        )

    def __repr__(self) -> str:
        return (
            f"HubSpotClient(base_url={self.base_url!r}, "
            f"default_token={'set' if self._default_token else 'unset'}, "
            f"portals={sorted(self._portal_tokens)})"
        )

    def close(self) -> None:
        for name in (__name__, "urllib3.connectionpool"):
            logging.getLogger(name).removeFilter(self._log_filter)
        self._session.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokens ---------------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return bool(self._default_token or self._portal_tokens)

    @property
    def portals(self) -> tuple[str, ...]:
        return tuple(sorted(self._portal_tokens))

    @property
    def call_count(self) -> int:
        """HTTP requests sent so far (retries included); benchmarks and tests read it."""
        return self._calls

    def token_is_fallback(self, portal_id: str | None) -> bool:
        """True when a portal was named but only the default token (of unknown portal) can serve it."""
        return bool(portal_id) and str(portal_id) not in self._portal_tokens

    def check_token(self, portal_id: str | None = None) -> None:
        """Raise HubSpotConfigError (a sentence naming the setting to fix) unless a token can serve."""
        self._token(portal_id)

    def _secrets(self) -> list[str]:
        return [t for t in (self._default_token, *self._portal_tokens.values()) if t]

    def redact(self, text: str) -> str:
        return redact_values(text, self._secrets())

    def _token(self, portal_id: str | None) -> str:
        if portal_id:
            portal_id = str(portal_id)
            token = self._portal_tokens.get(portal_id) or self._default_token
            if token:
                return token
            raise HubSpotConfigError(
                f"hsperm has no HubSpot token for portal {portal_id}: add `{portal_id}=<token>` to "
                f"HUBSPOT_PORTAL_TOKENS (configured portals: {', '.join(self.portals) or 'none'}).",
                portal_id=portal_id,
            )
        if self._default_token:
            return self._default_token
        if len(self._portal_tokens) == 1:
            return next(iter(self._portal_tokens.values()))
        if self._portal_tokens:
            raise HubSpotConfigError(
                "Several HubSpot portals are configured; say which one "
                f"(one of {', '.join(self.portals)}), or set HUBSPOT_ACCESS_TOKEN as the default."
            )
        raise HubSpotConfigError(
            "No HubSpot token is configured: set HUBSPOT_ACCESS_TOKEN to a private app token "
            "(or HUBSPOT_PORTAL_TOKENS=portalId=token,... for several portals)."
        )

    def rate_limit(self, portal_id: str | None = None) -> RateLimitStatus | None:
        """The latest rate-limit headers seen for that portal's token (for `check` and logs)."""
        token = self._token(portal_id)
        with self._rate_lock:
            seen = self._rate.get(token)
        return seen[1] if seen else None

    def _throttle_wait(self, token: str) -> float:
        """Seconds to hold a call because the last answer said the window's budget is spent.

        HubSpot counts error responses against an app (they should stay under 5% of calls), so
        waiting for the rolling window beats sending a call we know will get a 429.
        """
        with self._rate_lock:
            seen = self._rate.get(token)
        if not seen:
            return 0.0
        when, status = seen
        if status.remaining is None or status.remaining > 0 or not status.interval_ms:
            return 0.0
        left = when + status.interval_ms / 1000.0 - self._clock()
        return min(max(0.0, left), self.max_retry_wait)

    # -- HTTP -----------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        portal_id: str | None = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        what: str = "a HubSpot call",
        endpoint: str | None = None,
        auth: bool = True,
    ) -> Any:
        """Send one call with retries and return its parsed JSON (None for 204).

        `what` names the call in messages ("reading user ann@example.com"); `endpoint` is a
        token-free template of `path` for errors and logs (paths can embed a token).
        """
        token = self._token(portal_id)
        endpoint = endpoint or path
        headers = {"Authorization": f"Bearer {token}"} if auth else {}
        url = f"{self.base_url}{path}"
        last_error: HubSpotError | None = None
        pause = self._throttle_wait(token) if auth else 0.0
        if pause > 0:
            log.info("hubspot %s %s: rate-limit window spent; waiting %.2fs", method, endpoint, pause)
            self._sleep(pause)
        for attempt in range(1, self.attempts + 1):
            with self._calls_lock:
                self._calls += 1
            try:
                response = self._session.request(
                    method, url, params=params, json=json_body, headers=headers, timeout=self.timeout
                )
            except requests.Timeout:
                last_error = HubSpotUnavailable(
                    f"HubSpot did not answer in time while {what} (waited {self.timeout[1]:g} s, "
                    f"{attempt} attempt{'s' if attempt > 1 else ''}); try again shortly.",
                    endpoint=endpoint,
                    portal_id=portal_id,
                )
                wait = self._backoff_wait(attempt)
            except requests.RequestException as exc:
                reason = self.redact(type(exc).__name__)
                last_error = HubSpotUnavailable(
                    f"Could not reach HubSpot at {self.base_url} while {what} ({reason}); "
                    "check the network and HUBSPOT_API_URL.",
                    endpoint=endpoint,
                    portal_id=portal_id,
                )
                wait = self._backoff_wait(attempt)
            else:
                self._remember_rate(token, response.headers)
                if response.status_code < 400:
                    return self._parse(response, what, endpoint, portal_id)
                last_error = self._error(response, what, endpoint, portal_id)
                wait = self._retry_wait(response, last_error, attempt)
            if wait is None or attempt == self.attempts:
                break
            log.info(
                "hubspot %s %s: %s; retry %d/%d in %.2fs",
                method,
                endpoint,
                last_error.status or type(last_error).__name__,
                attempt,
                self.attempts - 1,
                wait,
            )
            self._sleep(wait)
        assert last_error is not None
        level = logging.INFO if isinstance(last_error, HubSpotNotFound) else logging.WARNING
        log.log(level, "hubspot %s %s failed: %s", method, endpoint, last_error.message)
        raise last_error

    def _backoff_wait(self, attempt: int) -> float:
        base = self.backoff * (2 ** (attempt - 1))
        return min(self.max_retry_wait, base * (0.5 + random.random() / 2))  # noqa: S311 (jitter)

    def _retry_wait(self, response: requests.Response, error: HubSpotError, attempt: int) -> float | None:
        """How long to wait before retrying this response, or None to give up now."""
        status = response.status_code
        rate_limited = status == 429 or (status >= 500 and error.category == "RATE_LIMITS")
        if rate_limited:
            policy = getattr(error, "policy", None)
            if policy == "DAILY":
                return None  # resets at midnight in the portal's timezone; retrying only burns calls
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if retry_after is None:
                remaining = _header_int(response.headers, "X-HubSpot-RateLimit-Remaining")
                interval = _header_int(response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
                if interval and (remaining is None or remaining <= 0):
                    # The window is rolling: part of it is usually enough, the backoff grows it.
                    retry_after = min(interval / 1000.0, self._backoff_wait(attempt) + interval / 10000.0)
                else:
                    retry_after = self._backoff_wait(attempt)
            if retry_after > self.max_retry_wait:
                return None
            return retry_after
        if status == 423:
            return min(self.max_retry_wait, 2.0)  # "Locks will last for 2 seconds" (§5.4)
        if status in _RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = retry_after if retry_after is not None else self._backoff_wait(attempt)
            return wait if wait <= self.max_retry_wait else None
        return None

    def _remember_rate(self, token: str, headers: Mapping[str, str]) -> None:
        if "X-HubSpot-RateLimit-Remaining" not in headers and "X-HubSpot-RateLimit-Daily" not in headers:
            return
        status = RateLimitStatus(
            max=_header_int(headers, "X-HubSpot-RateLimit-Max"),
            remaining=_header_int(headers, "X-HubSpot-RateLimit-Remaining"),
            interval_ms=_header_int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"),
            daily=_header_int(headers, "X-HubSpot-RateLimit-Daily"),
            daily_remaining=_header_int(headers, "X-HubSpot-RateLimit-Daily-Remaining"),
        )
        with self._rate_lock:
            self._rate[token] = (self._clock(), status)

    def _parse(self, response: requests.Response, what: str, endpoint: str, portal_id: str | None) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content type").split(";")[0]
            raise HubSpotBadResponse(
                f"HubSpot answered with something that is not JSON while {what} "
                f"(HTTP {response.status_code}, {kind}); try again, and check HUBSPOT_API_URL "
                "if it persists.",
                status=response.status_code,
                endpoint=endpoint,
                portal_id=portal_id,
                correlation_id=response.headers.get("X-HubSpot-Correlation-Id"),
            ) from None

    def _error(self, response: requests.Response, what: str, endpoint: str, portal_id: str | None) -> HubSpotError:
        """Turn an error response into the most specific exception, with a message to act on."""
        status = response.status_code
        text = response.text[:65536]
        try:
            body = json.loads(text) if text.strip() else {}
        except ValueError:
            body = {}
        if not isinstance(body, Mapping):
            body = {}
        category = _str_or_none(body.get("category")) or _str_or_none(body.get("errorType"))
        correlation_id = _str_or_none(body.get("correlationId")) or response.headers.get("X-HubSpot-Correlation-Id")
        hubspot_message = self.redact(str(body.get("message") or ""))[:300] or None
        diagnosis = diagnose(self.redact(text)) if text.strip() else None
        common: dict[str, Any] = {
            "status": status,
            "category": category,
            "correlation_id": correlation_id,
            "endpoint": endpoint,
            "portal_id": portal_id,
            "hubspot_message": hubspot_message,
            "diagnosis": diagnosis,
        }
        said = f" HubSpot said: “{hubspot_message}”" if hubspot_message else ""
        ref = f" (correlation id {correlation_id})" if correlation_id else ""
        portal = f" for portal {portal_id}" if portal_id else ""

        if status == 403 and (category == "MISSING_SCOPES" or scopes_from_body(body)):
            scopes: tuple[str, ...] = ()
            if diagnosis is not None and diagnosis.kind == "missing_scopes" and diagnosis.requires:
                scopes = tuple(diagnosis.requires)
            scopes = scopes or scopes_from_body(body)
            kind = self._token_kind_hint(portal_id)
            return HubSpotScopeError(
                scope_advice(scopes, kind, what) + ref,
                scopes=scopes,
                recommended=recommend_scope(scopes),
                **common,
            )
        if status == 401:
            expired = category == "EXPIRED_AUTHENTICATION" and "1970-01-01" not in text
            if expired:
                msg = (
                    f"hsperm's HubSpot OAuth token{portal} has expired while {what}: refresh it "
                    "(access tokens live 30 minutes) and update HUBSPOT_ACCESS_TOKEN."
                )
            else:
                setting = self._setting_for(portal_id)
                msg = (
                    f"HubSpot rejected hsperm's token{portal} while {what} "
                    f"(401 {category or 'unauthorized'}): it is invalid, revoked or rotated, or belongs to "
                    f"another data centre. Copy the current access token of hsperm's app into {setting}."
                )
            return HubSpotAuthError(msg + ref, **common)
        if status == 403:
            if category == "USER_DOES_NOT_HAVE_PERMISSIONS" or "USER_DOES_NOT_HAVE_PERMISSIONS" in text:
                msg = (
                    f"HubSpot refused {what} (403 USER_DOES_NOT_HAVE_PERMISSIONS): the user who created "
                    "hsperm's private app token may have been removed; rotate the token as a current user."
                )
            else:
                msg = f"HubSpot refused {what} (403 {category or 'forbidden'}).{said}"
            return HubSpotForbiddenError(msg + ref, **common)
        if status == 404:
            return HubSpotNotFound(f"HubSpot found nothing while {what} (404).{said}{ref}", **common)
        if status == 429 or category in ("RATE_LIMITS", "RATE_LIMIT"):
            policy = _str_or_none(body.get("policyName"))
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            when = (
                "after midnight in the portal's timezone"
                if policy == "DAILY"
                else (f"in {retry_after:g} s" if retry_after is not None else "in a few seconds")
            )
            return HubSpotRateLimited(
                f"HubSpot's rate limit{(' (' + policy + ')') if policy else ''} stopped {what}; "
                f"hsperm retried and gave up. Try again {when}.{ref}",
                retry_after=retry_after,
                policy=policy,
                **common,
            )
        if status >= 500:
            return HubSpotUnavailable(
                f"HubSpot had a server error (HTTP {status}) while {what}, even after retrying; try again shortly.{ref}",
                **common,
            )
        label = f"HTTP {status} {category}" if category else f"HTTP {status}"
        return HubSpotError(f"HubSpot rejected {what} ({label}).{said}{ref}", **common)

    def _setting_for(self, portal_id: str | None) -> str:
        """The setting an operator edits to replace the token used for this portal."""
        if portal_id in self._portal_tokens:
            return f"HUBSPOT_PORTAL_TOKENS ({portal_id}=...)"
        if not self._default_token and len(self._portal_tokens) == 1:
            return "HUBSPOT_PORTAL_TOKENS"
        return "HUBSPOT_ACCESS_TOKEN"

    def _token_kind_hint(self, portal_id: str | None) -> str | None:
        try:
            token = self._token(portal_id)
        except HubSpotConfigError:
            return None
        return "private_app" if token.startswith("pat-") else None

    def _get_paged(
        self, path: str, *, portal_id: str | None, params: Mapping[str, Any] | None, what: str
    ) -> Iterator[Mapping[str, Any]]:
        """Yield every result across pages, following `paging.next.after` (§1.2)."""
        query = dict(params or {})
        query.setdefault("limit", PAGE_LIMIT)
        for _ in range(MAX_PAGES):
            data = self.request("GET", path, portal_id=portal_id, params=query, what=what)
            yield from self._results(data, what, path)
            after = None
            paging = data.get("paging") if isinstance(data, Mapping) else None
            if isinstance(paging, Mapping) and isinstance(paging.get("next"), Mapping):
                after = paging["next"].get("after")
            if not after or str(after) == str(query.get("after")):
                return
            query["after"] = str(after)

    @staticmethod
    def _results(data: Any, what: str, endpoint: str) -> list[Mapping[str, Any]]:
        results = data.get("results") if isinstance(data, Mapping) else None
        if not isinstance(results, list):
            raise HubSpotBadResponse(
                f"HubSpot's answer while {what} has no `results` list; the API may have changed.",
                endpoint=endpoint,
            )
        return [r for r in results if isinstance(r, Mapping)]

    @staticmethod
    def _shape(what: str, endpoint: str, build: Callable[[], Any]) -> Any:
        try:
            return build()
        except (KeyError, TypeError, ValueError, AttributeError):
            raise HubSpotBadResponse(
                f"HubSpot's answer while {what} does not have the documented shape.", endpoint=endpoint
            ) from None

    # -- endpoints ------------------------------------------------------------------------------

    def get_user_by_email(self, email: str, portal_id: str | None = None) -> HubSpotUser:
        """Settings user by email (`idProperty=EMAIL`, §1.1); raises HubSpotNotFound if none."""
        what = f"reading HubSpot user {email}"
        data = self.request(
            "GET",
            f"/settings/v3/users/{quote(email, safe='@')}",
            portal_id=portal_id,
            params={"idProperty": "EMAIL"},
            what=what,
            endpoint="/settings/v3/users/{email}",
        )
        return self._shape(what, "/settings/v3/users/{email}", lambda: HubSpotUser.from_api(data))

    def get_user(self, user_id: str, portal_id: str | None = None) -> HubSpotUser:
        what = f"reading HubSpot user {user_id}"
        endpoint = "/settings/v3/users/{id}"
        path = f"/settings/v3/users/{user_id}"
        data = self.request("GET", path, portal_id=portal_id, what=what, endpoint=endpoint)
        return self._shape(what, endpoint, lambda: HubSpotUser.from_api(data))

    def list_users(self, portal_id: str | None = None) -> list[HubSpotUser]:
        what = "listing HubSpot users"
        rows = self._get_paged("/settings/v3/users/", portal_id=portal_id, params=None, what=what)
        return self._shape(what, "/settings/v3/users/", lambda: [HubSpotUser.from_api(r) for r in rows])

    def list_roles(self, portal_id: str | None = None) -> list[Role]:
        what = "listing permission sets (roles)"
        data = self.request("GET", "/settings/v3/users/roles", portal_id=portal_id, what=what)
        rows = self._results(data, what, "/settings/v3/users/roles")
        return self._shape(what, "/settings/v3/users/roles", lambda: [Role.from_api(r) for r in rows])

    def list_teams(self, portal_id: str | None = None) -> list[Team]:
        what = "listing teams"
        data = self.request("GET", "/settings/v3/users/teams", portal_id=portal_id, what=what)
        rows = self._results(data, what, "/settings/v3/users/teams")
        return self._shape(what, "/settings/v3/users/teams", lambda: [Team.from_api(r) for r in rows])

    def find_owner_by_email(self, email: str, portal_id: str | None = None) -> Owner | None:
        """The CRM owner for an email (§2), or None: not every user is an owner (and vice versa)."""
        what = f"reading the CRM owner for {email}"
        rows = self._get_paged("/crm/v3/owners", portal_id=portal_id, params={"email": email}, what=what)
        owners = self._shape(what, "/crm/v3/owners", lambda: [Owner.from_api(r) for r in rows])
        matching = [o for o in owners if (o.email or "").lower() == email.lower()] or owners
        active = [o for o in matching if not o.archived]
        return (active or matching or [None])[0]

    def get_owner(self, owner_id: str, portal_id: str | None = None) -> Owner:
        """Owner by *owner* id (the value in `hubspot_owner_id`), archived ones included."""
        what = f"reading CRM owner {owner_id}"
        endpoint = "/crm/v3/owners/{ownerId}"
        try:
            data = self.request(
                "GET",
                f"/crm/v3/owners/{owner_id}",
                portal_id=portal_id,
                params={"idProperty": "id"},
                what=what,
                endpoint=endpoint,
            )
        except HubSpotNotFound:
            # A deactivated user's owner record is archived; ask again before saying it is gone.
            data = self.request(
                "GET",
                f"/crm/v3/owners/{owner_id}",
                portal_id=portal_id,
                params={"idProperty": "id", "archived": "true"},
                what=what,
                endpoint=endpoint,
            )
        return self._shape(what, endpoint, lambda: Owner.from_api(data))

    def get_ticket(self, ticket_id: str, portal_id: str | None = None) -> Ticket:
        what = f"reading ticket {ticket_id}"
        endpoint = "/crm/v3/objects/tickets/{ticketId}"
        data = self.request(
            "GET",
            f"/crm/v3/objects/tickets/{ticket_id}",
            portal_id=portal_id,
            params={"properties": ",".join(TICKET_PROPERTIES)},
            what=what,
            endpoint=endpoint,
        )
        return self._shape(what, endpoint, lambda: Ticket.from_api(data))

    def permitted_users(self, portal_id: str, object_id: str, object_type_id: str = TICKET_OBJECT_TYPE_ID) -> PermittedUsers:
        """HubSpot's per-record access answer (BETA, §6.4) for one record of the given portal."""
        resource = f"hcrn:{portal_id}:crm-object:{object_type_id}:{object_id}"
        what = f"asking HubSpot who may access record {object_type_id}:{object_id} (beta API)"
        endpoint = "/resource-permissions/v3/permitted-users"
        data = self.request("GET", endpoint, portal_id=portal_id, params={"resource": resource}, what=what)

        def build() -> PermittedUsers:
            resources = data["resources"]
            entry = resources.get(resource)
            if entry is None and len(resources) == 1:
                entry = next(iter(resources.values()))
            if not isinstance(entry, Mapping):
                raise KeyError(resource)
            actions: dict[str, tuple[str, ...]] = {}
            for key, value in entry.items():
                action = str(key).rsplit(":", 1)[-1].upper()
                users = value.get("permittedUsers") if isinstance(value, Mapping) else value
                actions[action] = _str_tuple(users)
            return PermittedUsers(resource, actions)

        return self._shape(what, endpoint, build)

    def token_info(self, portal_id: str | None = None) -> TokenInfo:
        """What hsperm's token for this portal is (private app or OAuth) and which scopes it has.

        Private-app tokens answer `POST /oauth/v2/private-apps/get/access-token-info` (§4.3);
        OAuth tokens answer `GET /oauth/v1/access-tokens/{token}` (§4.1). We try the likely one
        first, judged by the token's prefix, and fall back to the other.
        """
        token = self._token(portal_id)
        order = (self._private_app_info, self._oauth_info)
        if not token.startswith("pat-"):
            order = order[::-1]
        first_error: HubSpotError | None = None
        for probe in order:
            try:
                return probe(token, portal_id)
            except (HubSpotNotFound, HubSpotAuthError, HubSpotBadResponse, HubSpotForbiddenError) as exc:
                first_error = first_error or exc
            except HubSpotError as exc:
                if exc.status in (400, 405):
                    first_error = first_error or exc
                    continue
                raise
        assert first_error is not None
        raise HubSpotAuthError(
            "HubSpot does not recognise hsperm's token"
            + (f" for portal {portal_id}" if portal_id else "")
            + " as a private app or OAuth access token: it is revoked, mistyped, or of another kind "
            f"(API keys and developer keys do not work). Check {self._setting_for(portal_id)}. " + first_error.message,
            status=first_error.status,
            category=first_error.category,
            correlation_id=first_error.correlation_id,
            portal_id=portal_id,
        )

    def _private_app_info(self, token: str, portal_id: str | None) -> TokenInfo:
        what = "reading hsperm's private app token info"
        endpoint = "/oauth/v2/private-apps/get/access-token-info"
        data = self.request("POST", endpoint, portal_id=portal_id, json_body={"tokenKey": token}, what=what)

        def build() -> TokenInfo:
            hublet = None
            if token.startswith("pat-"):
                hublet = token.split("-")[1] or None
            return TokenInfo(
                kind="private_app",
                hub_id=_str_or_none(data["hubId"]),
                scopes=_str_tuple(data.get("scopes")),
                app_id=_str_or_none(data.get("appId")),
                user_id=_str_or_none(data.get("userId")),
                hublet=hublet,
            )

        return self._shape(what, endpoint, build)

    def _oauth_info(self, token: str, portal_id: str | None) -> TokenInfo:
        what = "reading hsperm's OAuth token info"
        endpoint = "/oauth/v1/access-tokens/{token}"
        data = self.request(
            "GET",
            f"/oauth/v1/access-tokens/{quote(token, safe='')}",
            portal_id=portal_id,
            what=what,
            endpoint=endpoint,
            auth=False,
        )

        def build() -> TokenInfo:
            signed = data.get("signed_access_token")
            signed = signed if isinstance(signed, Mapping) else {}
            user_level = signed.get("isUserLevel")
            expires = data.get("expires_in")
            return TokenInfo(
                kind="oauth",
                hub_id=_str_or_none(data["hub_id"]),
                scopes=_str_tuple(data.get("scopes")),
                app_id=_str_or_none(data.get("app_id")),
                user_id=_str_or_none(data.get("user_id")),
                user_email=_str_or_none(data.get("user")),
                hublet=_str_or_none(signed.get("hublet")),
                expires_in=int(expires) if isinstance(expires, int | float) else None,
                is_user_level=user_level if isinstance(user_level, bool) else None,
            )

        return self._shape(what, endpoint, build)
