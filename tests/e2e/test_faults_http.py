"""Dependencies misbehaving: PostgreSQL dropping or never answering, seen through the real HTTP path.

PostgreSQL is reached through a `TcpProxy` on 127.0.0.1 that the test cuts or hangs, so only
this test's connections suffer; the shared server is never restarted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode

import psycopg_pool
import pytest
from prometheus_client import REGISTRY
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.slack_identity import SlackIdentity
from bot.slack_retry import _STARTED, CappedRateLimitRetryHandler
from bot.store import StoreUnavailable, open_store
from tests.e2e.processes import REPO, free_port, run_server
from tests.fakes.hubspot import PORTAL, TOKEN
from tests.fakes.slack import (
    BOT_TOKEN,
    BOT_USER_ID,
    TEAM_ID,
    BotServer,
    FakeSlack,
    bot_env,
    event_envelope,
    message_event,
    sign,
)
from tests.fakes.tcp_proxy import TcpProxy

PASTE = (
    "You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} in portal "
    "342871372 (requires one of [tickets-read, tickets-access]): Forbidden."
)
#: Seconds Slack waits for an ack before it shows the user an error and retries.
SLACK_PATIENCE = 3
LOG_FILE = ("sync started\nbatch 1 ok\nbatch 2 ok\nbatch 3 ok\nbatch 4 ok\nbatch 5 ok\nERROR " + PASTE + "\n").encode()


@pytest.fixture
def pg_proxy(postgres_url: str) -> Iterator[TcpProxy]:
    proxy = TcpProxy.for_url(postgres_url).start()
    yield proxy
    proxy.stop()


def until(condition, what: str, timeout: float = 20.0) -> None:
    """Wait for something the app does on its own (reconnect attempts), or fail naming it."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.005)


def deliver_like_slack(bot: BotServer, event: dict, event_id: str, attempts: int = 20, first_retry: int = 0) -> int:
    """Post an event and, as Slack does, re-send it (same id, X-Slack-Retry-Num) until it gets 200."""
    for attempt in range(first_retry, first_retry + attempts):
        status = bot.post_event(event, event_id=event_id, retry_num=attempt or None).status_code
        if status == 200:
            return attempt
        assert status == 503, f"unexpected status {status}"
        time.sleep(0.25)
    raise AssertionError(f"{event_id} was refused {attempts} times")


def answers_for(fake: FakeSlack, ts: str) -> int:
    return sum(1 for c in fake.calls("chat.postMessage") if c.params.get("thread_ts") == ts)


def test_a_paste_acked_before_postgres_drops_is_answered_once_it_is_back(start_http_bot, fake_slack, pg_proxy, postgres_url):
    bot = start_http_bot(pg_proxy.url(postgres_url))
    gate = fake_slack.hold("files.info")  # keeps the acked paste's work waiting until the database is gone
    event = message_event("sync log", subtype="file_share", files=[fake_slack.add_file("F0DROP", LOG_FILE)])
    try:
        assert bot.post_event(event, event_id="EvDROP1").status_code == 200  # acked: Slack will not resend it
        pg_proxy.cut()
    finally:
        gate.set()
    until(lambda: pg_proxy.refused >= 2, "the app trying to reach the database again")
    pg_proxy.restore()
    [reply] = fake_slack.wait_for("chat.postMessage", timeout=30)
    assert "HubSpot user permission" in reply.text
    bot.drain()
    assert answers_for(fake_slack, event["ts"]) == 1


