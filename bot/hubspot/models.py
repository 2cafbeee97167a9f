"""Typed views of HubSpot's answers: what the endpoints return, without the JSON's loose edges.

Each `from_api` accepts the documented shape and tolerates missing optional fields; a missing
required one raises KeyError, which the client turns into `HubSpotBadResponse`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TICKET_OBJECT_TYPE_ID = "0-5"
TICKET_PROPERTIES = ("subject", "hs_pipeline", "hs_pipeline_stage", "hubspot_owner_id", "hubspot_team_id")


def str_or_none(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def str_tuple(value: Any) -> tuple[str, ...]:
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
        role_ids = str_tuple(data.get("roleIds"))
        role_id = str_or_none(data.get("roleId"))
        if role_id and role_id not in role_ids:
            role_ids = (role_id, *role_ids)
        return cls(
            id=str(data["id"]),
            email=str(data.get("email") or ""),
            first_name=str_or_none(data.get("firstName")),
            last_name=str_or_none(data.get("lastName")),
            role_id=role_id,
            role_ids=role_ids,
            primary_team_id=str_or_none(data.get("primaryTeamId")),
            secondary_team_ids=str_tuple(data.get("secondaryTeamIds")),
            seat_names=str_tuple(data.get("seatNames")),
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
            str_tuple(data.get("userIds")),
            str_tuple(data.get("secondaryUserIds")),
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
            email=str_or_none(data.get("email")),
            first_name=str_or_none(data.get("firstName")),
            last_name=str_or_none(data.get("lastName")),
            user_id=str_or_none(user_id),
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
            properties={str(k): str_or_none(v) for k, v in props.items()},
            url=str_or_none(data.get("url")),
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
