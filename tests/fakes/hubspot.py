"""Fake HubSpot API (placeholder; the lookup work fills it in)."""
