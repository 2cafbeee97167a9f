"""Secrets in pastes are reported by kind, never shown, and the checklist says to rotate them."""

from __future__ import annotations

import json

import pytest

from knowledge import diagnose, find_secrets, redact

PAT = "pat-na1-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
OAUTH = "CNLk4qf1MhICAQEYqeKgDiCQ5pwBKJqWDDIUWs8Qfx9cOCGgMbRsOtoXjt8aQPg6MAAAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
HAPIKEY = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
SLACK = "xoxb-1234567890123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
REFRESH = "na1-8e2f-4c1a-9b3d-0f7e6a5b4c3d2e1f0a9b"

CASES = [
    (f"curl -H 'Authorization: Bearer {PAT}' https://api.hubapi.com/crm/v3/objects", "hubspot_private_app_token", PAT),
    (f"Authorization: Bearer {OAUTH}\n401 Unauthorized", "hubspot_oauth_token", OAUTH),
    (f"GET https://api.hubapi.com/contacts/v1/lists?hapikey={HAPIKEY} -> 401", "hubspot_api_key", HAPIKEY),
    (f"SLACK_BOT_TOKEN={SLACK} fails with missing_scope", "slack_token", SLACK),
    (f'{{"refresh_token": "{REFRESH}", "status": "BAD_REFRESH_TOKEN"}}', "hubspot_refresh_token", REFRESH),
]


@pytest.mark.parametrize(("text", "kind", "value"), CASES, ids=[kind for _, kind, _ in CASES])
def test_secret_is_reported_by_kind_and_never_echoed(text: str, kind: str, value: str) -> None:
    assert kind in find_secrets(text)
    result = diagnose(text)
    assert kind in result.secrets
    assert value not in json.dumps(result.to_dict())
    assert value not in redact(text) and f"[REDACTED {kind}]" in redact(text)


def test_hubspot_error_with_a_token_gets_a_rotation_step() -> None:
    text = (f"Authorization: Bearer {PAT}\n{{\"status\":\"error\",\"message\":\"This app hasn't been granted all "
            "required scopes to make this call.\",\"category\":\"MISSING_SCOPES\"}")
    result = diagnose(text)
    assert result.kind == "missing_scopes"
    last = result.checklist[-1]
    assert "Rotate" in last.title and "hubspot_private_app_token" in last.detail
    assert PAT not in last.detail


def test_masked_and_empty_values_are_not_secrets() -> None:
    assert find_secrets("https://api.hubapi.com/crm/v3/objects/contacts?hapikey= response_code=401") == ()
    assert find_secrets("This oauth-token (#######################) does not have proper permissions!") == ()
    assert find_secrets("the token expired, please refresh it") == ()