def test_after_a_drop_every_paste_is_answered_exactly_once(start_http_bot, fake_slack, pg_proxy, postgres_url):
    bot = start_http_bot(pg_proxy.url(postgres_url))
    before = [message_event(PASTE, channel="C0BEFORE") for _ in range(3)]
    during = [message_event(PASTE, channel="C0DURING") for _ in range(3)]
    for n, event in enumerate(before):
        deliver_like_slack(bot, event, f"EvBEFORE{n}")
    fake_slack.wait_for("chat.postMessage", 3)
    pg_proxy.cut()
    # Nothing can be claimed while the database is gone: Slack is told to retry (503), never a silent 200.
    assert {bot.post_event(event, event_id=f"EvDURING{n}").status_code for n, event in enumerate(during)} == {503}
    pg_proxy.restore()
    for n, event in enumerate(during):
        deliver_like_slack(bot, event, f"EvDURING{n}", first_retry=1)
    fake_slack.wait_for("chat.postMessage", 6, timeout=30)
    bot.drain()
    assert [answers_for(fake_slack, e["ts"]) for e in before + during] == [1] * 6


def test_a_database_that_never_answers_gets_503s_not_a_hung_ack(start_http_bot, fake_slack, pg_proxy, postgres_url):
    bot = start_http_bot(pg_proxy.url(postgres_url), DATABASE_TIMEOUT_SECONDS="0.5")
    assert bot.get("/healthz").status_code == 200
    pg_proxy.hang()
    try:
        # Slack waits 3 s for an ack and a load balancer's health check about as long: the client
        # here is as patient as they are, no more. Before the deadlines both requests outlived it.
        health = bot.session.get(bot.url + "/healthz", timeout=SLACK_PATIENCE)
        assert health.status_code == 503
        assert health.json()["database"] == "unreachable"
        event = message_event(PASTE)
        body = json.dumps(event_envelope(event, "EvHUNG")).encode()
        headers = {"Content-Type": "application/json", **sign(body)}
        ack = bot.session.post(bot.url + "/slack/events", data=body, headers=headers, timeout=SLACK_PATIENCE)
        assert ack.status_code == 503
        assert fake_slack.replies() == []
    finally:
        pg_proxy.restore()
    deliver_like_slack(bot, event, "EvHUNG", first_retry=1)
    [reply] = fake_slack.wait_for("chat.postMessage", timeout=30)
    assert reply.params["thread_ts"] == event["ts"]
    until(lambda: bot.get("/healthz").status_code == 200, "/healthz recovering")


# -- Slack misbehaving ---------------------------------------------------------------------------


def test_auth_test_runs_at_start_up_and_never_inside_an_ack(start_http_bot, fake_slack):
    bot = start_http_bot()
    assert len(fake_slack.calls("auth.test")) == 1  # before the first request
    gate = fake_slack.hold("auth.test")  # a Slack API that stalls from now on
    try:
        body = urlencode({"command": "/hsperm", "text": "help", "team_id": TEAM_ID, "user_id": "U0ALICE",
                          "channel_id": "C0GENERAL", "response_url": fake_slack.webhook_url("c")}).encode()
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
        ack = bot.session.post(bot.url + "/slack/events", data=body, headers=headers, timeout=SLACK_PATIENCE)
        assert ack.status_code == 200
        assert "/hsperm" in ack.text  # the help text itself, not Bolt's apology
        assert bot.post_event(message_event(PASTE)).status_code == 200
        fake_slack.wait_for("chat.postMessage")
    finally:
        gate.set()
    assert len(fake_slack.calls("auth.test")) == 1


def test_the_identity_refresh_keeps_the_last_good_answer(fake_slack):
    identity = SlackIdentity(BOT_TOKEN, fake_slack.api_url)
    identity.load()
    fake_slack.error("auth.test", "ratelimited")
    assert identity.refresh() is False
    assert identity.authorize(None, TEAM_ID, "U0ALICE").bot_user_id == BOT_USER_ID


