"""Benchmark how fast hsperm acknowledges Slack events, against a bare Bolt app served the same way.

    python bench/slack_ack.py [--events 300] [--rate 60] [--rounds 4] [--burst 300] [--workers 1] [--json]

Both apps run under gunicorn with the Procfile's flags (one gthread worker by default, so figures
are per worker) on 127.0.0.1, in the same run, in alternating rounds so machine noise hits both.

Acks: v0-signed `message` events leave on a fixed schedule (open loop, like Slack: it does not wait
for us), `--rate` per second; 60/s is about seven times the Events API ceiling of 30,000 events
per hour and workspace. A third are real HubSpot errors, the rest ordinary chat. The time to the
HTTP response is what Slack's 3-second rule counts. The bare app has no listeners and answers at
once, so the ratio is the price of hsperm's dedupe insert, matchers and the replies it renders
and posts in the background meanwhile.

Replies/s: `--burst` HubSpot errors sent at once (8 in flight); the time until the fake Web API,
which runs in its own process, has received every threaded reply.

Targets (issue 3): p99 ack ratio <= 1.3, server RSS under 120 MB.
Not a test: timings depend on the machine. It needs the dev requirements (the fake lives in tests/).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.slack import FakeSlack, SlackSender, bot_env, message_event  # noqa: E402

GUNICORN = ["--worker-class", "gthread", "--threads", "8", "--timeout", "30"]
HUBSPOT_ERRORS = [
    "You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} in portal "
    "342871372 (requires one of [tickets-read, tickets-access]): Forbidden.",
    '{"status":"error","message":"The OAuth token used to make this call expired 5 hour(s) ago.",'
    '"category":"EXPIRED_AUTHENTICATION","correlationId":"019f601e-af3d-7912-b920-31130b6240c9"}',
    "This app hasn't been granted all required scopes to make this call. Read more about required scopes here: "
    "https://developers.hubspot.com/scopes. One or more of the following scopes are required: crm.objects.deals.read",
]
CHAT = [
    "hubspot seems to have a daily limit as well. I suppose we don't handle those?",
    "deploy is green, merging the scopes PR after lunch",
    "Do you have anything in the works for Hubspots new private app token based auth?",
    "can someone review https://github.com/example/repo/pull/42 please",
]


def bare_bolt_app():
    """gunicorn factory: a Bolt app with no listeners, signature checks on, same WebClient setup."""
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler
    from slack_sdk import WebClient

    client = WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = App(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], token_verification_enabled=False)
    return SlackRequestHandler(app)


class FakeSlackProcess:
    """The fake Web API in its own process, so parsing hsperm's replies never steals the GIL from
    the threads that time the acks (which would bill hsperm for the bench's own work)."""

    def __init__(self) -> None:
        self._posted = multiprocessing.Value("i", 0)
        self._stop = multiprocessing.Event()
        parent, child = multiprocessing.Pipe()
        self._process = multiprocessing.Process(target=self._serve, args=(child,), daemon=True)
        self._process.start()
        self.api_url = parent.recv()

    def _serve(self, pipe) -> None:
        fake = FakeSlack().start()
        pipe.send(fake.api_url)
        while not self._stop.wait(0.005):
            self._posted.value = len(fake.calls("chat.postMessage"))
        fake.stop()

    def posted(self) -> int:
        return self._posted.value

    def stop(self) -> None:
        self._stop.set()
        self._process.join(timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, target: str, env: dict[str, str], workdir: Path, workers: int) -> None:
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {**os.environ, **env, "PYTHONPATH": f"{REPO}:{REPO / 'bench'}", "LOG_LEVEL": "ERROR"}
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)]
        command += [*GUNICORN, target]
        self.process = subprocess.Popen(
            command, cwd=workdir, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.peak_rss = 0
        self.peak_total_rss = 0
        self._wait_up()

    def _wait_up(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                requests.post(self.url + "/slack/events", timeout=2)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise SystemExit(f"{self.name} did not start")

    def sample_rss(self) -> None:
        try:
            master = psutil.Process(self.process.pid)
            workers = [w.memory_info().rss for w in master.children()]
            self.peak_rss = max([self.peak_rss, *workers])
            self.peak_total_rss = max(self.peak_total_rss, master.memory_info().rss + sum(workers))
        except psutil.Error:
            pass

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def events(count: int, run: str) -> list[tuple[dict, bool]]:
    """(event, is_hubspot_error) pairs; each error in its own channel so each deserves a reply."""
    out = []
    for n in range(count):
        if n % 3 == 0:
            out.append((message_event(HUBSPOT_ERRORS[n % len(HUBSPOT_ERRORS)], channel=f"C{run}{n:05d}"), True))
        else:
            out.append((message_event(CHAT[n % len(CHAT)], channel=f"C{run}CHAT"), False))
    return out


def drive(server: Server, fake: FakeSlackProcess, count: int, rate: float, run: str) -> list[float]:
    """Open loop: events leave on a fixed schedule (as Slack sends them), whatever the server does."""
    sender = SlackSender(server.url, None)
    sender.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=32))
    latencies: list[float] = []
    lock = threading.Lock()

    def send(event: dict) -> None:
        start = time.perf_counter()
        response = sender.post_event(event)
        elapsed = time.perf_counter() - start
        if response.status_code not in (200, 404):
            raise SystemExit(f"{server.name} answered {response.status_code}")
        with lock:
            latencies.append(elapsed)

    batch = events(count, run)
    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        futures = []
        for n, (event, _) in enumerate(batch):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, event))
            server.sample_rss() if n % 25 == 0 else None
        for future in futures:
            future.result()
    server.sample_rss()
    return latencies


