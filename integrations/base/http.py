"""The HTTP client every platform's client is built on: timeouts, answers mapped to connector
errors whose ``permanent`` flag decides retrying, and the platform's own rate limits honoured.

A platform client subclasses ``PlatformClient`` and declares constants: ``platform`` (the name
errors give) and ``rate_limits``, the headers in which its answers say what is left of a budget.
It writes no pause of its own. When the platform says to wait (a 429, with or without
``Retry-After``, or a budget header reading 0), every call for the same (platform, account),
from any worker process, is held back until then: the pause is kept in the Django cache. A
short pause is slept through; a longer one raises ``RateLimited`` with the wait left, so a task
is retried later instead of holding its worker.

Errors: no answer (timeout, refused connection) and 5xx, 408, 409, 425 and 429 are transient;
other 4xx are permanent; 401 and 403 are ``AuthenticationError``, the platform refusing the
credentials, which marks a connection for re-authorising.
"""

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import requests
from django.core.cache import cache

from integrations.base.errors import (
    AuthenticationError,
    ConnectorError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)
from taxpoynt.lib.http import pooled_session, retry_after_seconds

# (connect, read) seconds.
DEFAULT_TIMEOUT = (3.0, 15.0)
# No platform is waited for longer than this, whatever it says: a day covers a daily budget.
MAX_PAUSE_SECONDS = 86_400.0
TRANSIENT_STATUSES = frozenset({408, 409, 425, 429})
AUTH_REFUSED_STATUSES = frozenset({401, 403})
PAUSE_CACHE_KEY = "http-pause:{digest}"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """A budget a platform reports in its answers: ``remaining_header`` reading 0 means it is
    spent, and calls wait for its window, ``window_seconds`` long unless ``window_header`` says
    (in units of ``window_header_seconds``, e.g. 0.001 for milliseconds, or as the moment it
    ends)."""

    remaining_header: str
    window_seconds: float
    window_header: str = ""
    window_header_seconds: float = 1.0
    # The window header states when the window ends, as UNIX seconds, not how long it lasts.
    window_header_is_epoch: bool = False

    def window(self, headers: Mapping[str, str]) -> float:
        stated = _number(headers.get(self.window_header)) if self.window_header else None
        if stated and self.window_header_is_epoch:
            return max(stated - time.time(), 0.0) or self.window_seconds
        return stated * self.window_header_seconds if stated else self.window_seconds

    def spent(self, headers: Mapping[str, str]) -> bool:
        return _number(headers.get(self.remaining_header)) == 0


