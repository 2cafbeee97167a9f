"""Why a HubSpot call failed, as exceptions whose `str()` an admin can act on.

The classes follow what a caller does next (fix the token, add a scope, wait, give up), not
HubSpot's status codes one by one. No exception ever holds a token: messages and bodies are
redacted before they are built.
"""

from __future__ import annotations

from typing import Any


class HubSpotError(Exception):
    """A HubSpot call failed. `str()` is a friendly, token-free sentence for people.

    `status`, `category` and `correlation_id` are HubSpot's own (the correlation id is what
    HubSpot support asks for). `body` is the error body as HubSpot sent it, redacted and clipped:
    reading it is for the service that needs to (the transport does not interpret it).
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
        body: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.category = category
        self.correlation_id = correlation_id
        self.endpoint = endpoint
        self.portal_id = portal_id
        self.hubspot_message = hubspot_message
        self.body = body

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


class HubSpotTokenUnknown(HubSpotError):
    """No introspection endpoint could say what hsperm's token is, and none said it is invalid.

    Not an auth error: the token may work perfectly (a deprecated endpoint may simply be gone), so
    reports say "unknown", never "revoked".
    """


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
