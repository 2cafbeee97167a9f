"""A fake HubSpot API: a real HTTP server on 127.0.0.1 that hsperm's client talks to in tests.

Responses follow the shapes in `reference/hubspot_api.md` (users §1.2, owners §2, tickets §3,
token info §4, errors §5, permitted-users §6.4). The server checks the Bearer token and the
token's scopes like HubSpot does (403 MISSING_SCOPES naming the alternatives), records every
call, and injects faults on demand: 429 with Retry-After, 5xx, slow answers, garbage bodies.

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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

ALL_SCOPES = (
    "settings.users.read",
    "settings.users.teams.read",
    "crm.objects.owners.read",
    "tickets",
    "oauth",
)

#: endpoint family -> scopes that satisfy it (any one), in the order HubSpot lists them in errors
SCOPES_NEEDED: dict[str, tuple[str, ...]] = {
    "users": ("settings.users.read", "crm.objects.users.read"),
    "teams": ("settings.users.teams.read",),
    "owners": ("crm.objects.owners.read", "automation"),
    "tickets": ("tickets.highly_sensitive.v2", "tickets.sensitive.v2", "tickets"),
}

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


class FakeHubSpot:
    """State + fault switches + call log for one fake HubSpot server."""

    def __init__(self) -> None:
        self.portals: dict[str, Portal] = {}
        self.tokens: dict[str, TokenRecord] = {}
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
        self._thread: threading.Thread | None = None
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
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-hubspot", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
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
        """Answer the next matching call(s) with this fault instead of the real answer."""
        fault = Fault(match=match, status=status, **kw)
        with self._lock:
            self.faults.append(fault)
        return fault

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
        if method != "GET":
            return 405, {}, error_body("VALIDATION_ERROR", "Method not allowed in the fake")

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
                ticket = portal.permitted.get(parts[4], {})
                answer[resource] = {f"crm-object:{action}": {"permittedUsers": users} for action, users in ticket.items()}
            return 200, {}, {"resources": answer}

        return 404, {}, error_body("OBJECT_NOT_FOUND", f"No route for {path} in the fake")

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
def hubspot_sleeps():
    """Retry waits the `hubspot_client` asked for (recorded instead of slept)."""
    return []


@pytest.fixture
def hubspot_client(fake_hubspot, hubspot_sleeps):
    """A HubSpotClient aimed at `fake_hubspot`: short timeouts, recorded retry waits."""
    with client_for(fake_hubspot, sleeps=hubspot_sleeps) as client:
        yield client
