"""Field extraction: portal, object, required names, HTTP status, category, correlation id, hublet.

Every function reads the flattened text (see normalize.py) and tolerates JSON, Python reprs and
Node dumps alike: keys may be quoted with ", ' or not at all, and separated by ':' or '='.
Every pattern runs on RE2 (see linre.py), so each runs in linear time.
"""

from __future__ import annotations

from dataclasses import dataclass

import knowledge.catalog as catalog
from knowledge.linre import AnyOf, Pattern, Text, as_text

_Q = r"""["']?"""  # optional quote around a key or value
_SEP = r"""["']?\s*[:=]\s*["']?"""  # key/value separator in JSON, reprs, inspect dumps, logs

# ---- portal ----------------------------------------------------------------------------------
_PORTAL = AnyOf((
    Pattern(r"\b(?:in|for|to) portal (\d{3,12})\b"),
    Pattern(r"\bportal[_ -]?id" + _SEP + r"(\d{3,12})\b"),
    Pattern(r"\bportal ?id:? (\d{3,12})\b"),
    Pattern(r"\bhub[_ -]?id" + _SEP + r"(\d{3,12})\b"),
    Pattern(r"\bHub (\d{3,12}) is unknown"),
    Pattern(r"\bhcrn:(\d{3,12}):"),
    Pattern(r"\bapp(?:-[a-z]{2,3}\d{1,2})?\.hubspot\.com/[a-z0-9-]{2,40}/(\d{3,12})\b"),
    Pattern(r"\bportal (\d{5,12})\b"),
    Pattern(r"\bhub (\d{5,12})\b"),
    Pattern(r"\baccount (\d{5,12})\b"),
    Pattern(r"\bportal(?:Id)?=(\d{3,12})\b"),
    Pattern(r"\(\s*(\d{6,12})\s*\)(?: ?$| ?\[| ?\n)"),  # what follows is consumed: only group 1 is read
))

# ---- object ----------------------------------------------------------------------------------
_LEGACY_TYPE = Pattern(r"legacyObjectType=([A-Z_]{3,40})")
_META_TYPE = Pattern(r"metaTypeId=(\d{1,3}),? ?innerId=(\d{1,12})")
_TYPE_ID = Pattern(r"\bobject ?type(?:[ _-]?id)?(?:" + _SEP + r"| )([02]-\d{1,12})\b")
_OBJECT_TYPE_WORD = Pattern(r"\bobject ?type ([A-Z][A-Z_]{2,40})\b", ignore_case=False)
_BARE_TYPE_ID = Pattern(r"(?:/objects/|/record/|\bobject(?: type)? )([02]-\d{1,12})\b")
_CUSTOM_ID = Pattern(r"\b(2-\d{3,12})\b")
_URL_OBJECT = Pattern(
    r"/crm/(?:v\d{1,2}/objects|objects/\d{4}-\d{2}(?:-beta)?|v4/associations|v3/associations)/([a-z_]{3,40})"
)
_URL_AREA = Pattern(r"/(?:crm/v\d/|crm/)(owners|pipelines|properties|schemas)\b")
_SDK_OBJECT = Pattern(
    r"\b(?:Hubspot::Crm::|hubspot\.crm\.|crm\.objects\.|crm\.schemas\.|@hubspot/api-client.{0,40}crm\.)([a-z_]{3,40})"
)
_VERB_OBJECT = Pattern(
    r"\b(?:fetch|fetching|get|getting|create|creating|update|updating|sync|syncing|read|reading|upsert|"
    r"delete|deleting|load|loading|search|searching|import|importing|export|exporting) (?:the |all |hubspot )?"
    r"(contacts|companies|deals|tickets|leads|quotes|line items|products|tasks|notes|calls|meetings|emails|"
    r"invoices|owners)\b"
)
_EXISTS_OBJECT = Pattern(r"\b(Contact|Company|Deal|Ticket|Lead) already exists")
_SCOPE_AREA = Pattern(r"^([a-z][a-z0-9_-]{1,40}(?:\.[a-z0-9_-]{1,40}){1,3})\.(?:read|write)$", False, prefilter=False)
_THIS_OBJECT = Pattern(r"\b(?:this|that|the) (ticket|contact|company|deal|lead|invoice)\b")
_STREAM = Pattern(r"\bInvalid permissions for ([a-z][a-z0-9_]{2,60})\b")

