"""Benchmark the live lookup against the fake HubSpot API with latency added to every call.

    python bench/lookup.py [--lookups 40] [--latency-ms 50] [--json]

What it answers: how many HubSpot calls a lookup costs with a cold and a warm cache, and how long
a lookup takes compared with one HubSpot call (the slowest single call, measured alone). Targets
(issue 4): a warm lookup makes at most 3 calls, and its p95 stays under 3x the single-call time,
which is only possible because independent calls run concurrently.

Forensics (issue 11) is measured apart, in a world where hsperm's token may read the security log
and the log holds a busy week (two pages): the extra calls a lookup costs with forensics on versus
off, cold, warm (within the one-minute activity cache) and "a minute later" (the activity cache
expired, names still cached), and the extra time as a ratio of the same lookups without it.

Not a test: timings depend on the machine. It needs the dev requirements (the fake lives in tests/).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.hubspot import HubSpotClient
from bot.lookup import LookupService
from tests.fakes.hubspot import (
    ALL_SCOPES,
    ANN_USER,
    BOB_OWNER,
    BOB_USER,
    FORENSICS_SCOPES,
    PORTAL,
    SUE_USER,
    TOKEN,
    FakeHubSpot,
    ago,
    stamp,
    standard_world,
)

#: (email, ticket) pairs: a denied user, the owner, a super admin on an unassigned ticket, an owner
QUESTIONS = [
    ("ann@example.com", "123"),
    ("bob@example.com", "123"),
    ("sue@example.com", "125"),
    ("ann@example.com", "124"),
]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def single_call_times(client: HubSpotClient, repeats: int) -> dict[str, float]:
    """Median time of each call a lookup makes, each made alone."""
    calls = {
        "token info": lambda: client.token_info(),
        "user by email": lambda: client.get_user_by_email("ann@example.com"),
        "roles": lambda: client.list_roles(),
        "teams": lambda: client.list_teams(),
        "owner by email": lambda: client.find_owner_by_email("ann@example.com"),
        "owner by id": lambda: client.get_owner(BOB_OWNER),
        "ticket": lambda: client.get_ticket("123"),
        "permitted users": lambda: client.permitted_users(PORTAL, "123"),
    }
    medians = {}
    for name, call in calls.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        medians[name] = statistics.median(times)
    return medians


def timed_lookups(client: HubSpotClient, count: int, warm: LookupService | None) -> tuple[list[int], list[float]]:
    """HubSpot calls and seconds per lookup; `warm=None` gives each lookup a new, empty cache."""
    calls, times = [], []
    for i in range(count):
        email, ticket = QUESTIONS[i % len(QUESTIONS)]
        service = warm or LookupService(client)
        before = client.call_count
        start = time.perf_counter()
        report = service.lookup(email, ticket_id=ticket)
        times.append(time.perf_counter() - start)
        calls.append(client.call_count - before)
        if warm is None:
            service.close()
        assert report.ok, report.problems
    return calls, times


def run(lookups: int, latency_ms: float) -> dict:
    fake = standard_world(FakeHubSpot()).start()
    fake.latency = latency_ms / 1000
    # Latency, not throughput, is measured: a burst budget large enough that the client's
    # rate-limit pause (which honours X-HubSpot-RateLimit-Remaining) never kicks in.
    fake.rate_max = 1_000_000
    client = HubSpotClient(access_token=TOKEN, base_url=fake.url)
    try:
        single = single_call_times(client, repeats=7)
        slowest = max(single.values())

        cold_calls, cold_times = timed_lookups(client, lookups, warm=None)
        with LookupService(client) as service:
            for email, ticket in QUESTIONS:  # warm the caches once
                service.lookup(email, ticket_id=ticket)
            warm_calls, warm_times = timed_lookups(client, lookups, warm=service)
    finally:
        client.close()
        fake.stop()

    def summary(calls: list[int], times: list[float]) -> dict:
        return {
            "calls_per_lookup_max": max(calls),
            "calls_per_lookup_mean": round(statistics.mean(calls), 2),
            "p50_ms": round(percentile(times, 50) * 1000, 1),
            "p95_ms": round(percentile(times, 95) * 1000, 1),
            "p50_ratio": round(percentile(times, 50) / slowest, 2),
            "p95_ratio": round(percentile(times, 95) / slowest, 2),
        }

    warm = summary(warm_calls, warm_times)
    return {
        "lookups": lookups,
        "latency_ms": latency_ms,
        "single_call_ms": {k: round(v * 1000, 1) for k, v in single.items()},
        "slowest_single_call_ms": round(slowest * 1000, 1),
        "cold": summary(cold_calls, cold_times),
        "warm": warm,
        "targets_met": warm["calls_per_lookup_max"] <= 3 and warm["p95_ratio"] < 3,
    }


class StepClock:
    """A monotonic clock the bench moves by hand, to expire the one-minute activity cache."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def busy_week(fake: FakeHubSpot, records: int = 300) -> None:
    """A week of security records across the account: most about others, a few about Ann and Bob."""
    fake.tokens[TOKEN].scopes = (*ALL_SCOPES, *FORENSICS_SCOPES)
    about = [ANN_USER, BOB_USER, SUE_USER, "555", "556", "557"]
    kinds = ["TEAM_USER_ADDED", "PRIVATE_APP_ACCESS_TOKEN_VIEW", "EXPORT", "TEAM_USER_DELETED"]
    for index in range(records):
        fake.add_security_event(
            PORTAL,
            kinds[index % len(kinds)],
            stamp(ago(minutes=30 + index * 30)),
            acting_user_id=SUE_USER if index % 2 else BOB_USER,
            acting_email="sue@example.com" if index % 2 else "bob@example.com",
            object_id=about[index % len(about)],
        )
    for user, email in ((ANN_USER, "ann@example.com"), (BOB_USER, "bob@example.com"), (SUE_USER, "sue@example.com")):
        fake.add_login(PORTAL, user, email, stamp(ago(hours=3)))


