"""HubSpot's endpoints hsperm reads, each returning typed results (`bot.hubspot.models`).

Why a client of our own rather than the official SDK: hsperm must say *why* a call failed in
words an admin can act on (which scope to add to which token, which portal has no token), must
never leak a token into a log line or an exception, and must stay inside HubSpot's rate limits
while running several calls at once. Retries and throttling live in `transport`; this module is
the list of calls and the shapes they return.

About 470 lines: telling a token's kind takes three endpoints (private app, OAuth v3 and the
deprecated v1) and the rule for when their answers mean "invalid" rather than "unknown"; move
that to its own module if another family of calls joins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot.hubspot.activity import ActivityEndpoints
from bot.hubspot.errors import (
    HubSpotAuthError,
    HubSpotBadResponse,
    HubSpotError,
    HubSpotForbiddenError,
    HubSpotNotFound,
    HubSpotTokenUnknown,
)
from bot.hubspot.models import (
    TICKET_OBJECT_TYPE_ID,
    TICKET_PROPERTIES,
    HubSpotUser,
    Owner,
    PermittedUsers,
    RateLimitStatus,
    Role,
    Team,
    Ticket,
    TokenInfo,
    str_or_none,
    str_tuple,
)
from bot.hubspot.tokens import Tokens
from bot.hubspot.transport import Transport

if TYPE_CHECKING:
    from bot.config import Settings

#: Page size for paged lists; HubSpot's default is 100 for owners and users.
PAGE_LIMIT = 100
log = logging.getLogger("bot.hubspot")

#: Safety stop for paging loops (a cursor that never ends would otherwise spin forever).
MAX_PAGES = 200


#: v3 introspection's `token_type_hint` for the tokens hsperm calls with (§4.2).
_HINT = "access_token"
#: Errors with which an introspection endpoint answers "not this kind of token" or "not here".
_PROBE_ANSWERS = (HubSpotNotFound, HubSpotAuthError, HubSpotBadResponse, HubSpotForbiddenError, HubSpotTokenUnknown)


class HubSpotClient(ActivityEndpoints):
    """Thread-safe; one per process. Keyword arguments other than the tokens go to `Transport`."""

    def __init__(
        self,
        *,
        access_token: str | None = None,
        portal_tokens: Mapping[str, str] | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        **transport: Any,
    ) -> None:
        self.tokens = Tokens(access_token, portal_tokens, client_secret=client_secret)
        #: (client id, client secret) of the OAuth app, for v3 introspection; None when unset
        self.client_credentials = (client_id, client_secret) if client_id and client_secret else None
        self.transport = Transport(self.tokens, **transport)
        self.request = self.transport.request

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> HubSpotClient:
        """Build from `bot.config.Settings`; keyword arguments override timeouts, retries, etc."""
        return cls(
            access_token=settings.hubspot_access_token,
            portal_tokens=dict(settings.hubspot_portal_tokens),
            client_id=settings.hubspot_client_id,
            client_secret=settings.hubspot_client_secret,
            base_url=settings.hubspot_api_url,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"HubSpotClient(base_url={self.base_url!r}, {self.tokens!r})"

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> HubSpotClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def attempts(self) -> int:
        return self.transport.attempts

    @property
    def call_count(self) -> int:
        return self.transport.call_count

    @property
    def configured(self) -> bool:
        return self.tokens.configured

    @property
    def portals(self) -> tuple[str, ...]:
        return self.tokens.portals

    def token_is_fallback(self, portal_id: str | None) -> bool:
        return self.tokens.is_fallback(portal_id)

    def check_token(self, portal_id: str | None = None) -> None:
        """Raise HubSpotConfigError (a sentence naming the setting to fix) unless a token can serve."""
        self.tokens.for_portal(portal_id)

    def redact(self, text: str) -> str:
        return self.tokens.redact(text)

    def rate_limit(self, portal_id: str | None = None) -> RateLimitStatus | None:
        """The latest rate-limit headers seen for that portal's token (for `check` and logs)."""
        return self.transport.rate_limit(portal_id)

    def _get_paged(
        self, path: str, *, portal_id: str | None, params: Mapping[str, Any] | None, what: str
    ) -> Iterator[Mapping[str, Any]]:
        """Yield every result across pages, following `paging.next.after` (§1.2)."""
        query = dict(params or {})
        query.setdefault("limit", PAGE_LIMIT)
        for _ in range(MAX_PAGES):
            data = self.request("GET", path, portal_id=portal_id, params=query, what=what)
            yield from self._results(data, what, path)
            after = None
            paging = data.get("paging") if isinstance(data, Mapping) else None
            if isinstance(paging, Mapping) and isinstance(paging.get("next"), Mapping):
                after = paging["next"].get("after")
            if not after or str(after) == str(query.get("after")):
                return
            query["after"] = str(after)

    @staticmethod
    def _results(data: Any, what: str, endpoint: str) -> list[Mapping[str, Any]]:
        results = data.get("results") if isinstance(data, Mapping) else None
        if not isinstance(results, list):
            raise HubSpotBadResponse(
                f"HubSpot's answer while {what} has no `results` list; the API may have changed.",
                endpoint=endpoint,
            )
        return [r for r in results if isinstance(r, Mapping)]

    @staticmethod
    def _shape(what: str, endpoint: str, build: Callable[[], Any]) -> Any:
        try:
            return build()
        except (KeyError, TypeError, ValueError, AttributeError):
            raise HubSpotBadResponse(
                f"HubSpot's answer while {what} does not have the documented shape.", endpoint=endpoint
            ) from None

    # -- endpoints ------------------------------------------------------------------------------

    def get_user_by_email(self, email: str, portal_id: str | None = None) -> HubSpotUser:
        """Settings user by email (`idProperty=EMAIL`, §1.1); raises HubSpotNotFound if none."""
        what = f"reading HubSpot user {email}"
        data = self.request(
            "GET",
            f"/settings/v3/users/{quote(email, safe='@')}",
            portal_id=portal_id,
            params={"idProperty": "EMAIL"},
            what=what,
            endpoint="/settings/v3/users/{email}",
        )
        return self._shape(what, "/settings/v3/users/{email}", lambda: HubSpotUser.from_api(data))

    def get_user(self, user_id: str, portal_id: str | None = None) -> HubSpotUser:
        what = f"reading HubSpot user {user_id}"
        endpoint = "/settings/v3/users/{id}"
        path = f"/settings/v3/users/{user_id}"
        data = self.request("GET", path, portal_id=portal_id, what=what, endpoint=endpoint)
        return self._shape(what, endpoint, lambda: HubSpotUser.from_api(data))

    def list_users(self, portal_id: str | None = None) -> list[HubSpotUser]:
        what = "listing HubSpot users"
        rows = self._get_paged("/settings/v3/users/", portal_id=portal_id, params=None, what=what)
        return self._shape(what, "/settings/v3/users/", lambda: [HubSpotUser.from_api(r) for r in rows])

    def list_roles(self, portal_id: str | None = None) -> list[Role]:
        what = "listing permission sets (roles)"
        data = self.request("GET", "/settings/v3/users/roles", portal_id=portal_id, what=what)
        rows = self._results(data, what, "/settings/v3/users/roles")
        return self._shape(what, "/settings/v3/users/roles", lambda: [Role.from_api(r) for r in rows])

    def list_teams(self, portal_id: str | None = None) -> list[Team]:
        what = "listing teams"
        data = self.request("GET", "/settings/v3/users/teams", portal_id=portal_id, what=what)
        rows = self._results(data, what, "/settings/v3/users/teams")
        return self._shape(what, "/settings/v3/users/teams", lambda: [Team.from_api(r) for r in rows])

    def find_owner_by_email(self, email: str, portal_id: str | None = None, *, archived: bool = False) -> Owner | None:
        """The CRM owner for an email (§2), or None: not every user is an owner (and vice versa).

        `archived=True` asks for archived owners: a removed or deactivated user's owner record is
        archived and still holds the user id (`userIdIncludingInactive`).
        """
        what = f"reading the CRM owner for {email}"
        params = {"email": email, **({"archived": "true"} if archived else {})}
        rows = self._get_paged("/crm/v3/owners", portal_id=portal_id, params=params, what=what)
        owners = self._shape(what, "/crm/v3/owners", lambda: [Owner.from_api(r) for r in rows])
        matching = [o for o in owners if (o.email or "").lower() == email.lower()] or owners
        active = [o for o in matching if not o.archived]
        return (active or matching or [None])[0]

    def get_owner(self, owner_id: str, portal_id: str | None = None) -> Owner:
        """Owner by *owner* id (the value in `hubspot_owner_id`), archived ones included."""
        what = f"reading CRM owner {owner_id}"
        endpoint = "/crm/v3/owners/{ownerId}"
        try:
            data = self.request(
                "GET",
                f"/crm/v3/owners/{owner_id}",
                portal_id=portal_id,
                params={"idProperty": "id"},
                what=what,
                endpoint=endpoint,
            )
        except HubSpotNotFound:
            # A deactivated user's owner record is archived; ask again before saying it is gone.
            data = self.request(
                "GET",
                f"/crm/v3/owners/{owner_id}",
                portal_id=portal_id,
                params={"idProperty": "id", "archived": "true"},
                what=what,
                endpoint=endpoint,
            )
        return self._shape(what, endpoint, lambda: Owner.from_api(data))

    def get_ticket(self, ticket_id: str, portal_id: str | None = None) -> Ticket:
        what = f"reading ticket {ticket_id}"
        endpoint = "/crm/v3/objects/tickets/{ticketId}"
        data = self.request(
            "GET",
            f"/crm/v3/objects/tickets/{ticket_id}",
            portal_id=portal_id,
            params={"properties": ",".join(TICKET_PROPERTIES)},
            what=what,
            endpoint=endpoint,
        )
        return self._shape(what, endpoint, lambda: Ticket.from_api(data))

    # -- writes (approved fixes only) -----------------------------------------------------------

    def update_user(self, user_id: str, body: Mapping[str, Any], portal_id: str | None = None) -> HubSpotUser:
        """`PUT /settings/v3/users/{userId}` (§1.1) with a PublicUserUpdate: only the fields given.

        Callers build `body` from the user as just read (read-modify-write), because the API has
        no PATCH and keeps one `roleId`. Needs settings.users.write (or crm.objects.users.write).
        """
        what = f"updating HubSpot user {user_id}"
        endpoint = "/settings/v3/users/{id}"
        data = self.request(
            "PUT", f"/settings/v3/users/{quote(str(user_id), safe='')}", portal_id=portal_id, json_body=dict(body),
            what=what, endpoint=endpoint, write=True,
        )  # fmt: skip
        return self._shape(what, endpoint, lambda: HubSpotUser.from_api(data))

    def update_ticket(self, ticket_id: str, properties: Mapping[str, Any], portal_id: str | None = None) -> Ticket:
        """`PATCH /crm/v3/objects/tickets/{ticketId}` with `{"properties": {...}}` (§3); scope `tickets`."""
        what = f"updating ticket {ticket_id}"
        endpoint = "/crm/v3/objects/tickets/{ticketId}"
        data = self.request(
            "PATCH", f"/crm/v3/objects/tickets/{quote(str(ticket_id), safe='')}", portal_id=portal_id,
            json_body={"properties": dict(properties)}, what=what, endpoint=endpoint, write=True,
        )  # fmt: skip
        return self._shape(what, endpoint, lambda: Ticket.from_api(data))

    def permitted_users(self, portal_id: str, object_id: str, object_type_id: str = TICKET_OBJECT_TYPE_ID) -> PermittedUsers:
        """HubSpot's per-record access answer (BETA, §6.4) for one record of the given portal."""
        resource = f"hcrn:{portal_id}:crm-object:{object_type_id}:{object_id}"
        what = f"asking HubSpot who may access record {object_type_id}:{object_id} (beta API)"
        endpoint = "/resource-permissions/v3/permitted-users"
        data = self.request("GET", endpoint, portal_id=portal_id, params={"resource": resource}, what=what)

        def build() -> PermittedUsers:
            resources = data["resources"]
            entry = resources.get(resource)
            if entry is None and len(resources) == 1:
                entry = next(iter(resources.values()))
            if not isinstance(entry, Mapping):
                raise KeyError(resource)
            actions: dict[str, tuple[str, ...]] = {}
            for key, value in entry.items():
                action = str(key).rsplit(":", 1)[-1].upper()
                users = value.get("permittedUsers") if isinstance(value, Mapping) else value
                actions[action] = str_tuple(users)
            return PermittedUsers(resource, actions)

        return self._shape(what, endpoint, build)

    def token_info(self, portal_id: str | None = None) -> TokenInfo:
        """What hsperm's token for this portal is (private app or OAuth) and which scopes it has.

        Private-app tokens answer `POST /oauth/v2/private-apps/get/access-token-info` (§4.3).
        OAuth tokens answer `POST /oauth/v3/token/introspect` when the app's client id and secret
        are configured (§4.2), else the deprecated `GET /oauth/v1/access-tokens/{token}` (§4.1).
        The likely kind, judged by the token's prefix, is tried first.

        Raises `HubSpotAuthError` only when HubSpot itself said the token is not valid (the
        private-app endpoint refusing a `pat-` token, or v3 answering `active: false`), and
        `HubSpotTokenUnknown` when no endpoint could tell (e.g. v1 gone and no client secret).
        """
        token = self.tokens.for_portal(portal_id)
        order = [self._private_app_info, self._oauth_info]
        if not token.startswith("pat-"):
            order.reverse()
        refused: HubSpotError | None = None
        undecided: list[HubSpotError] = []
        for probe in order:
            try:
                return probe(token, portal_id)
            except HubSpotError as exc:
                if not isinstance(exc, _PROBE_ANSWERS) and exc.status not in (400, 405, 410):
                    raise  # rate limits, outages: the caller reports those as they are
                if self._says_invalid(probe, token, exc):
                    refused = refused or exc
                else:
                    undecided.append(exc)
        where = f" for portal {portal_id}" if portal_id else ""
        setting = self.tokens.setting_for(portal_id)
        if refused is not None:
            raise HubSpotAuthError(
                f"HubSpot says hsperm's token{where} is not a valid private app or OAuth access token: it is revoked, "
                "expired or mistyped "
                f"(API keys and developer keys do not work). Check {setting}. " + refused.message,
                status=refused.status,
                category=refused.category,
                correlation_id=refused.correlation_id,
                portal_id=portal_id,
            )
        own = [e.message for e in undecided if isinstance(e, HubSpotTokenUnknown)]
        if own:
            hint = " " + own[0]
        elif not self.client_credentials:
            hint = (
                " Set HUBSPOT_CLIENT_ID and HUBSPOT_CLIENT_SECRET (your app's Auth settings) so hsperm can use "
                "HubSpot's current introspection endpoint."
            )
        else:
            hint = ""
        first = undecided[0] if undecided else None
        raise HubSpotTokenUnknown(
            f"hsperm could not tell what kind of token {setting} is{where}: HubSpot's token-info endpoints did "
            f"not identify it, and none said it is invalid, so its kind and scopes are unknown.{hint}",
            status=first.status if first else None,
            portal_id=portal_id,
        )

    def _says_invalid(self, probe: Any, token: str, exc: HubSpotError) -> bool:
        """Only the endpoint for the token's own kind can call it invalid: the private-app one
        for `pat-` tokens, v3 introspection (`active: false`) for OAuth tokens. A 404 from the
        deprecated v1 endpoint proves nothing (it says the same for every token once retired)."""
        if isinstance(exc, HubSpotTokenUnknown):
            return False
        if getattr(probe, "__func__", None) is HubSpotClient._private_app_info:
            return token.startswith("pat-") and (isinstance(exc, HubSpotAuthError) or exc.status in (400, 401))
        return isinstance(exc, HubSpotAuthError) and exc.category == "TOKEN_INACTIVE"

    def _private_app_info(self, token: str, portal_id: str | None) -> TokenInfo:
        what = "reading hsperm's private app token info"
        endpoint = "/oauth/v2/private-apps/get/access-token-info"
        data = self.request("POST", endpoint, portal_id=portal_id, json_body={"tokenKey": token}, what=what)

        def build() -> TokenInfo:
            hublet = None
            if token.startswith("pat-"):
                hublet = token.split("-")[1] or None
            return TokenInfo(
                kind="private_app",
                hub_id=str_or_none(data["hubId"]),
                scopes=str_tuple(data.get("scopes")),
                app_id=str_or_none(data.get("appId")),
                user_id=str_or_none(data.get("userId")),
                hublet=hublet,
            )

        return self._shape(what, endpoint, build)

    def _oauth_info(self, token: str, portal_id: str | None) -> TokenInfo:
        """v3 introspection when the app's credentials are set; v1 otherwise, or when v3 could not
        be used (its answer about the client, not the token, e.g. a wrong client secret)."""
        if not self.client_credentials:
            return self._oauth_v1_info(token, portal_id)
        try:
            return self._oauth_v3_info(token, portal_id)
        except HubSpotTokenUnknown as v3_problem:
            try:
                return self._oauth_v1_info(token, portal_id)
            except HubSpotError:
                raise v3_problem from None

    def _oauth_v3_info(self, token: str, portal_id: str | None) -> TokenInfo:
        what = "asking HubSpot about hsperm's OAuth token (v3 introspection)"
        endpoint = "/oauth/v3/token/introspect"
        client_id, client_secret = self.client_credentials or ("", "")
        try:
            data = self.request(
                "POST",
                endpoint,
                portal_id=portal_id,
                form={"client_id": client_id, "client_secret": client_secret, "token": token, "token_type_hint": _HINT},
                what=what,
                auth=False,
                caller_explains=True,
            )
        except (HubSpotAuthError, HubSpotForbiddenError, HubSpotNotFound) as exc:
            # 401/403 here is about the client credentials, not the token.
            log.warning(
                "hubspot token introspection refused HUBSPOT_CLIENT_ID / HUBSPOT_CLIENT_SECRET (HTTP %s)", exc.status
            )
            raise HubSpotTokenUnknown(
                "HubSpot refused HUBSPOT_CLIENT_ID / HUBSPOT_CLIENT_SECRET for token introspection "
                f"(HTTP {exc.status}); check them in your app's Auth settings.",
                status=exc.status,
                portal_id=portal_id,
            ) from None
        except HubSpotError as exc:
            log.warning("hubspot token introspection failed: %s", exc.message)
            if exc.status not in (400, 405, 410):
                raise
            raise HubSpotTokenUnknown(
                f"HubSpot's v3 token introspection did not answer usefully (HTTP {exc.status}).",
                status=exc.status,
                portal_id=portal_id,
            ) from None
        if isinstance(data, Mapping) and data.get("active") is False:
            raise HubSpotAuthError(
                "HubSpot's token introspection says the token is not active.",
                status=200,
                category="TOKEN_INACTIVE",
                portal_id=portal_id,
            )

        return self._shape(what, endpoint, lambda: _oauth_token_info(data))

    def _oauth_v1_info(self, token: str, portal_id: str | None) -> TokenInfo:
        what = "reading hsperm's OAuth token info"
        endpoint = "/oauth/v1/access-tokens/{token}"
        data = self.request(
            "GET",
            f"/oauth/v1/access-tokens/{quote(token, safe='')}",
            portal_id=portal_id,
            what=what,
            endpoint=endpoint,
            auth=False,
        )

        return self._shape(what, endpoint, lambda: _oauth_token_info(data))


def _oauth_token_info(data: Mapping[str, Any]) -> TokenInfo:
    """v1's and v3's answers share these fields (§4.1, §4.2)."""
    signed = data.get("signed_access_token")
    signed = signed if isinstance(signed, Mapping) else {}
    user_level = signed.get("isUserLevel")
    expires = data.get("expires_in")
    return TokenInfo(
        kind="oauth",
        hub_id=str_or_none(data["hub_id"]),
        scopes=str_tuple(data.get("scopes")),
        app_id=str_or_none(data.get("app_id")),
        user_id=str_or_none(data.get("user_id")),
        user_email=str_or_none(data.get("user")),
        hublet=str_or_none(signed.get("hublet")),
        expires_in=int(expires) if isinstance(expires, int | float) else None,
        is_user_level=user_level if isinstance(user_level, bool) else None,
    )
