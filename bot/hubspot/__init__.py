"""HubSpot's API as hsperm uses it: typed models, errors that say what to fix, one client.

Layout: `models` (typed answers), `errors` (the exception classes), `translate` (error responses
to exceptions, scope advice), `tokens` (which token serves which portal), `transport` (HTTP,
retries, throttling), `client` (the endpoints). Import from here; the modules are the map.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from bot.hubspot.client import HubSpotClient
from bot.hubspot.errors import (
    HubSpotAuthError,
    HubSpotBadResponse,
    HubSpotConfigError,
    HubSpotError,
    HubSpotForbiddenError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotTokenUnknown,
    HubSpotUnavailable,
)
from bot.hubspot.models import HubSpotUser, Owner, PermittedUsers, RateLimitStatus, Role, Team, Ticket, TokenInfo
from bot.hubspot.translate import parse_retry_after, recommend_scope, scope_advice, scopes_from_body
from bot.redact import RedactingFilter

#: Loggers that can see a token: ours, and urllib3's request lines (the OAuth introspection path
#: carries the token in its URL).
LOGGERS = ("bot.hubspot", "urllib3.connectionpool")
_filters: dict[str, RedactingFilter] = {}


def redact_logs(tokens: Iterable[str | None]) -> None:
    """Mask these tokens in every record of `LOGGERS`, whatever handlers exist; call at wiring time.

    Idempotent: calling it again replaces the filter, so a process holds one filter per logger.
    """
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if name in _filters:
            logger.removeFilter(_filters[name])
        _filters[name] = RedactingFilter(tokens)
        logger.addFilter(_filters[name])


__all__ = [
    "LOGGERS",
    "HubSpotAuthError",
    "HubSpotBadResponse",
    "HubSpotClient",
    "HubSpotConfigError",
    "HubSpotError",
    "HubSpotForbiddenError",
    "HubSpotNotFound",
    "HubSpotRateLimited",
    "HubSpotScopeError",
    "HubSpotTokenUnknown",
    "HubSpotUnavailable",
    "HubSpotUser",
    "Owner",
    "PermittedUsers",
    "RateLimitStatus",
    "Role",
    "Team",
    "Ticket",
    "TokenInfo",
    "parse_retry_after",
    "recommend_scope",
    "redact_logs",
    "scope_advice",
    "scopes_from_body",
]
