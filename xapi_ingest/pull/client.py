"""One page of the Statements API at a time, with timeouts and bounded, polite retries.

Faults a real LRS fleet produces (429 and 5xx with ``Retry-After``, connection resets, a
truncated body, an HTML error page sent with status 200) are retried with jittered exponential
back-off inside a per-request budget. A ``more`` link the LRS no longer knows (404/400) is not
retried: the caller restarts from its watermark, which is always safe because writes are upserts.
Each statement is kept as the exact bytes the LRS sent (``msgspec.Raw``), so the lake's
``raw_json`` is what the LRS stored, not a re-serialization. A page is split into statements
without judging them (:func:`split_page`): a statement no decoder accepts (an unpaired surrogate,
nesting too deep) is the puller's to quarantine, not a reason to retry the page forever.
"""

from __future__ import annotations

import base64
import logging
import random
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, urljoin, urlsplit

import httpx
import msgspec

from xapi_ingest.pull.sources import Credentials, Source
from xapi_ingest.xapi.decode import split_array, split_object
from xapi_ingest.xapi.timestamps import parse_timestamp, xapi_timestamp

log = logging.getLogger(__name__)

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
# Header values an error page may echo back (a debug 400 page, a proxy's 302 body).
_SECRET_HEADERS = re.compile(r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key)(\W{1,4})[^\r\n<>\"']*")
_REDACTED = "[redacted]"
_QUOTED_BODY_CHARS = 200


class _StatementResult(msgspec.Struct):
    statements: list[msgspec.Raw]
    more: str | None = None


_page_decoder = msgspec.json.Decoder(_StatementResult)


class UnusablePage(ValueError):
    """The body is not a StatementResult (truncated, an HTML error page, ...)."""


def split_page(body: bytes) -> tuple[list[bytes], str | None]:
    """The exact bytes of each statement in a StatementResult body, and its ``more`` link.

    msgspec splits a page fast, but it refuses the whole page for one statement it cannot decode
    (an unpaired surrogate escape, deep nesting). Only then the page is split by bracket matching,
    so that statement alone is quarantined later. Raises :class:`UnusablePage`.
    """
    try:
        result = _page_decoder.decode(body)
        return [bytes(raw) for raw in result.statements], result.more
    except (msgspec.DecodeError, RecursionError) as exc:
        failure = str(exc) or type(exc).__name__
    text = body.decode("utf-8", "surrogateescape")  # round-trips any bytes a statement holds
    members = split_object(text)
    spans = members and "statements" in members and split_array(text, members["statements"][0])
    if not members or not spans:
        raise UnusablePage(failure)
    more = None
    if "more" in members:
        start, end = members["more"]
        more = msgspec.json.decode(text[start:end].encode("utf-8", "surrogateescape"))
        if more is not None and not isinstance(more, str):
            raise UnusablePage("`more` is not a string")
    return [text[start:end].encode("utf-8", "surrogateescape") for start, end in spans[0]], more


@dataclass
class Page:
    url: str
    statements: list[bytes]
    more: str  # absolute URL of the next page, "" at the end
    consistent_through: datetime | None


class LRSError(RuntimeError):
    """The LRS could not give a usable page within the retry budget.

    The message is safe to log and names the URL once but not the source: whoever reports the
    failure (the CLI, the runner's log) puts the source id in front, once.
    """


class MoreLinkExpired(LRSError):
    """The LRS rejected a ``more`` link (404/400); restart the query from the watermark."""


class _Retryable(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass
class RetryPolicy:
    attempts: int = 8
    base_seconds: float = 0.5
    max_wait_seconds: float = 60.0
    budget_seconds: float = 300.0  # total waiting per request, so one bad page cannot stall a run forever

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """Full-jitter exponential back-off, never sooner than the server asked, never over ``max_wait_seconds``."""
        backoff = random.uniform(0, min(self.max_wait_seconds, self.base_seconds * 2**attempt))
        return min(self.max_wait_seconds, max(backoff, retry_after or 0.0))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, (parsedate_to_datetime(value) - datetime.now(UTC)).total_seconds())
        except (TypeError, ValueError):
            return None



