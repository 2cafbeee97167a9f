"""What every Slack handler is given: settings, the store and optional HubSpot services.

Handlers stay thin by calling these instead of touching the engine or the database themselves.
`lookup` is None when no HubSpot token is configured: handlers then hide the `hsperm_lookup`
button and say which setting turns live lookups on, instead of failing at the first click.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

import bot.metrics as metrics
from bot.config import Settings
from bot.hubspot import redact_logs
from bot.lookup import LookupService
from bot.redact import remember_secrets
from bot.store import Store, open_store
from bot.work import WorkQueue
from knowledge import MAX_INPUT_CHARS, Diagnosis, diagnose

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    #: HubSpot lookup service; None while no HubSpot token is configured.
    lookup: LookupService | None = None
    #: Where listeners send slow work (lookups, replies), so acks never wait behind it.
    work: WorkQueue = field(default_factory=WorkQueue)

    @property
    def lookup_available(self) -> bool:
        return self.lookup is not None

    def close(self) -> None:
        """Finish queued work, then release the HubSpot session, then the store nothing then needs."""
        self.work.close()
        if self.lookup is not None:
            self.lookup.close()
        self.store.close()

    def diagnose(self, text: str) -> Diagnosis:
        """The engine caps input itself; slicing first keeps a 40 MB paste from being copied around."""
        result = diagnose(text[: MAX_INPUT_CHARS + 1])
        metrics.diagnosis_made(result.kind)
        return result

    def answer_once(self, team_id: str, channel_id: str, thread_ts: str, diagnosis: Diagnosis) -> bool:
        """Claim the right to answer this error in this thread (shared by all instances)."""
        return self.store.claim_answer(team_id, channel_id, thread_ts, fingerprint(diagnosis))

    def forget_answer(self, team_id: str, channel_id: str, thread_ts: str, diagnosis: Diagnosis) -> None:
        self.store.release_answer(team_id, channel_id, thread_ts, fingerprint(diagnosis))

    def remember(self, team_id: str | None, diagnosis: Diagnosis, source: str, **where: Any) -> str | None:
        """Record a diagnosis for App Home and the Share button (`where`: Store.record_diagnosis's
        user_id, channel_id, message_ts, thread_ts, public); a failure must not cost the reply."""
        try:
            return self.store.record_diagnosis(team_id=team_id or "", diagnosis=diagnosis, source=source, **where)
        except Exception:
            log.warning("could not record a %s diagnosis in the store", diagnosis.kind, exc_info=True)
            return None


def message_text(message: dict[str, Any]) -> str:
    """All the text a person sees in a message: its text, attachments (alerting bots) and snippets."""
    parts: list[str] = [message.get("text") or ""]
    for attachment in message.get("attachments") or ():
        if not isinstance(attachment, dict):
            continue
        body = [attachment.get(key) or "" for key in ("pretext", "title", "text")]
        fields = [f for f in attachment.get("fields") or () if isinstance(f, dict)]
        body += [f"{f.get('title') or ''}: {f.get('value') or ''}" for f in fields]
        if not any(body):
            body.append(attachment.get("fallback") or "")
        parts.extend(body)
    for file in message.get("files") or ():
        if isinstance(file, dict) and file.get("preview"):
            parts.append(file["preview"])
    return "\n".join(part for part in parts if isinstance(part, str) and part)


def fingerprint(diagnosis: Diagnosis) -> str:
    """Same error = same rule, kind, object, portal, permissions and status; per-call ids do not count."""
    parts = (
        diagnosis.kind,
        diagnosis.object_type or "",
        diagnosis.portal_id or "",
        ",".join(diagnosis.requires),
        str(diagnosis.status or ""),
        diagnosis.category or "",
        diagnosis.hublet or "",
        diagnosis.rule_id or "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def build_services(settings: Settings, *, store: Store | None = None) -> Services:
    """Open (and migrate) the store named by the settings unless one is given; add the HubSpot
    lookup when a token is configured (building it makes no network call)."""
    remember_secrets(settings.secret_values)  # a paste may hold them: replies and rows mask them
    lookup = None
    if settings.hubspot_configured:
        redact_logs([settings.hubspot_access_token, *settings.hubspot_portal_tokens.values()])
        lookup = LookupService.from_settings(settings)
    return Services(settings=settings, store=store or open_store(settings.database_url), lookup=lookup)