# ---- requirements ----------------------------------------------------------------------------
_REQUIRES_OF = Pattern(r"\brequires? (one|any|all) of \[([^\]]{0,600})\]")
# Up to 2000 characters as {0,1000} twice: RE2 allows bounds up to 1000.
_SCOPE_LIST = Pattern(r"\b(?:required(?:Granular)?Scopes|missingScopes)" + _SEP + r"\[([^\]]{0,1000}[^\]]{0,1000})\]")
_SCOPES_SENTENCE = Pattern(
    r"\b(One or more|All|Any) of the following scopes (?:are|is) required\b:? ?([a-z][\w.,\- ]{0,400})?"
)
_MISSING_REQUIRED = Pattern(r"\bmissing (?:the )?required ['\"]?([a-z][\w.\-]{1,80})['\"]? scope")
_LACKS_ACCESS = Pattern(
    r"\b(?:lacks|lack|doesn't have|does not have) access to the required scopes? \[([^\]]{0,600})\]"
)
_ACCESS_TO_SCOPE = Pattern(r"\baccess to the ['\"]([a-z][\w.\-]{1,80})['\"] scope")
# Up to 21 names, the 20 after the first as {0,10} twice: RE2 caps nested repetition at 1000.
_MORE_AUTH = r"(?: ?, ?[a-z][\w.\-]{1,80}){0,10}"
_MISSING_AUTH = Pattern(r"\bMissing auth details: ?([a-z][\w.\-]{1,80}" + _MORE_AUTH + _MORE_AUTH + ")")
_SCOPE_IS_REQUIRED = Pattern(r"\bscopes? ['\"]([a-z][\w.\-]{1,80})['\"] (?:is|are) required")
_SCOPE_TOKEN = Pattern(r"^[a-z][a-z0-9_\-]*(?:\.[a-z0-9_\-]+)*$", False, prefilter=False)
#: what a name may keep besides letters and digits (Python's `\w` is str.isalnum() plus "_")
_SAFE_PUNCTUATION = "_.- >:/"

# ---- status, category, ids -------------------------------------------------------------------
_REASONS = (
    "Bad Request|Unauthorized|Unauthorised|Forbidden|Not Found|Conflict|Unprocessable Entity|Locked|"
    "Too Many Requests|Internal Server Error|Bad Gateway|Service Unavailable|Gateway Timeout|Multi-Status"
)
_STATUS = [
    Pattern(r"\bstatus[ _-]?code" + _SEP + r"(\d{3})\b"),
    Pattern(r"\bHTTP status code:? (\d{3})\b"),
    Pattern(r"\bHTTP/\d(?:\.\d)? (\d{3})\b"),
    Pattern(r"\bresponse_?code[=:] ?(\d{3})\b"),
    Pattern(r"\bApiException: ?\((\d{3})\)"),
    Pattern(r"Exception: ?\((\d{3})\) ?Reason:"),
    Pattern(r"\bHTTP-Code: ?(\d{3})\b"),
    Pattern(r"\b(\d{3}) (?:Client|Server) Error\b"),
    Pattern(r"\[(\d{3})\] (?:Client|Server) error\b"),
    Pattern(r"\b(\d{3}) (?:" + _REASONS + r")\b"),
    Pattern(
        r"\b(?:returned|responded with(?: a)? status(?: of)?|failed with status(?: code)?|status of) ['\"]?(\d{3})\b"
    ),
    Pattern(r"\b(?:error|status|code|HTTP)[: ]{1,3}(\d{3})\b(?: ?[-:])"),
    Pattern(r"""["']?status["']?\s*[:=]\s*["']?(\d{3})\b"""),
    Pattern(r"\bHTTP (\d{3})\b"),
    Pattern(r"\b(\d{3}) - \{"),
    Pattern(r"\bStatusCodeError: (\d{3})\b"),
    Pattern(r"\b(\d{3}): ?\{"),
    Pattern(r"\bstatus: ?code: ?(\d{3})\b"),  # YAML request recordings (VCR cassettes)
    Pattern(r"\(status(?: code)?:? ?(\d{3})\)"),
    Pattern(r"\b(\d{3}) Bad (?:Server )?Gateway\b"),
    Pattern(r"""\bstatusCode["\w\\:]{0,60}\]=>\s{0,20}int\((\d{3})\)"""),  # PHP var_dump of a response
]
_REASON_STATUS = {"forbidden": 403, "unauthorized": 401, "unauthorised": 401, "too many requests": 429}
_REASON_ONLY = Pattern(r"(?:^|[\s:.(])(Forbidden|Unauthorized|Too Many Requests)\b", ignore_case=False)
#: one Set lookup tells which status patterns can match: most texts have none or one
_ANY_STATUS = AnyOf((*_STATUS, _REASON_ONLY))
_CATEGORY = Pattern(r"\b(?:category|errorType|subCategory)" + _SEP + r"([A-Z][A-Z_]{3,60})\b", ignore_case=False)
_OAUTH_STATUS = Pattern(
    r"""["']?status["']?\s*[:=]\s*["']?(BAD_[A-Z_]{3,40}|EXPIRED_AUTH_CODE|INVALID_[A-Z_]{3,40})\b""", ignore_case=False
)
_KNOWN_CATEGORIES = Pattern(
    r"\b(MISSING_SCOPES|EXPIRED_AUTHENTICATION|INVALID_AUTHENTICATION|OBJECT_NOT_FOUND|VALIDATION_ERROR|"
    r"RATE_LIMITS?|USER_DOES_NOT_HAVE_PERMISSIONS|BAD_REFRESH_TOKEN|BAD_AUTH_CODE|EXPIRED_AUTH_CODE|"
    r"BAD_CLIENT_ID|BAD_REDIRECT_URI|BAD_HUB|PROPERTY_DOESNT_EXIST|CONFLICT|INVALID_EMAIL)\b",
    ignore_case=False,
)
_CORRELATION = Pattern(
    r"\bcorrelation[_ -]?id" + _SEP + r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"
)
_HUBLET = AnyOf((
    Pattern(r"\bcorrectHublet" + _SEP + r"([a-z]{2,3}\d{1,2})\b"),
    Pattern(r"\bexist in Hublet ([a-z]{2,3}\d{1,2})\b"),
    Pattern(r"\bhublet" + _SEP + r"([a-z]{2,3}\d{1,2})\b"),
    Pattern(r"\b(?:app|api)-([a-z]{2,3}\d{1,2})\.(?:hubspot|hubapi)\.com\b"),
))


