"""Action ids, callback ids and block ids: a contract between messages, handlers and tests.

Changing one breaks buttons already posted in Slack, so they are named once, here.
"""

from __future__ import annotations

ACTION_SHARE = "hsperm_share"
ACTION_LOOKUP = "hsperm_lookup"
MODAL_CALLBACK_ID = "hsperm_diagnose_modal"
MODAL_BLOCK_ID = "paste"
MODAL_ACTION_ID = "paste_input"
SHORTCUT_CALLBACK_ID = "hsperm_diagnose_message"
LOOKUP_MODAL_CALLBACK_ID = "hsperm_lookup_modal"
LOOKUP_EMAIL_BLOCK, LOOKUP_EMAIL_ACTION = "lookup_email", "email_input"
LOOKUP_TICKET_BLOCK, LOOKUP_TICKET_ACTION = "lookup_ticket", "ticket_input"
LOOKUP_PORTAL_BLOCK, LOOKUP_PORTAL_ACTION = "lookup_portal", "portal_input"
#: The sub-command's syntax, shown (escaped) in help and usage lines.
LOOKUP_USAGE = "/hsperm user <email|@user> [ticket <id|url>] [portal <id>]"
#: The setting that turns live lookups on; named in every "not configured" answer.
LOOKUP_SETTING = "HUBSPOT_ACCESS_TOKEN"
#: Fix requests (DESIGN §3): one `hsperm_request_fix_<key>` button per proposed fix (unique within a
#: message), then approve/deny/mark-done on the request, all with value = the request id.
ACTION_REQUEST_FIX = "hsperm_request_fix"
ACTION_APPROVE = "hsperm_approve"
ACTION_DENY = "hsperm_deny"
ACTION_MARK_DONE = "hsperm_mark_done"
ACTION_RETRY = "hsperm_retry"
#: Inside a request: the permission set an approver picks, and the several-roles confirmation.
ACTION_FIX_ROLE = "hsperm_fix_role"
ACTION_FIX_CONFIRM = "hsperm_fix_confirm"
