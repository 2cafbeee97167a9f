"""Running hsperm as the process an operator starts (gunicorn, `python -m bot serve`), for the
end-to-end tests that need a real server: a free port, a start-up wait, and the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"server exited early:\n{process.stderr.read().decode(errors='replace')[-3000:]}")
        try:
            if requests.get(url + "/healthz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or a worker still building the app on a busy machine
        time.sleep(0.01)
    raise AssertionError("server never became healthy")


def run_server(command: list[str], env: dict[str, str], port: int, cwd: Path, *, workers: int = 2) -> subprocess.Popen:
    """Start `command` with hsperm's settings `env` on `port`, in its own process group."""
    full_env = {**os.environ, **env, "PORT": str(port), "PYTHONPATH": str(REPO), "WEB_CONCURRENCY": str(workers)}
    full_env["PATH"] = f"{Path(sys.executable).parent}:{full_env.get('PATH', '')}"
    for name in ("HOST", "PROMETHEUS_MULTIPROC_DIR"):  # the defaults are what is tested
        if name not in env:
            full_env.pop(name, None)
    return subprocess.Popen(
        command, cwd=cwd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
