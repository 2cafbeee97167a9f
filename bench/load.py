"""Load and faults against the scale-out rig (deploy/cluster.py): acks timed, replies counted at fake Slack.

    deploy/up.sh 3
    .venv/bin/python bench/load.py --rate 200 --seconds 60             # load only
    .venv/bin/python bench/load.py --rate 200 --seconds 90 --faults    # with the scripted faults (~85 s)
    deploy/down.sh

Sends, signed like Slack, at a fixed rate (open loop, bounded: rate x seconds requests plus
retries): pasted errors in channels, channel chatter, `/hsperm <paste>` commands, Share clicks
and `/hsperm user` lookups. One event in five is also re-sent as Slack's retry (same event id,
X-Slack-Retry-Num); an event that gets no 200 is re-sent as Slack would (up to 3 times).

Every request expects a known number of replies (a paste one threaded answer, chatter none, a
command or click one response_url message), so after the run the replies that reached fake Slack
say what was lost or duplicated. With --faults, each fault prints one PASS/FAIL line for the
requests sent while it lasted (plus 3 s): nothing lost, nothing duplicated, no ack over 3 s.
Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.hubspot import PORTAL  # noqa: E402
from tests.fakes.slack import APP_ID, TEAM_ID, sign  # noqa: E402

PASTE = (
    "You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} in portal "
    "342871372 (requires one of [tickets-read, tickets-access]): Forbidden."
)
CHATTER = ("lunch at noon?", "deploying the HubSpot sync after standup", "thanks, that fixed it", "403 on the VPN again")
#: kind -> share of the traffic
MIX = {"paste": 35, "chat": 25, "command": 20, "click": 10, "lookup": 10}
SLACK_PATIENCE = 3.0
#: How long a fault's window stays open after it ends, for the requests it delayed.
AFTERMATH = 3.0


@dataclass
class Sent:
    kind: str
    key: str  # where its reply lands at fake Slack: "channel:ts" for posts, the response_url name for webhooks
    sent_at: float
    expected: int
    acks: list[float] = field(default_factory=list)  # latency of each delivery attempt, seconds
    statuses: list[int] = field(default_factory=list)  # 0 = no answer within Slack's patience
    fault: str | None = None


class Load:
    def __init__(self, state: dict[str, Any], args: argparse.Namespace) -> None:
        self.url = state["url"] + "/slack/events"
        self.webhook_base = state["slack_api_url"].rsplit("/api/", 1)[0] + "/webhook/"
        self.state = state
        self.args = args
        self.sent: list[Sent] = []
        self.lock = threading.Lock()
        self.local = threading.local()
        self.fault: str | None = None
        self.run_id = uuid.uuid4().hex[:6].upper()
        self.pool = ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="load")
        self.rng = random.Random(args.seed)

    # -- sending ----------------------------------------------------------------------------------

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def post(self, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> tuple[int, float, str]:
        headers = {"Content-Type": content_type, **sign(body), **(extra or {})}
        start = time.perf_counter()
        try:
            response = self.session().post(self.url, data=body, headers=headers, timeout=SLACK_PATIENCE)
            return response.status_code, time.perf_counter() - start, response.text
        except requests.RequestException:
            return 0, time.perf_counter() - start, ""

    def record(self, item: Sent, status: int, latency: float) -> None:
        with self.lock:
            item.statuses.append(status)
            item.acks.append(latency)

    def send_event(self, n: int, kind: str) -> None:
        ts = f"{1764300000 + n // 1000000}.{n % 1000000:06d}"
        channel = f"C{self.run_id}{n % 7}"
        text = PASTE if kind == "paste" else self.rng.choice(CHATTER)
        event = {"type": "message", "channel": channel, "user": f"U{n % 50:04d}", "text": text, "ts": ts,
                 "channel_type": "channel", "team": TEAM_ID}
        event_id = f"Ev{self.run_id}{n:08d}"
        envelope = {"token": "x", "team_id": TEAM_ID, "api_app_id": APP_ID, "event": event, "type": "event_callback",
                    "event_id": event_id, "event_time": int(time.time()),
                    "authorizations": [{"team_id": TEAM_ID, "user_id": "U0HSPERM", "is_bot": True}]}
        body = json.dumps(envelope).encode()
        item = self.track(kind, f"{channel}:{ts}", 1 if kind == "paste" else 0)
        status, latency, _ = self.post(body, "application/json")
        self.record(item, status, latency)
        retries = 0
        if self.rng.random() < 0.2:  # Slack thought the first delivery timed out
            time.sleep(self.rng.uniform(0.1, 1.0))
            retries += 1
            status2, latency2, _ = self.post(body, "application/json", self.retry_headers(retries))
            self.record(item, status2, latency2)
            status = 200 if 200 in (status, status2) else status2
        while status != 200 and retries < 3:  # as Slack does (compressed: 1 s, not minutes, apart)
            time.sleep(1.0)
            retries += 1
            status, latency, _ = self.post(body, "application/json", self.retry_headers(retries))
            self.record(item, status, latency)

    @staticmethod
    def retry_headers(number: int) -> dict[str, str]:
        return {"X-Slack-Retry-Num": str(number), "X-Slack-Retry-Reason": "http_timeout"}

    def send_command(self, n: int, kind: str) -> None:
        name = f"{kind}-{self.run_id}-{n}"
        user = f"U{n % 50:04d}"
        if kind == "click":
            payload = {"type": "block_actions", "user": {"id": user, "team_id": TEAM_ID},
                       "team": {"id": TEAM_ID}, "api_app_id": APP_ID, "trigger_id": f"1.2.{n}",
                       "container": {"type": "message", "channel_id": "C0LOAD", "is_ephemeral": True},
                       "channel": {"id": "C0LOAD"}, "response_url": self.webhook_base + name,
                       "actions": [{"action_id": "hsperm_share", "block_id": "b", "value": "gone", "type": "button"}]}
            body, expected = ("payload=" + quote(json.dumps(payload))).encode(), 1
        else:
            text = PASTE if kind == "command" else f"user ann@example.com ticket 123 portal {PORTAL}"
            form = {"command": "/hsperm", "text": text, "team_id": TEAM_ID, "user_id": f"U{n:06d}" if kind == "lookup"
                    else user, "channel_id": "C0LOAD", "response_url": self.webhook_base + name, "trigger_id": "1.2.3",
                    "api_app_id": APP_ID}
            body, expected = urlencode(form).encode(), 1
        item = self.track(kind, name, expected)
        status, latency, text_ = self.post(body, "application/x-www-form-urlencoded")
        self.record(item, status, latency)
        if status != 200 or (kind == "lookup" and "Looking up" not in text_):
            item.expected = 0  # the user saw an error or a refusal in the ack itself: no later message due

    def track(self, kind: str, key: str, expected: int) -> Sent:
        item = Sent(kind, key, time.monotonic(), expected, fault=self.fault)
        with self.lock:
            self.sent.append(item)
        return item

    def run(self) -> None:
        kinds = [k for k, share in MIX.items() for _ in range(share)]
        interval = 1.0 / self.args.rate
        total = int(self.args.rate * self.args.seconds)
        start = time.monotonic()
        for n in range(total):
            delay = start + n * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            kind = kinds[n % len(kinds)] if not self.args.random_mix else self.rng.choice(kinds)
            job = self.send_event if kind in ("paste", "chat") else self.send_command
            self.pool.submit(job, n, kind)
        self.pool.shutdown(wait=True)
        self.elapsed = time.monotonic() - start


# -- faults -------------------------------------------------------------------------------------------


class Faults(threading.Thread):
    """Runs the scripted faults one after the other while the load runs."""

    def __init__(self, load: Load, cluster: list[str]) -> None:
        super().__init__(daemon=True)
        self.load = load
        self.cluster = cluster
        self.control = load.state["control_url"]
        self.windows: list[tuple[str, float, float]] = []
        self.broken: list[str] = []

    def control_post(self, path: str, **body: Any) -> None:
        requests.post(self.control + path, json=body, timeout=5).raise_for_status()

    def window(self, name: str, action, seconds: float) -> None:
        self.load.fault = name
        began = time.monotonic()
        try:
            action()
        except Exception as exc:  # a fault that cannot be injected is a failed check, said plainly
            self.broken.append(f"FAIL fault {name}: could not inject it ({type(exc).__name__}: {exc})")
        time.sleep(seconds)
        self.load.fault = None
        self.windows.append((name, began, time.monotonic()))

    def cluster_cmd(self, *args: str) -> None:
        subprocess.run([*self.cluster, *args], check=True, capture_output=True, timeout=90)

    def run(self) -> None:
        plan = [
            ("postgres restarted", lambda: self.cluster_cmd("pg-restart"), 4, None),
            ("postgres hung 3 s", lambda: self.control_post("/pg/hang", seconds=3), 5, None),
            ("one instance stopped (SIGTERM)", lambda: self.cluster_cmd("kill-instance", "1", "--graceful"), 5,
             lambda: self.cluster_cmd("restart-instance", "1")),
            ("one instance killed (SIGKILL)", lambda: self.cluster_cmd("kill-instance", "0"), 5,
             lambda: self.cluster_cmd("restart-instance", "0")),
            ("slack 429 (Retry-After 1)", lambda: self.control_post("/slack/fail", method="chat.postMessage",
                                                                    status=429, times=40, retry_after=1), 4, None),
            ("slack 500", lambda: self.control_post("/slack/fail", method="chat.postMessage", status=500, times=40),
             4, None),
            ("slack hanging 4 s", lambda: self.control_post("/slack/hang", methods=["chat.postMessage", "webhook"],
                                                            seconds=4), 6, None),
            ("hubspot down 5 s", lambda: self.control_post("/hubspot/down", seconds=5), 6, None),
        ]
        time.sleep(5)
        for name, action, seconds, recover in plan:
            self.window(name, action, seconds)
            if recover:
                recover()
            time.sleep(AFTERMATH + 1)  # each fault is judged on its own window


# -- results ------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def judge(items: list[Sent], stats: dict[str, Any], show: bool = False) -> dict[str, Any]:
    posts, webhooks = stats["posts"], stats["webhooks"]
    lost = duplicate = unwanted = refused = 0
    for item in items:
        got = posts.get(item.key, 0) if item.kind in ("paste", "chat") else webhooks.get(item.key, 0)
        if item.kind in ("paste", "chat") and 200 not in item.statuses:
            refused += 1  # Slack gave up after its retries; counted apart, and lost if a paste
        if show and got != item.expected:
            print(f"  {item.kind} {item.key}: {got} replies for {item.expected} expected; acks {item.statuses}"
                  f" during {item.fault or 'no fault'}")
        if got < item.expected:
            lost += 1
        elif got > item.expected:
            if item.expected:
                duplicate += 1
            else:
                unwanted += 1
    acks = [a for item in items for a in item.acks]
    timeouts = sum(1 for item in items for s in item.statuses if s == 0)
    return {
        "requests": len(acks),
        "items": len(items),
        "p50_ms": round(percentile(acks, 0.50) * 1000, 1),
        "p99_ms": round(percentile(acks, 0.99) * 1000, 1),
        "max_ms": round(max(acks, default=0) * 1000, 1),
        "over_3s": timeouts,
        "non_200": sum(1 for item in items for s in item.statuses if s not in (0, 200)),
        "lost": lost,
        "duplicate": duplicate,
        "unwanted": unwanted,
        "never_acked": refused,
    }


def wait_quiet(control: str, quiet: float = 10.0, seconds: float = 90.0) -> dict[str, Any]:
    """Fetch stats until the reply counts have not changed for `quiet` seconds (late replies after
    faults: retries, backoffs), at most `seconds`, then return them."""
    deadline = time.monotonic() + seconds
    last, since = None, time.monotonic()
    while True:
        stats = requests.get(control + "/stats", timeout=10).json()
        signature = (sum(stats["posts"].values()), sum(stats["webhooks"].values()))
        if signature != last:
            last, since = signature, time.monotonic()
        if time.monotonic() - since >= quiet or time.monotonic() > deadline:
            return stats
        time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description="hsperm load and fault bench against deploy/cluster.py's rig")
    parser.add_argument("--dir", default="/tmp/hsperm-cluster", help="the rig's state directory")
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (before retries)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=64, help="concurrent senders")
    parser.add_argument("--faults", action="store_true", help="run the scripted faults during the load")
    parser.add_argument("--random-mix", action="store_true", help="random kinds instead of a fixed rotation")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verbose", action="store_true", help="list every lost or duplicated item")
    args = parser.parse_args()
    if not 0 < args.rate <= 1000 or not 0 < args.seconds <= 600:
        parser.error("--rate must be in (0, 1000] and --seconds in (0, 600]")
    state = json.loads((Path(args.dir) / "cluster.json").read_text())
    if not state["url"].startswith("http://127.0.0.1:"):
        parser.error("the rig must be on 127.0.0.1")

    load = Load(state, args)
    faults = None
    if args.faults:
        faults = Faults(load, [sys.executable, str(REPO / "deploy" / "cluster.py"), "--dir", args.dir])
        faults.start()
    print(f"sending {args.rate:g}/s for {args.seconds:g} s to {state['url']} ({state['instances']} instances)...")
    load.run()
    if faults:
        faults.join(timeout=120)
    stats = wait_quiet(state["control_url"])
    overall = judge(load.sent, stats, show=args.verbose)
    rate = overall["requests"] / load.elapsed
    print(f"overall: {overall['items']} items, {overall['requests']} requests in {load.elapsed:.1f} s "
          f"({rate:.0f}/s incl. retries); ack p50 {overall['p50_ms']} ms, p99 {overall['p99_ms']} ms, "
          f"max {overall['max_ms']} ms, over 3 s {overall['over_3s']}, non-200 {overall['non_200']}; "
          f"lost {overall['lost']}, duplicate {overall['duplicate']}, unwanted {overall['unwanted']}")
    ok = overall["lost"] == overall["duplicate"] == overall["unwanted"] == 0
    if not args.faults:
        ok = ok and overall["p99_ms"] < 300
        print(f"{'PASS' if ok else 'FAIL'} load: p99 ack < 300 ms, zero lost, zero duplicate")
    for line in faults.broken if faults else []:
        print(line)
        ok = False
    for name, began, ended in (faults.windows if faults else []):
        items = [i for i in load.sent if began <= i.sent_at <= ended + AFTERMATH]
        result = judge(items, stats)
        passed = result["lost"] == result["duplicate"] == result["over_3s"] == 0
        ok = ok and passed
        print(f"{'PASS' if passed else 'FAIL'} fault {name}: {result['items']} items, ack max {result['max_ms']} ms, "
              f"over 3 s {result['over_3s']}, non-200 {result['non_200']}, lost {result['lost']}, "
              f"duplicate {result['duplicate']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
