"""Fix requests where real HTTP and real processes matter: concurrent clicks on two instances,
restarts after a crash, a process killed while its write is in flight.

hsperm is served over HTTP (wsgiref, a thread per request) like Slack reaches it; the scenario
(Ann, Alice, Bob, Carol) is in tests/approval_steps.py. Single requests are in
tests/test_slack_approvals.py, dispatched in-process.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot.store import open_store
from tests.approval_steps import (
    audit_actions,
    backdate,
    click,
    final_update,
    fix_state,
    leave_applying,
    prepare_world,
    request_fix,
    said,
    starter,
    updates,
    wait_until,
)
from tests.fakes.hubspot import ANN_USER, EAST, PORTAL, TOKEN, WEST

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(fake_hubspot, fake_slack):
    return prepare_world(fake_hubspot, fake_slack)


@pytest.fixture
def start(start_http_bot, world, database_url):
    return starter(start_http_bot, world, database_url)


# -- exactly once ---------------------------------------------------------------------------------


def test_twenty_concurrent_approvals_on_two_instances_write_once(start, fake_slack, world, database_url):
    first, second = start(), start()
    _, request_id = request_fix(first, fake_slack)
    barrier = threading.Barrier(20)

    def approve(n: int) -> None:
        barrier.wait()
        click((first, second)[n % 2], fake_slack, "hsperm_approve", request_id, ("U0BOB", "U0CAROL")[n % 2])

    threads = [threading.Thread(target=approve, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final_update(fake_slack, "verified")
    wait_until(lambda: len(said(fake_slack, "already")) >= 19, "19 refusals")
    first.drain()
    second.drain()
    assert len(world.writes()) == 1  # measured: 20 clicks on 2 instances -> 1 HubSpot write
    assert len([u for u in updates(fake_slack) if "verified" in u.text]) == 1
    refusals = [a for a in audit_actions(database_url, request_id) if a[1] == "refused"]
    assert len(refusals) == 19


# -- crashes: a restart settles what a dead instance left, by reading HubSpot ---------------------


def test_a_crash_before_the_write_is_settled_on_restart_without_writing(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.drain()  # its own start-up reconcile has run: only the restart can settle what follows
    leave_applying(database_url, request_id)
    bot.stop()
    restarted = start()  # the restart reconciles by reading HubSpot
    failed = final_update(fake_slack, "Failed")
    assert "hsperm stopped while applying it" in failed.text
    assert failed.action_ids() == ["hsperm_retry"]
    restarted.drain()
    assert world.writes() == []  # never repeated blindly
    assert fix_state(database_url, request_id) == "failed"


def test_a_crash_after_the_write_is_settled_as_applied(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.drain()  # its own start-up reconcile has run: only the restart can settle what follows
    leave_applying(database_url, request_id)
    world.portal(PORTAL).users[ANN_USER]["secondaryTeamIds"] = [WEST]  # HubSpot got the write before the crash
    bot.stop()
    restarted = start()
    assert "verified: Ann can now view ticket 123" in final_update(fake_slack, "verified").text
    restarted.drain()
    assert world.writes() == []


def test_a_crash_right_after_approval_is_settled_without_writing(start, fake_slack, world, database_url):
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.drain()  # its own start-up reconcile has run: only the restart can settle what follows
    store = open_store(database_url)
    assert store.transition_fix(request_id, ("pending",), "approved", decided_by="U0BOB", decided_at=time.time() - 600)
    store.close()
    bot.stop()
    restarted = start()
    failed = final_update(fake_slack, "Failed")
    assert "nothing was sent to HubSpot" in failed.text and failed.action_ids() == ["hsperm_retry"]
    restarted.drain()
    assert world.writes() == []


APPLY_IN_A_CHILD = """
import sys
from bot.approvals import FixService
from bot.hubspot import HubSpotClient
from bot.store import open_store
url, hubspot, token, request_id = sys.argv[1:]
store = open_store(url)
FixService(store, HubSpotClient(access_token=token, base_url=hubspot), ttl_hours=1).apply(request_id)
"""


def test_a_process_killed_during_the_write_leaves_a_truthful_state(start, fake_slack, world, database_url):
    """A real process is killed while its PUT is in flight; the restarted app settles it by reading."""
    bot = start()
    _, request_id = request_fix(bot, fake_slack)
    bot.drain()  # its own start-up reconcile has run: only the restart can settle what follows
    bot.stop()
    store = open_store(database_url)
    assert store.transition_fix(request_id, ("pending",), "approved", decided_by="U0BOB", decided_at=time.time())
    world.fault("/settings/v3/users/", status=500, method="PUT", delay=30)  # HubSpot hangs, then fails
    child = subprocess.Popen([sys.executable, "-c", APPLY_IN_A_CHILD, database_url, world.url, TOKEN, request_id], cwd=REPO)
    try:
        wait_until(lambda: world.writes(), "the child's PUT")
    finally:
        child.kill()
        child.wait(timeout=10)
    record = store.get_fix_request(request_id)
    assert record.state == "applying" and record.intent["body"] == {"secondaryTeamIds": [WEST], "primaryTeamId": EAST}
    backdate(store, request_id, "intent_at", time.time() - 600)  # the restart comes after the grace period
    restarted = start()
    assert final_update(fake_slack, "Failed").action_ids() == ["hsperm_retry"]
    restarted.drain()
    assert len(world.writes()) == 1  # the killed one; nothing was sent again
    assert store.get_fix_request(request_id).state == "failed"
    store.close()
