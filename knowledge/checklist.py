"""Rendering a diagnosis into a summary and checklist from the Jinja2 template of its kind.

Each `templates/<kind>.j2` renders a summary (one sentence), then the checklist, in which every
item starts with a line `## <title>`; the lines after it are the item's detail. Output is
Slack mrkdwn. Values from the paste reach templates only after extraction, which admits nothing
but ids, names and digits, so templates need no escaping (and must not HTML-escape: Slack would
show `&#39;`).
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

import jinja2

import knowledge.catalog as catalog
from knowledge.data import PACKAGE_DIR, load_toml
from knowledge.linre import Pattern
from knowledge.model import ChecklistItem
from knowledge.secrets import rotation_advice


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(PACKAGE_DIR / "templates"),
        # Output is Slack mrkdwn, not HTML: HTML-escaping would break its <url|text> links. Pasted
        # text reaches Slack only through bot.messages.mrkdwn.untrusted (escaped, redacted) and
        # every reply is redacted again on its way out (bot.app.guard_replies).
        autoescape=False,  # noqa: S701  # nosec B701  # mrkdwn output; escaped and redacted downstream
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,  # templates ship with the package; no stat() per diagnosis
    )
    env.filters["code_list"] = lambda names, sep=", ": sep.join(f"`{n}`" for n in names)
    return env


def app_domain(hublet: str | None) -> str:
    """HubSpot's UI domain for a data centre: app.hubspot.com (na1) or app-<hublet>.hubspot.com."""
    if hublet and hublet != "na1":
        return f"app-{hublet}.hubspot.com"
    return "app.hubspot.com"


@cache
def _links(portal_id: str | None, hublet: str | None) -> dict[str, str]:
    """Documentation links, plus the portal's own pages when its id is known (cached: templates
    only read it)."""
    data = load_toml("catalog/links.toml")
    links = dict(data["docs"])
    if portal_id:
        app = app_domain(hublet)
        links["users"] = data["portal"]["users"].format(app=app, portal=portal_id)
    return links


@cache
def _template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


def _split(rendered: str) -> tuple[str, tuple[ChecklistItem, ...]]:
    """A rendered template is the summary, then the items, each starting with `## title`."""
    parts = ("\n" + rendered).split("\n## ")
    items = []
    for part in parts[1:]:
        title, _, detail = part.partition("\n")
        lines = (line.strip() for line in detail.strip().split("\n"))
        items.append(ChecklistItem(title.strip(), "\n".join(line for line in lines if line)))
    return parts[0].strip(), tuple(items)


#: Stand-ins for the per-paste ids while a checklist is rendered (see `render`).
_PORTAL = "\x00portal\x00"
_CORRELATION = "\x00correlation\x00"


def render(fields: dict[str, Any], facts: dict[str, Any]) -> tuple[str, tuple[ChecklistItem, ...]]:
    """(summary, checklist) for a diagnosis' fields plus facts only templates need.

    The same error recurs all day with new ids (a failing sync, an alerting bot), so a checklist
    is rendered once per diagnosis *shape* with stand-ins for the portal and correlation ids,
    and the paste's own ids are put in afterwards: the output is exactly what rendering with the
    real ids gives, without the template work.
    """
    portal, correlation = fields["portal_id"], fields["correlation_id"]
    stand_ins = {"portal_id": _PORTAL if portal else None, "correlation_id": _CORRELATION if correlation else None}
    shape = {**fields, **facts, **stand_ins}
    summary, checklist = _render_shape(tuple(sorted(shape.items())))
    if not (portal or correlation):
        return summary, checklist

    def fill(text: str) -> str:
        if portal:
            text = text.replace(_PORTAL, portal)
        if correlation:
            text = text.replace(_CORRELATION, correlation)
        return text

    return fill(summary), tuple(ChecklistItem(fill(item.title), fill(item.detail)) for item in checklist)


@lru_cache(maxsize=2048)
def _render_shape(shape: tuple[tuple[str, Any], ...]) -> tuple[str, tuple[ChecklistItem, ...]]:
    fields = dict(shape)
    kind = fields["kind"]
    obj = catalog.find_object(fields["object_type"])
    if obj is None:
        for name in fields["requires"]:
            obj = catalog.object_for_permission(name) or catalog.object_for_scope(name)
            if obj:
                break
    scopes = oauth_scopes(tuple(fields["requires"]))
    context = {
        **fields,
        "scopes": scopes,
        "permission_names": scopes != tuple(fields["requires"]),
        "object_scope": object_scope(obj, tuple(fields["requires"])),
        "obj": obj,
        "label": obj.label if obj else "records",
        "area": obj.permission if obj else "the permission for that tool or object",
        "recommended": catalog.recommended_scopes(scopes, fields["requires_mode"]),
        "sensitive": [s for s in fields["requires"] if catalog.is_sensitive_scope(s)],
        "feature_gates": [n for n in fields["requires"] if catalog.is_feature_gate(n)],
        "links": _links(fields["portal_id"], fields["hublet"]),
        "app": app_domain(fields["hublet"]),
        "rotation": rotation_advice(tuple(fields["secrets"])),
    }
    summary, checklist = _split(_template(f"{kind}.j2").render(context))
    if fields["secrets"]:
        checklist += _split(_template("_secrets.j2").render(context))[1]
    return summary, checklist


_PERMISSION_SUFFIX = Pattern(r"-(?:read|write|access|base|edit|view|delete)$", where="permission suffix", prefilter=False)
_WRITE_SUFFIX = Pattern(r"(?:-write|-edit|-delete|\.write)$", where="write suffix", prefilter=False)


def is_scope(name: str) -> bool:
    """Whether a name HubSpot printed is an OAuth scope (vs. an internal user-permission name)."""
    name = name.strip().lower()
    if name in load_toml("catalog/permissions.toml")["plain_scopes"]:
        return True
    return "." in name and not _PERMISSION_SUFFIX.search(name)


def oauth_scopes(names: tuple[str, ...]) -> tuple[str, ...]:
    """The real scopes behind the names of an error: scopes as printed; a permission name such as
    `tickets-read` or `companies-write` replaced by its object's read or write scope (`tickets`,
    `crm.objects.companies.write`); names with no known scope dropped, never passed on as scopes."""
    found: list[str] = []
    for name in names:
        if is_scope(name):
            found.append(name)
            continue
        obj = catalog.object_for_permission(name)
        if obj:
            scope = object_scope(obj, (name,))
            if scope:
                found.append(scope)
    return tuple(dict.fromkeys(found))


def object_scope(obj: catalog.HubSpotObject | None, names: tuple[str, ...]) -> str | None:
    """The object's write scope when the error asks for writing (`-write`, `-edit`), else its read scope."""
    if obj is None:
        return None
    wants_write = any(_WRITE_SUFFIX.search(n.strip()) for n in names)
    pool = (obj.write_scopes or obj.read_scopes) if wants_write else (obj.read_scopes or obj.write_scopes)
    return pool[0] if pool else None
