"""Which HubSpot token serves which portal, and what to tell an operator when none does.

`HUBSPOT_PORTAL_TOKENS` first, then `HUBSPOT_ACCESS_TOKEN`. A default token used for a portal it
was not configured for is flagged (`is_fallback`) so callers check the token's hub id before
trusting the answers. Tokens never leave this object except in an Authorization header.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.hubspot.errors import HubSpotConfigError
from bot.redact import redact_values


class Tokens:
    def __init__(
        self,
        access_token: str | None = None,
        portal_tokens: Mapping[str, str] | None = None,
        *,
        client_secret: str | None = None,
    ) -> None:
        self._default = access_token or None
        self._portals = {str(k): v for k, v in (portal_tokens or {}).items() if v}
        #: not a token, but as secret: masked wherever tokens are
        self._client_secret = client_secret or None

    def __repr__(self) -> str:
        return f"default_token={'set' if self._default else 'unset'}, portals={sorted(self._portals)}"

    @property
    def configured(self) -> bool:
        return bool(self._default or self._portals)

    @property
    def portals(self) -> tuple[str, ...]:
        return tuple(sorted(self._portals))

    @property
    def secrets(self) -> list[str]:
        return [t for t in (self._default, *self._portals.values(), self._client_secret) if t]

    def redact(self, text: str) -> str:
        return redact_values(text, self.secrets)

    def is_fallback(self, portal_id: str | None) -> bool:
        """True when a portal was named but only the default token (of unknown portal) can serve it."""
        return bool(portal_id) and str(portal_id) not in self._portals

    def for_portal(self, portal_id: str | None) -> str:
        """The token to use, or HubSpotConfigError naming the setting to fix."""
        if portal_id:
            token = self._portals.get(str(portal_id)) or self._default
            if token:
                return token
            raise HubSpotConfigError(
                f"hsperm has no HubSpot token for portal {portal_id}: add `{portal_id}=<token>` to "
                f"HUBSPOT_PORTAL_TOKENS (configured portals: {', '.join(self.portals) or 'none'}).",
                portal_id=str(portal_id),
            )
        if self._default:
            return self._default
        if len(self._portals) == 1:
            return next(iter(self._portals.values()))
        if self._portals:
            raise HubSpotConfigError(
                "Several HubSpot portals are configured; say which one "
                f"(one of {', '.join(self.portals)}), or set HUBSPOT_ACCESS_TOKEN as the default."
            )
        raise HubSpotConfigError(
            "No HubSpot token is configured: set HUBSPOT_ACCESS_TOKEN to a private app token "
            "(or HUBSPOT_PORTAL_TOKENS=portalId=token,... for several portals)."
        )

    def setting_for(self, portal_id: str | None) -> str:
        """The setting an operator edits to replace the token used for this portal."""
        if portal_id in self._portals:
            return f"HUBSPOT_PORTAL_TOKENS ({portal_id}=...)"
        if not self._default and len(self._portals) == 1:
            return "HUBSPOT_PORTAL_TOKENS"
        return "HUBSPOT_ACCESS_TOKEN"

    def kind_hint(self, portal_id: str | None) -> str | None:
        """"private_app" when the token's prefix says so; None when unknown (or no token)."""
        try:
            token = self.for_portal(portal_id)
        except HubSpotConfigError:
            return None
        return "private_app" if token.startswith("pat-") else None
