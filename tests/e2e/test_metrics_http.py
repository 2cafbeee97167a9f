"""`GET /metrics`: what an on-call engineer graphs and alerts on, counted from real requests.

Counters are process-wide, so each test reads them before and after and compares the difference.
The last test runs `python -m bot serve` with two gunicorn workers and checks that every scrape,
whichever worker answers it, reports the requests both workers served (multiprocess mode).
"""

from __future__ import annotations

import os
import signal
import sys

import psutil
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.processes import REPO, free_port, run_server, wait_healthy
from tests.fakes.hubspot import PORTAL, TOKEN
from tests.fakes.slack import SlackSender, bot_env, message_event
from tests.samples import TICKET_ERROR


def scrape(bot, headers: dict[str, str] | None = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = bot.session.get(bot.url + "/metrics", headers=headers or {}, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_a_paste_is_counted_as_request_ack_diagnosis_and_reply(http_bot, fake_slack):
    before = scrape(http_bot)
    http_bot.post_event(message_event(TICKET_ERROR))
    fake_slack.wait_for("chat.postMessage")
    http_bot.drain()
    after = scrape(http_bot)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hsperm_slack_requests_total", surface="event", status="200") == 1
    assert delta("hsperm_slack_ack_seconds_count", surface="event") == 1
    assert delta("hsperm_slack_ack_seconds_bucket", surface="event", le="10.0") == 1
    assert delta("hsperm_diagnoses_total", kind="user_permission") == 1
    assert delta("hsperm_replies_total", via="chat.postMessage", result="ok") == 1


def test_refused_requests_are_counted_by_reason(http_bot):
    before = scrape(http_bot)
    http_bot.post_raw(b"{}", {"Content-Type": "application/json"})
    http_bot.post_signed(b"{}", "application/json", secret="wrong-secret")
    after = scrape(http_bot)
    for reason in ("missing_signature_headers", "bad_signature"):
        assert value(after, "hsperm_slack_rejected_requests_total", reason=reason) - value(
            before, "hsperm_slack_rejected_requests_total", reason=reason
        ) == 1


def test_queue_depth_shows_work_in_flight(http_bot, fake_slack):
    gate = fake_slack.hold("chat.postMessage")
    try:
        baseline = value(scrape(http_bot), "hsperm_work_queue_depth")
        http_bot.post_event(message_event(TICKET_ERROR))
        fake_slack.wait_for("chat.postMessage")  # the reply is being sent, and held
        assert value(scrape(http_bot), "hsperm_work_queue_depth") == baseline + 1
    finally:
        gate.set()
    http_bot.drain()
    assert value(scrape(http_bot), "hsperm_work_queue_depth") == baseline


def test_lookups_and_hubspot_calls_are_counted_by_result_and_status(start_http_bot, fake_slack, fake_hubspot):
    bot = start_http_bot(HUBSPOT_ACCESS_TOKEN=TOKEN, HUBSPOT_API_URL=fake_hubspot.url)
    fake_hubspot.fault("/settings/v3/users/teams", 500, times=None)
    before = scrape(bot)
    bot.post_command(f"user ann@example.com ticket 123 portal {PORTAL}")
    fake_slack.wait_for("webhook")
    bot.drain()  # the reply is counted once Slack has answered it: wait for the job, not the POST
    after = scrape(bot)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("hsperm_lookups_total", result="answered_with_problems") == 1
    assert delta("hsperm_hubspot_calls_total", endpoint="/settings/v3/users/teams", status="500") >= 1
    assert delta("hsperm_hubspot_calls_total", endpoint="/crm/v3/objects/tickets/{ticketId}", status="200") == 1
    assert delta("hsperm_replies_total", via="response_url", result="ok") == 1


def test_metrics_can_require_a_bearer_token(start_http_bot):
    bot = start_http_bot(METRICS_TOKEN="metrics-secret-123")
    assert bot.get("/metrics").status_code == 401
    wrong = bot.session.get(bot.url + "/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    assert scrape(bot, {"Authorization": "Bearer metrics-secret-123"})


def _listening_addresses(pid: int, port: int) -> set[str]:
    family = psutil.Process(pid)
    procs = [family, *family.children(recursive=True)]
    found = set()
    for proc in procs:
        for conn in proc.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port:
                found.add(conn.laddr.ip)
    return found


def _procfile_web() -> list[str]:
    web = next(line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return ["sh", "-c", web.split(":", 1)[1].strip()]


@pytest.mark.parametrize(
    ("command", "in_repo", "addresses"),
    [
        # `serve` binds HOST, loopback unless set; its gunicorn hooks live in bot/web.py.
        ([sys.executable, "-m", "bot", "serve"], False, {"127.0.0.1"}),
        # The Procfile binds every interface (Heroku routes to it) and gets the hooks from
        # ./gunicorn.conf.py, which gunicorn reads from the working directory.
        (_procfile_web(), True, {"0.0.0.0"}),  # noqa: S104 - what the Procfile binds, asserted
    ],
    ids=["serve", "procfile"],
)
def test_every_gunicorn_worker_reports_all_requests(fake_slack, tmp_path, command, in_repo, addresses):
    port = free_port()
    env = bot_env(fake_slack, f"sqlite:///{tmp_path / 'hsperm.db'}")
    process = run_server(command, env, port, REPO if in_repo else tmp_path)
    url = f"http://127.0.0.1:{port}"
    sender = SlackSender(url, fake_slack)
    try:
        wait_healthy(url, process)
        assert _listening_addresses(process.pid, port) == addresses
        sent = 6
        for _ in range(sent):
            sender.session = requests.Session()  # new connections, so both workers get some
            assert sender.post_event(message_event(TICKET_ERROR)).status_code == 200
        fake_slack.wait_for("chat.postMessage", count=sent, timeout=30)
        totals = set()
        for _ in range(6):
            sender.session = requests.Session()
            totals.add(value(scrape(sender), "hsperm_slack_requests_total", surface="event", status="200"))
        assert totals == {float(sent)}
    finally:
        sender.session.close()  # a kept-alive connection holds a stopping gthread worker for 2 s
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert b"Traceback" not in stderr
