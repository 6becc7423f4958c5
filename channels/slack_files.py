"""Slack files both ways: customers' files fetched from ``url_private``, agents' files uploaded into the thread.

Inbound, a message event only describes its files (id, name, type, size, ``url_private``); the bytes
sit behind the bot token. They are fetched before ingest so they are stored in the message's own
transaction, exactly like an email's parts, and ingest applies the limits every channel shares
(``store.attachments``). What can be judged without the bytes (declared size, a refused extension,
the per-message count) is judged first, so nothing is downloaded just to be thrown away. A file that
is refused or cannot be fetched never costs the customer their message: it is listed on it with the
reason.

Outbound, an agent's files go with slack-sdk's ``files_upload_v2`` (``files.getUploadURLExternal``,
the bytes POSTed to the returned ``upload_url``, then ``files.completeUploadExternal`` with
``channel_id`` and ``thread_ts``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from store import attachments
from store.attachments import Attachment, AttachmentRejected, Limits
from store.models import AttachmentMeta
from store.slack_workspaces import Workspace

log = logging.getLogger("switchboard.slack")
DOWNLOAD_TIMEOUT_SECONDS = 30  # all of one message's files in parallel, well inside the event's 60 s lease
SIGN_IN_PAGE = "Slack answered with its sign-in page instead of the file (does the app have files:read?)"


@dataclass(frozen=True, slots=True)
class SlackFile:
    """One entry of a message event's ``files``, as far as Slack's JSON can be taken at its word."""

    id: str
    name: str
    mimetype: str
    size: int  # as Slack declares it; 0 when unknown
    url: str | None  # url_private; absent for tombstoned, plan-hidden or unshared files


def _size(value: Any) -> int:
    """A file's byte size as Slack reports it; anything else (a string, a float, 1e300) counts as unknown."""
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**62 else 0


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_files(value: Any) -> tuple[SlackFile, ...]:
    """The event's ``files`` list; entries that are not objects are not files."""
    if not isinstance(value, list):
        return ()
    return tuple(
        SlackFile(id=_str(f.get("id")), name=_str(f.get("name")) or _str(f.get("title")) or "file",
                  mimetype=_str(f.get("mimetype")) or "application/octet-stream", size=_size(f.get("size")),
                  url=_str(f.get("url_private")) or None)
        for f in value if isinstance(f, dict))


def on_slack_host(url: str, api_base_url: str) -> bool:
    """Whether ``url`` is on the workspace's own Slack hosts, the only place the bot token may go.

    The event is signed, but its URLs are still data from a message: sending the token wherever a
    URL points would hand it to anyone who can make one appear. ``files.slack.com`` belongs to
    ``https://slack.com/api/``; a GovSlack or local stand-in base brings its own hosts.
    """
    try:
        u, base = urlsplit(url), urlsplit(api_base_url)
        port, base_port = u.port, base.port
    except ValueError:
        return False
    root = (base.hostname or "").removeprefix("www.")
    host = u.hostname or ""
    if not root or u.scheme != base.scheme or u.username is not None or u.password is not None:
        return False
    default = 443 if u.scheme == "https" else 80
    return (host == root or host.endswith("." + root)) and (port or default) == (base_port or default)


@dataclass(frozen=True, slots=True)
class Fetched:
    """What to hand ingest: every file listed in order, with bytes where they were fetched."""

    files: tuple[AttachmentMeta, ...] = ()


class _Chunks:
    """aiohttp's response stream as ``store.attachments.ChunkReader``, so the store's size cut-off applies."""

    def __init__(self, stream: aiohttp.StreamReader) -> None:
        self.stream = stream

    async def read_chunk(self, size: int = 65536) -> bytes:
        return await self.stream.read(size)


class DownloadFailed(Exception):
    """Slack did not give us the file's bytes; the message is stored without them."""


