"""Forensics: "it worked yesterday, what changed?", answered from HubSpot's own records.

HubSpot keeps a security activity log (token rotations, scope changes, app installs, users and
teams changed), each user's login history and the private apps' daily API usage. This module
turns those records, in the shapes HubSpot documents, into sentences an admin can act on. It is
pure on purpose (no HTTP, no Slack, no clock of its own): the service reads, this decides, and
the tests feed it documented shapes without a server.

Two facts about the records shape everything here:

- In a security record, `userId` and `actingUser` name the user who *did* something; the user a
  user or team event is *about* is its `objectId`. "What happened to Ann" is therefore every
  record in a time window whose `objectId` is Ann's user id, never the `userId` filter.
- Records carry no before/after values and no team names: "Ann was added to a team" is all the
  log says, so we pair it with Ann's current teams from the users API.

Every read can fail (missing scope, account tier, 429, 5xx). A failure is a `Gap`: a line saying
what is unknown, why, and which scope would unlock it. Forensics never fails a lookup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: One scope reads the security log, the login history and (Enterprise) the audit log.
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
PRIVATE_APP_TOKEN_PAGE = "Development > Legacy apps > the app > Auth tab > Show token"  # noqa: S105 (a UI path)

#: Why a 403 without MISSING_SCOPES can mean "not in this account's subscription".
SECURITY_TIER_NOTE = (
    "the account's subscription may not include the security activity log (HubSpot shows it on Starter and higher)"
)
AUDIT_TIER_NOTE = "HubSpot's audit log API is for Enterprise accounts only"


# --------------------------------------------------------------------------------------------
# Records, in HubSpot's documented shapes
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# What could not be read
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gap:
    """Something forensics could not read; a line in the report, never a failure."""

    #: what is unknown, as a noun phrase ("the security activity log")
    topic: str
    #: why, as a clause ("hsperm's token lacks the scope `account-info.security.read`")
    reason: str
    #: scope, tier, rate_limit, unavailable, auth, error, not_configured
    kind: str = "error"
    #: the scope that would unlock it, when a scope would
    scope: str | None = None

    @property
    def text(self) -> str:
        line = f"Unknown: {self.topic}, because {self.reason}."
        if self.scope and self.kind == "scope":
            line += f" Adding the scope `{self.scope}` to hsperm's HubSpot app would unlock it."
        return line

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "reason": self.reason, "kind": self.kind, "scope": self.scope, "text": self.text}


def missing_scope_gap(topic: str, scope: str, token_scopes: Iterable[str] | None) -> Gap | None:
    """A gap without a call when hsperm's token is known to lack `scope` (saves a 403)."""
    if token_scopes is None:
        return None
    if scope in set(token_scopes):
        return None
    return Gap(topic, f"hsperm's HubSpot token lacks the scope `{scope}`", "scope", scope)


def gap_for_failure(
    topic: str,
    scope: str | None,
    *,
    status: int | None,
    category: str | None = None,
    kind: str | None = None,
    tier_note: str | None = None,
    retry_hint: str | None = None,
) -> Gap:
    """The gap for a failed read, from what the HTTP answer said (status, HubSpot category).

    `kind` is the client's own classification when it has one (scope, rate_limit, unavailable,
    auth); a 403 that names no missing scope is read as the account's tier, since that is how
    HubSpot answers an account without the feature (`tier_note` says which tier is needed).
    """
    if kind == "scope" or category == "MISSING_SCOPES":
        scope_text = f"the scope `{scope}`" if scope else "a scope HubSpot did not name"
        return Gap(topic, f"hsperm's HubSpot token lacks {scope_text}", "scope", scope)
    if kind == "rate_limit" or status == 429:
        later = f"; try again {retry_hint}" if retry_hint else ""
        return Gap(topic, f"HubSpot's rate limit stopped the read{later}", "rate_limit")
    if kind == "auth" or status == 401:
        return Gap(topic, "HubSpot rejected hsperm's token (401)", "auth")
    if kind == "not_configured":
        return Gap(topic, "hsperm has no HubSpot token for this portal", "not_configured")
    if status == 403:
        reason = "HubSpot refused the read (403)"
        if tier_note:
            reason += f"; {tier_note}"
        return Gap(topic, reason, "tier")
    if kind == "unavailable" or (status is not None and status >= 500):
        what = f"HubSpot had a server error (HTTP {status})" if status else "HubSpot did not answer"
        return Gap(topic, f"{what}; try again shortly", "unavailable")
    label = f"HTTP {status}" if status else "an unreadable answer"
    return Gap(topic, f"HubSpot answered the read with {label}", "error")


