"""HubSpot's activity records in their documented shapes, and the scopes that read them.

Shapes: `HydratedCriticalAction` (security log), `PublicLoginAudit` (login history), the daily
private-apps usage row (§5.6) and `PublicSeat`. Parsing drops a record that lacks what the spec
marks required instead of failing the whole read.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: One scope reads the security log and the login history (and, on Enterprise, the audit log).
SECURITY_SCOPE = "account-info.security.read"
#: The private apps' daily API usage (account-wide).
USAGE_SCOPE = "oauth"
#: `GET /settings/users/2026-09-beta/seats` lists `settings.billing.write`, a write scope, for a read.
SEATS_SCOPE = "settings.billing.write"

#: How far back token and user forensics look, from the paste (or now).
LOOKBACK = timedelta(days=7)
#: Events a little after the paste still explain it: people paste errors minutes after they happen,
#: and clocks differ. Anything later cannot have caused the error.
AFTER_PASTE_SLACK = timedelta(minutes=5)
#: The login history covers this much (HubSpot's docs).
LOGIN_HISTORY_DAYS = 90

DAILY_USAGE_NAME = "private-apps-api-calls-daily"

#: Where a private app's current token is shown (HubSpot's private apps page).
PRIVATE_APP_TOKEN_PAGE = "Development > Legacy apps > the app > Auth tab > Show token"  # noqa: S105  # nosec B105  # a UI path

#: Why a 403 without MISSING_SCOPES can mean "not in this account's subscription".
SECURITY_TIER_NOTE = (
    "the account's subscription may not include the security activity log (HubSpot shows it on Starter and higher)"
)


def parse_time(value: Any) -> datetime | None:
    """HubSpot's `date-time` strings (`2026-11-28T14:01:09.123Z`) or epoch milliseconds, as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(float(value) / 1000.0, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    if text.isdigit():
        return parse_time(int(text))
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def epoch_ms(when: datetime) -> int:
    """The `fromTimestamp`/`toTimestamp` form of a time (epoch milliseconds)."""
    return int(when.timestamp() * 1000)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


@dataclass(frozen=True)
class SecurityEvent:
    """One security activity record (`HydratedCriticalAction`).

    `user_id`/`acting_email` are who acted; `object_id` is what (or, for user and team events,
    whom) it was about.
    """

    id: str
    type: str
    created_at: datetime
    user_id: str | None = None
    acting_email: str | None = None
    object_id: str | None = None
    info_url: str | None = None
    location: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> SecurityEvent | None:
        """The record, or None when it lacks what the spec marks required (id, type, createdAt)."""
        when = parse_time(data.get("createdAt"))
        kind = _text(data.get("type"))
        if when is None or kind is None or data.get("id") is None:
            return None
        return cls(
            id=str(data["id"]),
            type=kind,
            created_at=when,
            user_id=_text(data.get("userId")),
            acting_email=_text(data.get("actingUser")),
            object_id=_text(data.get("objectId")),
            info_url=_text(data.get("infoUrl")),
            location=_text(data.get("location")),
        )


@dataclass(frozen=True)
class LoginRecord:
    """One login history record (`PublicLoginAudit`)."""

    login_at: datetime
    succeeded: bool
    user_id: str | None = None
    email: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> LoginRecord | None:
        when = parse_time(data.get("loginAt"))
        if when is None or not isinstance(data.get("loginSucceeded"), bool):
            return None
        return cls(when, data["loginSucceeded"], _text(data.get("userId")), _text(data.get("email")))


@dataclass(frozen=True)
class ApiUsage:
    """One row of the private apps' daily usage (`GET /account-info/v3/api-usage/daily/private-apps`)."""

    name: str
    usage_limit: int | None
    current_usage: int | None
    collected_at: datetime | None = None
    resets_at: datetime | None = None
    fetch_status: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ApiUsage:
        def number(key: str) -> int | None:
            value = data.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                return None
            try:
                return int(float(value))
            except ValueError:
                return None

        return cls(
            name=str(data.get("name") or ""),
            usage_limit=number("usageLimit"),
            current_usage=number("currentUsage"),
            collected_at=parse_time(data.get("collectedAt")),
            resets_at=parse_time(data.get("resetsAt")),
            fetch_status=_text(data.get("fetchStatus")),
        )


@dataclass(frozen=True)
class Seat:
    """A paid seat type (`PublicSeat`): `remainingSeats` is optional in the spec."""

    name: str
    remaining: int | None = None
    description: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Seat | None:
        name = _text(data.get("name"))
        if name is None:
            return None
        remaining = data.get("remainingSeats")
        ok = isinstance(remaining, int) and not isinstance(remaining, bool)
        return cls(name, remaining if ok else None, _text(data.get("description")))


def parse_records(rows: Iterable[Any], build: Any) -> list[Any]:
    """`build` over each row that is a mapping, dropping rows it rejects (None)."""
    out = []
    for row in rows:
        if isinstance(row, Mapping):
            item = build(row)
            if item is not None:
                out.append(item)
    return out