def forensics_calls(fake: FakeHubSpot, since: int) -> int:
    """Calls forensics made after call number `since`: the activity endpoints and user-by-id names."""
    made = fake.calls[since:]
    return sum(
        1
        for c in made
        if c.path.startswith("/account-info/")
        or (c.path.startswith("/settings/v3/users/") and c.path.rsplit("/", 1)[1].isdigit())
    )


def forensics_phase(
    client: HubSpotClient, fake: FakeHubSpot, lookups: int, *, forensics: bool, step: float | None
) -> tuple[list[int], list[float]]:
    """Forensics calls and seconds per lookup. `step=None`: a new service (cold caches) per lookup;
    otherwise one warm service whose clock moves `step` seconds between lookups."""
    clock = StepClock()
    shared = LookupService(client, clock=clock, forensics=forensics) if step is not None else None
    calls, times = [], []
    try:
        if shared is not None:
            for email, ticket in QUESTIONS:  # warm every cache once
                shared.lookup(email, ticket_id=ticket)
        for i in range(lookups):
            email, ticket = QUESTIONS[i % len(QUESTIONS)]
            service = shared or LookupService(client, forensics=forensics)
            clock.now += step or 0.0
            before = len(fake.calls)
            start = time.perf_counter()
            report = service.lookup(email, ticket_id=ticket)
            times.append(time.perf_counter() - start)
            calls.append(forensics_calls(fake, before))
            if shared is None:
                service.close()
            assert report.ok, report.problems
    finally:
        if shared is not None:
            shared.close()
    return calls, times


def run_forensics(lookups: int, latency_ms: float) -> dict:
    fake = standard_world(FakeHubSpot()).start()
    busy_week(fake)
    fake.latency = latency_ms / 1000
    fake.rate_max = 1_000_000
    client = HubSpotClient(access_token=TOKEN, base_url=fake.url)
    phases = {"cold": None, "warm_within_a_minute": 1.0, "a_minute_later": 61.0}
    result: dict = {"security_records_in_week": 300, "forensics_calls_per_lookup": {}, "p50_time_ratio_on_vs_off": {}}
    try:
        for name, step in phases.items():
            on, on_t = forensics_phase(client, fake, lookups, forensics=True, step=step)
            off, off_t = forensics_phase(client, fake, lookups, forensics=False, step=step)
            assert max(off) == 0
            result["forensics_calls_per_lookup"][name] = {"mean": round(statistics.mean(on), 2), "max": max(on)}
            result["p50_time_ratio_on_vs_off"][name] = round(percentile(on_t, 50) / percentile(off_t, 50), 2)
    finally:
        client.close()
        fake.stop()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=40)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.lookups, args.latency_ms)
    result["forensics"] = run_forensics(args.lookups, args.latency_ms)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if result["targets_met"] else 1
    print(f"hsperm lookup benchmark: {args.lookups} lookups per phase, {args.latency_ms:g} ms added per call")
    print(f"slowest single call: {result['slowest_single_call_ms']} ms  ({result['single_call_ms']})")
    print(f"{'cache':<6} {'calls max':>9} {'calls mean':>10} {'p50 ms':>8} {'p95 ms':>8} {'p50 x':>6} {'p95 x':>6}")
    for phase in ("cold", "warm"):
        s = result[phase]
        print(
            f"{phase:<6} {s['calls_per_lookup_max']:>9} {s['calls_per_lookup_mean']:>10} {s['p50_ms']:>8} "
            f"{s['p95_ms']:>8} {s['p50_ratio']:>6} {s['p95_ratio']:>6}"
        )
    f = result["forensics"]
    print(f"forensics ({f['security_records_in_week']} security records in the week, token with the scope):")
    print(f"  extra HubSpot calls per lookup: {f['forensics_calls_per_lookup']}")
    print(f"  p50 time, forensics on / off: {f['p50_time_ratio_on_vs_off']}")
    verdict = "met" if result["targets_met"] else "MISSED"
    print(f"targets (warm: <= 3 calls, p95 < 3x the slowest single call): {verdict}")
    return 0 if result["targets_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
