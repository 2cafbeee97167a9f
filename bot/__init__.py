"""hsperm's services and wiring: configuration, HubSpot client, lookup, approvals, store, Slack app."""
