"""Downloading PeeringDB replies to disk, with peeringdb-py's conventions.

:class:`StreamingFetcher` asks what peeringdb-py's ``peeringdb.fetch.Fetcher`` asks
(the same URLs, the same choice of source: the public cache files for a first full
download of public data, the API for ``since=`` and for private objects; the same
API-key header; a test runs both against the lab server and compares their requests).
It does the transfer itself, because peeringdb-py's:

- reads every reply into memory (``resp.json()``), ~130 MB of JSON and far
  more as Python objects; here replies stream to a file that DuckDB reads;
- retries HTTP 429 forever with its own backoff and ignores ``Retry-After``;
  here 429 waits what the server asks, within ``max_retry_after``, a bounded
  number of times, and 5xx, timeouts and broken connections are retried too;
- sends no User-Agent, which PeeringDB asks API clients to set;
- has no overall time limit; here each download has ``download_timeout``, its retries
  included, on the wall clock, whatever the server sends and however slowly
  (:mod:`.deadline`).

It does not subclass that Fetcher, whose every method it replaced: importing
peeringdb-py loads Django and requests, ~18 MB and 0.2 s of a sync that needs neither.
"""

from __future__ import annotations

import email.utils
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from nornir_peering import __version__
from nornir_peering.peeringdb.deadline import Deadline
from nornir_peering.peeringdb.schema import PRIVATE_TAGS
from nornir_peering.settings import PeeringSettings

USER_AGENT = f"nornir-peering/{__version__}"


class FetchError(Exception):
    """A download failed; ``str()`` names the object type and the cause."""

    def __init__(self, tag: str, message: str) -> None:
        super().__init__(f"{tag}: {message}")
        self.tag = tag


class Cancelled(FetchError):
    """Another download failed first, so this one stopped (:meth:`StreamingFetcher.stop`)."""


@dataclass(frozen=True)
class Download:
    """One finished download: what, from where, into which file, how big, how long."""

    tag: str
    url: str
    path: Path
    size: int
    seconds: float