# --------------------------------------------------------------------------------------------
# Statements
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One statement from HubSpot's records: what happened, who did it, when, and what to do."""

    kind: str
    text: str
    when: datetime | None = None
    actor: str | None = None
    event_type: str | None = None
    event_id: str | None = None
    advice: str | None = None
    link: str | None = None

    @property
    def line(self) -> str:
        return f"{self.text} {self.advice}" if self.advice else self.text

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "text": self.text,
            "when": self.when.isoformat(timespec="seconds") if self.when else None,
            "actor": self.actor,
            "event_type": self.event_type,
            "event_id": self.event_id,
            "advice": self.advice,
            "link": self.link,
        }


@dataclass(frozen=True)
class Forensics:
    """A titled group of findings and gaps, the unit every surface renders."""

    title: str
    findings: tuple[Finding, ...] = ()
    gaps: tuple[Gap, ...] = ()
    #: what the findings covered ("the 7 days before the paste")
    scope_note: str | None = None

    @property
    def empty(self) -> bool:
        return not self.findings and not self.gaps

    def lines(self) -> list[str]:
        return [f.line for f in self.findings] + [g.text for g in self.gaps]

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "scope_note": self.scope_note,
            "findings": [f.to_dict() for f in self.findings],
            "gaps": [g.to_dict() for g in self.gaps],
        }


def format_when(when: datetime, now: datetime | None = None) -> str:
    """`14:01 UTC` today, `28 Nov 14:01 UTC` this year, `28 Nov 2025 14:01 UTC` before."""
    when = when.astimezone(UTC)
    clock = when.strftime("%H:%M UTC")
    if now is not None and when.date() == now.astimezone(UTC).date():
        return clock
    day = f"{when.day} {when.strftime('%b')}"
    if now is None or when.year != now.astimezone(UTC).year:
        day += f" {when.year}"
    return f"{day} {clock}"


