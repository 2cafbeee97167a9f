"""Field extraction: portal, object, required names, HTTP status, category, correlation id, hublet.

Every function reads the flattened text (see normalize.py) and tolerates JSON, Python reprs and
Node dumps alike: keys may be quoted with ", ' or not at all, and separated by ':' or '='.
Patterns use bounded repetition only, so each runs in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge import catalog

_Q = r"""["']?"""  # optional quote around a key or value
_SEP = r"""["']?\s*[:=]\s*["']?"""  # key/value separator in JSON, reprs, inspect dumps, logs

# ---- portal ----------------------------------------------------------------------------------
_PORTAL = [
    re.compile(r"\b(?:in|for|to) portal (\d{3,12})\b", re.I),
    re.compile(r"\bportal[_ -]?id" + _SEP + r"(\d{3,12})\b", re.I),
    re.compile(r"\bhub[_ -]?id" + _SEP + r"(\d{3,12})\b", re.I),
    re.compile(r"\bHub (\d{3,12}) is unknown", re.I),
    re.compile(r"\bhcrn:(\d{3,12}):", re.I),
    re.compile(r"\bapp(?:-[a-z]{2,3}\d{1,2})?\.hubspot\.com/[a-z0-9-]{2,40}/(\d{3,12})\b", re.I),
    re.compile(r"\b(?:portal|hub|account) (\d{5,12})\b", re.I),
    re.compile(r"\bportal(?:Id)?=(\d{3,12})\b", re.I),
    re.compile(r"\(\s*(\d{6,12})\s*\)(?= ?$| ?\[| ?\n)", re.I),
]

# ---- object ----------------------------------------------------------------------------------
_LEGACY_TYPE = re.compile(r"legacyObjectType=([A-Z_]{3,40})", re.I)
_META_TYPE = re.compile(r"metaTypeId=(\d{1,3}),? ?innerId=(\d{1,12})", re.I)
_TYPE_ID = re.compile(r"\bobject ?type(?:[ _-]?id)?" + _SEP + r"([02]-\d{1,12})\b", re.I)
_OBJECT_TYPE_WORD = re.compile(r"\bobject ?type ([A-Z][A-Z_]{2,40})\b")
_BARE_TYPE_ID = re.compile(r"(?:/objects/|/record/|\bobject(?: type)? )([02]-\d{1,12})\b", re.I)
_CUSTOM_ID = re.compile(r"\b(2-\d{3,12})\b")
_URL_OBJECT = re.compile(
    r"/crm/(?:v\d{1,2}/objects|objects/\d{4}-\d{2}(?:-beta)?|v4/associations|v3/associations)/([a-z_]{3,40})", re.I
)
_URL_AREA = re.compile(r"/(?:crm/v\d/|crm/)(owners|pipelines|properties|schemas)\b", re.I)
_SDK_OBJECT = re.compile(
    r"\b(?:Hubspot::Crm::|hubspot\.crm\.|crm\.objects\.|crm\.schemas\.|@hubspot/api-client.{0,40}crm\.)([a-z_]{3,40})",
    re.I,
)
_VERB_OBJECT = re.compile(
    r"\b(?:fetch|fetching|get|getting|create|creating|update|updating|sync|syncing|read|reading|upsert|"
    r"delete|deleting|load|loading|search|searching|import|importing|export|exporting) (?:the |all |hubspot )?"
    r"(contacts|companies|deals|tickets|leads|quotes|line items|products|tasks|notes|calls|meetings|emails|"
    r"invoices|owners)\b",
    re.I,
)
_EXISTS_OBJECT = re.compile(r"\b(Contact|Company|Deal|Ticket|Lead) already exists", re.I)
_STREAM = re.compile(r"\bInvalid permissions for ([a-z][a-z0-9_]{2,60})\b", re.I)

# ---- requirements ----------------------------------------------------------------------------
_REQUIRES_OF = re.compile(r"\brequires? (one|any|all) of \[([^\]]{0,600})\]", re.I)
_SCOPE_LIST = re.compile(r"\b(?:required(?:Granular)?Scopes|missingScopes)" + _SEP + r"\[([^\]]{0,2000})\]", re.I)
_SCOPES_SENTENCE = re.compile(
    r"\b(One or more|All|Any) of the following scopes (?:are|is) required\b:? ?([a-z][\w.,\- ]{0,400})?", re.I
)
_MISSING_REQUIRED = re.compile(r"\bmissing (?:the )?required ['\"]?([a-z][\w.\-]{1,80})['\"]? scope", re.I)
_LACKS_ACCESS = re.compile(
    r"\b(?:lacks|lack|doesn't have|does not have) access to the required scopes? \[([^\]]{0,600})\]", re.I
)
_ACCESS_TO_SCOPE = re.compile(r"\baccess to the ['\"]([a-z][\w.\-]{1,80})['\"] scope", re.I)
_MISSING_AUTH = re.compile(r"\bMissing auth details: ?([a-z][\w.\-]{1,80}(?: ?, ?[a-z][\w.\-]{1,80}){0,20})", re.I)
_SCOPE_IS_REQUIRED = re.compile(r"\bscopes? ['\"]([a-z][\w.\-]{1,80})['\"] (?:is|are) required", re.I)
_SCOPE_TOKEN = re.compile(r"^[a-z][a-z0-9_\-]*(?:\.[a-z0-9_\-]+)*$", re.I)
_SAFE_NAME = re.compile(r"[^\w.\- >:/]")

# ---- status, category, ids -------------------------------------------------------------------
_REASONS = (
    "Bad Request|Unauthorized|Unauthorised|Forbidden|Not Found|Conflict|Unprocessable Entity|Locked|"
    "Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Multi-Status"
)
_STATUS = [
    re.compile(r"\bstatus[ _-]?code" + _SEP + r"(\d{3})\b", re.I),
    re.compile(r"\bHTTP status code:? (\d{3})\b", re.I),
    re.compile(r"\bHTTP/\d(?:\.\d)? (\d{3})\b", re.I),
    re.compile(r"\bresponse_?code[=:] ?(\d{3})\b", re.I),
    re.compile(r"\bApiException: ?\((\d{3})\)", re.I),
    re.compile(r"\b(\d{3}) (?:" + _REASONS + r")\b", re.I),
    re.compile(
        r"\b(?:returned|responded with(?: a)? status(?: of)?|failed with status(?: code)?|status of) ['\"]?(\d{3})\b", re.I
    ),
    re.compile(r"\b(?:error|status|code|HTTP)[: ]{1,3}(\d{3})\b(?: ?[-:])", re.I),
    re.compile(r"""["']?status["']?\s*[:=]\s*["']?(\d{3})\b""", re.I),
    re.compile(r"\bHTTP (\d{3})\b"),
    re.compile(r"\b(\d{3}) - \{"),
    re.compile(r"\bStatusCodeError: (\d{3})\b"),
]
_REASON_STATUS = {"forbidden": 403, "unauthorized": 401, "unauthorised": 401, "too many requests": 429}
_REASON_ONLY = re.compile(r"(?:^|[\s:.(])(Forbidden|Unauthorized|Too Many Requests)\b")
_CATEGORY = re.compile(r"\b(?:category|errorType|subCategory)" + _SEP + r"([A-Z][A-Z_]{3,60})\b")
_OAUTH_STATUS = re.compile(r"""["']?status["']?\s*[:=]\s*["']?(BAD_[A-Z_]{3,40}|EXPIRED_AUTH_CODE|INVALID_[A-Z_]{3,40})\b""")
_KNOWN_CATEGORIES = re.compile(
    r"\b(MISSING_SCOPES|EXPIRED_AUTHENTICATION|INVALID_AUTHENTICATION|OBJECT_NOT_FOUND|VALIDATION_ERROR|"
    r"RATE_LIMITS?|USER_DOES_NOT_HAVE_PERMISSIONS|BAD_REFRESH_TOKEN|BAD_AUTH_CODE|EXPIRED_AUTH_CODE|"
    r"BAD_CLIENT_ID|BAD_REDIRECT_URI|BAD_HUB|PROPERTY_DOESNT_EXIST|CONFLICT|INVALID_EMAIL)\b"
)
_CORRELATION = re.compile(
    r"\bcorrelation[_ -]?id" + _SEP + r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", re.I
)
_HUBLET = [
    re.compile(r"\bcorrectHublet" + _SEP + r"([a-z]{2,3}\d{1,2})\b", re.I),
    re.compile(r"\bexist in Hublet ([a-z]{2,3}\d{1,2})\b", re.I),
    re.compile(r"\bhublet" + _SEP + r"([a-z]{2,3}\d{1,2})\b", re.I),
    re.compile(r"\b(?:app|api)-([a-z]{2,3}\d{1,2})\.(?:hubspot|hubapi)\.com\b", re.I),
]


@dataclass(frozen=True)
class Requirements:
    names: tuple[str, ...] = ()
    mode: str = "any"


def portal_id(text: str) -> str | None:
    for pattern in _PORTAL:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def object_type(text: str, requires: tuple[str, ...] = ()) -> str | None:
    """HubSpot's object name or type id, most explicit evidence first."""
    match = _LEGACY_TYPE.search(text)
    if match:
        name = match.group(1).upper()
        obj = catalog.find_object(name)
        return obj.reported() if obj else name
    match = _META_TYPE.search(text)
    if match:
        return f"{match.group(1)}-{match.group(2)}"
    match = _TYPE_ID.search(text) or _BARE_TYPE_ID.search(text)
    if match:
        return _report_type_id(match.group(1))
    match = _OBJECT_TYPE_WORD.search(text)
    if match:
        obj = catalog.find_object(match.group(1))
        return obj.reported() if obj else match.group(1)
    for pattern in (_URL_OBJECT, _SDK_OBJECT, _VERB_OBJECT, _EXISTS_OBJECT):
        match = pattern.search(text)
        if match:
            obj = catalog.find_object(match.group(1).replace(" ", "_"))
            if obj:
                return obj.reported(_custom_id(text))
    match = _URL_AREA.search(text)
    if match and match.group(1).lower() == "owners":
        return "OWNER"
    for name in requires:
        obj = catalog.object_for_scope(name) or catalog.object_for_permission(name)
        if obj:
            return obj.reported(_custom_id(text))
    match = _STREAM.search(text)
    if match:
        return match.group(1)
    obj = catalog.object_by_keyword(text)
    return obj.reported() if obj else None


def _custom_id(text: str) -> str | None:
    match = _CUSTOM_ID.search(text)
    return match.group(1) if match else None


def _report_type_id(type_id: str) -> str:
    obj = catalog.find_object(type_id)
    return obj.reported(type_id) if obj else type_id


def _names(raw: str) -> list[str]:
    names = []
    for part in raw.split(","):
        name = part.strip().strip("\"' ")
        name = _SAFE_NAME.sub("", name).strip()
        if name and name.lower() not in {"array", "object", "..."} and len(name) <= 120:
            names.append(name)
    return names


def requirements(text: str) -> Requirements:
    """Names HubSpot says are required, exactly as printed, with any/all."""
    names: list[str] = []
    mode = "any"

    def add(found: list[str]) -> None:
        for name in found:
            if name not in names:
                names.append(name)

    for match in _REQUIRES_OF.finditer(text):
        if match.group(1).lower() == "all":
            mode = "all"
        add(_names(match.group(2)))
    sentence = _SCOPES_SENTENCE.search(text)
    if sentence and sentence.group(1).lower() == "all":
        mode = "all"
    for match in _SCOPE_LIST.finditer(text):
        add(_names(match.group(1)))
    if sentence and sentence.group(2) and not names:
        add([n for n in _names(sentence.group(2).rstrip(". ")) if _SCOPE_TOKEN.match(n)])
    for pattern in (_MISSING_REQUIRED, _ACCESS_TO_SCOPE, _SCOPE_IS_REQUIRED):
        add([m.group(1) for m in pattern.finditer(text)])
    for pattern in (_LACKS_ACCESS, _MISSING_AUTH):
        for match in pattern.finditer(text):
            add(_names(match.group(1)))
    return Requirements(tuple(names[:40]), mode)


def status(text: str) -> int | None:
    for pattern in _STATUS:
        for match in pattern.finditer(text):
            code = int(match.group(1))
            if code in (207, 488) or 400 <= code <= 599:
                return code
    match = _REASON_ONLY.search(text)
    if match:
        return _REASON_STATUS[match.group(1).lower()]
    return None


def category(text: str) -> str | None:
    match = _CATEGORY.search(text) or _OAUTH_STATUS.search(text) or _KNOWN_CATEGORIES.search(text)
    return match.group(1) if match else None


def correlation_id(text: str) -> str | None:
    match = _CORRELATION.search(text)
    return match.group(1).lower() if match else None


def hublet(text: str) -> str | None:
    for pattern in _HUBLET:
        match = pattern.search(text)
        if match:
            return match.group(1).lower()
    return None
