"""HTTP mode as deployed: health checks, routing, and the Procfile's gunicorn line really serving Slack."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from bot.config import load_settings
from bot.services import Services
from bot.store import PostgresStore
from bot.web import LazyWsgi, create_wsgi_app
from tests.e2e.processes import free_port, run_server, wait_healthy
from tests.fakes.slack import BotServer, SlackSender, bot_env, message_event
from tests.samples import TICKET_ERROR

REPO = Path(__file__).resolve().parents[2]


def test_healthz_is_200_json_when_the_database_answers(http_bot):
    response = http_bot.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["status"] == "ok"


def test_healthz_is_503_when_the_database_is_down(fake_slack):
    settings = load_settings(bot_env(fake_slack, "postgresql://hsperm:s3cret@127.0.0.1:1/hsperm"), dotenv=False)
    dead = Services(settings=settings, store=PostgresStore(settings.database_url, timeout=0.1))  # refused at once
    server = BotServer(create_wsgi_app(settings, services=dead), fake_slack)
    try:
        response = server.get("/healthz")
        assert response.status_code == 503
        assert response.json()["status"] == "unavailable"
        assert "s3cret" not in response.text
        # Slack deliveries meanwhile get 503 too, so Slack retries them once the database is back.
        assert server.post_event(message_event(TICKET_ERROR)).status_code == 503
    finally:
        server.stop()


def test_an_app_that_cannot_start_answers_503_and_retries_on_the_next_request(fake_slack):
    attempts: list[int] = []

    def factory():
        attempts.append(1)
        raise RuntimeError("database not up yet")

    server = BotServer(LazyWsgi(factory), fake_slack)
    try:
        assert server.get("/healthz").status_code == 503
        assert server.get("/healthz").status_code == 503
        assert len(attempts) == 2
    finally:
        server.stop()


def test_other_paths_and_methods(http_bot):
    assert http_bot.get("/").status_code == 404
    assert http_bot.get("/slack/events").status_code == 405
    assert http_bot.session.post(http_bot.url + "/slack/install", timeout=5).status_code == 404


def _serve_and_answer(command: list[str], fake_slack, tmp_path: Path) -> str:
    port = free_port()
    env = bot_env(fake_slack, f"sqlite:///{tmp_path / 'hsperm.db'}")
    process = run_server(command, env, port, tmp_path)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, process)
        assert SlackSender(url, fake_slack).post_event(message_event(TICKET_ERROR)).status_code == 200
        [reply] = fake_slack.wait_for("chat.postMessage", timeout=20)
        assert "HubSpot user permission" in reply.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    return stderr.decode(errors="replace")


def test_the_procfile_web_line_serves_slack_under_gunicorn(fake_slack, tmp_path):
    procfile = (REPO / "Procfile").read_text()
    web = re.search(r"^web:\s*(.+)$", procfile, re.M).group(1)
    logs = _serve_and_answer(["sh", "-c", web], fake_slack, tmp_path)
    assert "Traceback" not in logs
    assert "xoxb-" not in logs


def test_python_m_bot_serve_runs_http_mode_without_an_app_token(fake_slack, tmp_path):
    logs = _serve_and_answer([sys.executable, "-m", "bot", "serve"], fake_slack, tmp_path)
    assert "HTTP mode" in logs
    assert "xoxb-" not in logs


def test_serve_without_a_bot_token_names_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_manifest_matches_what_the_app_handles():
    from bot.messages.ids import SHORTCUT_CALLBACK_ID
    from handlers.commands import COMMAND

    manifest = json.loads((REPO / "manifest.json").read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert [s["callback_id"] for s in features["shortcuts"]] == [SHORTCUT_CALLBACK_ID]
    assert features["app_home"]["home_tab_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    urls = [settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]]
    urls += [c["url"] for c in features["slash_commands"]]
    assert all(url.endswith("/slack/events") for url in urls)
    events = set(settings["event_subscriptions"]["bot_events"])
    assert events == {"app_home_opened", "app_mention", "message.channels", "message.groups", "message.im", "message.mpim"}
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    # each message.* event needs its history scope; nothing more than the app uses
    assert scopes == {
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "chat:write",
        "files:read",  # files.info and downloads: whole snippets and text files, not just their preview
        "commands",
        "users:read",  # users.info: a `/hsperm user @someone` mention
        "users:read.email",  # ... and that person's email
        "usergroups:read",  # usergroups.users.list: approvers and readers named by user group
    }
    # Mentions reach `/hsperm user` as <@U…> only when the command escapes them.
    assert features["slash_commands"][0]["should_escape"] is True
