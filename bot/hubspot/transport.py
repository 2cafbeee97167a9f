"""One `requests.Session` for every portal and thread, with HubSpot's retry and throttle policy.

Policy (sections of HubSpot's API reference on errors and rate limits): retry 5xx, 423 and
429 a bounded number of times, honouring `Retry-After` and the `X-HubSpot-RateLimit-*` window;
never retry a DAILY limit (it resets at midnight); hold a call when the last answer said the
window's budget is spent, because HubSpot counts error responses against the app. Waiting is
injectable (`sleep`, `clock`) so tests never sleep for real.

The transport knows HTTP and HubSpot's error *fields*; it never interprets what an error means
for a person (services run the diagnosis engine on `HubSpotError.body` when they need to).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import HTTPAdapter

import bot.metrics as metrics
from bot.hubspot.errors import HubSpotBadResponse, HubSpotError, HubSpotNotFound, HubSpotUnavailable
from bot.hubspot.models import RateLimitStatus
from bot.hubspot.tokens import Tokens
from bot.hubspot.translate import Call, error_from_response, parse_retry_after

#: One logger for the package, so the redaction filter installed at wiring time covers it all.
log = logging.getLogger("bot.hubspot")

#: (connect, read) seconds. A lookup answers a person waiting in Slack: fail fast, retry a little.
DEFAULT_TIMEOUT: tuple[float, float] = (3.05, 10.0)
#: Attempts per call, counting the first. Bounded so a HubSpot outage costs seconds, not minutes.
DEFAULT_ATTEMPTS = 3
#: Longest single wait we accept before a retry (Retry-After, rate-limit window, backoff).
DEFAULT_MAX_RETRY_WAIT = 10.0
#: "Locks will last for 2 seconds" (HubSpot on 423).
LOCK_WAIT = 2.0

_RETRY_STATUSES = frozenset({423, 500, 502, 503, 504, 521, 522, 523, 524})


def _header_int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    try:
        return int(str(raw).strip()) if raw is not None else None
    except ValueError:
        return None


class Transport:
    def __init__(
        self,
        tokens: Tokens,
        *,
        base_url: str = "https://api.hubapi.com",
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        pool_size: int = 16,
    ) -> None:
        self.tokens = tokens
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self._sleep = sleep
        self._clock = clock
        #: token -> (monotonic time seen, last rate-limit headers); in memory only, never logged
        self._rate: dict[str, tuple[float, RateLimitStatus]] = {}
        self._lock = threading.Lock()
        self._calls = 0
        self._session = session or requests.Session()
        # Our own retry loop reads Retry-After and HubSpot's headers; urllib3 must not retry too.
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("https://", adapter)
        self._session.mount("http://", adapter)
        self._session.headers["User-Agent"] = "hsperm (+https://github.com/hsperm)"
        self._session.headers["Accept"] = "application/json"

    @property
    def call_count(self) -> int:
        """HTTP requests sent so far (retries included); benchmarks and tests read it."""
        return self._calls

    def close(self) -> None:
        self._session.close()

    def rate_limit(self, portal_id: str | None) -> RateLimitStatus | None:
        token = self.tokens.for_portal(portal_id)
        with self._lock:
            seen = self._rate.get(token)
        return seen[1] if seen else None

    def request(
        self,
        method: str,
        path: str,
        *,
        portal_id: str | None = None,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        what: str = "a HubSpot call",
        endpoint: str | None = None,
        auth: bool = True,
        caller_explains: bool = False,
        write: bool = False,
    ) -> Any:
        """Send one call with retries and return its parsed JSON (None for 204).

        `what` names the call in messages ("reading user ann@example.com"); `endpoint` is a
        token-free template of `path` for errors and logs (paths can embed a token). A `write` is
        retried only when HubSpot says it did not process it (429, 423): after a 5xx or a timeout
        it may have, and the caller reads HubSpot back instead of sending it again blindly.
        """
        token = self.tokens.for_portal(portal_id)
        call = Call(what, endpoint or path, portal_id, self.tokens.kind_hint(portal_id), self.tokens.setting_for(portal_id))
        headers = {"Authorization": f"Bearer {token}"} if auth else {}
        if auth:
            self._hold_for_window(token, method, call.endpoint)
        for attempt in range(1, self.attempts + 1):
            body = {"data": form} if form is not None else {"json": json_body}
            result, error, wait = self._attempt(method, path, params, body, headers, token, call, attempt)
            if error is None:
                return result
            if write and error.status not in (423, 429):
                wait = None
            if wait is None or attempt == self.attempts:
                break
            log.info(
                "hubspot %s %s: %s; retry %d/%d in %.2fs",
                method, call.endpoint, error.status or type(error).__name__, attempt, self.attempts - 1, wait,
            )
            self._sleep(wait)
        level = logging.INFO if isinstance(error, HubSpotNotFound) else logging.WARNING
        if caller_explains:
            # The generic sentence would be wrong here (e.g. a 401 blaming the token when the
            # client credentials were refused); the caller logs what the failure means.
            level = logging.DEBUG
        log.log(level, "hubspot %s %s failed: %s", method, call.endpoint, error.message)
        raise error

    def _attempt(
        self, method: str, path: str, params: Any, body: dict[str, Any], headers: dict[str, str], token: str, call: Call,
        attempt: int,
    ) -> tuple[Any, HubSpotError | None, float | None]:
        """One HTTP exchange: (parsed body, None, None) or (None, error, seconds to wait or None)."""
        with self._lock:
            self._calls += 1
        try:
            response = self._session.request(
                method, f"{self.base_url}{path}", params=params, headers=headers, timeout=self.timeout, **body
            )
        except requests.RequestException as exc:
            metrics.hubspot_call(call.endpoint, "network_error")
            return None, self._network_error(exc, call, attempt), self._backoff_wait(attempt)
        metrics.hubspot_call(call.endpoint, response.status_code)
        self._remember_rate(token, response.headers)
        if response.status_code < 400:
            return self._parse(response, call), None, None
        error = error_from_response(response.status_code, response.headers, response.text, call, self.tokens.redact)
        return None, error, self._retry_wait(response, error, attempt)

    def _network_error(self, exc: requests.RequestException, call: Call, attempt: int) -> HubSpotUnavailable:
        if isinstance(exc, requests.Timeout):
            message = (
                f"HubSpot did not answer in time while {call.what} (waited {self.timeout[1]:g} s, "
                f"{attempt} attempt{'s' if attempt > 1 else ''}); try again shortly."
            )
        else:
            message = (
                f"Could not reach HubSpot at {self.base_url} while {call.what} "
                f"({self.tokens.redact(type(exc).__name__)}); check the network and HUBSPOT_API_URL."
            )
        return HubSpotUnavailable(message, endpoint=call.endpoint, portal_id=call.portal_id)

    def _hold_for_window(self, token: str, method: str, endpoint: str) -> None:
        """Wait out a rate-limit window the last answer said is spent, rather than earn a 429."""
        with self._lock:
            seen = self._rate.get(token)
        if not seen:
            return
        when, status = seen
        if status.remaining is None or status.remaining > 0 or not status.interval_ms:
            return
        pause = min(max(0.0, when + status.interval_ms / 1000.0 - self._clock()), self.max_retry_wait)
        if pause > 0:
            log.info("hubspot %s %s: rate-limit window spent; waiting %.2fs", method, endpoint, pause)
            self._sleep(pause)

    def _backoff_wait(self, attempt: int) -> float:
        base = self.backoff * (2 ** (attempt - 1))
        return min(self.max_retry_wait, base * (0.5 + random.random() / 2))  # noqa: S311  # nosec B311  # jitter

    def _retry_wait(self, response: requests.Response, error: HubSpotError, attempt: int) -> float | None:
        """How long to wait before retrying this response, or None to give up now."""
        status = response.status_code
        if status == 429 or (status >= 500 and error.category == "RATE_LIMITS"):
            return self._rate_limit_wait(response, error, attempt)
        if status == 423:
            return min(self.max_retry_wait, LOCK_WAIT)
        if status in _RETRY_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = retry_after if retry_after is not None else self._backoff_wait(attempt)
            return wait if wait <= self.max_retry_wait else None
        return None

    def _rate_limit_wait(self, response: requests.Response, error: HubSpotError, attempt: int) -> float | None:
        if getattr(error, "policy", None) == "DAILY":
            return None  # resets at midnight in the portal's timezone; retrying only burns calls
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            remaining = _header_int(response.headers, "X-HubSpot-RateLimit-Remaining")
            interval = _header_int(response.headers, "X-HubSpot-RateLimit-Interval-Milliseconds")
            if interval and (remaining is None or remaining <= 0):
                # The window is rolling: part of it is usually enough, the backoff grows it.
                retry_after = min(interval / 1000.0, self._backoff_wait(attempt) + interval / 10000.0)
            else:
                retry_after = self._backoff_wait(attempt)
        return None if retry_after > self.max_retry_wait else retry_after

    def _remember_rate(self, token: str, headers: Mapping[str, str]) -> None:
        if "X-HubSpot-RateLimit-Remaining" not in headers and "X-HubSpot-RateLimit-Daily" not in headers:
            return
        status = RateLimitStatus(
            max=_header_int(headers, "X-HubSpot-RateLimit-Max"),
            remaining=_header_int(headers, "X-HubSpot-RateLimit-Remaining"),
            interval_ms=_header_int(headers, "X-HubSpot-RateLimit-Interval-Milliseconds"),
            daily=_header_int(headers, "X-HubSpot-RateLimit-Daily"),
            daily_remaining=_header_int(headers, "X-HubSpot-RateLimit-Daily-Remaining"),
        )
        with self._lock:
            self._rate[token] = (self._clock(), status)

    @staticmethod
    def _parse(response: requests.Response, call: Call) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content type").split(";")[0]
            raise HubSpotBadResponse(
                f"HubSpot answered with something that is not JSON while {call.what} "
                f"(HTTP {response.status_code}, {kind}); try again, and check HUBSPOT_API_URL "
                "if it persists.",
                status=response.status_code,
                endpoint=call.endpoint,
                portal_id=call.portal_id,
                correlation_id=response.headers.get("X-HubSpot-Correlation-Id"),
            ) from None
