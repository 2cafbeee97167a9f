"""Block Kit for every hsperm surface, built with slack_sdk.models so Slack's limits are checked.

One module per message family: `diagnosis` (the checklist reply and short answers), `lookup`
(live lookup), `help`, `home` (App Home), `modals`; `mrkdwn` holds the escaping and limits they
share, `ids` the action and callback ids that handlers and tests rely on.
"""