@pytest.mark.parametrize("broken", ["invalid_auth", "unreachable"])
def test_serve_fails_fast_with_one_line_when_slack_says_no_or_is_unreachable(fake_slack, tmp_path, broken):
    api_url = fake_slack.api_url
    if broken == "invalid_auth":
        fake_slack.error("auth.test", "invalid_auth", times=10)
    else:
        api_url = f"http://127.0.0.1:{free_port()}/api/"  # nothing listens there
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "HUBSPOT_"))}
    env.update(bot_env(fake_slack, f"sqlite:///{tmp_path / 'hsperm.db'}", SLACK_API_URL=api_url, PORT=str(free_port())))
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    expected = "auth.test failed: invalid_auth (check SLACK_BOT_TOKEN)" if broken == "invalid_auth" else "cannot reach Slack"
    assert expected in line
    assert BOT_TOKEN not in result.stderr


def plain_gunicorn(fake_slack, tmp_path, **overrides: str):
    """`gunicorn bot.web:app` in the repository, as systemd or a Procfile runs it: it reads
    ./gunicorn.conf.py, and nothing else of hsperm's runs before the workers boot."""
    port = free_port()
    env = bot_env(fake_slack, f"sqlite:///{tmp_path / 'hsperm.db'}", **overrides)
    command = ["gunicorn", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "bot.web:app"]
    return run_server(command, env, port, REPO, workers=2)


def test_plain_gunicorn_workers_ask_slack_who_they_are_as_they_boot_not_in_a_request(fake_slack, tmp_path):
    process = plain_gunicorn(fake_slack, tmp_path)
    try:
        # No request is ever sent: one auth.test in the master, then one per worker from its boot hook.
        until(lambda: len(fake_slack.calls("auth.test")) == 3 or process.poll() is not None, "both workers booting",
              timeout=60)
        assert process.poll() is None
        assert len(fake_slack.calls("auth.test")) == 3
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert b"Traceback" not in stderr


def test_plain_gunicorn_stops_with_one_clear_line_when_slack_rejects_the_token(fake_slack, tmp_path):
    fake_slack.error("auth.test", "invalid_auth", times=10)
    process = plain_gunicorn(fake_slack, tmp_path)
    try:
        _, stderr = process.communicate(timeout=60)  # gunicorn stops by itself: no worker can boot
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    text = stderr.decode(errors="replace")
    assert process.returncode == 1
    [line] = [line for line in text.splitlines() if "auth.test failed" in line]
    assert "hsperm cannot start: Slack auth.test failed: invalid_auth (check SLACK_BOT_TOKEN)" in line
    assert "Booting worker" not in text  # stopped before any worker started
    assert "Traceback" not in text
    assert BOT_TOKEN not in text


def test_a_retry_after_over_the_cap_gives_the_reply_up_and_a_re_paste_is_answered(start_http_bot, fake_slack, caplog):
    bot = start_http_bot(SLACK_RETRY_AFTER_CAP_SECONDS="2")
    fake_slack.fail("chat.postMessage", status=429, retry_after=30)
    first = message_event(PASTE, channel="C0LIMITED")
    assert bot.post_event(first).status_code == 200
    fake_slack.wait_for("chat.postMessage")
    # Given up at once (not after sleeping 30 s): the claim is free again, so the same error
    # pasted again in the thread gets its answer.
    until(lambda: any("gave up replying in C0LIMITED: ratelimited" in r.getMessage() for r in caplog.records),
          "the reply being given up")
    again = message_event(PASTE, channel="C0LIMITED", thread_ts=first["ts"])
    assert bot.post_event(again).status_code == 200
    attempts = fake_slack.wait_for("chat.postMessage", 2)
    bot.drain()
    assert len(fake_slack.calls("chat.postMessage")) == 2 == len(attempts)
    assert [c.params["thread_ts"] for c in attempts] == [first["ts"], first["ts"]]
    assert sum("gave up replying" in r.getMessage() for r in caplog.records) == 1


def test_retry_after_within_the_cap_is_waited_and_the_reply_delivered(start_http_bot, fake_slack):
    bot = start_http_bot(SLACK_RETRY_AFTER_CAP_SECONDS="2")
    fake_slack.fail("chat.postMessage", status=429, retry_after=1)
    event = message_event(PASTE)
    assert bot.post_event(event).status_code == 200
    attempts = fake_slack.wait_for("chat.postMessage", 2)
    bot.drain()
    assert len(attempts) == 2 and all(c.params["thread_ts"] == event["ts"] for c in attempts)


