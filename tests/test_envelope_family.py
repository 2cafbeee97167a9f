"""Inside HubSpot's error envelope, a message no rule knows word for word is still read by its
wording: HubSpot's 404 wording ("no … found", "does not exist") is not_found, its 400 wording
("must", "cannot", "already …") is validation, and auth, scope or limit wording is left to the
families that own it. The shapes below are written for this test, not taken from the corpus."""

from __future__ import annotations

import pytest

from knowledge import diagnose

CORRELATION = '"correlationId":"0b6c1f4e-2a9d-4c61-8f0e-5d3a7b9c2e14"'


def envelope(message: str) -> str:
    return '{"status":"error","message":"' + message + '",' + CORRELATION + "}"


@pytest.mark.parametrize(
    "message",
    [
        "No pipeline found with id 'sales-2'",
        "No sequence was found for sequenceId 88812",
        "Workflow 40123 no longer exists",
        "Unable to find an association definition for typeId 279",
    ],
    ids=["no-x-found", "no-x-was-found", "no-longer-exists", "unable-to-find"],
)
def test_not_found_wording_in_an_envelope_is_not_found(message: str) -> None:
    assert diagnose(envelope(message)).kind == "not_found"


@pytest.mark.parametrize(
    "message",
    [
        "Stage id must be one of the pipeline's stages",
        "Cannot archive a property that is used in an active workflow",
        "A list with the name Q3 leads already exists",
        "Dropdown options must have at least one option",
    ],
    ids=["must-be", "cannot", "already-exists", "at-least"],
)
def test_request_wording_in_an_envelope_is_validation(message: str) -> None:
    assert diagnose(envelope(message)).kind == "validation"


def test_the_same_wording_in_a_ruby_client_exception_is_read_too() -> None:
    paste = "Hubspot::RequestError: Response body: " + envelope("No owner found with email 'sam@example.com'")
    assert diagnose(paste).kind == "not_found"


def test_auth_and_scope_wording_stays_with_its_own_family() -> None:
    scopes = envelope("This app hasn't been granted all required scopes to make this call.")
    assert diagnose(scopes).kind == "missing_scopes"
    assert diagnose(envelope("The access token cannot be used for this portal")).kind != "validation"


def test_another_products_message_field_is_not_read_as_hubspots() -> None:
    n8n = '{"errorMessage": "Cannot read properties of undefined (reading \'cause\')", "errorDetails": {}}'
    assert diagnose(n8n).kind == "not_hubspot"
