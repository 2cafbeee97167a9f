"""Whole snippets and text files, read with `files.info` and the bot token, after the ack.

A message event shows a snippet's first few lines only (`preview`, with `lines_more` counting the
rest), and a file shared over Slack Connect arrives with its id and `file_access:
"check_file_info"` alone. The error is often further down a log, so the whole file is read here:
`files.info` returns `content` for snippets, otherwise the file is downloaded from
`url_private_download` with the bot token as `Authorization: Bearer`.

The token goes to Slack and nowhere else: a download URL is followed only when it is on the
configured Slack API host or one of its subdomains (files.slack.com for slack.com), redirects
included. Binary and huge files are skipped; text is cut at the engine's 64 KB cap.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.pasted_text import is_text_file, needs_whole_file, pasted_text
from knowledge import MAX_INPUT_CHARS

log = logging.getLogger(__name__)

#: Files larger than this are left to their preview: a paste is never megabytes long.
MAX_FILE_BYTES = 1024 * 1024
#: Bytes read from a download; the engine reads the first 64 KB of text anyway (4 bytes per char at worst).
MAX_DOWNLOAD_BYTES = MAX_INPUT_CHARS * 4
#: Files read per message (Slack allows 10 per message).
MAX_FILES = 10
MAX_REDIRECTS = 3
TIMEOUT_SECONDS = 10
#: Slack Connect files whose content Slack will not give us, and files we may not open.
_NO_ACCESS_ERRORS = {"file_not_found", "file_deleted", "access_denied"}

EXTERNAL_FILE_NOTE = ":paperclip: I can't read files shared from another workspace; paste the error as text."
UNREADABLE_FILE_NOTE = ":paperclip: I couldn't open the attached file; paste the error as text."


@dataclass(frozen=True)
class Pasted:
    """The text to diagnose, and what to tell someone who asked when a file could not be read."""

    text: str
    #: None when every file was read (or was not a text file); else a short note for a mention or DM
    unreadable_note: str | None = None


class _Unreadable(Exception):
    """Slack refused us this file (Slack Connect, deleted, no access)."""


class SlackFiles:
    """Reads the files of a message event; one `requests.Session` shared by every listener thread."""

    def __init__(self, api_url: str, session: requests.Session | None = None) -> None:
        api = urlsplit(api_url)
        self._scheme = api.scheme
        self._host = (api.hostname or "").lower()
        self._port = api.port or _default_port(api.scheme)
        self._session = session or requests.Session()

    def close(self) -> None:
        self._session.close()

    def read_message(self, message: dict[str, Any], client: WebClient) -> Pasted:
        """Everything pasted in `message`, with whole files where the event shows only a preview."""
        files = [f for f in message.get("files") or () if isinstance(f, dict) and needs_whole_file(f)]
        texts: dict[str, str] = {}
        note = None
        size = 0
        for file in files[:MAX_FILES]:
            if size >= MAX_INPUT_CHARS:
                break
            try:
                text = self._read(file, client)
            except _Unreadable:
                external = file.get("file_access") == "check_file_info"
                note = note or (EXTERNAL_FILE_NOTE if external else UNREADABLE_FILE_NOTE)
                continue
            if text is not None:
                texts[str(file.get("id"))] = text
                size += len(text)
        return Pasted(pasted_text(message, texts), note)

    def _read(self, file: dict[str, Any], client: WebClient) -> str | None:
        """The file's text; None to fall back on its preview (not text, too big, Slack hiccup)."""
        file_id = file.get("id")
        if not isinstance(file_id, str) or not file_id:
            return None
        try:
            response = client.files_info(file=file_id)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            if error in _NO_ACCESS_ERRORS:
                raise _Unreadable from None
            log.warning("could not read file %s: files.info answered %s", file_id, error)
            return None
        except Exception as exc:
            # Slack unreachable after the client's retries: the preview still gets diagnosed.
            log.warning("could not read file %s: files.info failed (%s)", file_id, type(exc).__name__)
            return None
        info = response.get("file") or {}
        if not isinstance(info, dict) or not is_text_file(info):
            return None
        size = info.get("size")
        if isinstance(size, int) and size > MAX_FILE_BYTES:
            log.info("file %s is %d bytes; reading its preview only", file_id, size)
            return None
        content = response.get("content")
        if isinstance(content, str) and content and not response.get("is_truncated"):
            return content[:MAX_INPUT_CHARS]
        url = info.get("url_private_download") or info.get("url_private")
        if not isinstance(url, str) or not url:
            raise _Unreadable
        return self._download(url, client.token or "", file_id, html=info.get("filetype") == "html")

    def _download(self, url: str, token: str, file_id: str, *, html: bool) -> str | None:
        for _ in range(MAX_REDIRECTS + 1):
            if not self.is_slack_url(url):
                # Never send the bot token anywhere but Slack, whatever a payload says.
                log.warning("not downloading file %s: its URL is not on the Slack host", file_id)
                return None
            try:
                with self._session.get(
                    url,
                    headers={"Authorization": f"Bearer {token}"},
                    stream=True,
                    allow_redirects=False,
                    timeout=TIMEOUT_SECONDS,
                ) as response:
                    if response.is_redirect:
                        url = urljoin(url, response.headers.get("Location") or "")
                        continue
                    if response.status_code in (401, 403, 404):
                        raise _Unreadable
                    if response.status_code != 200:
                        log.warning("could not download file %s: HTTP %d", file_id, response.status_code)
                        return None
                    if "text/html" in (response.headers.get("Content-Type") or "") and not html:
                        raise _Unreadable  # Slack's sign-in page: the token was not accepted for this file
                    data = _read_capped(response)
            except requests.RequestException as exc:
                log.warning("could not download file %s: %s", file_id, type(exc).__name__)
                return None
            return _decode_text(data)
        log.warning("could not download file %s: too many redirects", file_id)
        return None

    def is_slack_url(self, url: str) -> bool:
        """The only URLs the bot token may be sent to: the configured Slack host and its subdomains."""
        try:
            parts = urlsplit(url)
            port = parts.port or _default_port(parts.scheme)
        except ValueError:
            return False
        host = (parts.hostname or "").lower()
        same_host = host == self._host or (bool(self._host) and host.endswith("." + self._host))
        return parts.scheme == self._scheme and port == self._port and same_host


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(chunk_size=16 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_DOWNLOAD_BYTES:
            break
    return b"".join(chunks)[:MAX_DOWNLOAD_BYTES]


def _decode_text(data: bytes) -> str | None:
    """UTF-8 text, or None for binary content (NUL bytes, or mostly undecodable)."""
    if b"\x00" in data:
        return None
    text = data.decode("utf-8", errors="replace").rstrip("\ufffd")
    if text.count("\ufffd") > max(8, len(text) // 20):
        return None
    return text[:MAX_INPUT_CHARS]


def _default_port(scheme: str) -> int | None:
    return {"https": 443, "http": 80}.get(scheme)
