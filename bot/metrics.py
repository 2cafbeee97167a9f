"""Prometheus metrics, served at `GET /metrics` in HTTP mode.

Under gunicorn each worker is a process with its own counters. prometheus-client's multiprocess
mode makes `/metrics` (answered by whichever worker gets the scrape) report the sum over all
workers: every worker writes its values to files in `PROMETHEUS_MULTIPROC_DIR`, and the scrape
reads them all. `python -m bot serve` and `gunicorn.conf.py` set that directory up (empty, before
the first worker starts) and tell the client when a worker dies. Without the directory, each
worker reports only its own counters, which is exact with one worker.

prometheus-client picks its storage when it is first imported, so this module imports it only on
first use: the gunicorn master sets the directory before any metric exists. Label values come
from short fixed vocabularies (diagnosis kinds, endpoint templates, statuses), never from user
text, so the number of series stays bounded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Ack latencies that matter: Slack gives 3 s; 300 ms is the target p99.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)

_lock = threading.Lock()
_metrics: _Metrics | None = None


class _Metrics:
    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram

        self.requests = Counter(
            "hsperm_slack_requests", "Slack requests answered, by surface and HTTP status", ["surface", "status"]
        )
        self.rejected = Counter(
            "hsperm_slack_rejected_requests",
            "Slack requests refused before any listener ran, by reason",
            ["reason"],
        )
        self.ack_seconds = Histogram(
            "hsperm_slack_ack_seconds", "Time from receiving a Slack request to acknowledging it", ["surface"],
            buckets=ACK_BUCKETS,
        )
        self.diagnoses = Counter("hsperm_diagnoses", "Diagnoses made, by kind", ["kind"])
        self.replies = Counter(
            "hsperm_replies", "Messages hsperm sent to people, by channel and result", ["via", "result"]
        )
        self.lookups = Counter("hsperm_lookups", "Live HubSpot lookups, by result", ["result"])
        self.approvals = Counter("hsperm_approvals", "Fix requests entering each state", ["state"])
        self.hubspot_calls = Counter(
            "hsperm_hubspot_calls", "HubSpot API calls, by endpoint template and HTTP status", ["endpoint", "status"]
        )
        self.queue_depth = Gauge(
            "hsperm_work_queue_depth", "Background jobs running or waiting", multiprocess_mode="livesum"
        )
        self.queue_full = Counter(
            "hsperm_work_queue_full",
            "Work refused because the work queue was full: a job (the user is told to retry) or an event (503)",
            ["refused"],
        )
        self.lookups_refused = Counter(
            "hsperm_lookups_refused", "Live lookups refused by the per-user or per-portal limit", ["limit"]
        )
        self.lookups_coalesced = Counter(
            "hsperm_lookups_coalesced", "Live lookups that joined an identical one already running"
        )
        self.store_failing = Gauge(
            "hsperm_store_failing_fast",
            "1 while the database is failing and calls fail fast (one probes), 0 once a call succeeds",
            multiprocess_mode="livemax",
        )
        self.store_unavailable = Counter(
            "hsperm_store_unavailable", "Database calls that failed as unavailable (no connection, timeout, cut)"
        )


def metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        with _lock:
            if _metrics is None:
                if MULTIPROC_ENV in os.environ and not os.environ[MULTIPROC_ENV].strip():
                    # An empty value (a blank line in .env) would make every metric write to "".
                    del os.environ[MULTIPROC_ENV]
                _metrics = _Metrics()
    return _metrics


# -- what the rest of hsperm calls -------------------------------------------------------------


def request_answered(surface: str, status: int, seconds: float) -> None:
    m = metrics()
    m.requests.labels(surface, str(status)).inc()
    m.ack_seconds.labels(surface).observe(seconds)


def request_rejected(reason: str) -> None:
    metrics().rejected.labels(reason).inc()


def diagnosis_made(kind: str) -> None:
    metrics().diagnoses.labels(kind).inc()


def reply_sent(via: str, ok: bool) -> None:
    metrics().replies.labels(via, "ok" if ok else "error").inc()


def lookup_done(result: str) -> None:
    metrics().lookups.labels(result).inc()


def approval_state(state: str) -> None:
    """A fix request entered `state` (the store calls it when a conditional change wins)."""
    metrics().approvals.labels(state).inc()


def hubspot_call(endpoint: str, status: int | str) -> None:
    metrics().hubspot_calls.labels(endpoint, str(status)).inc()


def job_queued() -> None:
    metrics().queue_depth.inc()


def job_finished() -> None:
    metrics().queue_depth.dec()


def work_refused(refused: str) -> None:
    """The work queue was full: a `job` was refused, or an `event` got 503 before it was claimed."""
    metrics().queue_full.labels(refused).inc()


def lookup_refused(limit: str) -> None:
    metrics().lookups_refused.labels(limit).inc()


def lookup_coalesced() -> None:
    metrics().lookups_coalesced.inc()


def store_failing(failing: bool) -> None:
    """The store entered (True) or left (False) its fail-fast state."""
    metrics().store_failing.set(1 if failing else 0)


def store_unavailable() -> None:
    metrics().store_unavailable.inc()


def exposition() -> tuple[bytes, str]:
    """The body and content type of `GET /metrics`: all workers' values in multiprocess mode."""
    from prometheus_client import REGISTRY, CollectorRegistry, generate_latest

    metrics()  # every family appears from the first scrape, at zero
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry: Any = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE
    return generate_latest(REGISTRY), CONTENT_TYPE


# -- gunicorn hooks (the master process) --------------------------------------------------------


def prepare_multiprocess_dir() -> str:
    """Called in the gunicorn master before workers fork: an empty directory for the workers'
    metric files (`PROMETHEUS_MULTIPROC_DIR` if set, else a new temporary one)."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))
    else:
        path = tempfile.mkdtemp(prefix="hsperm-metrics-")
        os.environ[MULTIPROC_ENV] = path
    return path


def worker_exited(pid: int) -> None:
    """gunicorn `child_exit` hook: a dead worker's live gauges stop counting."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def remove_multiprocess_dir(path: str) -> None:
    if path.startswith(tempfile.gettempdir()) and os.path.basename(path).startswith("hsperm-metrics-"):
        shutil.rmtree(path, ignore_errors=True)
