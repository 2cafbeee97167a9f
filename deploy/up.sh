#!/bin/sh
# Start N hsperm instances (default 3) behind nginx on 127.0.0.1 with a private PostgreSQL and
# the fake Slack/HubSpot: deploy/up.sh [N] [more `cluster.py up` options]. Stop with deploy/down.sh.
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
[ -x "$python" ] || python=python3
n="${1:-3}"; [ $# -gt 0 ] && shift
exec "$python" "$here/cluster.py" up --instances "$n" "$@"