class SlackFileFetcher:
    def __init__(self, limits: Limits, *, timeout_seconds: float = DOWNLOAD_TIMEOUT_SECONDS) -> None:
        self.limits = limits
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def fetch(self, ws: Workspace, token: str | None, files: Sequence[SlackFile]) -> Fetched:
        metas = [AttachmentMeta(f.name, f.mimetype, f.size) for f in files]
        refused: dict[int, str] = {}
        wanted: list[int] = []
        for i, f in enumerate(files):
            reason = self._refusal(ws, token, i, f)
            if reason:
                refused[i] = reason
            else:
                wanted.append(i)
        if wanted:
            async with aiohttp.ClientSession(timeout=self.timeout) as http:
                results = await asyncio.gather(*(self._download(http, token or "", files[i]) for i in wanted))
            for i, got in zip(wanted, results, strict=True):
                if isinstance(got, bytes):
                    metas[i] = AttachmentMeta(files[i].name, files[i].mimetype, files[i].size or len(got), got)
                else:
                    refused[i] = got
        for i, reason in refused.items():
            metas[i] = AttachmentMeta(files[i].name, files[i].mimetype, files[i].size, rejected=reason)
        return Fetched(tuple(metas))

    def _refusal(self, ws: Workspace, token: str | None, i: int, f: SlackFile) -> str | None:
        """Why file ``i`` is not fetched at all; None to fetch it."""
        if i >= self.limits.max_per_message:
            return f"more than {self.limits.max_per_message} files"
        if reason := attachments.precheck(f.name, f.size, self.limits):
            return reason
        if f.url is None:
            return "Slack did not share this file's content"
        if not on_slack_host(f.url, ws.api_base_url):
            log.warning("Slack file %s of team %s points off Slack (%.100s); not fetched", f.id, ws.team_id, f.url)
            return "the file's address is not on Slack"
        if not token:
            return f"download failed: the bot token ({ws.bot_token_env}) is not set"
        return None

    async def _download(self, http: aiohttp.ClientSession, token: str, f: SlackFile) -> bytes | str:
        """The file's bytes, or why there are none.

        Anything going wrong here is caught: a fetch is a best effort on the way to storing the
        message, and an escaping error would fail the whole event until Slack's retries run out.
        Redirects are followed; aiohttp drops the Authorization header when one leaves the host.
        """
        try:
            async with http.get(f.url or "", headers={"Authorization": f"Bearer {token}"}) as resp:
                if resp.status != 200:
                    raise DownloadFailed(f"Slack answered HTTP {resp.status}")
                if resp.content_type == "text/html" and not f.mimetype.startswith("text/html"):
                    raise DownloadFailed(SIGN_IN_PAGE)
                if (resp.content_length or 0) > self.limits.max_bytes:
                    return f"{resp.content_length} bytes, at most {self.limits.max_bytes} allowed"
                return await attachments.read_limited(_Chunks(resp.content), self.limits)
        except AttachmentRejected as exc:
            return exc.message
        except DownloadFailed as exc:
            log.warning("Slack file %s not fetched: %s", f.id, exc)
            return f"download failed: {exc}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("Slack file %s not fetched: %s: %s", f.id, type(exc).__name__, exc)
            return f"download failed: {type(exc).__name__}"
        except Exception:
            log.exception("Slack file %s not fetched", f.id)
            return "download failed"


async def upload_into_thread(client: AsyncWebClient, *, channel: str, thread_ts: str, text: str,
                             files: Sequence[tuple[Attachment, bytes]]) -> None:
    """The reply's text and files as one Slack message in the thread (the text is the upload's comment).

    One message rather than ``chat.postMessage`` plus an upload, because only the final
    ``files.completeUploadExternal`` is visible: a retry after any earlier failure re-uploads unseen
    private files and never posts the text twice. The cost is Block Kit: the text goes as mrkdwn,
    without buttons (agents' replies, the ones that carry files, have none).
    """
    await client.files_upload_v2(
        file_uploads=[{"file": content, "filename": att.filename, "title": att.filename} for att, content in files],
        channel=channel, thread_ts=thread_ts, initial_comment=text)
