"""HubSpot facts as data: objects and areas, their permissions, scopes and settings screens."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from knowledge.data import load_toml, once
from knowledge.linre import Pattern, Text, as_text

_SENSITIVE = Pattern(r"(?:^|\.)(?:highly_)?sensitive(?:\.|$)|\.v2$", ignore_case=False, prefilter=False)
_OBJECT_SCOPE = Pattern(r"^crm\.(?:objects|schemas)\.([a-z_]+)\.", ignore_case=False, prefilter=False)


@dataclass(frozen=True)
class HubSpotObject:
    name: str
    label: str
    permission: str
    type_id: str | None = None
    report_as: str = "name"
    api_names: tuple[str, ...] = ()
    permission_names: tuple[str, ...] = ()
    keywords: tuple[Pattern, ...] = ()
    read_scopes: tuple[str, ...] = ()
    write_scopes: tuple[str, ...] = ()
    levels: bool = False

    def reported(self, type_id: str | None = None) -> str | None:
        """What `object_type` shows: the error's own custom id, HubSpot's name, or the type id.

        A custom object without its `2-…` id in the paste reports nothing rather than a guess.
        """
        if self.name == "CUSTOM":
            return type_id
        if self.report_as == "type_id" and self.type_id:
            return self.type_id
        return self.name


@once
def objects() -> tuple[HubSpotObject, ...]:
    entries = load_toml("catalog/objects.toml")["object"]
    return tuple(
        HubSpotObject(
            name=e["name"],
            label=e["label"],
            permission=e["permission"],
            type_id=e.get("type_id"),
            report_as=e.get("report_as", "name"),
            api_names=tuple(e.get("api_names", ())),
            permission_names=tuple(e.get("permission_names", ())),
            keywords=tuple(Pattern(k, where=f"object {e['name']} keywords") for k in e.get("keywords", ())),
            read_scopes=tuple(e.get("read_scopes", ())),
            write_scopes=tuple(e.get("write_scopes", ())),
            levels=bool(e.get("levels", False)),
        )
        for e in entries
    )


@cache
def _by_key() -> dict[str, HubSpotObject]:
    index: dict[str, HubSpotObject] = {}
    for obj in objects():
        index.setdefault(obj.name.lower(), obj)
        if obj.type_id and obj.type_id != "2-":
            index.setdefault(obj.type_id, obj)
        for api_name in obj.api_names:
            index.setdefault(api_name.lower(), obj)
    return index


def find_object(key: str | None) -> HubSpotObject | None:
    """Resolve a name, type id, API path segment or plural word to a catalogue entry."""
    if not key:
        return None
    key = key.strip().lower()
    if key.startswith("2-") and key[2:].isdecimal():  # Python's \d is str.isdecimal()
        return _by_key().get("custom")
    return _by_key().get(key) or _by_key().get(key.replace("-", "_"))


def object_for_scope(scope: str) -> HubSpotObject | None:
    """`crm.objects.deals.read` -> DEAL, `tickets` -> TICKET; None for scopes naming no object."""
    scope = scope.strip().lower()
    match = _OBJECT_SCOPE.search(scope)
    if match:
        return find_object(match.group(1))
    if scope.startswith("tickets"):
        return find_object("TICKET")
    return None


@cache
def _permission_data() -> dict:
    return load_toml("catalog/permissions.toml")


def is_feature_gate(permission_name: str) -> bool:
    return permission_name.strip().lower() in _permission_data()["feature_gates"]


def object_for_permission(permission_name: str) -> HubSpotObject | None:
    """`tickets-read` -> TICKET: the names seen in errors first, then the prefix table."""
    name = permission_name.strip().lower()
    for obj in objects():
        if name in obj.permission_names:
            return obj
    for prefix, object_name in _permission_data()["prefix_object"].items():
        if name == prefix or name.startswith(prefix + "-"):
            return find_object(object_name)
    return None


def object_by_keyword(text: str | Text) -> HubSpotObject | None:
    text = as_text(text)
    for obj in _objects_with_keywords():
        for pattern in obj.keywords:
            if pattern.search(text):
                return obj
    return None


@cache
def _objects_with_keywords() -> tuple[HubSpotObject, ...]:
    return tuple(obj for obj in objects() if obj.keywords)


def is_sensitive_scope(scope: str) -> bool:
    return bool(_SENSITIVE.search(scope.strip().lower()))


def recommended_scopes(scopes: tuple[str, ...], mode: str) -> tuple[str, ...]:
    """The least-privilege scopes to add for an `any`/`all` list from a MISSING_SCOPES error.

    For `any`, one scope is enough: the first plain one, passing over sensitive-data variants
    (`.sensitive.v2`: extra review, far more data), schema scopes and broad legacy scopes
    (`automation`), which all ask an admin for more than the call needs.
    """
    ordered = tuple(dict.fromkeys(s for s in scopes if s))
    if not ordered:
        return ()
    if mode == "all":
        return ordered
    broad = set(_permission_data()["broad_scopes"])

    def rank(item: tuple[int, str]) -> tuple[int, int, int, int]:
        index, scope = item
        return (int(is_sensitive_scope(scope)), int(scope.startswith("crm.schemas.")), int(scope in broad), index)

    return (min(enumerate(ordered), key=rank)[1],)
