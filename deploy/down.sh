#!/bin/sh
# Stop everything deploy/up.sh started (and delete its state directory unless --keep).
here="$(cd "$(dirname "$0")" && pwd)"
python="${PYTHON:-$here/../.venv/bin/python}"
[ -x "$python" ] || python=python3
exec "$python" "$here/cluster.py" down "$@"