def quiesce(fake: FakeSlackProcess) -> None:
    """Wait until replies from the previous phase stop arriving, so phases do not overlap."""
    last, still_since = fake.posted(), time.monotonic()
    while time.monotonic() - still_since < 0.3:
        time.sleep(0.02)
        if fake.posted() != last:
            last, still_since = fake.posted(), time.monotonic()


def burst(server: Server, fake: FakeSlackProcess, count: int, concurrency: int) -> float:
    """Closed loop, HubSpot errors only: how many threaded replies per second one worker posts."""
    sender = SlackSender(server.url, None)
    sender.session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=concurrency))
    quiesce(fake)
    before = fake.posted()
    batch = [message_event(HUBSPOT_ERRORS[n % len(HUBSPOT_ERRORS)], channel=f"CBURST{n:05d}") for n in range(count)]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(sender.post_event, batch))
    deadline = time.monotonic() + 60
    while fake.posted() - before < count and time.monotonic() < deadline:
        time.sleep(0.005)
        server.sample_rss()
    finished = time.perf_counter()
    time.sleep(0.02)  # the counter is refreshed every 5 ms: let a surplus reply show
    got = fake.posted() - before
    if got != count:
        raise SystemExit(f"hsperm posted {got} replies for {count} errors")
    return count / (finished - started)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=300, help="events per round and app")
    parser.add_argument("--rate", type=float, default=60.0, help="events per second sent to each app")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per app")
    parser.add_argument("--burst", type=int, default=300, help="HubSpot errors sent at once for replies/s")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per app (the Procfile's default: 2)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    fake = FakeSlackProcess()
    latencies: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = bot_env(fake, f"sqlite:///{workdir / 'hsperm.db'}")
        servers = [
            Server("bare Bolt", "slack_ack:bare_bolt_app()", env, workdir, args.workers),
            Server("hsperm", "bot.web:app", env, workdir, args.workers),
        ]
        try:
            for server in servers:  # warm-up: imports, first auth.test, database, engine caches
                drive(server, fake, 60, args.rate * 2, "W" + server.name[:1])
            for round_no in range(args.rounds):
                for server in servers:
                    quiesce(fake)
                    run = f"R{round_no}{server.name[:1]}"
                    latencies.setdefault(server.name, []).extend(drive(server, fake, args.events, args.rate, run))
            replies_per_s = burst(servers[1], fake, args.burst, 8)
            rss = {s.name: round(s.peak_rss / 2**20, 1) for s in servers}
            total_rss = {s.name: round(s.peak_total_rss / 2**20, 1) for s in servers}
        finally:
            for server in servers:
                server.stop()
            fake.stop()

    summary = {
        name: {
            "p50_ms": round(pct(values, 50) * 1000, 2),
            "p99_ms": round(pct(values, 99) * 1000, 2),
            "mean_ms": round(statistics.fmean(values) * 1000, 2),
            "worker_peak_rss_mb": rss[name],
            "server_peak_rss_mb": total_rss[name],
        }
        for name, values in latencies.items()
    }
    base, ours = summary["bare Bolt"], summary["hsperm"]
    report = {
        "events_per_app": args.events * args.rounds,
        "rate_per_s": args.rate,
        "bare_bolt": base,
        "hsperm": ours,
        "p50_ratio": round(ours["p50_ms"] / base["p50_ms"], 2),
        "p99_ratio": round(ours["p99_ms"] / base["p99_ms"], 2),
        "hsperm_replies_per_s": round(replies_per_s, 1),
    }
    report["targets_met"] = report["p99_ratio"] <= 1.3 and ours["server_peak_rss_mb"] < 120
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"{report['events_per_app']} signed message events per app at {args.rate:g}/s "
        f"(a third HubSpot errors), gunicorn gthread, {args.workers} worker(s) x 8 threads"
    )
    for name, s in (("bare Bolt", base), ("hsperm", ours)):
        rss_text = f"RSS {s['worker_peak_rss_mb']} MB per worker, {s['server_peak_rss_mb']} MB with the master"
        print(f"  {name:<10} ack p50 {s['p50_ms']:6.2f} ms  p99 {s['p99_ms']:6.2f} ms  {rss_text}")
    print(f"  ratio      p50 {report['p50_ratio']:.2f}   p99 {report['p99_ratio']:.2f}   (target p99 <= 1.3)")
    print(
        f"  hsperm replies: {report['hsperm_replies_per_s']:.1f} threaded replies/s "
        f"({args.burst} errors at once, 8 in flight)"
    )
    print(f"  targets met: {report['targets_met']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