class StreamingFetcher:
    """Bounded, streaming, rate-limit-aware downloads of PeeringDB replies.

    For example::

        fetcher = StreamingFetcher(settings, workdir)
        fetcher.download("net", since=1700000000).path
        # PosixPath('.../net.json')
    """

    def __init__(self, settings: PeeringSettings, workdir: Path) -> None:
        # normalised as peeringdb-py's Fetcher does, so that no URL has a "//"
        self.url = settings.peeringdb_url.rstrip("/")
        self.cache_url = settings.cache_url.rstrip("/")
        self.api_key = settings.peeringdb_key() or ""
        self.settings = settings
        self.workdir = workdir
        self._stopped = threading.Event()
        self._downloads: set[Deadline] = set()  # those under way, for stop()
        self._lock = threading.Lock()
        self._client = httpx.Client(
            timeout=httpx.Timeout(settings.timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            follow_redirects=True,
            # a connection per request: a download's Deadline sees the connections it opens
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def stop(self) -> None:
        """Stop every download (another one failed): those under way end now, with
        :class:`Cancelled`, even one waiting for the server to send something."""
        self._stopped.set()
        with self._lock:
            for deadline in self._downloads:
                deadline.end("stopped")

    def close(self) -> None:
        """Close the HTTP client."""
        self._client.close()

    # -- the choice of source, as in peeringdb-py's Fetcher.load -------------

    def source(self, tag: str, since: int | None) -> tuple[str, dict[str, str]]:
        """URL and query of the request that fetches ``tag``."""
        private = bool(self.api_key) and tag in PRIVATE_TAGS
        if since is None and self.cache_url and not private:
            return f"{self.cache_url}/{tag}-0.json", {}
        params = {"depth": "0"}
        if since is not None:
            params["since"] = str(since)
        return f"{self.url}/{tag}", params

    def download(self, tag: str, since: int | None) -> Download:
        """Fetch all ``tag`` objects (or those changed since ``since``) into a file."""
        url, params = self.source(tag, since)
        path = self.workdir / f"{tag}.json"
        started = time.monotonic()
        size = self._stream(tag, url, params, path)
        return Download(tag, url, path, size, time.monotonic() - started)

    def fetch_url(self, tag: str, url: str, path: Path, max_bytes: int | None = None) -> int:
        """Any ``url`` (an IX's IX-F export) into ``path``, with the same timeouts, retries
        and limits as a download, and at most ``max_bytes``; the bytes written. The
        credentials go with it: give this fetcher settings without them for a URL that is
        not PeeringDB's. The URL's query goes as it is."""
        return self._stream(tag, url, None, path, max_bytes)

    # -- the transfer ----------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Api-Key {self.api_key}"} if self.api_key else {}

    def _stream(
        self,
        tag: str,
        url: str,
        params: dict[str, str] | None,
        path: Path,
        max_bytes: int | None = None,
    ) -> int:
        """``url`` into ``path``; ``params`` None: the URL's own query (httpx drops it for
        any mapping, an empty one too)."""
        settings = self.settings
        failures = 0
        last = ""  # why the attempt before failed
        with Deadline(settings.download_timeout) as deadline:
            with self._lock:
                self._downloads.add(deadline)
            try:
                while True:
                    self._check(tag, _with_query(url, params), deadline, last)
                    try:
                        return self._attempt(tag, url, params, path, deadline, max_bytes)
                    except _RetryAfter as retry:
                        failures += 1
                        last = f"rate limited by {url} (HTTP 429)"
                        if retry.seconds > settings.max_retry_after:
                            raise FetchError(
                                tag,
                                f"{last}; it asks to wait {retry.seconds:g}s, "
                                f"more than max_retry_after ({settings.max_retry_after:g}s)",
                            ) from None
                        if failures > settings.retries:
                            raise FetchError(tag, f"{last} {failures} times; giving up") from None
                        self._pause(tag, min(retry.seconds, deadline.remaining))
                    except _Retryable as error:
                        failures += 1
                        last = str(error)
                        if failures > settings.retries:
                            attempts = f"{failures} attempt{'s' if failures > 1 else ''}"
                            raise FetchError(tag, f"{error} (after {attempts})") from None
                        backoff = settings.retry_backoff * 2 ** (failures - 1)
                        self._pause(tag, min(backoff, deadline.remaining))
                    finally:
                        deadline.release()
            finally:
                with self._lock:
                    self._downloads.discard(deadline)

    def _pause(self, tag: str, seconds: float) -> None:
        if self._stopped.wait(seconds):
            raise Cancelled(tag, "stopped because another download failed")

    def _check(self, tag: str, url: httpx.URL, deadline: Deadline, last: str = "") -> None:
        """Raise if the download must end: stopped, or over ``download_timeout``."""
        if self._stopped.is_set() or deadline.ended == "stopped":
            raise Cancelled(tag, "stopped because another download failed")
        if deadline.passed:
            why = f"; the attempt before: {last}" if last else ""
            raise FetchError(
                tag,
                f"download from {url} took longer than download_timeout "
                f"({deadline.seconds:g}s); stopped{why}",
            )

    def _attempt(
        self,
        tag: str,
        url: str,
        params: dict[str, str] | None,
        path: Path,
        deadline: Deadline,
        max_bytes: int | None = None,
    ) -> int:
        settings = self.settings
        try:
            with self._client.stream(
                "GET",
                url,
                params=params,
                headers=self._auth_headers(),
                # the deadline shuts connections, not connection attempts: bound those
                timeout=httpx.Timeout(
                    settings.timeout, connect=min(settings.timeout, deadline.remaining)
                ),
                extensions={"trace": deadline.trace},
            ) as reply:
                if reply.status_code == 429:
                    raise _RetryAfter(_retry_after(reply.headers.get("Retry-After"), settings))
                if reply.status_code >= 500:
                    raise _Retryable(f"HTTP {reply.status_code} from {reply.url}")
                if reply.status_code >= 400:
                    reply.read()
                    raise FetchError(
                        tag, f"HTTP {reply.status_code} from {reply.url}{_api_error(reply)}"
                    )
                size = 0
                with path.open("wb") as out:
                    for piece in reply.iter_bytes():  # each as read: checked at every read
                        out.write(piece)
                        size += len(piece)
                        if max_bytes is not None and size > max_bytes:
                            raise FetchError(
                                tag, f"{reply.url} sent more than {max_bytes:,} bytes; stopped"
                            )
                        self._check(tag, reply.url, deadline)
                return size
        except httpx.HTTPError as exc:
            # a connection the deadline shut down breaks off: say why it did
            self._check(tag, _with_query(url, params), deadline)
            if isinstance(exc, httpx.TimeoutException):
                raise _Retryable(
                    f"timed out after {settings.timeout:g}s waiting for {url}"
                ) from None
            if isinstance(exc, httpx.RemoteProtocolError):
                raise _Retryable(f"connection to {url} broke off: {exc}") from None
            if isinstance(exc, httpx.TransportError):
                raise _Retryable(f"cannot reach {url}: {exc}") from None
            raise


def _with_query(url: str, params: dict[str, str] | None) -> httpx.URL:
    """The URL a request with ``params`` asks for (None: ``url``'s own query).

    >>> str(_with_query("http://x/api/net?asn=1", None)), str(_with_query("http://x/n", {"a": "1"}))
    ('http://x/api/net?asn=1', 'http://x/n?a=1')
    """
    return httpx.URL(url) if params is None else httpx.URL(url, params=params)


class _Retryable(Exception):
    pass


class _RetryAfter(Exception):
    def __init__(self, seconds: float) -> None:
        super().__init__(seconds)
        self.seconds = seconds


def _retry_after(value: str | None, settings: PeeringSettings) -> float:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return settings.retry_backoff
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return settings.retry_backoff
    return max(0.0, when.timestamp() - time.time())


def _api_error(reply: httpx.Response) -> str:
    """PeeringDB's ``meta.error`` of an error reply, if it has one."""
    try:
        error = reply.json().get("meta", {}).get("error")
    except (ValueError, AttributeError):
        return ""
    return f": {error}" if error else ""
