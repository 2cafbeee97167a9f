"""What every Slack handler is given: settings, the store and optional HubSpot services.

Handlers stay thin by calling these instead of touching the engine or the database themselves.
`lookup` is None when no HubSpot token is configured: handlers then hide the `hsperm_lookup`
button and say which setting turns live lookups on, instead of failing at the first click.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import bot.metrics as metrics
from bot.approvals import FixService
from bot.config import Settings
from bot.forensics import Forensics
from bot.hubspot import redact_logs
from bot.limits import LookupLimits
from bot.lookup import LookupService
from bot.pasted_text import pasted_text
from bot.policy import ApproverPolicy, GroupMembers, LookupPolicy
from bot.redact import remember_secrets
from bot.slack_files import SlackFiles
from bot.store import Store, StoreUnavailable, open_store
from bot.work import LISTENER_THREADS, TrackedPool, WorkQueue
from knowledge import MAX_INPUT_CHARS, Diagnosis, diagnose, prepare
from knowledge.extract import rate_limit_policy

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    store: Store
    #: HubSpot lookup service; None while no HubSpot token is configured.
    lookup: LookupService | None = None
    #: Where listeners send slow work (lookups, replies), so acks never wait behind it.
    work: WorkQueue = field(default_factory=WorkQueue)
    #: The threads Bolt runs listeners on (bot.app passes it to Bolt); handlers never use it.
    listeners: TrackedPool = field(default_factory=lambda: TrackedPool(LISTENER_THREADS, "hsperm-listener"))
    #: Reads whole snippets and text files (files.info, downloads from Slack); built from settings if not given.
    slack_files: SlackFiles | None = None
    #: Slack user-group members (for both policies); `bind_slack` gives it a Web API client.
    groups: GroupMembers = field(default_factory=lambda: GroupMembers(_no_slack))
    approvers: ApproverPolicy = field(init=False)
    readers: LookupPolicy = field(init=False)
    fixes: FixService = field(init=False)
    #: Per-user and per-portal limits on live lookups, and coalescing of identical ones.
    lookup_limits: LookupLimits = field(init=False)

    def __post_init__(self) -> None:
        # The rules compile here, at start, not on the work threads that meet the first pastes.
        prepare()
        if self.slack_files is None:
            self.slack_files = SlackFiles(self.settings.slack_api_url)
        self.approvers = ApproverPolicy(self.settings.approvers, self.groups)
        self.readers = LookupPolicy(self.settings.lookup_allowed, self.groups, self.approvers)
        client = self.lookup.client if self.lookup is not None else None
        self.fixes = FixService(self.store, client, ttl_hours=self.settings.approval_ttl_hours)
        self.lookup_limits = LookupLimits(self.settings.lookups_per_user_per_minute, self.settings.lookups_per_portal)

    @property
    def files(self) -> SlackFiles:
        """Network work: call it after the ack, never in a matcher or middleware."""
        assert self.slack_files is not None  # nosec B101  # narrows the type: set by __post_init__
        return self.slack_files

    def bind_slack(self, client: Any) -> None:
        """User groups are resolved with `usergroups.users.list` (Slack scope usergroups:read)."""
        self.groups.fetch = lambda group: client.usergroups_users_list(usergroup=group).get("users") or []

    @property
    def lookup_available(self) -> bool:
        return self.lookup is not None

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until every request taken so far is fully handled (acked, then its slow work done).

        Listeners first: they are what submits work. Used at shutdown, and by tests before they
        assert that nothing (else) was sent.
        """
        return self.listeners.drain(timeout) and self.work.drain(timeout)

    @property
    def fixes_available(self) -> bool:
        """Fix buttons are offered only where a request can reach approvers and be applied."""
        s = self.settings
        return self.lookup is not None and bool(s.approval_channel) and self.approvers.configured

    def close(self) -> None:
        """Finish queued work, then release the HubSpot session, then the store nothing then needs."""
        self.listeners.shutdown(wait=True)
        self.work.close()
        if self.lookup is not None:
            self.lookup.close()
        self.files.close()
        self.store.close()

    def diagnose(self, text: str) -> Diagnosis:
        """The engine caps input itself; slicing first keeps a 40 MB paste from being copied around."""
        result = diagnose(text[: MAX_INPUT_CHARS + 1])
        metrics.diagnosis_made(result.kind)
        return result

    def explain_paste(self, diagnosis: Diagnosis, text: str, pasted_at: datetime | None = None) -> Forensics | None:
        """What HubSpot's own records add to a pasted token or DAILY rate-limit error (security log,
        API budget); None without a HubSpot token or when the paste is of another kind."""
        if self.lookup is None:
            return None
        policy = rate_limit_policy(text[: MAX_INPUT_CHARS + 1]) if diagnosis.kind == "rate_limit" else None
        return self.lookup.explain_paste(diagnosis, pasted_at=pasted_at, policy=policy)

    def answer_once(self, team_id: str, channel_id: str, thread_ts: str, diagnosis: Diagnosis) -> bool:
        """Claim the right to answer this error in this thread (shared by all instances).

        Runs after the ack, when the event is already claimed: Slack will not redeliver it, so a
        database outage here must not lose the answer. The claim is retried while the database
        comes back; if it stays away, the answer goes out unclaimed (a rare second answer in a
        thread is better than a paste nobody answers).
        """
        key = (team_id, channel_id, thread_ts, fingerprint(diagnosis))
        try:
            return retry_store(lambda: self.store.claim_answer(*key), self.settings.store_retry_seconds)
        except StoreUnavailable as exc:
            log.error("answering a %s error without a claim: the database is unavailable (%s)", diagnosis.kind, exc)
            return True

    def forget_answer(self, team_id: str, channel_id: str, thread_ts: str, diagnosis: Diagnosis) -> None:
        key = (team_id, channel_id, thread_ts, fingerprint(diagnosis))
        try:
            retry_store(lambda: self.store.release_answer(*key), self.settings.store_retry_seconds)
        except StoreUnavailable as exc:
            log.error("could not release the claim on a %s error (%s); a re-paste stays unanswered", diagnosis.kind, exc)

    def remember(self, team_id: str | None, diagnosis: Diagnosis, source: str, **where: Any) -> str | None:
        """Record a diagnosis for App Home and the Share button (`where`: Store.record_diagnosis's
        user_id, channel_id, message_ts, thread_ts, public); a failure must not cost the reply."""
        def record() -> str:
            return self.store.record_diagnosis(team_id=team_id or "", diagnosis=diagnosis, source=source, **where)

        try:
            return retry_store(record, self.settings.store_retry_seconds)
        except Exception:
            log.warning("could not record a %s diagnosis in the store", diagnosis.kind, exc_info=True)
            return None


