"""The advice is right: one test per finding of issue 7 (what a new user was told that was wrong),
plus properties that hold for every diagnosis of the labelled corpus."""

from __future__ import annotations

import json
import re

import pytest

from knowledge import diagnose
from knowledge.checklist import is_scope
from knowledge.data import PACKAGE_DIR, load_toml
from knowledge.model import Diagnosis
from tests.corpus import load

PAT = "pat-na1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OAUTH = "CJTvk4qf1MhICAQEYqeKgDiCQ5pwBKJqWDDIUWs8Qfx9cOCGgMbRsOtoXjt8aQPg6MAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAxyz"
HAPIKEY = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
CORPUS = load("errors_*.jsonl") + [c for c in load("chat_*.jsonl") if c.get("label") == "positive"]


def _text(result: Diagnosis) -> str:
    return result.summary + "\n" + "\n".join(f"{i.title}\n{i.detail}" for i in result.checklist)


def _code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


# 1. A private-app token with `requires one of [tickets-read, tickets-access]`.
def test_private_app_is_told_the_real_scope_and_not_to_reauthorize() -> None:
    result = diagnose(
        f"Sync failed with private app token {PAT}: You do not have permissions to view object type "
        "ObjectTypeId{legacyObjectType=TICKET} in portal 55501 (requires one of [tickets-read, tickets-access])"
    )
    assert result.kind == "missing_scopes"
    assert "add `tickets`" in result.summary and "nothing to re-authorize" in result.summary
    assert "`tickets-read`" not in result.summary
    first = result.checklist[0]
    assert first.detail.startswith("Add `tickets`.") and "internal permission names" in first.detail
    assert not any(item.title.startswith("Re-authorize") for item in result.checklist)


def test_every_scope_hsperm_tells_anyone_to_add_is_a_real_scope() -> None:
    for record in CORPUS:
        result = diagnose(record["text"])
        if result.kind != "missing_scopes":
            continue
        for sentence in re.findall(r"\b[Aa]dd (`[^.;:]+)", _text(result)):
            for name in _code_spans(sentence):
                assert is_scope(name), (record["id"], name)


# 2. The legacy sentence lists OAuth scopes.
def test_legacy_oauth_token_bracket_lists_scopes() -> None:
    result = diagnose("This oauth-token (xxxx) does not have proper permissions! (requires any of [tickets])")
    assert result.kind == "missing_scopes"
    assert result.requires == ("tickets",)
    assert "add `tickets`" in result.summary


# 3. Credentials in legacy wordings and in name lists are detected and never shown or stored.
@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        (f"This oauth-token ({OAUTH}) is expired! expiresAt: 1618000000", OAUTH, "hubspot_oauth_token"),
        (f'{{"status":"error","message":"This hapikey ({HAPIKEY}) doesn\'t exist."}}', HAPIKEY, "hubspot_api_key"),
        (f"You do not have permissions to view object type ObjectTypeId{{legacyObjectType=DEAL}} in portal 123 "
         f"(requires one of [{PAT}, deals-read])", PAT, "hubspot_private_app_token"),
        (f"You do not have permissions to view object type ObjectTypeId{{legacyObjectType=TICKET}} "
         f"(requires any of [{OAUTH}])", OAUTH, "hubspot_oauth_token"),
    ],
)
def test_credentials_in_legacy_wordings_are_redacted_everywhere(text: str, value: str, kind: str) -> None:
    result = diagnose(text)
    assert result.kind != "not_hubspot"
    assert kind in result.secrets
    assert value not in json.dumps(result.to_dict())


def test_a_diagnosis_built_anywhere_is_redacted() -> None:
    built = Diagnosis(kind="other_hubspot", summary=f"token {PAT}", requires=(PAT,), portal_id=PAT)
    assert PAT not in json.dumps(built.to_dict())


_LEAKS = (
    f"Authorization: Bearer {PAT}",
    f"This oauth-token ({OAUTH}) does not have proper permissions!",
    f"GET /contacts/v1/lists?hapikey={HAPIKEY}",
    f"This hapikey ({HAPIKEY}) doesn't exist",
    f"access_token={OAUTH}",
)


@pytest.mark.parametrize("leak", _LEAKS)
def test_no_secret_value_survives_in_any_corpus_diagnosis(leak: str) -> None:
    """Every real paste shape of the corpus, with a credential pasted into it."""
    for record in CORPUS:
        dumped = json.dumps(diagnose(f"{record['text']}\n{leak}").to_dict())
        for value in (PAT, OAUTH, HAPIKEY):
            assert value not in dumped, (record["id"], leak)


# 4. An API key lacking a permission: API keys are retired.
def test_api_key_permission_error_says_api_keys_are_retired() -> None:
    result = diagnose(f"This hapikey ({HAPIKEY}) does not have proper permissions! (requires any of [contacts-read])")
    assert "retired API keys on November 30, 2022" in result.summary
    assert "does not have this feature" not in _text(result)
    assert "service key" in result.checklist[0].detail and "Bearer" in result.checklist[0].detail
    assert "`crm.objects.contacts.read`" in result.checklist[1].detail
    assert HAPIKEY not in json.dumps(result.to_dict())


