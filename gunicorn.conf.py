"""gunicorn reads ./gunicorn.conf.py by default, so the Procfile's `gunicorn bot.web:app` gets these
hooks: the workers' Prometheus metrics go to one directory, and `/metrics` reports the sum over
all workers whichever worker answers the scrape (see bot/metrics.py). Slack's auth.test runs in
the master before any worker starts (a rejected token stops gunicorn with one line), and each
worker builds the app (its own identity, refreshed in the background) as it boots, never inside
its first request (see bot.web.check_slack_before_workers and boot_worker). Command-line options still
win over anything here; this file sets no option, only hooks.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bot import metrics

_made: list[str] = []


def on_starting(server) -> None:
    from bot.web import check_slack_before_workers

    check_slack_before_workers(server)
    _made.append(metrics.prepare_multiprocess_dir())


def child_exit(server, worker) -> None:
    metrics.worker_exited(worker.pid)


def on_exit(server) -> None:
    for path in _made:
        metrics.remove_multiprocess_dir(path)


def post_worker_init(worker) -> None:
    from bot.web import boot_worker  # in the worker, after the fork: nothing of Slack's in the master

    boot_worker(worker)