def _no_slack(group: str) -> list[str]:
    raise RuntimeError("no Slack client bound to resolve user groups")


def retry_store(call: Callable[[], T], seconds: float, *, sleep: Callable[[float], None] = time.sleep) -> T:
    """`call()`, retried with backoff while the store says it is unavailable, for up to `seconds`.

    Only for work after the ack (acks answer 503 instead and let Slack retry). Other errors are
    raised at once: retrying a bad statement helps nobody.
    """
    deadline = time.monotonic() + seconds
    pause = 0.1
    while True:
        try:
            return call()
        except StoreUnavailable:
            if time.monotonic() + pause > deadline:
                raise
            log.info("database unavailable; retrying in %.1f s", pause)
            sleep(pause)
            pause = min(pause * 2, 1.0)


def message_text(message: dict[str, Any]) -> str:
    """All the text a person sees in a message (text, blocks, attachments, file previews); no I/O."""
    return pasted_text(message)


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
    store = store or open_store(
        settings.database_url, timeout=settings.database_timeout_seconds, pool_size=settings.database_pool_size
    )
    lookup = None
    if settings.hubspot_configured:
        redact_logs([settings.hubspot_access_token, *settings.hubspot_portal_tokens.values()])
        lookup = LookupService.from_settings(settings, fixes=store)
    return Services(settings=settings, store=store, lookup=lookup)
