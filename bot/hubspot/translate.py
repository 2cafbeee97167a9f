"""HubSpot's error responses turned into the most specific exception, with a sentence to act on.

Only HubSpot's documented JSON fields are read here (status, category, `context` scopes,
`policyName`); what the error *means* for a person is the diagnosis engine's job, which services
run on `HubSpotError.body` when they need it.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.hubspot.errors import (
    HubSpotAuthError,
    HubSpotError,
    HubSpotForbiddenError,
    HubSpotNotFound,
    HubSpotRateLimited,
    HubSpotScopeError,
    HubSpotUnavailable,
)
from bot.hubspot.models import str_or_none
from knowledge import catalog

#: How much of an error body an exception keeps (enough for any documented HubSpot error).
BODY_LIMIT = 65536


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
    if token_kind == "oauth":  # noqa: S105  # nosec B105  # a token kind, not a password
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


@dataclass(frozen=True)
class Call:
    """What the caller was doing, for the message: `what` in words, `endpoint` token-free."""

    what: str
    endpoint: str
    portal_id: str | None
    #: "private_app" when the token's prefix says so, else None (unknown)
    token_kind: str | None
    #: the setting an operator edits to replace this portal's token
    setting: str


def error_from_response(
    status: int, headers: Mapping[str, str], text: str, call: Call, redact: Callable[[str], str]
) -> HubSpotError:
    """The exception for one error response; `text` is the raw body, redacted before it is kept."""
    text = text[:BODY_LIMIT]
    try:
        body = json.loads(text) if text.strip() else {}
    except ValueError:
        body = {}
    if not isinstance(body, Mapping):
        body = {}
    category = str_or_none(body.get("category")) or str_or_none(body.get("errorType"))
    correlation_id = str_or_none(body.get("correlationId")) or headers.get("X-HubSpot-Correlation-Id")
    hubspot_message = redact(str(body.get("message") or ""))[:300] or None
    common: dict[str, Any] = {
        "status": status,
        "category": category,
        "correlation_id": correlation_id,
        "endpoint": call.endpoint,
        "portal_id": call.portal_id,
        "hubspot_message": hubspot_message,
        "body": redact(text) if text.strip() else None,
    }
    said = f" HubSpot said: “{hubspot_message}”" if hubspot_message else ""
    ref = f" (correlation id {correlation_id})" if correlation_id else ""
    if status == 403 and (category == "MISSING_SCOPES" or scopes_from_body(body)):
        scopes = scopes_from_body(body)
        advice = scope_advice(scopes, call.token_kind, call.what)
        return HubSpotScopeError(advice + ref, scopes=scopes, recommended=recommend_scope(scopes), **common)
    if status == 401:
        return HubSpotAuthError(_auth_message(category, text, call) + ref, **common)
    if status == 403:
        return HubSpotForbiddenError(_forbidden_message(category, text, call.what, said) + ref, **common)
    if status == 404:
        return HubSpotNotFound(f"HubSpot found nothing while {call.what} (404).{said}{ref}", **common)
    if status == 429 or category in ("RATE_LIMITS", "RATE_LIMIT"):
        return _rate_limited(body, headers, call.what, ref, common)
    if status >= 500:
        return HubSpotUnavailable(
            f"HubSpot had a server error (HTTP {status}) while {call.what}, even after retrying; try again shortly.{ref}",
            **common,
        )
    label = f"HTTP {status} {category}" if category else f"HTTP {status}"
    return HubSpotError(f"HubSpot rejected {call.what} ({label}).{said}{ref}", **common)


def _auth_message(category: str | None, text: str, call: Call) -> str:
    portal = f" for portal {call.portal_id}" if call.portal_id else ""
    if category == "EXPIRED_AUTHENTICATION" and "1970-01-01" not in text:
        return (
            f"hsperm's HubSpot OAuth token{portal} has expired while {call.what}: refresh it "
            "(access tokens live 30 minutes) and update HUBSPOT_ACCESS_TOKEN."
        )
    return (
        f"HubSpot rejected hsperm's token{portal} while {call.what} "
        f"(401 {category or 'unauthorized'}): it is invalid, revoked or rotated, or belongs to "
        f"another data centre. Copy the current access token of hsperm's app into {call.setting}."
    )


def _forbidden_message(category: str | None, text: str, what: str, said: str) -> str:
    if category == "USER_DOES_NOT_HAVE_PERMISSIONS" or "USER_DOES_NOT_HAVE_PERMISSIONS" in text:
        return (
            f"HubSpot refused {what} (403 USER_DOES_NOT_HAVE_PERMISSIONS): the user who created "
            "hsperm's private app token may have been removed; rotate the token as a current user."
        )
    return f"HubSpot refused {what} (403 {category or 'forbidden'}).{said}"


def _rate_limited(
    body: Mapping[str, Any], headers: Mapping[str, str], what: str, ref: str, common: dict[str, Any]
) -> HubSpotRateLimited:
    policy = str_or_none(body.get("policyName"))
    retry_after = parse_retry_after(headers.get("Retry-After"))
    if policy == "DAILY":
        when = "after midnight in the portal's timezone"
    else:
        when = f"in {retry_after:g} s" if retry_after is not None else "in a few seconds"
    return HubSpotRateLimited(
        f"HubSpot's rate limit{(' (' + policy + ')') if policy else ''} stopped {what}; "
        f"hsperm retried and gave up. Try again {when}.{ref}",
        retry_after=retry_after,
        policy=policy,
        **common,
    )
