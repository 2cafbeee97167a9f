"""Command line: `python -m bot serve | diagnose | lookup | check | audit`.

`diagnose` needs no credentials at all: it is how anyone tries hsperm in ten seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import BinaryIO

from bot.render import render_text
from knowledge import MAX_INPUT_CHARS, diagnose

USAGE_ERROR = 2
#: Bytes read from a file or stdin; the engine looks at the first 64 KB of text anyway.
MAX_INPUT_BYTES = MAX_INPUT_CHARS * 4


class InputError(Exception):
    """Input we cannot diagnose; the message is one friendly line."""


def read_paste(source: str | None, stdin: BinaryIO) -> tuple[str, bool]:
    """Return (text, truncated) from a path, '-' or stdin, refusing empty and binary input."""
    try:
        if source in (None, "-"):
            raw = stdin.read(MAX_INPUT_BYTES + 1)
        else:
            with open(source, "rb") as handle:
                raw = handle.read(MAX_INPUT_BYTES + 1)
    except IsADirectoryError:
        raise InputError(f"cannot read {source}: it is a directory") from None
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from None
    truncated = len(raw) > MAX_INPUT_BYTES
    raw = raw[:MAX_INPUT_BYTES]
    if b"\x00" in raw[:8192]:
        raise InputError("the input looks binary (it contains NUL bytes); paste the error text instead")
    text = raw.decode("utf-8", errors="replace")
    if text.count("\ufffd") > max(8, len(text) // 20):
        raise InputError("the input is not UTF-8 text; paste the error text instead")
    if not text.strip():
        raise InputError("the input is empty: pass a file or pipe in the HubSpot error text")
    if len(text) > MAX_INPUT_CHARS:
        truncated = True
    return text, truncated


def cmd_diagnose(args: argparse.Namespace) -> int:
    stdin = sys.stdin.buffer
    if args.file in (None, "-") and sys.stdin.isatty():
        print("hsperm diagnose: paste the error, then press Ctrl-D (or pass a FILE).", file=sys.stderr)
    try:
        text, truncated = read_paste(args.file, stdin)
    except InputError as exc:
        print(f"hsperm diagnose: {exc}", file=sys.stderr)
        return USAGE_ERROR
    if truncated:
        print("hsperm diagnose: input is larger than 64 KB; diagnosed the first 64 KB.", file=sys.stderr)
    result = diagnose(text)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render_text(result))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.server import serve

    return serve(load_settings())


def cmd_check(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.server import check

    return check(load_settings())


def cmd_lookup(args: argparse.Namespace) -> int:
    from bot.config import load_settings
    from bot.lookup.cli import run_cli

    return run_cli(load_settings(), email=args.email, ticket_id=args.ticket, portal_id=args.portal, as_json=args.json)


def cmd_audit(args: argparse.Namespace) -> int:
    from bot.audit import run_cli
    from bot.config import load_settings

    return run_cli(load_settings(), since=args.since, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="hsperm: HubSpot permission errors, explained.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("diagnose", help="diagnose a pasted HubSpot error (no credentials needed)")
    p.add_argument("file", nargs="?", metavar="FILE", help="file with the error text; '-' or nothing reads stdin")
    p.add_argument("--json", action="store_true", help="print the JSON contract instead of a checklist")
    p.set_defaults(handler=cmd_diagnose)

    p = sub.add_parser("serve", help="run the Slack app (Socket Mode if SLACK_APP_TOKEN is set, else HTTP on PORT)")
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("check", help="check settings, database and credentials, then exit")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("lookup", help="live lookup of a HubSpot user's access (needs HUBSPOT_ACCESS_TOKEN)")
    p.add_argument("--email", required=True, help="the HubSpot user's email")
    p.add_argument("--ticket", help="ticket id to check the user's access to")
    p.add_argument("--portal", help="portal (hub) id, when several portals are configured")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(handler=cmd_lookup)

    p = sub.add_parser("audit", help="print the audit log of fix requests (oldest first)")
    p.add_argument("--since", metavar="DATE", help="only entries from this date (YYYY-MM-DD, UTC) or ISO date-time")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(handler=cmd_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a CLI prints one line, never a traceback
        from bot.config import ConfigError
        from bot.redact import redact

        prefix = "configuration" if isinstance(exc, ConfigError) else "error"
        print(f"hsperm {args.command}: {prefix}: {redact(str(exc))}", file=sys.stderr)
        return USAGE_ERROR if isinstance(exc, ConfigError) else 1


if __name__ == "__main__":
    sys.exit(main())
