"""Run N hsperm instances on one PostgreSQL behind nginx, on 127.0.0.1 only, with one command.

    python deploy/cluster.py up --instances 3      # or deploy/up.sh 3
    python deploy/cluster.py down                  # or deploy/down.sh
    python deploy/cluster.py pg-restart            # restart the rig's own PostgreSQL
    python deploy/cluster.py kill-instance 1       # SIGKILL one instance (--graceful: SIGTERM)
    python deploy/cluster.py restart-instance 1    # and bring it back

What `up` starts, all under --dir (default /tmp/hsperm-cluster), described in its cluster.json:
- a throwaway PostgreSQL cluster of its own (initdb, its own port): restarting it never touches
  a shared server;
- deploy/fakes.py: fake Slack and fake HubSpot (the test suite's fakes) and a TCP proxy in front
  of that PostgreSQL that the fault scripts can hang;
- N gunicorn instances of `bot.web:app` (gthread, as the Procfile runs it), each on its own port;
- nginx (the Debian package, installed with apt-get when missing) spreading Slack's requests
  over the instances, with its config written under --dir.
Nothing listens beyond 127.0.0.1. bench/load.py drives it.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.hubspot import TOKEN as HUBSPOT_TOKEN  # noqa: E402
from tests.fakes.slack import BOT_TOKEN, SIGNING_SECRET  # noqa: E402  (fake credentials of the fakes)

DEFAULT_DIR = "/tmp/hsperm-cluster"
NGINX_CONF = """\
worker_processes 1;
error_log {dir}/nginx/error.log warn;
pid {dir}/nginx/nginx.pid;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/nginx/tmp/body;
    proxy_temp_path {dir}/nginx/tmp/proxy;
    fastcgi_temp_path {dir}/nginx/tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx/tmp/uwsgi;
    scgi_temp_path {dir}/nginx/tmp/scgi;
    upstream hsperm {{
        # An instance that refuses connections is skipped for 5 s; a request not yet sent to it
        # goes to the next one (POSTs already sent are not replayed: Slack retries events itself).
{servers}
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1m;
        location / {{
            proxy_pass http://hsperm;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_connect_timeout 1s;
            proxy_read_timeout 10s;
            proxy_next_upstream error timeout;
            proxy_next_upstream_tries 2;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd: list[str], **kw: Any) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` system user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def pg_bin(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        sys.exit(f"{name} not found: install the PostgreSQL server package (apt-get install postgresql)")
    return found


def ensure_nginx() -> str:
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx")
    if found:
        return found
    print("nginx is missing: installing the Debian package (apt-get install nginx)")
    prefix = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run([*prefix, "apt-get", "install", "-y", "-q", "nginx"], check=True, env=env)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def wait_for(check, what: str, timeout: float = 30.0, fatal: bool = True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.1)
    if fatal:
        sys.exit(f"timed out waiting for {what}")


def healthy(url: str) -> bool:
    import requests

    return requests.get(url + "/healthz", timeout=2).status_code == 200


# -- PostgreSQL ------------------------------------------------------------------------------------


def pg_ctl(state: dict[str, Any], action: str) -> None:
    """pg_ctl start/restart of the rig's cluster; the server logs to a file, never to our pipes."""
    data = state["pg_data"]
    opts = (f"-p {state['pg_port']} -k {state['pg_socket_dir']} -c listen_addresses=127.0.0.1 "
            "-c max_connections=200 -c fsync=off")
    run(as_postgres([pg_bin("pg_ctl"), "-D", data, "-o", opts, "-l", f"{data}.log", "-m", "fast", "-w", action]))


def pg_up(base: Path) -> dict[str, Any]:
    data, sock = base / "pg" / "data", base / "pg" / "sock"
    sock.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(base / "pg", "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    run(as_postgres([pg_bin("initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]))
    state = {"pg_data": str(data), "pg_port": free_port(), "pg_socket_dir": str(sock)}
    pg_ctl(state, "start")
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:{state['pg_port']}/postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE hsperm")
    return state


# -- hsperm instances -------------------------------------------------------------------------------


def instance_env(state: dict[str, Any]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_", "DATABASE_", "HSPERM_"))}
    env.update({
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": state["slack_api_url"],
        "HUBSPOT_ACCESS_TOKEN": HUBSPOT_TOKEN,
        "HUBSPOT_API_URL": state["hubspot_url"],
        "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{state['pg_proxy_port']}/hsperm",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(REPO),
    })
    return env


def start_instance(state: dict[str, Any], index: int) -> None:
    port = state["instance_ports"][index]
    log = open(Path(state["dir"]) / "logs" / f"instance-{index}.log", "ab")  # noqa: SIM115 (the child keeps it)
    cmd = [sys.executable, "-m", "gunicorn", "bot.web:app", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
           "--workers", "1", "--threads", "8", "--timeout", "30", "--graceful-timeout", "20"]
    proc = subprocess.Popen(cmd, cwd=REPO, env=instance_env(state), stdout=log, stderr=log, start_new_session=True)
    state["instance_pids"][index] = proc.pid


def group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie leader still "exists": look for a live process in the group.
    out = subprocess.run(["ps", "-o", "stat=", "-g", str(pid)], capture_output=True, text=True).stdout.split()
    return any(not st.startswith("Z") for st in out)


def stop_group(pid: int, sig: int = signal.SIGTERM) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


# -- commands -----------------------------------------------------------------------------------------


def up(args: argparse.Namespace) -> int:
    base = Path(args.dir)
    if (base / "cluster.json").exists():
        sys.exit(f"{base}/cluster.json exists: run `python deploy/cluster.py down --dir {base}` first")
    nginx = ensure_nginx()
    base.mkdir(parents=True, exist_ok=True)
    (base / "logs").mkdir(exist_ok=True)
    state: dict[str, Any] = {"dir": str(base), "instances": args.instances}
    print(f"PostgreSQL: a private cluster under {base}/pg")
    state.update(pg_up(base))
    save(base, state)

    fakes_state = base / "fakes.json"
    fakes_log = open(base / "logs" / "fakes.log", "ab")  # noqa: SIM115 (the child keeps it)
    fakes = subprocess.Popen([sys.executable, str(REPO / "deploy" / "fakes.py"), "--state", str(fakes_state),
                              "--pg-port", str(state["pg_port"])], cwd=REPO, stdout=fakes_log, stderr=fakes_log,
                             start_new_session=True)
    state["fakes_pid"] = fakes.pid
    wait_for(fakes_state.exists, "the fakes")
    state.update(json.loads(fakes_state.read_text()))
    save(base, state)

    state["instance_ports"] = [free_port() for _ in range(args.instances)]
    state["instance_pids"] = [0] * args.instances
    for index in range(args.instances):
        start_instance(state, index)
    save(base, state)
    for port in state["instance_ports"]:
        wait_for(lambda p=port: healthy(f"http://127.0.0.1:{p}"), f"instance on port {port}", timeout=60)

    state["port"] = args.port or free_port()
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (base / "nginx" / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    # nginx started as root runs its workers as nobody: they must write their temp files here.
    os.chmod(base / "nginx" / "tmp", 0o777)  # noqa: S103 (a throwaway directory of the local rig)
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in state["instance_ports"])
    conf = base / "nginx" / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=base, servers=servers, port=state["port"]))
    run([nginx, "-t", "-c", str(conf), "-p", str(base / "nginx")])
    run([nginx, "-c", str(conf), "-p", str(base / "nginx")])
    state["nginx"] = nginx
    state["url"] = f"http://127.0.0.1:{state['port']}"
    save(base, state)
    wait_for(lambda: healthy(state["url"]), "nginx")
    print(f"hsperm: {args.instances} instance(s) behind nginx at {state['url']}/slack/events")
    print(f"fakes control: {state['control_url']} (stats, faults); state: {base}/cluster.json")
    print(f"stop with: python deploy/cluster.py down --dir {base}")
    return 0


def down(args: argparse.Namespace) -> int:
    base = Path(args.dir)
    state = load(base)
    if state.get("nginx"):
        with contextlib.suppress(subprocess.CalledProcessError):
            run([state["nginx"], "-c", str(base / "nginx" / "nginx.conf"), "-p", str(base / "nginx"), "-s", "quit"])
    for pid in state.get("instance_pids") or []:
        stop_group(pid)
    if state.get("fakes_pid"):
        stop_group(state["fakes_pid"])
    time.sleep(1)
    for pid in [*(state.get("instance_pids") or []), state.get("fakes_pid") or 0]:
        if pid:
            stop_group(pid, signal.SIGKILL)
    if state.get("pg_data"):
        with contextlib.suppress(subprocess.CalledProcessError):
            run(as_postgres([pg_bin("pg_ctl"), "-D", state["pg_data"], "-m", "fast", "-w", "stop"]))
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    print(f"stopped the rig in {base}" + (" (files kept)" if args.keep else ""))
    return 0


def cmd_pg_restart(args: argparse.Namespace) -> int:
    pg_ctl(load(Path(args.dir)), "restart")
    return 0


def kill_instance(args: argparse.Namespace) -> int:
    """SIGKILL (a crash, an OOM kill) or SIGTERM (a deploy, a platform restart: gunicorn finishes
    its requests and the work already queued before it exits)."""
    base = Path(args.dir)
    state = load(base)
    sig = signal.SIGTERM if args.graceful else signal.SIGKILL
    stop_group(state["instance_pids"][args.index], sig)
    print(f"sent {sig.name} to instance {args.index} (port {state['instance_ports'][args.index]})")
    return 0


def restart_instance(args: argparse.Namespace) -> int:
    base = Path(args.dir)
    state = load(base)
    old = state["instance_pids"][args.index]
    # A gracefully stopping instance is still finishing its queued replies: let it (up to gunicorn's
    # graceful timeout) before anything is killed.
    wait_for(lambda: not group_alive(old), "the old instance to exit", timeout=25, fatal=False)
    stop_group(old, signal.SIGKILL)
    start_instance(state, args.index)
    save(base, state)
    port = state["instance_ports"][args.index]
    wait_for(lambda: healthy(f"http://127.0.0.1:{port}"), f"instance on port {port}", timeout=60)
    print(f"instance {args.index} running again on port {port}")
    return 0


def save(base: Path, state: dict[str, Any]) -> None:
    (base / "cluster.json").write_text(json.dumps(state, indent=2))


def load(base: Path) -> dict[str, Any]:
    try:
        return json.loads((base / "cluster.json").read_text())
    except FileNotFoundError:
        sys.exit(f"no rig in {base} (nothing to do)")


def main() -> int:
    parser = argparse.ArgumentParser(description="hsperm scale-out rig on 127.0.0.1")
    parser.add_argument("--dir", default=DEFAULT_DIR, help=f"state directory (default {DEFAULT_DIR})")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start PostgreSQL, the fakes, N instances and nginx")
    p.add_argument("--instances", type=int, default=3)
    p.add_argument("--port", type=int, default=0, help="nginx port (default: a free one)")
    p.set_defaults(handler=up)
    p = sub.add_parser("down", help="stop everything `up` started and delete --dir")
    p.add_argument("--keep", action="store_true", help="keep --dir (logs)")
    p.set_defaults(handler=down)
    sub.add_parser("pg-restart", help="restart the rig's PostgreSQL").set_defaults(handler=cmd_pg_restart)
    p = sub.add_parser("kill-instance", help="SIGKILL one instance (--graceful: SIGTERM)")
    p.add_argument("index", type=int)
    p.add_argument("--graceful", action="store_true")
    p.set_defaults(handler=kill_instance)
    p = sub.add_parser("restart-instance", help="start one instance again (after kill-instance)")
    p.add_argument("index", type=int)
    p.set_defaults(handler=restart_instance)
    args = parser.parse_args()
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
