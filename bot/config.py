"""Settings from the environment (and a `.env` file), validated once at start-up.

Every variable is documented in `.env.example` and the README. Errors name the variable so an
operator can fix a deployment from the first log line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_HUBSPOT_API_URL = "https://api.hubapi.com"
DEFAULT_DATABASE_URL = "sqlite:///hsperm.db"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    hubspot_access_token: str | None = None
    #: portal id -> token, from HUBSPOT_PORTAL_TOKENS
    hubspot_portal_tokens: Mapping[str, str] = field(default_factory=dict)
    hubspot_api_url: str = DEFAULT_HUBSPOT_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    approvers: tuple[str, ...] = ()
    approval_channel: str | None = None
    approval_ttl_hours: float = 24.0
    #: who may run live lookups and request fixes; () = members of the installing workspace
    lookup_allowed: tuple[str, ...] = ()
    #: bot ids whose messages are answered; ("all",) answers every bot
    answer_bots: tuple[str, ...] = ()
    port: int = 3000
    #: Interface `serve` binds in HTTP mode (HOST); loopback unless an operator opens it up.
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    #: "json" (one object per line, for log pipelines) or "text" (for people)
    log_format: str = "json"
    #: HubSpot app credentials for OAuth token introspection (v3); optional.
    hubspot_client_id: str | None = None
    hubspot_client_secret: str | None = None
    #: When set, `GET /metrics` requires `Authorization: Bearer <METRICS_TOKEN>`.
    metrics_token: str | None = None
    #: Every PostgreSQL call (waiting for a connection included) gives up after this long.
    database_timeout_seconds: float = 1.0
    #: PostgreSQL connections per process.
    database_pool_size: int = 10
    #: Slow work (a reply) retries an unavailable database for this long before answering anyway.
    store_retry_seconds: float = 10.0
    #: A reply to Slack not delivered within this long is given up (logged once, its claim released).
    reply_deadline_seconds: float = 20.0
    #: Longest wait honoured from Slack's Retry-After; a longer one gives up the reply instead.
    slack_retry_after_cap_seconds: float = 5.0
    #: auth.test is repeated in the background this often (it runs once at start-up, never in an ack).
    slack_auth_refresh_seconds: float = 3600.0
    #: Live lookups one Slack user may start per minute (per instance).
    lookups_per_user_per_minute: int = 6
    #: Live lookups running at once against one HubSpot portal (per instance).
    lookups_per_portal: int = 4

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; tokens must not.
        shown = {
            "slack_bot_token": _presence(self.slack_bot_token),
            "slack_signing_secret": _presence(self.slack_signing_secret),
            "slack_app_token": _presence(self.slack_app_token),
            "hubspot_access_token": _presence(self.hubspot_access_token),
            "hubspot_client_secret": _presence(self.hubspot_client_secret),
            "hubspot_portal_tokens": sorted(self.hubspot_portal_tokens),
            "slack_api_url": self.slack_api_url,
            "hubspot_api_url": self.hubspot_api_url,
            "database_url": _hide_password(self.database_url),
            "socket_mode": self.socket_mode,
        }
        return f"Settings({shown})"

    @property
    def secret_values(self) -> list[str]:
        """Every configured value that must never be shown, logged or stored."""
        values = [
            self.slack_bot_token,
            self.slack_signing_secret,
            self.slack_app_token,
            self.hubspot_access_token,
            self.hubspot_client_secret,
            self.metrics_token,
            *self.hubspot_portal_tokens.values(),
        ]
        password = re.search(r"://[^:/@]+:([^@]+)@", self.database_url)
        if password:
            values.append(password.group(1))
        return [v for v in values if v]

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def hubspot_configured(self) -> bool:
        return bool(self.hubspot_access_token or self.hubspot_portal_tokens)

    def answers_bot(self, bot_id: str | None) -> bool:
        return bool(bot_id) and ("all" in self.answer_bots or bot_id in self.answer_bots)

    def require_slack(self) -> None:
        """Raise unless the settings are enough to serve Slack in the selected mode."""
        if not self.slack_bot_token:
            raise ConfigError("SLACK_BOT_TOKEN is not set: copy the Bot User OAuth Token (xoxb-...) from your Slack app.")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token starting with xoxb-.")
        if self.socket_mode:
            if not self.slack_app_token.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-.")
        elif not self.slack_signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it "
                "(or set SLACK_APP_TOKEN to use Socket Mode)."
            )


#: Slack ids as HSPERM_APPROVERS and HSPERM_LOOKUP_ALLOWED accept them (bot/policy.py uses them).
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")
SLACK_GROUP_ID = re.compile(r"S[A-Z0-9]{2,}")
SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{2,}")
EVERYONE = "everyone"


def invalid_approver_ids(ids: Iterable[str]) -> list[str]:
    return [i for i in ids if not (SLACK_USER_ID.fullmatch(i) or SLACK_GROUP_ID.fullmatch(i))]


def invalid_lookup_ids(ids: Iterable[str]) -> list[str]:
    ok = (SLACK_USER_ID, SLACK_GROUP_ID, SLACK_CHANNEL_ID)
    return [i for i in ids if i != EVERYONE and not any(pattern.fullmatch(i) for pattern in ok)]


def _presence(value: str | None) -> str:
    return "set" if value else "unset"


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def _split_list(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def parse_portal_tokens(raw: str | None) -> dict[str, str]:
    """`portalId=token,portalId=token` -> {portalId: token}; errors never echo a token."""
    tokens: dict[str, str] = {}
    for index, pair in enumerate(_split_list(raw), start=1):
        portal, sep, token = pair.partition("=")
        portal, token = portal.strip(), token.strip()
        if not sep or not portal.isdigit() or not token:
            raise ConfigError(
                f"HUBSPOT_PORTAL_TOKENS entry {index} must look like portalId=token (portal id in digits)."
            )
        tokens[portal] = token
    return tokens


def _number(env: Mapping[str, str], name: str, default: float, kind: type) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {raw!r}.")
    return value


def _bounded(env: Mapping[str, str], name: str, default: float, kind: type, low: float, high: float) -> float:
    """A positive number within [low, high]: an operator's typo (ms for s) fails at start-up, not at 3 a.m."""
    value = _number(env, name, default, kind)
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value:g}.")
    return value


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read settings from `env` (default: os.environ, after loading `.env` without overriding)."""
    if env is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(override=False)
        env = os.environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    for name in invalid_approver_ids(_split_list(get("HSPERM_APPROVERS"))):
        raise ConfigError(f"HSPERM_APPROVERS entry {name!r} is not a Slack user id (U…/W…) or user-group id (S…).")
    for name in invalid_lookup_ids(_split_list(get("HSPERM_LOOKUP_ALLOWED"))):
        raise ConfigError(
            f"HSPERM_LOOKUP_ALLOWED entry {name!r} is not `everyone`, a Slack user id (U…/W…), user-group id (S…) "
            "or channel id (C…/G…/D…)."
        )

    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigError("DATABASE_URL must start with sqlite:///, postgres:// or postgresql://.")

    log_format = (get("LOG_FORMAT") or "json").lower()
    if log_format not in ("json", "text"):
        raise ConfigError(f"LOG_FORMAT must be json or text, got {log_format!r}.")
    client_id, client_secret = get("HUBSPOT_CLIENT_ID"), get("HUBSPOT_CLIENT_SECRET")
    if bool(client_id) != bool(client_secret):
        raise ConfigError("HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET go together: set both (or neither).")
    host = get("HOST") or "127.0.0.1"
    if not re.fullmatch(r"[A-Za-z0-9.:\[\]-]{1,255}", host):
        raise ConfigError(f"HOST must be an IP address or host name to bind, got {host!r}.")

    return Settings(
        slack_bot_token=get("SLACK_BOT_TOKEN"),
        slack_signing_secret=get("SLACK_SIGNING_SECRET"),
        slack_app_token=get("SLACK_APP_TOKEN"),
        slack_api_url=get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
        hubspot_access_token=get("HUBSPOT_ACCESS_TOKEN"),
        hubspot_portal_tokens=parse_portal_tokens(get("HUBSPOT_PORTAL_TOKENS")),
        hubspot_api_url=(get("HUBSPOT_API_URL") or DEFAULT_HUBSPOT_API_URL).rstrip("/"),
        database_url=database_url,
        approvers=_split_list(get("HSPERM_APPROVERS")),
        approval_channel=get("HSPERM_APPROVAL_CHANNEL"),
        approval_ttl_hours=_number(env, "HSPERM_APPROVAL_TTL_HOURS", 24.0, float),
        lookup_allowed=_split_list(get("HSPERM_LOOKUP_ALLOWED")),
        answer_bots=_split_list(get("HSPERM_ANSWER_BOTS")),
        port=int(_number(env, "PORT", 3000, int)),
        host=host,
        log_level=(get("LOG_LEVEL") or "INFO").upper(),
        log_format=log_format,
        hubspot_client_id=client_id,
        hubspot_client_secret=client_secret,
        metrics_token=get("METRICS_TOKEN"),
        database_timeout_seconds=_bounded(env, "DATABASE_TIMEOUT_SECONDS", 1.0, float, 0.1, 30),
        database_pool_size=int(_bounded(env, "DATABASE_POOL_SIZE", 10, int, 1, 100)),
        store_retry_seconds=_bounded(env, "HSPERM_STORE_RETRY_SECONDS", 10.0, float, 0.1, 300),
        reply_deadline_seconds=_bounded(env, "HSPERM_REPLY_DEADLINE_SECONDS", 20.0, float, 1, 600),
        slack_retry_after_cap_seconds=_bounded(env, "SLACK_RETRY_AFTER_CAP_SECONDS", 5.0, float, 0.1, 60),
        slack_auth_refresh_seconds=_bounded(env, "SLACK_AUTH_REFRESH_SECONDS", 3600.0, float, 10, 86400),
        lookups_per_user_per_minute=int(_bounded(env, "HSPERM_LOOKUPS_PER_USER_PER_MINUTE", 6, int, 1, 600)),
        lookups_per_portal=int(_bounded(env, "HSPERM_LOOKUPS_PER_PORTAL", 4, int, 1, 100)),
    )
