"""Pure diagnosis of pasted HubSpot errors: text in, `Diagnosis` out.

Nothing here touches Slack, HTTP, a database or the environment; the only I/O is reading this
package's own TOML rules, catalogues and Jinja2 templates, once, at first use.
"""

from knowledge.engine import MAX_INPUT_CHARS, diagnose, prepare
from knowledge.model import KINDS, ChecklistItem, Diagnosis
from knowledge.secrets import find_secrets, redact

__all__ = ["KINDS", "MAX_INPUT_CHARS", "ChecklistItem", "Diagnosis", "diagnose", "find_secrets", "prepare", "redact"]
