"""The vocabulary of forensics: a `Finding` (what happened, who, when, what to do), a `Gap`
(what could not be read and why) and `Forensics`, a titled group of both that every surface renders.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.forensics.records import SecurityEvent


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


def ago(delta: timedelta) -> str:
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


def info_link(url: str | None) -> str | None:
    """`infoUrl` comes without a scheme in HubSpot's example (`app.hubspot.com/settings/…`)."""
    if not url:
        return None
    return url if "://" in url else f"https://{url.lstrip('/')}"