# 5. Prose quoting an error is not an error; a status is shown only when the paste shows one.
@pytest.mark.parametrize(
    "text",
    [
        "Docs say 'You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} "
        "(requires one of [tickets-read])' means a user permission issue, right?",
        "Depending on the auth method HubSpot may return a 403 with an error message like `This oauth-token "
        "(…) does not have proper permissions!`, so our MISSING_SCOPE_REGEX should match it too.",
        "```diff\n@@ -12,6 +12,9 @@\n+    if (message.includes('This app hasn\\'t been granted all required scopes')) {\n"
        "+      return new MissingScopesError(message);\n+    }\n```",
        "const MISSING = \"This app hasn't been granted all required scopes to make this call.\";\n"
        "export const isMissingScopes = (e) => e.category === 'MISSING_SCOPES';",
    ],
)
def test_text_about_an_error_stays_silent(text: str) -> None:
    assert diagnose(text).kind == "not_hubspot"


def test_status_is_only_the_pastes_own() -> None:
    result = diagnose("You do not have permissions to view object type ObjectTypeId{legacyObjectType=TICKET} "
                      "in portal 342871372 (requires one of [tickets-read, tickets-access])")
    assert result.kind == "user_permission" and result.status is None
    reasons = {401: "unauthori", 403: "forbidden", 429: "too many requests"}
    for record in CORPUS:
        result = diagnose(record["text"])
        if result.status is not None:
            low = record["text"].lower()
            assert str(result.status) in low or reasons.get(result.status, "\0") in low, record["id"]


# 6. The HubSpot CLI's access key lacks scopes: lead with the new key, then `hs account auth`.
def test_cli_access_key_missing_scopes_leads_with_the_fix() -> None:
    result = diagnose("[ERROR] Couldn't execute the request because the access key for my-portal is missing required "
                      "scopes. To update scopes, run `hs account auth`.")
    assert result.kind == "missing_scopes"
    assert re.fullmatch(r"The HubSpot CLI's personal access key is missing a scope [^.]*`hs account auth`[^.]*\.",
                        result.summary)
    assert result.checklist[0].title == "Create a new personal access key with the scope"
    assert "`hs account auth`" in result.checklist[1].detail


# 7. Wording.
def test_one_permission_name_is_singular_and_two_are_plural() -> None:
    one = diagnose("You do not have permissions to view object type ObjectTypeId{legacyObjectType=DEAL} in portal 1 "
                   "(requires one of [deals-read])")
    two = diagnose("You do not have permissions to view object type ObjectTypeId{legacyObjectType=DEAL} in portal 1 "
                   "(requires one of [deals-read, deals-write])")
    assert "`deals-read` is a HubSpot user permission name, not an OAuth scope" in one.summary
    assert "are HubSpot user permission names, not OAuth scopes" in two.summary
    assert one.checklist[0].title == "This is a user permission, not an OAuth scope"
    assert two.checklist[0].title == "These are user permissions, not OAuth scopes"


def test_no_pronoun_without_names_before_it() -> None:
    result = diagnose("Error from HubSpot: You don't have permission to view this ticket")
    assert result.kind == "user_permission"
    assert "They are not" not in _text(result)


def test_a_write_permission_is_answered_with_the_write_scope() -> None:
    text = ("You do not have permissions to edit object type ObjectTypeId{legacyObjectType=COMPANY} in portal 1 "
            "(requires one of [companies-write])")
    private = diagnose(f"private app: {text}")
    assert private.kind == "missing_scopes" and "add `crm.objects.companies.write`" in private.summary
    user = diagnose(text)
    assert "`crm.objects.companies.write`" in _text(user) and "companies.read" not in _text(user)


def test_daily_limit_waits_for_the_reset_instead_of_retrying() -> None:
    result = diagnose('{"status":"error","message":"You have reached your daily limit.","errorType":"RATE_LIMIT",'
                      '"policyName":"DAILY"}')
    assert "midnight in the account's time zone" in result.summary and "only adds errors" in result.summary
    assert not any("retry" in item.title.lower() for item in result.checklist)


def test_ten_secondly_limit_never_talks_about_the_daily_one() -> None:
    result = diagnose('{"status":"error","message":"You have reached your ten_secondly_rolling limit.",'
                      '"errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}')
    assert result.kind == "rate_limit"
    assert "daily" not in _text(result).lower()


def test_bad_auth_code_leads_with_single_use_codes() -> None:
    result = diagnose('POST https://api.hubapi.com/oauth/v1/token -> 400 '
                      '{"status":"BAD_AUTH_CODE","message":"missing or unknown auth code"}')
    assert result.kind == "oauth_install_error"
    assert "single-use" in result.summary
    assert result.checklist[0].title == "Use a fresh code, once" and "single-use" in result.checklist[0].detail


_DATE = re.compile(r"\b(?:January|February|March|April|May|June|July|August|September|October|November|December) "
                   r"\d{1,2}, \d{4}\b|\b20\d\d-\d\d-\d\d\b|\b(?:since|by|until) (?:19|20)\d\d\b")


def test_every_dated_claim_cites_a_source() -> None:
    for record in CORPUS:
        result = diagnose(record["text"])
        for item in result.checklist:
            if _DATE.search(item.detail):
                assert "<https://" in item.detail, (record["id"], item.title)
        for date in _DATE.findall(result.summary):
            assert any(date in i.detail and "<https://" in i.detail for i in result.checklist), (record["id"], date)


def test_every_linked_page_is_recorded_in_sources() -> None:
    sources = (PACKAGE_DIR / "templates" / "SOURCES.md").read_text(encoding="utf-8")
    for name, url in load_toml("catalog/links.toml")["docs"].items():
        assert url in sources, name
