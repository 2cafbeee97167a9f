"""Fixes an approver applies from Slack: `proposals` (pure: what to change) and `service` (running
a request through its states against the store and HubSpot). Import from here.
"""

from __future__ import annotations

from bot.approvals.proposals import (
    APPLIED,
    APPLY_GRACE_SECONDS,
    APPLYING,
    APPROVED,
    BILLING_WRITE,
    DENIED,
    DONE,
    EXPIRED,
    FAILED,
    FINAL_STATES,
    KIND_MANUAL,
    KIND_REASSIGN,
    KIND_ROLE,
    KIND_TEAM,
    PENDING,
    TICKETS,
    TRANSITIONS,
    USERS_WRITE,
    Proposal,
    logout_note,
    missing_scope,
    propose,
    with_role,
)
from bot.approvals.service import FixService, HubSpotWrites, Outcome, ScopeMissing
from bot.approvals.writes import Write, change_visible, plan_write

__all__ = [
    "APPLIED",
    "APPLYING",
    "APPLY_GRACE_SECONDS",
    "APPROVED",
    "BILLING_WRITE",
    "DENIED",
    "DONE",
    "EXPIRED",
    "FAILED",
    "FINAL_STATES",
    "KIND_MANUAL",
    "KIND_REASSIGN",
    "KIND_ROLE",
    "KIND_TEAM",
    "PENDING",
    "TICKETS",
    "TRANSITIONS",
    "USERS_WRITE",
    "FixService",
    "HubSpotWrites",
    "Outcome",
    "Proposal",
    "ScopeMissing",
    "Write",
    "change_visible",
    "logout_note",
    "missing_scope",
    "plan_write",
    "propose",
    "with_role",
]