def _ago(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 90:
        return "about a minute"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours < 36:
        return f"{hours} hours"
    return f"{round(seconds / 86400)} days"


def actor_name(event: SecurityEvent, names: Mapping[str, str] | None = None) -> str:
    """Who acted, by name when the users API knows them (by id, then by email)."""
    names = names or {}
    if event.user_id and event.user_id in names:
        return names[event.user_id]
    if event.acting_email and event.acting_email.lower() in names:
        return names[event.acting_email.lower()]
    if event.acting_email:
        return event.acting_email
    if event.user_id:
        return f"user {event.user_id}"
    return "an unknown user"


def _link(url: str | None) -> str | None:
    """`infoUrl` comes without a scheme in HubSpot's example (`app.hubspot.com/settings/…`)."""
    if not url:
        return None
    return url if "://" in url else f"https://{url.lstrip('/')}"


# --------------------------------------------------------------------------------------------
# Token forensics
# --------------------------------------------------------------------------------------------

#: type -> (what happened, what to do). `{object}` is the record's object id when it has one.
TOKEN_EVENTS: dict[str, tuple[str, str]] = {
    "PRIVATE_APP_ACCESS_TOKEN_ROTATE": (
        "a private app's access token{object} was rotated",
        "If the failing integration uses that app, copy the app's current token "
        f"({PRIVATE_APP_TOKEN_PAGE}) into the integration's secret.",
    ),
    "PRIVATE_APP_ACCESS_TOKEN_DEACTIVATE": (
        "a private app's access token{object} was deactivated",
        f"A deactivated token no longer works: give the integration the app's current token ({PRIVATE_APP_TOKEN_PAGE}).",
    ),
    "PRIVATE_APP_SCOPE_GROUPS_UPDATE": (
        "a private app's scopes{object} were changed",
        "The record does not say which scopes: compare the app's Scopes tab with the scopes the error names.",
    ),
    "SERVICE_KEY_ROTATE": (
        "a service key{object} was rotated",
        "If the failing integration uses that key, give it the key's current value.",
    ),
    "SERVICE_KEY_DEACTIVATE": (
        "a service key{object} was deactivated",
        "A deactivated key no longer works: the integration needs a current key.",
    ),
    "SERVICE_KEY_PERMISSIONS_UPDATE": (
        "a service key's permissions{object} were changed",
        "The record does not say which: compare the key's scopes with the scopes the error names.",
    ),
    "UNINSTALL_INTEGRATION": (
        "an app{object} was uninstalled",
        "If that is the failing integration's app, its tokens no longer work: install it again and reconnect.",
    ),
    "INSTALL_INTEGRATION": (
        "an app{object} was installed or reinstalled",
        "A reinstall grants the scopes the install URL asked for at that moment; check that they include the ones "
        "the error names.",
    ),
    "PUBLIC_APP_CLIENT_SECRET_WRITE": (
        "a public app's client secret{object} was changed",
        "Token refreshes with the old secret fail: update the client secret the integration uses.",
    ),
    "PERSONAL_ACCESS_KEY_ROTATE": (
        "a personal access key{object} was rotated",
        "Tools using the old key (the HubSpot CLI) need the new one.",
    ),
    "PERSONAL_ACCESS_KEY_DEACTIVATE": (
        "a personal access key{object} was deactivated",
        "Tools using it (the HubSpot CLI) need a new key.",
    ),
}

#: Which events can explain which diagnosis kind (DESIGN §2 kinds).
_ROTATION = (
    "PRIVATE_APP_ACCESS_TOKEN_ROTATE",
    "PRIVATE_APP_ACCESS_TOKEN_DEACTIVATE",
    "SERVICE_KEY_ROTATE",
    "SERVICE_KEY_DEACTIVATE",
    "UNINSTALL_INTEGRATION",
    "PERSONAL_ACCESS_KEY_ROTATE",
    "PERSONAL_ACCESS_KEY_DEACTIVATE",
)
_SCOPE_CHANGE = (
    "PRIVATE_APP_SCOPE_GROUPS_UPDATE",
    "SERVICE_KEY_PERMISSIONS_UPDATE",
    "INSTALL_INTEGRATION",
    "UNINSTALL_INTEGRATION",
)
TOKEN_KINDS: dict[str, tuple[str, ...]] = {
    "invalid_token": _ROTATION,
    "expired_token": _ROTATION,
    "missing_scopes": _SCOPE_CHANGE,
    "refresh_token_error": ("UNINSTALL_INTEGRATION", "PUBLIC_APP_CLIENT_SECRET_WRITE"),
}
#: What "nothing found" covers, per kind, for the negative statement.
_NOTHING_OF: dict[str, str] = {
    "invalid_token": "no token rotation or deactivation and no app uninstall",
    "expired_token": "no token rotation or deactivation and no app uninstall",
    "missing_scopes": "no private app scope change, service key permission change or app (re)install",
    "refresh_token_error": "no app uninstall and no client secret change",
}


def token_window(anchor: datetime, lookback: timedelta = LOOKBACK) -> tuple[datetime, datetime]:
    """The security-log window that can explain an error seen at `anchor`."""
    return anchor - lookback, anchor + AFTER_PASTE_SLACK


def token_forensics(
    events: Sequence[SecurityEvent] | Gap,
    *,
    kind: str,
    anchor: datetime,
    now: datetime,
    pasted: bool = True,
    names: Mapping[str, str] | None = None,
    app_id: str | None = None,
    lookback: timedelta = LOOKBACK,
    truncated: bool = False,
) -> Forensics:
    """What the security log says about a token failing at `anchor` (the paste's time, or now).

    `kind` is the diagnosis kind; `app_id`, when known, marks records about that very app.
    """
    title = "What changed (HubSpot's security log)"
    relevant = TOKEN_KINDS.get(kind)
    start, end = token_window(anchor, lookback)
    moment = "the paste" if pasted else "this check"
    days = round(lookback.total_seconds() / 86400)
    note = f"the {days} days before {moment} ({format_when(start, now)} to {format_when(anchor, now)})"
    if relevant is None:
        return Forensics(title, scope_note=note)
    if isinstance(events, Gap):
        return Forensics(title, gaps=(events,), scope_note=note)

    chosen = sorted(
        (e for e in events if e.type in relevant and start <= e.created_at <= end),
        key=lambda e: e.created_at,
        reverse=True,
    )
    findings: list[Finding] = []
    for event in chosen:
        what, advice = TOKEN_EVENTS[event.type]
        mine = app_id is not None and event.object_id == app_id
        obj = f" (id {event.object_id})" if event.object_id else ""
        if mine:
            obj = f" (this app, id {app_id})"
        actor = actor_name(event, names)
        delta = anchor - event.created_at
        rel = f", {_ago(abs(delta))} {'before' if delta >= timedelta(0) else 'after'} {moment}"
        sentence = f"{what.format(object=obj)} by {actor} at {format_when(event.created_at, now)}{rel}."
        findings.append(
            Finding(
                kind=event.type.lower(),
                text=sentence[0].upper() + sentence[1:],
                when=event.created_at,
                actor=actor,
                event_type=event.type,
                event_id=event.id,
                advice=advice,
                link=_link(event.info_url),
            )
        )
    gaps: tuple[Gap, ...] = ()
    if truncated:
        gaps = (
            Gap(
                "older records in that window",
                "the log has more records than hsperm reads per check (it reads the newest)",
                "error",
            ),
        )
    if not findings:
        findings.append(
            Finding(
                kind="nothing_found",
                text=f"HubSpot's security log shows {_NOTHING_OF[kind]} in {note}.",
            )
        )
    return Forensics(title, tuple(findings), gaps, note)


# --------------------------------------------------------------------------------------------
# User forensics
# --------------------------------------------------------------------------------------------

#: type -> sentence about the user; `{name}` is the user the event is about.
USER_EVENTS: dict[str, str] = {
    "ADD_USER": "{name} was added to the account",
    "REMOVE_USER": "{name} was removed from the account",
    "DEACTIVATE_USER": "{name} was deactivated",
    "REACTIVATE_USER": "{name} was reactivated",
    "ADD_ADMIN_PERMISSIONS": "{name} was given admin permissions",
    "REMOVE_ADMIN_PERMISSIONS": "{name}'s admin permissions were removed",
    "ADD_ADMIN_USER": "{name} was made an admin user",
    "REMOVE_ADMIN_USER": "{name} was removed as an admin user",
    "TEAM_USER_ADDED": "{name} was added to a team",
    "TEAM_USER_DELETED": "{name} was removed from a team",
}
#: Changes that apply only after the user logs out and back in (HubSpot KB).
RELOGIN_EVENTS = frozenset(
    {
        "ADD_ADMIN_PERMISSIONS",
        "REMOVE_ADMIN_PERMISSIONS",
        "ADD_ADMIN_USER",
        "REMOVE_ADMIN_USER",
        "TEAM_USER_ADDED",
        "TEAM_USER_DELETED",
    }
)
_TEAM_EVENTS = frozenset({"TEAM_USER_ADDED", "TEAM_USER_DELETED"})
_ADMIN_EVENTS = RELOGIN_EVENTS - _TEAM_EVENTS


def last_successful_login(logins: Iterable[LoginRecord], user_id: str | None = None) -> LoginRecord | None:
    """The newest record with `loginSucceeded: true` (for `user_id`, when records name users)."""
    mine = [r for r in logins if r.succeeded and (user_id is None or r.user_id is None or r.user_id == str(user_id))]
    return max(mine, key=lambda r: r.login_at, default=None)


def _team_list(teams: Sequence[str]) -> str:
    if not teams:
        return "no team"
    if len(teams) == 1:
        return f"team {teams[0]}"
    return "teams " + ", ".join(teams[:-1]) + " and " + teams[-1]


def user_forensics(
    events: Sequence[SecurityEvent] | Gap,
    logins: Sequence[LoginRecord] | Gap,
    *,
    user_id: str,
    name: str,
    now: datetime,
    current_teams: Sequence[str] | None = None,
    super_admin: bool | None = None,
    names: Mapping[str, str] | None = None,
    lookback: timedelta = LOOKBACK,
    truncated: bool = False,
) -> Forensics:
    """Recent changes *about* one user, who made them, and whether the user has logged in since.

    `events` is the account's security log for the window (every acting user); the ones about
    this user are those whose `objectId` is `user_id`. `current_teams` are team names from the
    users API, since the log does not say which team changed.
    """
    title = f"What changed for {name} (HubSpot's security log and login history)"
    days = round(lookback.total_seconds() / 86400)
    note = f"the last {days} days"
    findings: list[Finding] = []
    gaps: list[Gap] = []
    uid = str(user_id)

    about: list[SecurityEvent] = []
    if isinstance(events, Gap):
        gaps.append(events)
    else:
        start = now - lookback
        about = sorted(
            (e for e in events if e.object_id == uid and e.type in USER_EVENTS and e.created_at >= start),
            key=lambda e: e.created_at,
            reverse=True,
        )
        for event in about:
            actor = actor_name(event, names)
            sentence = f"{USER_EVENTS[event.type].format(name=name)} by {actor} at {format_when(event.created_at, now)}"
            if event.type in _TEAM_EVENTS and current_teams is not None:
                sentence += f" (the log does not say which team; {name} is now on {_team_list(current_teams)})"
            elif event.type in _ADMIN_EVENTS and super_admin is not None:
                sentence += f" ({name} is {'' if super_admin else 'not '}a Super Admin now)"
            findings.append(
                Finding(
                    kind=event.type.lower(),
                    text=sentence + ".",
                    when=event.created_at,
                    actor=actor,
                    event_type=event.type,
                    event_id=event.id,
                    link=_link(event.info_url),
                )
            )
        if not about:
            findings.append(
                Finding(
                    kind="nothing_found",
                    text=f"HubSpot's security log shows no change to {name}'s user, admin rights or teams in {note} "
                    "(it does not record permission set changes).",
                )
            )
        if truncated:
            gaps.append(
                Gap(
                    f"older changes to {name} in {note}",
                    "the log has more records than hsperm reads per check (it reads the newest)",
                )
            )

    if isinstance(logins, Gap):
        gaps.append(logins)
        return Forensics(title, tuple(findings), tuple(gaps), note)
    last = last_successful_login(logins, uid)
    if last is None:
        findings.append(
            Finding(
                kind="no_login",
                text=f"{name} has no successful login in HubSpot's login history (it covers {LOGIN_HISTORY_DAYS} days).",
            )
        )
    else:
        findings.append(
            Finding(kind="last_login", text=f"Last successful login: {format_when(last.login_at, now)}.", when=last.login_at)
        )
    pending = [e for e in about if e.type in RELOGIN_EVENTS and (last is None or e.created_at > last.login_at)]
    if pending:
        newest = pending[0]
        what = "team membership" if newest.type in _TEAM_EVENTS else "admin rights"
        changed = format_when(newest.created_at, now)
        if last is not None:
            text = f"{name}'s {what} changed ({changed}) after {name}'s last login ({format_when(last.login_at, now)})."
        else:
            text = f"{name}'s {what} changed ({changed}) and {name} has not logged in since."
        findings.append(
            Finding(
                kind="relogin_needed",
                text=text,
                when=newest.created_at,
                advice=f"HubSpot applies permission changes at the next login: {name} must log out and back in.",
            )
        )
    return Forensics(title, tuple(findings), tuple(gaps), note)


def logged_in_since(
    logins: Sequence[LoginRecord] | Gap, *, user_id: str, name: str, since: datetime, now: datetime
) -> Finding | Gap:
    """After an approved fix: has the user logged in since (so that the fix applies)?"""
    if isinstance(logins, Gap):
        return logins
    last = last_successful_login(logins, user_id)
    if last is not None and last.login_at >= since:
        return Finding(
            kind="logged_in_since_fix",
            text=f"{name} has logged in since the fix (last successful login {format_when(last.login_at, now)}), "
            "so the change applies.",
            when=last.login_at,
        )
    return Finding(
        kind="not_logged_in_since_fix",
        text=f"{name} has not yet logged in since the fix ({format_when(since, now)}).",
        advice=f"HubSpot applies permission changes at the next login: {name} must log out and back in.",
        when=last.login_at if last else None,
    )


# --------------------------------------------------------------------------------------------
# The daily API budget and seats
# --------------------------------------------------------------------------------------------


def daily_usage(rows: Sequence[ApiUsage] | Gap, *, now: datetime) -> Forensics:
    """On a DAILY 429: how much of the account's shared private-app budget is used, and when it resets."""
    title = "Private apps' daily API budget"
    if isinstance(rows, Gap):
        return Forensics(title, gaps=(rows,))
    row = next((r for r in rows if r.name == DAILY_USAGE_NAME), rows[0] if rows else None)
    if row is None or row.usage_limit is None or row.current_usage is None:
        gap = Gap("the private apps' daily API usage", "HubSpot's answer had no usage figures", "error")
        return Forensics(title, gaps=(gap,))
    pct = 100.0 * row.current_usage / row.usage_limit if row.usage_limit else 100.0
    text = (
        f"Private apps in this account have used {row.current_usage:,} of {row.usage_limit:,} daily API calls ({pct:.0f}%)"
    )
    if row.collected_at:
        text += f" as of {format_when(row.collected_at, now)}"
    text += "; the daily limit is shared by every private app in the account."
    if row.resets_at:
        left = row.resets_at - now
        reset = f"It resets at {format_when(row.resets_at, now)}"
        reset += f" (in {_ago(left)})." if left > timedelta(0) else "."
    else:
        reset = "It resets at midnight in the account's time zone."
    advice = None
    if row.current_usage >= row.usage_limit:
        advice = "Calls fail with 429 until then: pause the heaviest integration, or batch its calls."
    return Forensics(
        title,
        (Finding(kind="daily_usage", text=f"{text} {reset}", when=row.collected_at, advice=advice),),
    )


def seat_check(seats: Sequence[Seat] | Gap, seat_name: str) -> Finding | Gap:
    """Before proposing a change that needs a paid seat: is one left?"""
    if isinstance(seats, Gap):
        return seats
    wanted = seat_name.strip().lower()
    seat = next((s for s in seats if s.name.lower() == wanted), None)
    label = seat.name if seat else seat_name
    if seat is None:
        return Finding(
            kind="seat_unknown",
            text=f"This account has no {label} seat type: HubSpot lists {', '.join(s.name for s in seats) or 'none'}.",
        )
    if seat.remaining is None:
        return Gap(f"how many {label} seats are left", "HubSpot did not say (no `remainingSeats`)", "error")
    if seat.remaining <= 0:
        return Finding(
            kind="no_seat_left",
            text=f"No {label} seat is left (0 remaining).",
            advice=f"Buy a {label} seat, or take one from a user who no longer needs it, before this change.",
        )
    return Finding(kind="seat_available", text=f"{seat.remaining} {label} seat{'s' if seat.remaining != 1 else ''} left.")
