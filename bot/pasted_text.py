"""Everything a person sees in a Slack message, as one text to diagnose, in the order they read it.

People and alerting bots rarely put the error in `text` alone: the Slack client sends what a
person typed as `rich_text` blocks (code blocks included), alerting bots put the details in
section fields or in `attachments[].blocks`, and logs arrive as snippets whose event carries only a
few preview lines. Slack also repeats the same words in several places (`text` is the
notification fallback of `blocks`), so a piece already read is not read twice: doubled text would
make the engine see every line twice and waste the 64 KB budget.

Pure: no I/O. Whole file contents, fetched elsewhere after the ack, come in as `file_texts`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from knowledge import MAX_INPUT_CHARS

#: rich_text nests (quotes and lists hold sections); deeper payloads are not something Slack sends.
_MAX_DEPTH = 8
#: Attachment keys a reader sees, in display order; `fallback` only stands in when they are empty.
_ATTACHMENT_KEYS = ("pretext", "title", "text")
#: Filetypes Slack gives text files and snippets (besides any text/* mimetype).
TEXT_FILETYPES = frozenset(
    {"text", "log", "json", "csv", "tsv", "yaml", "xml", "javascript", "typescript", "python", "ruby", "php"}
    | {"java", "go", "shell", "sql", "markdown", "diff", "html", "css", "ini", "toml", "properties", "plain"}
)
_WORDS = re.compile(r"\w+")
#: <url|label> in mrkdwn; a person reads the label (no run can be rescanned: the classes exclude `<`).
_LABELLED_LINK = re.compile(r"<[^<>|\s]{1,3000}\|([^<>]{0,1000})>")
#: Containment checks per message; each costs at most one pass over what was read (<= 64 KB).
_MAX_CHECKS = 500


def pasted_text(message: dict[str, Any], file_texts: Mapping[str, str] | None = None) -> str:
    """The message's text, blocks, attachments and files, deduplicated, at most MAX_INPUT_CHARS long.

    `file_texts` maps a file id to its whole text; files not in it are read from their preview.
    """
    reader = _Reader()
    reader.add(_string(message.get("text")))
    for block in _dicts(message.get("blocks")):
        reader.add_group(list(_block_texts(block)))
    for attachment in _dicts(message.get("attachments")):
        shown = [piece for piece in _attachment_texts(attachment) if piece.strip()]
        reader.add_group(shown or [_string(attachment.get("fallback"))])
    for file in _dicts(message.get("files")):
        whole = (file_texts or {}).get(_string(file.get("id")))
        reader.add(whole if whole is not None else _string(file.get("preview")))
    return reader.text()


def has_pasted_content(message: dict[str, Any]) -> bool:
    """Cheap enough to run before the ack: is there anything `pasted_text` could read?"""
    if _string(message.get("text")).strip() or any(_dicts(message.get("blocks"))):
        return True
    if any(_dicts(message.get("attachments"))):
        return True
    return any(_string(f.get("preview")) or is_text_file(f) or needs_whole_file(f) for f in _dicts(message.get("files")))


def is_text_file(file: dict[str, Any]) -> bool:
    """Snippets and text files (logs, JSON, CSV…): the files whose words can be diagnosed."""
    mimetype = _string(file.get("mimetype")).lower()
    return (
        file.get("mode") == "snippet"
        or _string(file.get("filetype")).lower() in TEXT_FILETYPES
        or mimetype.startswith("text/")
        or mimetype in ("application/json", "application/xml", "application/x-yaml")
    )


def needs_whole_file(file: dict[str, Any]) -> bool:
    """A file whose event shows less than all of it: truncated preview, or none (Slack Connect)."""
    if file.get("file_access") == "check_file_info":
        return True  # Slack Connect: the event has only the id; files.info says what it is
    if not is_text_file(file) or file.get("mode") in ("external", "tombstone"):
        return False
    if not _string(file.get("preview")):
        return True
    return bool(file.get("preview_is_truncated")) or _positive(file.get("lines_more"))


class _Reader:
    """Collects pieces up to the cap, skipping any whose words were already read.

    Words, not characters, are compared: the mrkdwn `text` and the blocks spell the same message
    with different markup (`*bold*`, `<url|label>`, `&lt;`, code fences).
    """

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        #: words of everything read so far, space-separated and space-padded, for containment checks
        self._seen = " "
        self._checks = 0

    def add_group(self, pieces: list[str]) -> None:
        """A block or attachment: skipped whole when all its words were read (the usual case)."""
        if self._size >= MAX_INPUT_CHARS or not any(piece.strip() for piece in pieces):
            return
        if self._already_read(_words("\n".join(pieces))):
            return
        for piece in pieces:
            self.add(piece)

    def add(self, piece: str) -> None:
        piece = piece.strip("\n")
        if not piece.strip() or self._size >= MAX_INPUT_CHARS:
            return
        words = _words(piece)
        if self._already_read(words):
            return
        piece = piece[: MAX_INPUT_CHARS - self._size]
        self._parts.append(piece)
        self._size += len(piece) + 1
        self._seen += words + " "

    def _already_read(self, words: str) -> bool:
        if not words:
            return False
        self._checks += 1
        if self._checks > _MAX_CHECKS:
            return False  # a payload of thousands of pieces: read on, rather than compare forever
        return f" {words} " in self._seen

    def text(self) -> str:
        return "\n".join(self._parts)[:MAX_INPUT_CHARS]


def _words(text: str) -> str:
    if "|" in text:
        text = _LABELLED_LINK.sub(r"\1", text)
    return " ".join(_WORDS.findall(_unescape(text)))


def _unescape(text: str) -> str:
    """Slack escapes &, < and > in mrkdwn `text` but not in rich_text; compare them unescaped."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _block_texts(block: dict[str, Any]) -> Iterator[str]:
    kind = block.get("type")
    if kind in ("section", "header", "markdown"):
        yield _text_object(block.get("text"))
        for field in _dicts(block.get("fields")):
            yield _text_object(field)
    elif kind == "context":
        for element in _dicts(block.get("elements")):
            yield _text_object(element)
    elif kind == "rich_text":
        for element in _dicts(block.get("elements")):
            yield from _rich_text(element, 0)


