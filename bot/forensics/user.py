"""User forensics: changes *about* a user (records whose `objectId` is the user), who made them,
and whether the user has logged in since (HubSpot applies permission changes at the next login).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from bot.forensics.records import LOGIN_HISTORY_DAYS, LOOKBACK, LoginRecord, SecurityEvent
from bot.forensics.statements import Finding, Forensics, Gap, actor_name, format_when, info_link

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
                    link=info_link(event.info_url),
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
