"""Running `python -m bot lookup` in-process, as the CLI parses its arguments, against the fake
HubSpot (HUBSPOT_API_URL), with retry waits recorded instead of slept: shared by the CLI's tests
and the forensics tests."""

from __future__ import annotations

import io
from dataclasses import dataclass

from bot.__main__ import build_parser
from bot.config import load_settings
from bot.hubspot import HubSpotClient
from bot.lookup import LookupService
from bot.lookup.cli import run_cli
from tests.fakes.hubspot import EU_TOKEN, TOKEN


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_lookup(*args: str, env: dict[str, str] | None = None) -> Result:
    parsed = build_parser().parse_args(["lookup", *args])
    sleeps: list[float] = []

    def make_service(settings):
        return LookupService(HubSpotClient.from_settings(settings, sleep=sleeps.append), owns_client=True)

    out, err = io.StringIO(), io.StringIO()
    code = run_cli(
        load_settings(env or {}, dotenv=False),
        email=parsed.email,
        ticket_id=parsed.ticket,
        portal_id=parsed.portal,
        as_json=parsed.json,
        stdout=out,
        stderr=err,
        make_service=make_service,
    )
    return Result(code, out.getvalue(), err.getvalue())


def assert_clean(result: Result, *secrets: str) -> None:
    assert "Traceback" not in result.stderr
    for secret in (TOKEN, EU_TOKEN, *secrets):
        assert secret not in result.stdout
        assert secret not in result.stderr
