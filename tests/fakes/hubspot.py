"""A fake HubSpot API: a real HTTP server on 127.0.0.1 that hsperm's client talks to in tests.

Responses follow the shapes in `reference/hubspot_api.md` (users §1.2, owners §2, tickets §3,
token info §4, errors §5, permitted-users §6.4, account activity, API usage and seats §9). The
server checks the Bearer token and the token's scopes like HubSpot does (403 MISSING_SCOPES
naming the alternatives), records every call, and injects faults on demand: 429 with
Retry-After, 5xx, slow answers, garbage bodies.

Loaded as a pytest plugin from tests/conftest.py; the bench imports `FakeHubSpot` and
`standard_world` directly.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.fakes.serving import Serving

ALL_SCOPES = (
    "settings.users.read",
    "settings.users.teams.read",
    "crm.objects.owners.read",
    "tickets",
    "oauth",
)

#: The scopes hsperm's token needs on top of ALL_SCOPES to apply approved fixes (§7.1).
WRITE_SCOPES = ("settings.users.write", "settings.billing.write")

#: endpoint family -> scopes that satisfy it (any one), in the order HubSpot lists them in errors
SCOPES_NEEDED: dict[str, tuple[str, ...]] = {
    "users": ("settings.users.read", "crm.objects.users.read"),
    "users_write": ("settings.users.write", "crm.objects.users.write"),
    "billing": ("settings.billing.write",),
    "teams": ("settings.users.teams.read",),
    "owners": ("crm.objects.owners.read", "automation"),
    "tickets": ("tickets.highly_sensitive.v2", "tickets.sensitive.v2", "tickets"),
    # account activity (§9): security log, login history, audit log; API usage; seats
    "activity": ("account-info.security.read",),
    "usage": ("oauth",),
    "seats": ("settings.billing.write",),
}
#: The extra scopes forensics reads with; tokens get them only when a test asks (`FORENSICS_SCOPES`).
FORENSICS_SCOPES = ("account-info.security.read", "settings.billing.write")
#: `limit` above this is refused by the activity endpoints (their spec: "Max value of limit is 200").
ACTIVITY_MAX_LIMIT = 200

STAMP = "2026-11-02T10:15:00.000Z"


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    status: int = 0

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else None


@dataclass
class Fault:
    match: str
    status: int = 500
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    times: int | None = 1
    method: str | None = None
    #: wait for this event before answering (proves a caller did not wait for the answer)
    gate: threading.Event | None = None
    #: after the delay or gate, give the real answer instead of `status`/`body`
    passthrough: bool = False


@dataclass
class TokenRecord:
    kind: str  # private_app | oauth
    hub_id: str
    scopes: tuple[str, ...] = ALL_SCOPES
    user_id: int = 4242
    app_id: int = 2011410
    user: str = "installer@example.com"
    hublet: str = "na1"
    expired: bool = False


@dataclass
class Portal:
    hub_id: str
    ui_domain: str = "app.hubspot.com"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: list[dict[str, Any]] = field(default_factory=list)
    teams: list[dict[str, Any]] = field(default_factory=list)
    owners: list[dict[str, Any]] = field(default_factory=list)
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ticket id -> {"VIEW": [user ids], "EDIT": [...]}
    permitted: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    permitted_users_available: bool = True
    ticket_urls: bool = True
    #: security activity records (`HydratedCriticalAction`), login records (`PublicLoginAudit`)
    security_events: list[dict[str, Any]] = field(default_factory=list)
    logins: list[dict[str, Any]] = field(default_factory=list)
    #: audit log records (`PublicApiUserActionEvent`); served only when `enterprise`
    audit_events: list[dict[str, Any]] = field(default_factory=list)
    enterprise: bool = False
    #: False: the security and login endpoints answer 403 as for an account without the feature
    activity_available: bool = True
    #: rows of the private apps' daily usage; None: the endpoint answers as the spec's example
    api_usage: list[dict[str, Any]] | None = None
    #: `PublicSeat` rows
    seats: list[dict[str, Any]] = field(default_factory=list)
    #: user id -> ticket View level ("ALL", "TEAM", "OWNED"): when set, permitted-users is computed
    #: from owners and teams for these users instead of read from `permitted`, so a team change shows
    access_levels: dict[str, str] = field(default_factory=dict)


class FakeHubSpot:
    """State + fault switches + call log for one fake HubSpot server."""

    def __init__(self) -> None:
        self.portals: dict[str, Portal] = {}
        self.tokens: dict[str, TokenRecord] = {}
        #: OAuth apps known to the v3 introspection endpoint: client id -> client secret
        self.apps: dict[str, str] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        #: seconds added to every answer (the bench sets 0.05)
        self.latency = 0.0
        #: cap on page sizes, to exercise paging with few records
        self.page_size: int | None = None
        #: calls allowed per 10-second window, as X-HubSpot-RateLimit-Max reports it (Professional: 190)
        self.rate_max = 190
        #: most requests seen in flight at once (proves the client runs calls concurrently)
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._window: list[float] = []
        self._server: ThreadingHTTPServer | None = None
        self._serving: Serving | None = None
        #: path fragment -> gate: matching calls are recorded, then wait for the gate (see `hold`)
        self._holds: dict[str, threading.Event] = {}

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeHubSpot:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._serving = Serving(self._server, "fake-hubspot")
        return self

    def stop(self) -> None:
        if self._serving:
            self._serving.stop()
            self._serving = None
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- state helpers --------------------------------------------------------------------------

    def portal(self, hub_id: str, *, ui_domain: str = "app.hubspot.com") -> Portal:
        if hub_id not in self.portals:
            self.portals[hub_id] = Portal(hub_id, ui_domain=ui_domain)
        return self.portals[hub_id]

    def add_token(self, token: str, hub_id: str, *, kind: str = "private_app", **kw: Any) -> TokenRecord:
        record = TokenRecord(kind=kind, hub_id=hub_id, **kw)
        self.tokens[token] = record
        return record

    def add_role(self, hub_id: str, role_id: str, name: str, *, billing: bool = False) -> None:
        self.portal(hub_id).roles.append({"id": role_id, "name": name, "requiresBillingWrite": billing})

    def add_team(self, hub_id: str, team_id: str, name: str) -> None:
        self.portal(hub_id).teams.append({"id": team_id, "name": name, "userIds": [], "secondaryUserIds": []})

    def add_user(
        self,
        hub_id: str,
        user_id: str,
        email: str,
        *,
        first: str | None = None,
        last: str | None = None,
        role_id: str | None = None,
        primary_team: str | None = None,
        secondary_teams: tuple[str, ...] = (),
        seats: tuple[str, ...] = ("core",),
        super_admin: bool = False,
        owner_id: str | None = None,
    ) -> None:
        """A Settings user and, with `owner_id`, the CRM owner that HubSpot keeps for them."""
        portal = self.portal(hub_id)
        user: dict[str, Any] = {"id": user_id, "email": email, "roleIds": [role_id] if role_id else []}
        if first:
            user["firstName"] = first
        if last:
            user["lastName"] = last
        if role_id:
            user["roleId"] = role_id
        if primary_team:
            user["primaryTeamId"] = primary_team
        user["secondaryTeamIds"] = list(secondary_teams)
        user["seatNames"] = list(seats)
        user["superAdmin"] = super_admin
        user["sendWelcomeEmail"] = False
        portal.users[user_id] = user
        for team in portal.teams:
            if team["id"] == primary_team:
                team["userIds"].append(user_id)
            if team["id"] in secondary_teams:
                team["secondaryUserIds"].append(user_id)
        if owner_id:
            names = {t["id"]: t["name"] for t in portal.teams}
            teams = [{"id": primary_team, "name": names.get(primary_team, primary_team), "primary": True}]
            teams = teams if primary_team else []
            teams += [{"id": t, "name": names.get(t, t), "primary": False} for t in secondary_teams]
            portal.owners.append(
                {
                    "id": owner_id,
                    "email": email,
                    "type": "PERSON",
                    "firstName": first or "",
                    "lastName": last or "",
                    "userId": int(user_id),
                    "userIdIncludingInactive": int(user_id),
                    "createdAt": STAMP,
                    "updatedAt": STAMP,
                    "archived": False,
                    "teams": teams,
                }
            )

    def remove_user(self, hub_id: str, user_id: str) -> None:
        """The user is gone from Settings; HubSpot archives their owner record, which keeps the
        user id only in `userIdIncludingInactive`."""
        portal = self.portal(hub_id)
        portal.users.pop(user_id, None)
        for owner in portal.owners:
            if owner.get("userIdIncludingInactive") == int(user_id):
                owner["archived"] = True
                owner.pop("userId", None)

    def add_ticket(
        self,
        hub_id: str,
        ticket_id: str,
        *,
        subject: str,
        owner_id: str | None = None,
        team_id: str | None = None,
        view: tuple[int, ...] | None = None,
        edit: tuple[int, ...] | None = None,
    ) -> None:
        portal = self.portal(hub_id)
        portal.tickets[ticket_id] = {
            "subject": subject,
            "hs_pipeline": "0",
            "hs_pipeline_stage": "1",
            "hubspot_owner_id": owner_id,
            "hubspot_team_id": team_id,
        }
        if view is not None:
            portal.permitted[ticket_id] = {"VIEW": list(view), "EDIT": list(edit or ())}

    def fault(self, match: str, status: int = 500, **kw: Any) -> Fault:
        """Answer the next matching call(s) with this fault instead of the real answer (or, with
        `passthrough=True`, with the real answer once its `delay` or `gate` has passed)."""
        fault = Fault(match=match, status=status, **kw)
        with self._lock:
            self.faults.append(fault)
        return fault

    def add_security_event(
        self,
        hub_id: str,
        type: str,
        at: str,
        *,
        acting_user_id: str | int | None,
        acting_email: str | None = None,
        object_id: str | None = None,
        info_url: str | None = None,
    ) -> dict[str, Any]:
        """A security activity record as the spec's `HydratedCriticalAction` example has it."""
        portal = self.portal(hub_id)
        record: dict[str, Any] = {
            "id": str(5432653 + len(portal.security_events)),
            "type": type,
            "createdAt": at,
            "userId": int(acting_user_id) if acting_user_id is not None else None,
            "actingUser": acting_email,
            "objectId": object_id,
            "infoUrl": info_url or f"app.hubspot.com/settings/{hub_id}/users",
            "ipAddress": "45.56.67.89",
            "location": "Dublin, Ireland",
            "countryCode": "ie",
            "regionCode": "d",
        }
        portal.security_events.append({k: v for k, v in record.items() if v is not None})
        return record

    def add_login(self, hub_id: str, user_id: str, email: str, at: str, *, succeeded: bool = True) -> None:
        """A login history record as the spec's `PublicLoginAudit` example has it."""
        portal = self.portal(hub_id)
        portal.logins.append(
            {
                "id": str(7000000 + len(portal.logins)),
                "loginAt": at,
                "loginSucceeded": succeeded,
                "userId": int(user_id),
                "email": email,
                "ipAddress": "45.56.67.89",
                "location": "Dublin, Ireland",
                "countryCode": "ie",
                "regionCode": "d",
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
            }
        )

    def set_daily_usage(
        self, hub_id: str, current: int, limit: int, *, collected_at: str, resets_at: str
    ) -> None:
        """The private apps' daily usage (§5.6 shape)."""
        self.portal(hub_id).api_usage = [
            {
                "name": "private-apps-api-calls-daily",
                "usageLimit": limit,
                "currentUsage": current,
                "collectedAt": collected_at,
                "fetchStatus": "SUCCESS",
                "resetsAt": resets_at,
            }
        ]

    def add_seat(self, hub_id: str, name: str, remaining: int | None, description: str | None = None) -> None:
        seat: dict[str, Any] = {"name": name}
        if description:
            seat["description"] = description
        if remaining is not None:
            seat["remainingSeats"] = remaining
        self.portal(hub_id).seats.append(seat)

    def remove_fault(self, fault: Fault) -> None:
        """End a fault added with `times=None` (HubSpot back up)."""
        with self._lock:
            if fault in self.faults:
                self.faults.remove(fault)

    def hold(self, match: str) -> threading.Event:
        """Calls whose path contains `match` are recorded, then wait for the returned event (a
        HubSpot that hangs); lets a test prove what happens meanwhile without measuring time."""
        with self._lock:
            return self._holds.setdefault(match, threading.Event())

    # -- call log -------------------------------------------------------------------------------

    def calls_to(self, fragment: str) -> list[Call]:
        return [c for c in self.calls if fragment in c.path]

    def writes(self) -> list[Call]:
        """Every call that could change HubSpot (PUT, PATCH, POST to non-introspection paths, DELETE)."""
        with self._lock:
            calls = list(self.calls)
        return [c for c in calls if c.method in ("PUT", "PATCH", "DELETE")]

    def reset_calls(self) -> None:
        with self._lock:
            self.calls.clear()

    # -- request handling -----------------------------------------------------------------------

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.match in path and (fault.method in (None, method)):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def _rate_headers(self) -> dict[str, str]:
        now = time.monotonic()
        with self._lock:
            self._window = [t for t in self._window if now - t < 10.0] + [now]
            used = len(self._window)
        return {
            "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
            "X-HubSpot-RateLimit-Max": str(self.rate_max),
            "X-HubSpot-RateLimit-Remaining": str(max(0, self.rate_max - used)),
            "X-HubSpot-RateLimit-Daily": "250000",
            "X-HubSpot-RateLimit-Daily-Remaining": "249000",
        }

    def handle(self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict, bytes]:
        parts = urlsplit(raw_path)
        path = parts.path
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            parsed_body = json.loads(body) if body else None
        except ValueError:
            parsed_body = body.decode("utf-8", "replace")
        call = Call(method, path, query, {k.lower(): v for k, v in headers.items()}, parsed_body)
        with self._lock:
            self.calls.append(call)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            gates = [gate for match, gate in self._holds.items() if match in path]
        for gate in gates:
            gate.wait(timeout=30)
        try:
            return self._answer(method, path, query, call, parsed_body)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _answer(
        self, method: str, path: str, query: dict[str, list[str]], call: Call, parsed_body: Any
    ) -> tuple[int, dict, bytes]:
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(method, path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.gate is not None:
                fault.gate.wait(30)
        if fault is not None and fault.passthrough:
            status, extra, payload = self._route(method, path, query, call, parsed_body)
        elif fault is not None:
            status, extra, payload = fault.status, dict(fault.headers), fault.body
            if payload is None:
                payload = error_body("INTERNAL_ERROR", "internal error") if status >= 500 else {}
        else:
            status, extra, payload = self._route(method, path, query, call, parsed_body)
        call.status = status
        if isinstance(payload, bytes):
            data, ctype = payload, "text/html; charset=utf-8"
        elif isinstance(payload, str):
            data, ctype = payload.encode(), "text/html; charset=utf-8"
        else:
            data, ctype = json.dumps(payload).encode(), "application/json;charset=utf-8"
        out = {"Content-Type": ctype, "X-HubSpot-Correlation-Id": str(uuid.uuid4())}
        if not path.startswith("/crm/v3/objects/tickets/search"):
            out.update(self._rate_headers())
        out.update(extra)
        return status, out, data

    def _auth(self, call: Call) -> TokenRecord | tuple[int, dict, Any]:
        token = call.token
        if not token:
            return (
                401,
                {},
                error_body(
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                    "and you can "
                    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview",
                ),
            )
        record = self.tokens.get(token)
        if record is None:
            return (
                401,
                {},
                error_body(
                    "INVALID_AUTHENTICATION",
                    "Authentication credentials not found. This API supports OAuth 2.0 authentication.",
                ),
            )
        if record.expired:
            return (
                401,
                {},
                error_body(
                    "EXPIRED_AUTHENTICATION",
                    "The OAuth token used to make this call expired 75 second(s) ago.",
                    context={"expire time": ["2026-11-02T10:37:52.040Z"]},
                ),
            )
        return record

    def _introspect_v3(self, body: Any) -> tuple[int, dict, Any]:
        """§4.2: form-encoded client_id, client_secret, token; RFC 6749 errors; `active` false for
        a token HubSpot does not know (or that expired)."""
        form = {k: v[-1] for k, v in parse_qs(body if isinstance(body, str) else "").items()}
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        if not client_id or self.apps.get(client_id) != secret:
            return 401, {}, {"error": "invalid_client", "error_description": "client authentication failed",
                             "status": "BAD_CLIENT_ID", "message": "client authentication failed"}
        if not form.get("token"):
            return 400, {}, {"error": "invalid_request", "error_description": "token is required",
                             "status": "BAD_REQUEST", "message": "token is required"}
        record = self.tokens.get(form["token"])
        if record is None or record.kind != "oauth" or record.expired:
            return 200, {}, {"active": False}
        return (
            200,
            {},
            {
                "active": True,
                "app_id": record.app_id,
                "client_id": client_id,
                "expires_in": 1200,
                "hub_id": int(record.hub_id),
                "is_private_distribution": False,
                "scopes": list(record.scopes),
                "signed_access_token": {"appId": record.app_id, "hubId": int(record.hub_id), "hublet": record.hublet,
                                        "userId": record.user_id, "isUserLevel": False, "isServiceAccount": False},
                "token": form["token"],
                "token_type": "bearer",
                "token_use": "access_token",
                "user": record.user,
                "user_id": record.user_id,
            },
        )

    @staticmethod
    def _scoped(record: TokenRecord, family: str) -> tuple[int, dict, Any] | None:
        needed = SCOPES_NEEDED[family]
        if any(s in record.scopes for s in needed):
            return None
        return 403, {}, missing_scopes_body(needed)

    def _route(self, method: str, path: str, query: dict[str, list[str]], call: Call, body: Any) -> tuple[int, dict, Any]:
        # token introspection needs no Bearer auth (§4)
        if path == "/oauth/v2/private-apps/get/access-token-info" and method == "POST":
            key = body.get("tokenKey") if isinstance(body, dict) else None
            record = self.tokens.get(key or "")
            if record is None or record.kind != "private_app":
                return 400, {}, error_body("BAD_REQUEST", "Invalid private app access token.")
            return (
                200,
                {},
                {
                    "userId": record.user_id,
                    "hubId": int(record.hub_id),
                    "appId": record.app_id,
                    "scopes": list(record.scopes),
                },
            )
        if path == "/oauth/v3/token/introspect" and method == "POST":
            return self._introspect_v3(body)
        if path.startswith("/oauth/v1/access-tokens/") and method == "GET":
            token = unquote(path.rsplit("/", 1)[1])
            record = self.tokens.get(token)
            if record is None or record.kind != "oauth":
                return 404, {}, error_body("OBJECT_NOT_FOUND", "Token not found")
            return (
                200,
                {},
                {
                    "token": token,
                    "user": record.user,
                    "user_id": record.user_id,
                    "hub_id": int(record.hub_id),
                    "hub_domain": "example.com",
                    "app_id": record.app_id,
                    "scopes": list(record.scopes),
                    "token_type": "access",
                    "expires_in": 1200,
                    "is_private_distribution": False,
                    "signed_access_token": {
                        "appId": record.app_id,
                        "hubId": int(record.hub_id),
                        "hublet": record.hublet,
                        "userId": record.user_id,
                        "isUserLevel": False,
                        "isServiceAccount": False,
                        "scopes": " ".join(record.scopes),
                    },
                },
            )

        auth = self._auth(call)
        if isinstance(auth, tuple):
            return auth
        portal = self.portal(auth.hub_id)
        if method == "PUT" and path.startswith("/settings/v3/users/"):
            with self._lock:
                return self._update_user(portal, auth, unquote(path.rsplit("/", 1)[1]), body)
        if method == "PATCH" and path.startswith("/crm/v3/objects/tickets/"):
            with self._lock:
                return self._update_ticket(portal, auth, path.rsplit("/", 1)[1], body)
        if method != "GET":
            return 405, {}, error_body("VALIDATION_ERROR", "Method not allowed in the fake")

        activity = self._activity(path, query, auth, portal)
        if activity is not None:
            return activity

        # Settings users: accept /settings/v3/users, /settings/v3/users/ and /settings/users/v3 (§1.1)
        users_path = None
        for prefix in ("/settings/v3/users", "/settings/users/v3"):
            if path == prefix or path.startswith(prefix + "/"):
                users_path = path[len(prefix) :].strip("/")
        if users_path is not None:
            family = "teams" if users_path == "teams" else "users"
            denied = self._scoped(auth, family)
            if denied:
                return denied
            if users_path == "roles":
                return 200, {}, {"results": portal.roles}
            if users_path == "teams":
                return 200, {}, {"results": portal.teams}
            if users_path == "":
                return 200, {}, self._page(list(portal.users.values()), query, path)
            key = unquote(users_path)
            if query.get("idProperty", ["USER_ID"])[0] == "EMAIL":
                found = [u for u in portal.users.values() if u["email"].lower() == key.lower()]
            else:
                found = [portal.users[key]] if key in portal.users else []
            if not found:
                return 404, {}, error_body("OBJECT_NOT_FOUND", f"User {key} not found", context={"id": [key]})
            return 200, {}, found[0]

        if path.rstrip("/") == "/crm/v3/owners" or path.startswith("/crm/v3/owners/"):
            denied = self._scoped(auth, "owners")
            if denied:
                return denied
            archived = query.get("archived", ["false"])[0] == "true"
            owner_key = path[len("/crm/v3/owners") :].strip("/")
            if owner_key:
                prop = query.get("idProperty", ["id"])[0]
                for owner in portal.owners:
                    value = str(owner["userId"]) if prop == "userId" else owner["id"]
                    if value == owner_key and owner["archived"] == archived:
                        return 200, {}, owner
                return 404, {}, error_body("OBJECT_NOT_FOUND", f"Owner {owner_key} not found")
            rows = [o for o in portal.owners if o["archived"] == archived]
            if "email" in query:
                rows = [o for o in rows if o["email"].lower() == query["email"][0].lower()]
            return 200, {}, self._page(rows, query, path)

        if path.startswith("/crm/v3/objects/tickets/"):
            denied = self._scoped(auth, "tickets")
            if denied:
                return denied
            ticket_id = path.rsplit("/", 1)[1]
            props = portal.tickets.get(ticket_id)
            if props is None:
                return (
                    404,
                    {},
                    error_body(
                        "OBJECT_NOT_FOUND",
                        "Object not found.  objectId are usually numeric.",
                        context={"id": [ticket_id]},
                    ),
                )
            wanted = [p for p in ",".join(query.get("properties", [])).split(",") if p]
            shown: dict[str, Any] = {
                "createdate": STAMP,
                "hs_lastmodifieddate": STAMP,
                "hs_object_id": ticket_id,
            }
            shown.update({p: props.get(p) for p in wanted})
            answer = {
                "id": ticket_id,
                "properties": shown,
                "createdAt": STAMP,
                "updatedAt": STAMP,
                "archived": False,
            }
            if portal.ticket_urls:
                answer["url"] = f"https://{portal.ui_domain}/contacts/{portal.hub_id}/record/0-5/{ticket_id}"
            return 200, {}, answer

        if path == "/resource-permissions/v3/permitted-users":
            if not portal.permitted_users_available:
                return 404, {}, error_body("OBJECT_NOT_FOUND", "Not found")
            answer: dict[str, Any] = {}
            for resource in query.get("resource", []):
                parts = resource.split(":")
                if len(parts) != 5 or parts[0] != "hcrn" or parts[1] != portal.hub_id:
                    return 400, {}, error_body("VALIDATION_ERROR", f"Invalid resource {resource}")
                ticket = self._permitted(portal, parts[4])
                answer[resource] = {f"crm-object:{action}": {"permittedUsers": users} for action, users in ticket.items()}
            return 200, {}, {"resources": answer}

        return 404, {}, error_body("OBJECT_NOT_FOUND", f"No route for {path} in the fake")

    def _activity(
        self, path: str, query: dict[str, list[str]], auth: TokenRecord, portal: Portal
    ) -> tuple[int, dict, Any] | None:
        """Account activity (§9), API usage (§5.6) and seats; None when `path` is none of them."""
        path = path.rstrip("/")
        for version in ("v3", "2026-03", "2026-09"):
            base = f"/account-info/{version}"
            if path == f"{base}/api-usage/daily/private-apps":
                denied = self._scoped(auth, "usage")
                if denied:
                    return denied
                rows = portal.api_usage
                if rows is None:
                    rows = [
                        {
                            "name": "private-apps-api-calls-daily",
                            "usageLimit": 250000,
                            "currentUsage": 1000,
                            "collectedAt": STAMP,
                            "fetchStatus": "SUCCESS",
                            "resetsAt": "2026-11-03T00:00:00.000Z",
                        }
                    ]
                return 200, {}, {"results": rows}
            kind = path.removeprefix(f"{base}/activity/") if path.startswith(f"{base}/activity/") else None
            if kind not in ("security", "login", "audit-logs"):
                continue
            denied = self._scoped(auth, "activity")
            if denied:
                return denied
            limit = int(query.get("limit", ["100"])[0] or 100)
            if limit > ACTIVITY_MAX_LIMIT:
                return 400, {}, error_body("VALIDATION_ERROR", f"limit must be at most {ACTIVITY_MAX_LIMIT}")
            if kind == "audit-logs":
                if not portal.enterprise:
                    return 403, {}, error_body("FORBIDDEN", "This account does not have access to audit logs.")
                return 200, {}, self._page(self._newest_first(portal.audit_events, "occurredAt"), query, path)
            if not portal.activity_available:
                return 403, {}, error_body("FORBIDDEN", "This account does not have access to account activity.")
            if kind == "login":
                rows = portal.logins
                if "userId" in query:
                    rows = [r for r in rows if str(r.get("userId")) == query["userId"][0]]
                return 200, {}, self._page(self._newest_first(rows, "loginAt"), query, path)
            rows = portal.security_events
            if "userId" in query:  # the ACTING user, as in HubSpot
                rows = [r for r in rows if str(r.get("userId")) == query["userId"][0]]
            start = int(query.get("fromTimestamp", ["0"])[0] or 0)
            end = int(query.get("toTimestamp", [str(2**62)])[0] or 2**62)
            rows = [r for r in rows if start <= _epoch_ms(r["createdAt"]) <= end]
            return 200, {}, self._page(self._newest_first(rows, "createdAt"), query, path)
        if path == "/settings/users/2026-09-beta/seats":
            denied = self._scoped(auth, "seats")
            if denied:
                return denied
            return 200, {}, {"results": portal.seats}
        return None

    @staticmethod
    def _newest_first(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return sorted(rows, key=lambda r: _epoch_ms(r[key]), reverse=True)

    # -- writes (§1.1 PUT user, §3 PATCH ticket) ------------------------------------------------

    def _update_user(self, portal: Portal, auth: TokenRecord, user_id: str, body: Any) -> tuple[int, dict, Any]:
        """PUT /settings/v3/users/{userId}: a PublicUserUpdate, applied to the fields it names.

        As reported for the real API, `roleId` replaces every role (roleIds collapses to it) and
        a `roleIds` array is ignored; roles with a paid seat need settings.billing.write.
        """
        denied = self._scoped(auth, "users_write")
        if denied:
            return denied
        user = portal.users.get(user_id)
        if user is None:
            return 404, {}, error_body("OBJECT_NOT_FOUND", f"User {user_id} not found", context={"id": [user_id]})
        if not isinstance(body, dict):
            return 400, {}, error_body("VALIDATION_ERROR", "Invalid input JSON")
        allowed = {"firstName", "lastName", "primaryTeamId", "roleId", "secondaryTeamIds", "seatNames", "roleIds"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            return 400, {}, error_body("VALIDATION_ERROR", f"Unrecognized field(s): {', '.join(unknown)}")
        team_ids = {t["id"] for t in portal.teams}
        roles = {r["id"]: r for r in portal.roles}
        teams = [body["primaryTeamId"]] if body.get("primaryTeamId") else []
        teams += list(body.get("secondaryTeamIds") or [])
        if any(t not in team_ids for t in teams):
            return 400, {}, error_body("VALIDATION_ERROR", "Team does not exist")
        if "roleId" in body:
            role = roles.get(str(body["roleId"]))
            if role is None:
                return 400, {}, error_body("VALIDATION_ERROR", f"Role {body['roleId']} does not exist")
            if role["requiresBillingWrite"]:
                denied = self._scoped(auth, "billing")
                if denied:
                    return denied
            user["roleId"], user["roleIds"] = role["id"], [role["id"]]
        for name in ("firstName", "lastName", "seatNames", "primaryTeamId"):
            if name in body:
                user[name] = body[name]
        if "secondaryTeamIds" in body:
            user["secondaryTeamIds"] = list(body["secondaryTeamIds"])
        self._sync_teams(portal, user)
        return 200, {}, user

    def _sync_teams(self, portal: Portal, user: dict[str, Any]) -> None:
        """Team member lists and the owner's teams follow the user's teams, as in HubSpot."""
        uid = user["id"]
        secondary = user.get("secondaryTeamIds") or []
        for team in portal.teams:
            primary = [uid] if team["id"] == user.get("primaryTeamId") else []
            team["userIds"] = [u for u in team["userIds"] if u != uid] + primary
            extra = [uid] if team["id"] in secondary else []
            team["secondaryUserIds"] = [u for u in team["secondaryUserIds"] if u != uid] + extra
        names = {t["id"]: t["name"] for t in portal.teams}
        for owner in portal.owners:
            if str(owner["userId"]) == uid:
                primary = user.get("primaryTeamId")
                owner["teams"] = ([{"id": primary, "name": names[primary], "primary": True}] if primary else []) + [
                    {"id": t, "name": names[t], "primary": False} for t in secondary
                ]

    def _update_ticket(self, portal: Portal, auth: TokenRecord, ticket_id: str, body: Any) -> tuple[int, dict, Any]:
        """PATCH /crm/v3/objects/tickets/{ticketId} with `{"properties": {...}}` (SimplePublicObjectInput)."""
        denied = self._scoped(auth, "tickets")
        if denied:
            return denied
        props = portal.tickets.get(ticket_id)
        if props is None:
            return 404, {}, error_body("OBJECT_NOT_FOUND", "Object not found.", context={"id": [ticket_id]})
        changes = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(changes, dict):
            return 400, {}, error_body("VALIDATION_ERROR", "Invalid input JSON: properties is required")
        for name, value in changes.items():
            if name not in props:
                return 400, {}, error_body(
                    "VALIDATION_ERROR",
                    f'Property "{name}" does not exist',
                    errors=[{"message": f'Property "{name}" does not exist', "code": "PROPERTY_DOESNT_EXIST",
                             "context": {"propertyName": [name]}}],
                )  # fmt: skip
            if name == "hubspot_owner_id" and value and value not in {o["id"] for o in portal.owners}:
                return 400, {}, error_body("VALIDATION_ERROR", f"{value} is not a valid owner id")
        props.update({k: (None if v in ("", None) else str(v)) for k, v in changes.items()})
        answer = {"id": ticket_id, "properties": dict(props), "createdAt": STAMP, "updatedAt": STAMP, "archived": False}
        return 200, {}, answer

    def _permitted(self, portal: Portal, ticket_id: str) -> dict[str, list[int]]:
        """Who may view/edit a ticket: the stored lists, recomputed for users given an access level."""
        stored = {action: list(users) for action, users in portal.permitted.get(ticket_id, {}).items()}
        if not portal.access_levels:
            return stored
        props = portal.tickets.get(ticket_id) or {}
        owner = next((o for o in portal.owners if o["id"] == props.get("hubspot_owner_id")), None)
        owner_teams = {t["id"] for t in (owner or {}).get("teams", [])}
        ticket_teams = {props["hubspot_team_id"]} if props.get("hubspot_team_id") else owner_teams
        view = [u for u in stored.get("VIEW", []) if str(u) not in portal.access_levels]
        for uid, level in portal.access_levels.items():
            user = portal.users[uid]
            owns = owner is not None and str(owner["userId"]) == uid
            teams = {user.get("primaryTeamId"), *(user.get("secondaryTeamIds") or [])} - {None}
            if user.get("superAdmin") or level == "ALL" or owns or (level == "TEAM" and teams & ticket_teams):
                view.append(int(uid))
        stored["VIEW"] = sorted(set(view))
        stored.setdefault("EDIT", [])
        return stored

    def _page(self, rows: list[dict[str, Any]], query: dict[str, list[str]], path: str) -> dict[str, Any]:
        limit = int(query.get("limit", ["100"])[0])
        if self.page_size:
            limit = min(limit, self.page_size)
        start = int(query.get("after", ["0"])[0] or 0)
        page: dict[str, Any] = {"results": rows[start : start + limit]}
        if start + limit < len(rows):
            after = str(start + limit)
            page["paging"] = {"next": {"after": after, "link": f"https://api.hubapi.com{path}?after={after}"}}
        return page


def stamp(when: datetime) -> str:
    """A time as HubSpot writes `date-time` fields: `2026-11-28T14:01:09.123Z`."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ago(**delta: float) -> datetime:
    """Now minus `delta` (timedelta's keywords), in UTC: activity records sit in a real time window."""
    return datetime.now(UTC) - timedelta(**delta)


def _epoch_ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def error_body(category: str, message: str, **extra: Any) -> dict[str, Any]:
    """HubSpot's standard error body (§5.1), with the `status: error` real bodies carry."""
    return {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }


def missing_scopes_body(scopes: tuple[str, ...]) -> dict[str, Any]:
    """The 403 MISSING_SCOPES body exactly as on the 'Using Object APIs' page (§5.2)."""
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read more about "
        "required scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": str(uuid.uuid4()),
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": list(scopes)},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeHubSpot
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add ~40 ms a call.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        status, headers, data = self.owner.handle(self.command, self.path, dict(self.headers), body)
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to answer

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


# --------------------------------------------------------------------------------------------
# The standard world the tests and the bench share
# --------------------------------------------------------------------------------------------

PORTAL = "342871372"
EU_PORTAL = "26000001"
TOKEN = "pat-na1-11111111-2222-4333-8444-555555555555"
EU_TOKEN = "pat-eu1-66666666-7777-4888-8999-aaaaaaaaaaaa"
OAUTH_TOKEN = "CJT" + "x" * 60

ANN_USER, ANN_OWNER = "9586504", "41629779"
BOB_USER, BOB_OWNER = "1296619", "6166860"
SUE_USER, SUE_OWNER = "7700001", "88000001"
WEST, EAST = "178588", "178590"


def standard_world(fake: FakeHubSpot) -> FakeHubSpot:
    """Ann (team East) cannot see ticket 123, which Bob (team West) owns; Sue is a super admin.

    Owner ids and user ids differ on purpose, as they do in HubSpot (§2).
    """
    fake.add_token(TOKEN, PORTAL)
    fake.add_role(PORTAL, "1234", "Support Agent")
    fake.add_role(PORTAL, "5678", "Sales Manager", billing=True)
    fake.add_team(PORTAL, WEST, "West")
    fake.add_team(PORTAL, EAST, "East")
    fake.add_user(
        PORTAL,
        ANN_USER,
        "ann@example.com",
        first="Ann",
        last="Lee",
        role_id="1234",
        primary_team=EAST,
        owner_id=ANN_OWNER,
    )
    fake.add_user(
        PORTAL,
        BOB_USER,
        "bob@example.com",
        first="Bob",
        last="Stone",
        role_id="5678",
        primary_team=WEST,
        seats=("sales",),
        owner_id=BOB_OWNER,
    )
    fake.add_user(PORTAL, SUE_USER, "sue@example.com", first="Sue", super_admin=True, owner_id=SUE_OWNER)
    fake.add_ticket(
        PORTAL,
        "123",
        subject="Refund request",
        owner_id=BOB_OWNER,
        team_id=WEST,
        view=(int(BOB_USER), int(SUE_USER)),
        edit=(int(BOB_USER),),
    )
    fake.add_ticket(
        PORTAL,
        "124",
        subject="Printer on fire",
        owner_id=ANN_OWNER,
        team_id=EAST,
        view=(int(ANN_USER), int(SUE_USER)),
        edit=(int(ANN_USER),),
    )
    fake.add_ticket(PORTAL, "125", subject="Nobody's ticket")

    fake.add_token(EU_TOKEN, EU_PORTAL, hublet="eu1")
    fake.portal(EU_PORTAL, ui_domain="app-eu1.hubspot.com")
    fake.add_team(EU_PORTAL, "500", "Berlin")
    fake.add_role(EU_PORTAL, "900", "Agent")
    fake.add_user(EU_PORTAL, "31", "eva@example.eu", first="Eva", role_id="900", primary_team="500", owner_id="310")
    fake.add_ticket(EU_PORTAL, "77", subject="Rückerstattung", owner_id="310", team_id="500", view=(31,))
    return fake


def client_for(fake: FakeHubSpot, *, sleeps: list[float] | None = None, **kw: Any):
    """A client aimed at the fake with short timeouts; retry waits are recorded, not slept."""
    from bot.hubspot import HubSpotClient

    kw.setdefault("access_token", TOKEN)
    kw.setdefault("portal_tokens", {EU_PORTAL: EU_TOKEN})
    kw.setdefault("timeout", (2.0, 0.5))
    recorded = sleeps if sleeps is not None else []
    return HubSpotClient(base_url=fake.url, sleep=recorded.append, **kw)


@pytest.fixture
def fake_hubspot():
    """A running fake HubSpot with the standard world (portal 342871372 and an EU portal)."""
    fake = standard_world(FakeHubSpot()).start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def forensics_hubspot(fake_hubspot):
    """The standard world, with hsperm's token also allowed to read the security log and seats."""
    fake_hubspot.tokens[TOKEN].scopes = (*ALL_SCOPES, *FORENSICS_SCOPES)
    return fake_hubspot


@pytest.fixture
def hubspot_sleeps():
    """Retry waits the `hubspot_client` asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def hubspot_client(fake_hubspot, hubspot_sleeps):
    """A HubSpotClient aimed at `fake_hubspot`: short timeouts, recorded retry waits."""
    with client_for(fake_hubspot, sleeps=hubspot_sleeps) as client:
        yield client