def test_retries_stop_at_the_reply_deadline():
    handler = CappedRateLimitRetryHandler(max_retry_count=100, cap=5, deadline=3)
    state = RetryState()
    limited = HttpResponse(status_code=429, headers={"Retry-After": ["2"]}, body={}, data=b"")
    assert handler.can_retry(state=state, request=None, response=limited)  # 2 s fits in 3
    state.custom_values[_STARTED] -= 2  # two seconds spent failing already
    assert not handler.can_retry(state=state, request=None, response=limited)  # 2 more would pass 3


# -- HubSpot slow, people impatient --------------------------------------------------------------


def post_command_like_slack(bot: BotServer, fake: FakeSlack, text: str, user: str = "U0ALICE") -> dict:
    """`/hsperm <text>` with Slack's patience; returns the ack's JSON (Slack shows it at once)."""
    body = urlencode({"command": "/hsperm", "text": text, "team_id": TEAM_ID, "user_id": user,
                      # Slack gives every invocation its own response_url: no two commands are the same request.
                      "channel_id": "C0GENERAL", "response_url": fake.webhook_url(),
                      "trigger_id": "1.2.3"}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    ack = bot.session.post(bot.url + "/slack/events", data=body, headers=headers, timeout=SLACK_PATIENCE)
    assert ack.status_code == 200
    return ack.json()


def ack_text(ack: dict) -> str:
    return json.dumps(ack)


@pytest.fixture
def lookup_bot(start_http_bot, fake_hubspot):
    return start_http_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url, HSPERM_LOOKUPS_PER_PORTAL="20")


def test_one_user_firing_lookups_gets_clear_refusals_and_identical_lookups_run_once(lookup_bot, fake_slack, fake_hubspot):
    gate = fake_hubspot.hold("/users")  # HubSpot hangs on the user search until released
    query = f"user ann@example.com ticket 123 portal {PORTAL}"
    try:
        acks = [post_command_like_slack(lookup_bot, fake_slack, query) for _ in range(12)]
        # Every command is acknowledged at once, even with HubSpot hanging: never a timeout (404).
        started = [a for a in acks if "Looking up" in ack_text(a)]
        refused = [a for a in acks if "lookups in the last minute" in ack_text(a)]
        assert (len(started), len(refused)) == (6, 6)
        assert all(a["response_type"] == "ephemeral" for a in refused)
        until(lambda: len(fake_hubspot.calls_to("/users")) >= 1, "the first lookup reaching HubSpot")
        # Another person may still ask: the limit is per user.
        assert "Looking up" in ack_text(post_command_like_slack(lookup_bot, fake_slack, query, user="U0BOB"))
    finally:
        gate.set()
    reports = fake_slack.wait_for("webhook", 7, timeout=30)
    lookup_bot.drain()
    assert len(reports) == 7 and all("Refund request" in r.text or "ticket 123" in r.text for r in reports)
    # Seven identical lookups in flight together: HubSpot was asked once.
    assert len(fake_hubspot.calls_to("/users/ann@example.com")) == 1


def test_a_portal_with_its_lookups_running_refuses_more_with_a_clear_answer(start_http_bot, fake_slack, fake_hubspot):
    bot = start_http_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url, HSPERM_LOOKUPS_PER_PORTAL="2")
    gate = fake_hubspot.hold("/users")
    try:
        for user, email in (("U0ANN", "ann@example.com"), ("U0BOB", "bob@example.com")):
            assert "Looking up" in ack_text(post_command_like_slack(bot, fake_slack, f"user {email} portal {PORTAL}", user))
        third = post_command_like_slack(bot, fake_slack, f"user sue@example.com portal {PORTAL}", "U0SUE")
        assert f"2 lookups are already running against portal {PORTAL}" in ack_text(third)
    finally:
        gate.set()
    fake_slack.wait_for("webhook", 2, timeout=30)
    # Slots come back when lookups end.
    until(lambda: "Looking up" in ack_text(post_command_like_slack(bot, fake_slack, f"user sue@example.com portal {PORTAL}",
                                                                    "U0SUE")), "a free slot")


