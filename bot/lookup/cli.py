"""`python -m bot lookup`: the report on a terminal (or as JSON), one line on failure, no traceback."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO
from urllib.parse import unquote

from bot.hubspot import HubSpotConfigError, HubSpotError, redact_logs
from bot.lookup.inputs import LookupInputError
from bot.lookup.service import LookupService
from bot.lookup.text import render_report_text
from bot.redact import install_log_redaction, redact_values
from bot.store import Store, open_store

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger(__name__)


def run_cli(
    settings: Settings,
    *,
    email: str,
    ticket_id: str | None = None,
    portal_id: str | None = None,
    as_json: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    make_service: Callable[[Settings], LookupService] = LookupService.from_settings,
) -> int:
    """`python -m bot lookup`: 0 report printed, 1 HubSpot/lookup failure, 2 usage or config problem.

    `make_service` builds the lookup service from the settings (tests pass one whose retry waits
    are recorded instead of slept).
    """
    out, err = stdout or sys.stdout, stderr or sys.stderr
    tokens = [settings.hubspot_access_token, *dict(settings.hubspot_portal_tokens).values()]

    def fail(message: str, code: int) -> int:
        print(f"hsperm lookup: {redact_values(message, tokens)}", file=err)
        return code

    if not settings.hubspot_configured:
        return fail(
            "no HubSpot token is configured: set HUBSPOT_ACCESS_TOKEN to hsperm's private app token "
            "(or HUBSPOT_PORTAL_TOKENS=portalId=token,...).",
            2,
        )
    _quiet_logging(settings, tokens)
    service = make_service(settings)
    store = service.fixes = service.fixes or _fix_store(settings.database_url)
    try:
        report = service.lookup(email, ticket_id=ticket_id, portal_id=portal_id)
    except (LookupInputError, HubSpotConfigError) as exc:
        return fail(str(exc), 2)
    except HubSpotError as exc:
        return fail(str(exc), 1)
    except Exception as exc:  # a CLI prints one line, never a traceback
        log.debug("lookup failed", exc_info=True)
        return fail(f"unexpected error: {type(exc).__name__}: {exc}", 1)
    finally:
        service.close()
        if store is not None:
            store.close()
    if as_json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False), file=out)
    else:
        print(render_report_text(report), file=out)
    return 0 if report.ok else 1


def _quiet_logging(settings: Any, tokens: list[str | None]) -> None:
    """The report already states every failure; logs on stderr only when LOG_LEVEL=DEBUG asks."""
    root = logging.getLogger()
    if not root.handlers:
        level = logging.DEBUG if str(settings.log_level).upper() == "DEBUG" else logging.ERROR
        logging.basicConfig(level=level, format="hsperm: %(levelname)s %(name)s: %(message)s")
    install_log_redaction(tokens)
    redact_logs(tokens)


def _fix_store(database_url: str) -> Store | None:
    """The bot's database, read only for the fixes it applied ("has Ann logged in since?").

    Never created or migrated from here: a terminal lookup on a machine without the bot's
    database simply has no fix to follow up.
    """
    path = unquote(database_url[len("sqlite:///") :]) or "hsperm.db"
    if database_url.startswith("sqlite:///") and not os.path.exists(path):
        return None
    try:
        return open_store(database_url, migrate=False)
    except Exception as exc:  # the report stands without it
        log.debug("no fix store: %s", type(exc).__name__)
        return None