class PlatformClient:
    """One platform account's HTTP calls. Subclasses declare the constants below and add the
    platform's endpoints as methods over ``call``."""

    platform: str = ""
    rate_limits: tuple[RateLimit, ...] = ()
    timeout: tuple[float, float] = DEFAULT_TIMEOUT
    # A pause up to this long is slept through; a longer one is the caller's to wait out.
    max_sleep_seconds: float = 2.0

    def __init__(self, *, base_url: str, account: str, access_token: str = ""):
        self.base_url = base_url.rstrip("/")
        self.account = account
        self.access_token = access_token

    def headers(self) -> dict[str, str]:
        """What every call sends; a call's own ``headers`` are laid over these."""
        headers = {"Accept": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers

    def call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        data: object = None,
        params: Mapping | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict:
        """Make the call; return the JSON object answered, or raise a ConnectorError saying
        whether a retry can help. Messages carry the platform's words, never our headers."""
        self.pause_wait()
        try:
            response = pooled_session().request(
                method,
                f"{self.base_url}{path}",
                headers=self.headers() | dict(headers or {}),
                json=json,
                data=data,
                params=params,
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise transport_error(exc, platform=self.platform) from None
        pause = self.pause_from(response)
        if pause:
            self.pause_set(pause)
        if response.status_code >= 400:
            error = self.error_for(response)
            if isinstance(error, RateLimited) and pause:
                error.retry_after = pause
            raise error
        return self.answer(response)

    def answer(self, response: requests.Response):
        """What a successful answer holds: a JSON object. A platform answering other JSON (bare
        lists, numbers to read as exact decimals) refines it."""
        return _json_object(response, platform=self.platform)

    def error_for(self, response: requests.Response) -> ConnectorError:
        """The error an answer of 400 or more amounts to; a platform whose statuses mean
        something else (a spent budget answered 403, say) refines it."""
        return error_for_response(response, platform=self.platform)

    # --- the shared pause ----------------------------------------------------------------------

    @property
    def pause_key(self) -> str:
        digest = hashlib.sha256(f"{self.platform}\0{self.account}".encode()).hexdigest()[:32]
        return PAUSE_CACHE_KEY.format(digest=digest)

    def pause_from(self, response: requests.Response) -> float:
        """Seconds the answer says to wait before the next call; 0 when it says nothing."""
        headers = response.headers
        if response.status_code == 429:
            stated = retry_after_seconds(headers.get("Retry-After"))
            if stated is None:
                # Only the budgets' windows say when a refused call may go again.
                stated = max((limit.window(headers) for limit in self.rate_limits), default=0.0)
        else:
            stated = max(
                (limit.window(headers) for limit in self.rate_limits if limit.spent(headers)),
                default=0.0,
            )
        return min(stated, MAX_PAUSE_SECONDS)

    def pause_set(self, seconds: float) -> None:
        """Hold back every call for this account until ``seconds`` from now; a longer pause
        already set stands."""
        until = time.time() + seconds
        try:
            if (cache.get(self.pause_key) or 0) < until:
                cache.set(self.pause_key, until, timeout=math.ceil(seconds) + 1)
        except Exception:
            # The pause only spares the platform: without the cache, calls go and it answers 429.
            logger.warning("%s: the rate-limit pause cannot be stored", self.platform)

    def pause_wait(self) -> None:
        """Sleep through a short pause; raise RateLimited with the wait left for a longer one."""
        try:
            until = cache.get(self.pause_key) or 0
        except Exception:
            logger.warning("%s: the rate-limit pause cannot be read", self.platform)
            return
        wait = until - time.time()
        if wait <= 0:
            return
        if wait > self.max_sleep_seconds:
            raise RateLimited(
                f"{self.platform}'s rate limit for this account is spent for {wait:.1f} s more",
                retry_after=wait,
                status=None,
            )
        time.sleep(wait)


def transport_error(exc: requests.RequestException, *, platform: str) -> TransientConnectorError:
    """A call that got no answer: worth another try."""
    if isinstance(exc, requests.Timeout):
        return TransientConnectorError(
            f"{platform} did not answer in time ({exc.__class__.__name__})"
        )
    return TransientConnectorError(f"{platform} could not be reached ({exc.__class__.__name__})")


def _json_object(response: requests.Response, *, platform: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        raise TransientConnectorError(
            f"{platform} answered {response.status_code} with a body that is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise PermanentConnectorError(f"{platform} answered with JSON that is not an object")
    return body


def error_for_response(response: requests.Response, *, platform: str) -> ConnectorError:
    """What an answer of 400 or more means: whether a retry can help, and when."""
    status = response.status_code
    detail = _detail(response)
    message = f"{platform} answered {status}" + (f": {detail}" if detail else "")
    if status == 429:
        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return RateLimited(message, retry_after=retry_after)
    if status in AUTH_REFUSED_STATUSES:
        return AuthenticationError(message, status=status)
    if status >= 500 or status in TRANSIENT_STATUSES:
        return TransientConnectorError(message, status=status)
    return PermanentConnectorError(message, status=status)


def _detail(response: requests.Response) -> str:
    secrets = _request_secrets(response.request)
    try:
        body = response.json()
    except ValueError:
        return _withheld(response.text, secrets)[:200]
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        detail = first.get("detail") or first.get("code") or ""
    else:
        detail = body.get("message") or body.get("error_description") or body.get("error") or ""
    # Withheld before cutting, so no cut leaves the start of a secret.
    return _withheld(str(detail), secrets)[:300]


# Request headers and fields whose values are credentials; shorter values are not withheld (a
# message echoing a short id must stay readable).
SECRET_NAME = re.compile(r"authorization|token|secret|key|password|verifier", re.IGNORECASE)
SECRET_MIN_LENGTH = 8


def _request_secrets(request: requests.PreparedRequest | None) -> set[str]:
    """The credentials a request carried: auth headers (and the value after their scheme), and
    secret-named fields of its query, form or JSON body."""
    if request is None:
        return set()
    found = set()
    for name, value in (request.headers or {}).items():
        if SECRET_NAME.search(name) and isinstance(value, str):
            found.add(value)
            found.update(value.split()[1:])
    fields = parse_qsl(urlsplit(request.url or "").query)
    body = request.body.decode("utf-8", "replace") if isinstance(request.body, bytes) else None
    body = body if body is not None else request.body
    if isinstance(body, str) and body:
        try:
            parsed = json.loads(body)
        except ValueError:
            fields += parse_qsl(body)
        else:
            fields += list(parsed.items()) if isinstance(parsed, dict) else []
    found.update(
        value for name, value in fields if SECRET_NAME.search(name) and isinstance(value, str)
    )
    return {value for value in found if len(value) >= SECRET_MIN_LENGTH}


def _withheld(text: str, secrets: set[str]) -> str:
    """``text`` with every secret in it replaced, longest first (one may contain another)."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "(withheld)")
    return text


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None