def _transport_problem(exc: httpx.TransportError) -> str:
    """What went wrong on the wire, in words: httpx's own message is an errno string or empty."""
    causes = []
    cause: BaseException | None = exc
    while cause is not None:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "host name not found"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def safe_url(url: str) -> str:
    """The URL without any user-info, for logs and error messages."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl() if parts.hostname else url


def redact(text: str, credentials: Credentials | None) -> str:
    """``text`` from a server response with credential-bearing headers and the credentials themselves hidden."""
    text = _SECRET_HEADERS.sub(lambda match: match.group(1) + match.group(2) + _REDACTED, text)
    if credentials is not None:
        basic = base64.b64encode(f"{credentials.username}:{credentials.password}".encode()).decode()
        for secret in (basic, credentials.password, quote(credentials.password, safe="")):
            if secret:
                text = text.replace(secret, _REDACTED)
    return text


@dataclass
class LRSClient:
    source: Source
    credentials: Credentials | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    retries: int = 0  # retried requests so far, for the run summary

    def __post_init__(self) -> None:
        auth = httpx.BasicAuth(self.credentials.username, self.credentials.password) if self.credentials else None
        self._http = httpx.Client(
            auth=auth,
            timeout=httpx.Timeout(self.source.timeout_seconds, connect=min(10.0, self.source.timeout_seconds)),
            headers={"X-Experience-API-Version": self.source.version, "Accept": "application/json"},
            follow_redirects=False,
        )
        parts = urlsplit(self.source.endpoint)
        self._server_root = f"{parts.scheme}://{parts.netloc}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LRSClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def query(self, since: datetime | None, extra: dict[str, str] | None = None) -> Page:
        params = {"ascending": "true", "limit": str(self.source.page_size), "format": "exact", **(extra or {})}
        if since is not None:
            params["since"] = xapi_timestamp(since)
        url = str(httpx.URL(self.source.statements_url, params=params))
        return self.get(url, is_more=False)

    def follow(self, more: str) -> Page:
        if not more.startswith(self._server_root + "/"):  # credentials go only to the configured LRS
            raise LRSError(f"the LRS sent a `more` link to another server: {safe_url(more)}")
        return self.get(more, is_more=True)

    def get(self, url: str, *, is_more: bool) -> Page:
        waited, attempt = 0.0, 0
        while True:
            try:
                return self._get_once(url, is_more)
            except _Retryable as fault:
                pause = self.retry.wait(attempt, fault.retry_after)
                attempt += 1
                if attempt >= self.retry.attempts or waited + pause > self.retry.budget_seconds:
                    raise LRSError(f"{fault} (gave up after {attempt} attempt(s))") from None
                log.warning("%s: %s; retry %d in %.1f s", self.source.id, fault, attempt, pause)
                self.retries += 1
                waited += pause
                time.sleep(pause)

    def _get_once(self, url: str, is_more: bool) -> Page:
        try:
            response = self._http.get(url)
            body = response.content  # read the whole body inside the try: resets surface here
        except httpx.TransportError as exc:
            raise _Retryable(f"{_transport_problem(exc)} at {safe_url(self.source.statements_url)}") from None
        status = response.status_code
        if status in RETRYABLE_STATUS:
            raise _Retryable(f"HTTP {status} on {safe_url(url)}", _retry_after(response.headers.get("Retry-After")))
        if is_more and status in (400, 404):
            raise MoreLinkExpired(f"more link rejected with HTTP {status}")
        if status in (401, 403):
            raise LRSError(f"HTTP {status} from {safe_url(self.source.statements_url)}: the LRS refused the credentials "
                           "(check the source's auth)")
        if status != 200:
            quoted = redact(response.text, self.credentials)[:_QUOTED_BODY_CHARS]  # redact before cutting a secret in two
            raise LRSError(f"HTTP {status} on {safe_url(url)}: {quoted!r}")
        try:
            statements, more = split_page(body)
        except (UnusablePage, msgspec.DecodeError) as exc:  # truncated JSON, an HTML error page sent as 200, ...
            raise _Retryable(f"unusable page from {safe_url(url)} ({exc}; {len(body)} bytes)") from None
        header = response.headers.get("X-Experience-API-Consistent-Through")
        return Page(
            url=url,
            statements=statements,
            more=urljoin(self._server_root, more) if more else "",
            consistent_through=parse_timestamp(header) if header else None,
        )
