"""Token forensics: which security-log records can explain an expired, invalid or under-scoped token."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from bot.forensics.records import AFTER_PASTE_SLACK, LOOKBACK, PRIVATE_APP_TOKEN_PAGE, SecurityEvent
from bot.forensics.statements import Finding, Forensics, Gap, actor_name, ago, format_when, info_link

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
_NO_ROTATION = "no token rotation or deactivation and no app uninstall"
_NO_REINSTALL = "no app uninstall and no client secret change"
_NOTHING_OF: dict[str, str] = {
    "invalid_token": _NO_ROTATION,
    "expired_token": _NO_ROTATION,
    "missing_scopes": "no private app scope change, service key permission change or app (re)install",
    "refresh_token_error": _NO_REINSTALL,
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
        rel = f", {ago(abs(delta))} {'before' if delta >= timedelta(0) else 'after'} {moment}"
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
                link=info_link(event.info_url),
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
