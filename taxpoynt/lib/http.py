"""Outbound HTTP plumbing that knows no platform: a pooled session per thread and the
``Retry-After`` header read as seconds."""

import math
import threading
import time
from email.utils import parsedate_to_datetime
from urllib.request import getproxies

import requests
from requests.adapters import HTTPAdapter

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


def retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (both are allowed by
    HTTP); None when absent or unreadable, 0 for a date already past."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
