"""The scale-out rig's stand-ins: fake Slack, fake HubSpot and a cuttable PostgreSQL proxy, in one process.

They are the test suite's own fakes (tests/fakes/), imported, not copied. A small control API on
127.0.0.1 lets bench/load.py inject faults and count what reached "Slack":

  GET  /stats                         replies per thread and per response_url, in JSON
  POST /slack/fail    {"method", "status", "times", "retry_after"}
  POST /slack/hang    {"methods": [...], "seconds"}
  POST /hubspot/down  {"seconds"}
  POST /pg/hang       {"seconds"}   (the proxy stalls every connection, then drops them)

Started and stopped by deploy/cluster.py; writes its addresses to the --state file.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fakes.hubspot import FakeHubSpot, standard_world  # noqa: E402
from tests.fakes.slack import FakeSlack  # noqa: E402
from tests.fakes.tcp_proxy import TcpProxy  # noqa: E402


class Rig:
    def __init__(self, pg_host: str, pg_port: int) -> None:
        self.slack = FakeSlack().start()
        self.hubspot = standard_world(FakeHubSpot()).start()
        self.pg = TcpProxy(pg_host, pg_port).start()

    def stats(self) -> dict[str, Any]:
        posts: Counter[str] = Counter()
        webhooks: Counter[str] = Counter()
        for call in self.slack.calls():
            if call.failed:
                continue  # an injected 429/500: the message did not get through
            if call.method == "chat.postMessage":
                posts[f"{call.params.get('channel')}:{call.params.get('thread_ts')}"] += 1
            elif call.method == "webhook" and not call.params.get("delete_original"):
                webhooks[call.path.rsplit("/", 1)[-1]] += 1
        return {"posts": posts, "webhooks": webhooks, "hubspot_calls": len(self.hubspot.calls)}

    def control(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        seconds = float(body.get("seconds") or 0)
        if path == "/slack/fail":
            self.slack.fail(body["method"], status=int(body.get("status", 429)), times=int(body.get("times", 1)),
                            retry_after=int(body.get("retry_after", 0)))
        elif path == "/slack/hang":
            methods = body.get("methods") or ["chat.postMessage"]
            for method in methods:
                self.slack.hold(method)
            threading.Timer(seconds, lambda: [self.slack.release(m) for m in methods]).start()
        elif path == "/hubspot/down":
            fault = self.hubspot.fault("/", status=503, times=None, body={"status": "error", "message": "down"})
            threading.Timer(seconds, self.hubspot.remove_fault, args=(fault,)).start()
        elif path == "/pg/hang":
            self.pg.hang()
            threading.Timer(seconds, self.pg.restore).start()
        else:
            raise KeyError(path)
        return {"ok": True}

    def stop(self) -> None:
        self.pg.stop()
        self.hubspot.stop()
        self.slack.stop()


def serve_control(rig: Rig) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, payload: Any) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/stats":
                return self._reply(200, rig.stats())
            return self._reply(404, {"error": "not found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
                return self._reply(200, rig.control(self.path, body))
            except (KeyError, ValueError) as exc:
                return self._reply(400, {"error": str(exc)})

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--state", required=True, help="JSON file to write the addresses to")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, required=True)
    args = parser.parse_args()
    rig = Rig(args.pg_host, args.pg_port)
    control = serve_control(rig)
    state = {
        "slack_api_url": rig.slack.api_url,
        "hubspot_url": rig.hubspot.url,
        "pg_proxy_port": rig.pg.port,
        "control_url": f"http://127.0.0.1:{control.server_address[1]}",
    }
    Path(args.state).write_text(json.dumps(state))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    control.shutdown()
    rig.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
