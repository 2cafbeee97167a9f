"""The HubSpot catalogue: every way an error names an object resolves to the same entry."""

from __future__ import annotations

import pytest

from knowledge import catalog


@pytest.mark.parametrize(
    ("key", "name"),
    [("TICKET", "TICKET"), ("tickets", "TICKET"), ("0-5", "TICKET"), ("contact", "CONTACT"), ("0-1", "CONTACT"),
     ("companies", "COMPANY"), ("0-3", "DEAL"), ("LEAD", "LEAD"), ("leads", "LEAD"), ("0-136", "LEAD"),
     ("line_items", "LINE_ITEM"), ("line-items", "LINE_ITEM"), ("2-61659350", "CUSTOM"), ("services", "SERVICE")],
)
def test_find_object(key: str, name: str) -> None:
    obj = catalog.find_object(key)
    assert obj is not None and obj.name == name


def test_reported_names_follow_hubspot_usage() -> None:
    assert catalog.find_object("0-5").reported() == "TICKET"
    assert catalog.find_object("services").reported() == "0-162"
    assert catalog.find_object("2-123").reported("2-123") == "2-123"
    assert catalog.find_object("2-123").reported() is None


@pytest.mark.parametrize(
    ("scope", "name"),
    [("crm.objects.deals.read", "DEAL"), ("crm.schemas.contacts.write", "CONTACT"), ("tickets", "TICKET"),
     ("tickets.highly_sensitive.v2", "TICKET"), ("crm.objects.custom.write", "CUSTOM"),
     ("crm.objects.owners.read", "OWNER")],
)
def test_object_for_scope(scope: str, name: str) -> None:
    assert catalog.object_for_scope(scope).name == name


def test_object_for_permission_names_and_prefixes() -> None:
    assert catalog.object_for_permission("tickets-access").name == "TICKET"
    assert catalog.object_for_permission("content-editor-access").name == "content"
    assert catalog.object_for_permission("deals-export").name == "DEAL"  # unknown name, known prefix
    assert catalog.object_for_permission("mystery-access") is None


def test_ticket_entry_names_permission_scope_and_settings_screen() -> None:
    ticket = catalog.find_object("TICKET")
    assert {"tickets-read", "tickets-access"} <= set(ticket.permission_names)
    assert ticket.read_scopes == ("tickets",)
    assert ticket.permission == "CRM > Tickets" and ticket.levels


def test_recommended_scopes_prefer_plain_object_scopes() -> None:
    listed = ("crm.schemas.deals.read", "crm.objects.deals.sensitive.read.v2", "crm.objects.deals.read",
              "crm.objects.deals.highly_sensitive.read.v2")
    assert catalog.recommended_scopes(listed, "any") == ("crm.objects.deals.read",)
    assert catalog.recommended_scopes(("tickets.sensitive.v2", "tickets"), "any") == ("tickets",)
    assert catalog.recommended_scopes(("a.read", "b.read"), "all") == ("a.read", "b.read")
    assert catalog.recommended_scopes((), "any") == ()


def test_feature_gates() -> None:
    assert catalog.is_feature_gate("automation-access")
    assert not catalog.is_feature_gate("tickets-access")