def test_a_hanging_hubspot_never_holds_every_thread_that_acks_or_replies(start_http_bot, fake_slack, fake_hubspot):
    bot = start_http_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url)  # default limits
    gate = fake_hubspot.hold("/users")
    try:
        for n in range(12):  # twelve people, twelve different lookups, HubSpot answering none
            post_command_like_slack(bot, fake_slack, f"user person{n}@example.com portal {PORTAL}", f"U0PERSON{n}")
        assert "/hsperm" in ack_text(post_command_like_slack(bot, fake_slack, "help"))
        event = message_event(PASTE, channel="C0PASTE")
        assert bot.post_event(event).status_code == 200
        [reply] = fake_slack.wait_for("chat.postMessage")  # answered while HubSpot still hangs
        assert reply.params["thread_ts"] == event["ts"]
    finally:
        gate.set()


def test_a_paste_arriving_with_the_work_queue_full_is_refused_for_slack_to_resend_not_dropped(start_http_bot, fake_slack):
    bot = start_http_bot()
    gate = fake_slack.hold("chat.postMessage")  # Slack stalls: replies pile up in the work queue
    work = bot.wsgi_app.services.work
    try:
        n = 0
        while not work.full:
            assert bot.post_event(message_event(PASTE, channel=f"C0FILL{n}")).status_code == 200
            n += 1
            until(lambda: work.depth == n, "the paste's reply being queued")  # noqa: B023
        late = message_event(PASTE, channel="C0LATE")
        refused = REGISTRY.get_sample_value("hsperm_work_queue_full_total", {"refused": "event"}) or 0.0
        assert bot.post_event(late, event_id="EvLATE").status_code == 503
        # ... and counted for whoever graphs /metrics (the server runs in this process).
        assert REGISTRY.get_sample_value("hsperm_work_queue_full_total", {"refused": "event"}) == refused + 1
    finally:
        gate.set()
    until(lambda: not work.full, "the queue draining")
    deliver_like_slack(bot, late, "EvLATE", first_retry=1)
    fake_slack.wait_for("chat.postMessage", n + 1, timeout=60)
    bot.drain()
    assert answers_for(fake_slack, late["ts"]) == 1


def test_while_the_database_is_failing_one_caller_probes_and_the_others_fail_at_once(postgres_url):
    """With PostgreSQL hung, acks must not each wait the full deadline: they would queue behind one another."""
    store = open_store(postgres_url)
    hung, calls, errors = threading.Event(), [], []

    class HungPool:
        def getconn(self, timeout: float):
            calls.append(timeout)
            hung.wait(30)
            raise psycopg_pool.PoolTimeout("no connection")

    real_pool, store._pool = store._pool, HungPool()
    try:
        hung.set()
        with pytest.raises(StoreUnavailable):
            store.claim_event("EvFIRST")  # a failure: from now on the store fails fast
        hung.clear()

        def probe() -> None:
            try:
                store.claim_event("EvPROBE")
            except StoreUnavailable as exc:
                errors.append(exc)

        prober = threading.Thread(target=probe)
        prober.start()
        until(lambda: len(calls) == 2, "the probe reaching the (hung) database")
        with pytest.raises(StoreUnavailable, match="failing fast"):
            store.claim_event("EvOTHER")
        assert len(calls) == 2  # the other caller never waited on the database
        hung.set()
        prober.join()
        assert len(errors) == 1
    finally:
        hung.set()
        store._pool = real_pool
    assert store.claim_event("EvAFTER") is True  # the next probe succeeds and closes the breaker
    assert store.claim_event("EvAFTER2") is True
    store.close()
