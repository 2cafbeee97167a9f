"""`python -m bot diagnose` as a person runs it: a real subprocess, no credentials in the env."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge import diagnose

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "ticket_permission_error.txt"


def run(*args: str, stdin: bytes | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HUBSPOT_"))}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "bot", "diagnose", *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=60
    )


def test_json_contract_for_the_shipped_example() -> None:
    """The CLI prints exactly the engine's diagnosis (whose fields test_diagnose_examples checks)."""
    done = run("--json", str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == diagnose(EXAMPLE.read_text(encoding="utf-8")).to_dict()
    assert result["kind"] == "user_permission" and result["portal_id"] == "342871372"


def test_readable_checklist_from_stdin() -> None:
    done = run(stdin=EXAMPLE.read_bytes())
    out = done.stdout.decode()
    assert done.returncode == 0
    assert out.startswith("hsperm diagnosis: user_permission")
    assert "Checklist:" in out and " 1. " in out
    assert "https://app.hubspot.com/settings/342871372/users" in out
    assert "<https://" not in out  # Slack link markup is turned into plain text


def test_dash_reads_stdin_and_not_hubspot_exits_zero() -> None:
    done = run("--json", "-", stdin=b"lunch at noon?")
    assert done.returncode == 0
    assert json.loads(done.stdout)["kind"] == "not_hubspot"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        ((), b"", "the input is empty"),
        ((), b"  \n\t ", "the input is empty"),
        ((), b"\x00\x01binary\x00data", "looks binary"),
        ((), bytes(range(128, 256)) * 50, "not UTF-8"),
        (("/nonexistent/paste.txt",), None, "cannot read /nonexistent/paste.txt"),
        ((str(REPO / "examples"),), None, "it is a directory"),
    ],
    ids=["empty", "whitespace", "binary", "not-utf8", "missing-file", "directory"],
)
def test_bad_input_is_one_friendly_line_and_exit_2(args: tuple[str, ...], stdin: bytes | None, message: str) -> None:
    done = run(*args, stdin=stdin)
    err = done.stderr.decode()
    assert done.returncode == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert done.stdout == b""


def test_huge_input_is_diagnosed_from_its_first_64_kb(tmp_path: Path) -> None:
    paste = tmp_path / "huge.txt"
    paste.write_bytes(EXAMPLE.read_bytes() + b"x" * (2 * 1024 * 1024))
    done = run("--json", str(paste))
    assert done.returncode == 0
    assert json.loads(done.stdout)["kind"] == "user_permission"
    assert "first 64 KB" in done.stderr.decode()


def test_secret_in_paste_is_never_printed(tmp_path: Path) -> None:
    token = "pat-eu1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    paste = tmp_path / "paste.txt"
    paste.write_text(f"Authorization: Bearer {token}\n" + EXAMPLE.read_text())
    for args in (("--json", str(paste)), (str(paste),)):
        done = run(*args)
        assert done.returncode == 0
        assert token.encode() not in done.stdout + done.stderr
        assert b"hubspot_private_app_token" in done.stdout


def test_usage_error_for_unknown_flag() -> None:
    done = run("--nope")
    assert done.returncode == 2
    assert b"usage:" in done.stderr
