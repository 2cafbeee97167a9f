"""Loopback HTTP servers that play Slack's Web API and HubSpot's API for the tests."""