@dataclass(frozen=True)
class Requirements:
    names: tuple[str, ...] = ()
    mode: str = "any"


def portal_id(text: str | Text) -> str | None:
    text = as_text(text)
    for pattern in _PORTAL.which(text):
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def object_type(text: str | Text, requires: tuple[str, ...] = ()) -> str | None:
    """HubSpot's object name or type id, most explicit evidence first."""
    text = as_text(text)
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
    match = _THIS_OBJECT.search(text)  # the HubSpot UI: "You don't have permission to view this ticket"
    if match:
        return catalog.find_object(match.group(1)).reported()
    for name in requires:  # a scope naming no CRM object still names an area: account-info.security.read
        match = _SCOPE_AREA.match(name)
        if match:
            return match.group(1)
    obj = catalog.object_by_keyword(text)
    return obj.reported() if obj else None


def _custom_id(text: Text) -> str | None:
    match = _CUSTOM_ID.search(text)
    return match.group(1) if match else None


def _report_type_id(type_id: str) -> str:
    obj = catalog.find_object(type_id)
    return obj.reported(type_id) if obj else type_id


def _names(raw: str) -> list[str]:
    names = []
    for part in raw.split(","):
        name = part.strip().strip("\"' ")
        name = "".join(c for c in name if c.isalnum() or c in _SAFE_PUNCTUATION).strip()
        if name and name.lower() not in {"array", "object", "..."} and len(name) <= 120:
            names.append(name)
    return names


def requirements(text: str | Text) -> Requirements:
    """Names HubSpot says are required, exactly as printed, with any/all."""
    text = as_text(text)
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


def status_places() -> list[int | None]:
    """Where `status()`'s patterns sit in the shared Set, so the engine can skip it when the Set
    found none of them."""
    return [p.index for p in _ANY_STATUS.patterns]


def status(text: str | Text) -> int | None:
    text = as_text(text)
    for pattern in _ANY_STATUS.which(text):
        match = pattern.search(text)
        if match is None:
            continue
        if pattern is _REASON_ONLY:
            return _REASON_STATUS[match.group(1).lower()]
        if _is_error_status(int(match.group(1))):
            return int(match.group(1))
        for match in pattern.finditer(text):  # the first one was a 200 or a 3xx; look further
            if _is_error_status(int(match.group(1))):
                return int(match.group(1))
    return None


def _is_error_status(code: int) -> bool:
    return code in (207, 488) or 400 <= code <= 599


def category(text: str | Text) -> str | None:
    text = as_text(text)
    match = _CATEGORY.search(text) or _OAUTH_STATUS.search(text) or _KNOWN_CATEGORIES.search(text)
    return match.group(1) if match else None


def correlation_id(text: str | Text) -> str | None:
    text = as_text(text)
    match = _CORRELATION.search(text)
    return match.group(1).lower() if match else None


def hublet(text: str | Text) -> str | None:
    text = as_text(text)
    for pattern in _HUBLET.which(text):
        match = pattern.search(text)
        if match:
            return match.group(1).lower()
    return None


_EXPIRED_AGO = Pattern(r"\bexpired (\d{1,9}) (second|minute|hour|day)\(?s?\)? ago")
_POLICY = Pattern(r"""\bpolicyName["']?\s*[:=]\s*["']?([A-Z_]{3,40})""", ignore_case=False)
_LIMIT_WORD = Pattern(r"\breached your (secondly|ten[_ ]secondly(?:[_ ]rolling)?|daily) limit")


def expired_ago(text: str | Text) -> str | None:
    """"5 hours" from "expired 5 hour(s) ago": the checklist says how stale the token was."""
    match = _EXPIRED_AGO.search(text)
    if not match:
        return None
    number, unit = int(match.group(1)), match.group(2).lower()
    return f"{number} {unit}{'' if number == 1 else 's'}"


def rate_limit_policy(text: str | Text) -> str | None:
    """HubSpot's policyName (SECONDLY, TEN_SECONDLY_ROLLING, DAILY), or the limit the message names."""
    match = _POLICY.search(text)
    if match:
        return match.group(1).upper()
    match = _LIMIT_WORD.search(text)
    if match:
        word = match.group(1).upper().replace(" ", "_")
        return "TEN_SECONDLY_ROLLING" if word.startswith("TEN") else word
    return None
