"""Outbound HTTP to platforms: pooled sessions with timeouts, and answers mapped to the connector
errors whose ``permanent`` flag decides retrying (design §6)."""

import threading
from email.utils import parsedate_to_datetime
from urllib.request import getproxies

import requests
from django.utils import timezone
from requests.adapters import HTTPAdapter

from integrations.base.errors import (
    AuthenticationError,
    ConnectorError,
    PermanentConnectorError,
    RateLimited,
    TransientConnectorError,
)

# (connect, read) seconds.
DEFAULT_TIMEOUT = (3.0, 15.0)
_local = threading.local()


def pooled_session() -> requests.Session:
    """One keep-alive session per thread: connection set-up is most of a small call's cost."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=8)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        # Proxies from the environment once, not re-read from os.environ on every request.
        session.trust_env = False
        session.proxies = getproxies()
        _local.session = session
    return session


def request_json(
    method: str,
    url: str,
    *,
    platform: str,
    headers: dict | None = None,
    json: object = None,
    data: object = None,
    params: dict | None = None,
    timeout=DEFAULT_TIMEOUT,
) -> dict:
    """Make the call; return the JSON object answered, or raise a ConnectorError saying whether a
    retry can help. Error messages carry the platform's words, never the request's headers."""
    try:
        response = pooled_session().request(
            method, url, headers=headers, json=json, data=data, params=params, timeout=timeout
        )
    except requests.RequestException as exc:
        raise transport_error(exc, platform=platform) from None
    return response_json(response, platform=platform)


def transport_error(exc: requests.RequestException, *, platform: str) -> TransientConnectorError:
    """A call that got no answer: worth another try."""
    if isinstance(exc, requests.Timeout):
        return TransientConnectorError(
            f"{platform} did not answer in time ({exc.__class__.__name__})"
        )
    return TransientConnectorError(f"{platform} could not be reached ({exc.__class__.__name__})")


def response_json(response: requests.Response, *, platform: str) -> dict:
    """The JSON object a platform answered, or the ConnectorError its answer amounts to."""
    if response.status_code >= 400:
        raise error_for_response(response, platform=platform)
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
    status = response.status_code
    detail = _detail(response)
    message = (
        f"{platform} answered {status}: {detail}" if detail else f"{platform} answered {status}"
    )
    if status == 429:
        return RateLimited(message, retry_after=retry_after_seconds(response.headers))
    if status in (401, 403):
        return AuthenticationError(message, status=status)
    if status >= 500 or status in (408, 409, 425):
        return TransientConnectorError(message, status=status)
    return PermanentConnectorError(message, status=status)


def retry_after_seconds(headers) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date; None when absent or bad."""
    value = (headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (moment - timezone.now()).total_seconds())


def _detail(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        return str(first.get("detail") or first.get("code") or "")[:300]
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error_description") or body.get("error") or "")[
            :300
        ]
    return ""
