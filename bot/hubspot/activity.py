"""HubSpot's account activity, API usage and seats endpoints (reference §9, §5.6).

A mixin of `HubSpotClient`: the calls share its transport (retries, throttling, token per
portal) and its error translation, so a missing scope arrives as `HubSpotScopeError`, a 429 as
`HubSpotRateLimited`, and so on; `bot.lookup.forensics` turns those into "unknown, because…".

The security log has no filter for the user an event is *about* (its `userId` filter selects the
acting user), so reading it means paging a time window. Paging is bounded by `max_records`: the
newest records come first, and the caller is told when older ones were left unread.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.forensics import ApiUsage, LoginRecord, Seat, SecurityEvent, epoch_ms, parse_records

#: `limit` per page; the activity endpoints' spec: "Max value of limit is 200".
ACTIVITY_PAGE_LIMIT = 200
#: Default cap on security records read per window (5 pages): enough for a week in most accounts.
SECURITY_MAX_RECORDS = 1000
#: Login records read per user: the newest successful login is almost always on the first page.
LOGIN_MAX_RECORDS = 200

SECURITY_PATH = "/account-info/v3/activity/security"
LOGIN_PATH = "/account-info/v3/activity/login"
USAGE_PATH = "/account-info/v3/api-usage/daily/private-apps"
SEATS_PATH = "/settings/users/2026-09-beta/seats"


class ActivityEndpoints:
    """Needs `request`, `_results` (both on `HubSpotClient`)."""

    request: Callable[..., Any]
    _results: Callable[..., list[Mapping[str, Any]]]

    def _pages(
        self, path: str, *, portal_id: str | None, params: dict[str, Any], what: str, max_records: int
    ) -> tuple[list[Mapping[str, Any]], bool]:
        """Rows across pages up to `max_records`; True when HubSpot had more."""
        query = {**params, "limit": min(ACTIVITY_PAGE_LIMIT, max_records)}
        rows: list[Mapping[str, Any]] = []
        while True:
            data = self.request("GET", path, portal_id=portal_id, params=query, what=what)
            rows.extend(self._results(data, what, path))
            paging = data.get("paging") if isinstance(data, Mapping) else None
            nxt = paging.get("next") if isinstance(paging, Mapping) else None
            after = nxt.get("after") if isinstance(nxt, Mapping) else None
            if not after or str(after) == str(query.get("after")):
                return rows, False
            if len(rows) >= max_records:
                return rows, True
            query["after"] = str(after)
            query["limit"] = min(ACTIVITY_PAGE_LIMIT, max_records - len(rows))

    def security_activity(
        self,
        start: datetime,
        end: datetime,
        portal_id: str | None = None,
        *,
        max_records: int = SECURITY_MAX_RECORDS,
    ) -> tuple[list[SecurityEvent], bool]:
        """Security records created between `start` and `end` (every acting user), and whether
        older ones were left unread. Scope `account-info.security.read`."""
        params = {"fromTimestamp": epoch_ms(start), "toTimestamp": epoch_ms(end)}
        rows, more = self._pages(
            SECURITY_PATH,
            portal_id=portal_id,
            params=params,
            what="reading HubSpot's security activity log",
            max_records=max_records,
        )
        return parse_records(rows, SecurityEvent.from_api), more

    def login_history(
        self, user_id: str, portal_id: str | None = None, *, max_records: int = LOGIN_MAX_RECORDS
    ) -> list[LoginRecord]:
        """One user's login records (90 days; `userId` here is the user who logged in)."""
        rows, _ = self._pages(
            LOGIN_PATH,
            portal_id=portal_id,
            params={"userId": user_id},
            what=f"reading user {user_id}'s login history",
            max_records=max_records,
        )
        return parse_records(rows, LoginRecord.from_api)

    def daily_api_usage(self, portal_id: str | None = None) -> list[ApiUsage]:
        """The private apps' daily usage, account-wide (scope `oauth`)."""
        what = "reading the private apps' daily API usage"
        data = self.request("GET", USAGE_PATH, portal_id=portal_id, what=what)
        return [ApiUsage.from_api(row) for row in self._results(data, what, USAGE_PATH)]

    def list_seats(self, portal_id: str | None = None) -> list[Seat]:
        """Paid seat types and how many are left (scope `settings.billing.write`, 2026-09-beta)."""
        what = "reading the account's seats"
        data = self.request("GET", SEATS_PATH, portal_id=portal_id, what=what)
        return parse_records(self._results(data, what, SEATS_PATH), Seat.from_api)