def _rich_text(element: dict[str, Any], depth: int) -> Iterator[str]:
    """One piece per section, code block, quote or list item: the units Slack shows as paragraphs."""
    kind = element.get("type")
    if depth > _MAX_DEPTH:
        return
    if kind == "rich_text_list":
        for item in _dicts(element.get("elements")):
            yield from _rich_text(item, depth + 1)
    elif kind == "rich_text_quote" and any(
        _dict(e).get("type", "").startswith("rich_text_") for e in _dicts(element.get("elements"))
    ):
        for inner in _dicts(element.get("elements")):
            yield from _rich_text(inner, depth + 1)
    elif kind in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
        yield "".join(_inline(e) for e in _dicts(element.get("elements")))


def _inline(element: dict[str, Any]) -> str:
    """Inline elements as the mrkdwn `text` spells them, so the same message reads the same."""
    kind = element.get("type")
    if kind == "text":
        return _string(element.get("text"))
    if kind == "link":
        url, label = _string(element.get("url")), _string(element.get("text"))
        return f"<{url}|{label}>" if url and label else url or label
    if kind == "user":
        return f"<@{_string(element.get('user_id'))}>"
    if kind == "channel":
        return f"<#{_string(element.get('channel_id'))}>"
    if kind == "usergroup":
        return f"<!subteam^{_string(element.get('usergroup_id'))}>"
    if kind == "broadcast":
        return f"<!{_string(element.get('range'))}>"
    if kind == "emoji":
        return f":{_string(element.get('name'))}:"
    return _string(element.get("text"))


def _attachment_texts(attachment: dict[str, Any]) -> Iterator[str]:
    for key in _ATTACHMENT_KEYS:
        yield _string(attachment.get(key))
    for field in _dicts(attachment.get("fields")):
        title, value = _string(field.get("title")), _string(field.get("value"))
        yield f"{title}: {value}" if title and value else title or value
    for block in _dicts(attachment.get("blocks")):
        yield from _block_texts(block)


def _text_object(obj: Any) -> str:
    return _string(_dict(obj).get("text"))


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    """The dict items of a list; payloads from other apps are not trusted to be well-formed."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
