"""The diagnosis every surface of hsperm shows: one shape, shared by CLI, Slack and tests."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from knowledge.secrets import redact

#: The closed vocabulary of kinds (DESIGN §2). Order is the order the README explains them in.
KINDS: tuple[str, ...] = (
    "user_permission",
    "missing_scopes",
    "expired_token",
    "invalid_token",
    "refresh_token_error",
    "oauth_install_error",
    "rate_limit",
    "portal_mismatch",
    "not_found",
    "validation",
    "other_hubspot",
    "not_hubspot",
)


@dataclass(frozen=True)
class ChecklistItem:
    """One step a person can act on. `detail` is Slack mrkdwn (`*bold*`, `` `code` ``, `<url|label>`)."""

    title: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"title": self.title, "detail": self.detail}


#: Strings known to hold no secret: a checklist rendered for one diagnosis shape recurs all day,
#: so its text is scanned once. Only clean strings are kept (never a pasted secret); bounded.
_CLEAN: set[str] = set()
_CLEAN_MAX = 8192


def _is_clean(value: str) -> bool:
    if value in _CLEAN:
        return True
    if redact(value) != value:
        return False
    if len(_CLEAN) >= _CLEAN_MAX:
        _CLEAN.clear()
    _CLEAN.add(value)
    return True


@dataclass(frozen=True)
class Diagnosis:
    """What a paste means. Field names and order follow the JSON contract of DESIGN §2."""

    kind: str
    summary: str = ""
    alternatives: tuple[str, ...] = ()
    object_type: str | None = None
    portal_id: str | None = None
    requires: tuple[str, ...] = ()
    requires_mode: str = "any"
    status: int | None = None
    category: str | None = None
    correlation_id: str | None = None
    hublet: str | None = None
    secrets: tuple[str, ...] = ()
    checklist: tuple[ChecklistItem, ...] = ()
    #: Which rule decided the kind; for logs, tests and `--explain`, not part of the JSON contract.
    rule_id: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        """Every value shown or stored passes through redaction here, where any Diagnosis is
        built: a token inside a name list, an id or a rendered checklist can never leave."""
        values = [getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), str)]
        values += [*self.requires, *(i.title for i in self.checklist), *(i.detail for i in self.checklist)]
        if all(_is_clean(v) for v in values if v):  # most diagnoses carry no secret
            return
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("kind", "rule_id", "secrets", "requires_mode"):
                continue
            if isinstance(value, str):
                clean = redact(value)
            elif f.name == "requires":
                clean = tuple(redact(name) for name in value)
            elif f.name == "checklist":
                clean = tuple(ChecklistItem(redact(i.title), redact(i.detail)) for i in value)
            else:
                continue
            if clean != value:
                object.__setattr__(self, f.name, clean)

    @property
    def is_hubspot(self) -> bool:
        return self.kind != "not_hubspot"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "summary": self.summary,
            "alternatives": list(self.alternatives),
            "object_type": self.object_type,
            "portal_id": self.portal_id,
            "requires": list(self.requires),
            "requires_mode": self.requires_mode,
            "status": self.status,
            "category": self.category,
            "correlation_id": self.correlation_id,
            "hublet": self.hublet,
            "secrets": list(self.secrets),
            "checklist": [item.to_dict() for item in self.checklist],
        }
